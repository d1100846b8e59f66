"""Pieces of ``bench/gateway.py``: the fast fake upstream, the load generator, the rival gateways."""
