"""The one exception type whose message is shown to the user as is (exit code 1)."""


class ProjectError(Exception):
    """A problem with the user's input (data, params, paths), explained in its message."""
