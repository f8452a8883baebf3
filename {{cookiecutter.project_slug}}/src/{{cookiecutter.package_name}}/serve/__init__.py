"""Serving: the JSON contract, the service's parts, the bento, batch predictions, promotion, card.

The service itself is `service.py` at the package's top, where the bento's build names it.
"""
