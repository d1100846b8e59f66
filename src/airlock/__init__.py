"""Airlock: a self-hostable Sequrity Control API server."""

__version__ = "0.1.0"
