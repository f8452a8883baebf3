"""The pull request's review: main's champion (and its cache), the gated comparison, the comment."""
