"""Demand model for food products, trained, compared and shipped through pull requests."""

__version__ = "0.1.0"
