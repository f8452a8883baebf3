"""Serving: the JSON contract, the service's parts, the bento, batch predictions, the card, and
the pull request that moves an environment to a new image.

The service itself is `service.py` at the package's top, where the bento's build names it.
"""
