"""Evaluations of Airlock's security efficacy (``airlock eval ...``); needs the ``eval`` extra."""
