"""Planner programs run here: in a bounded pool of worker processes with OS limits, each run
under a deadline after which its worker is killed and replaced (``pool.py``); or in-process, for
tools and tests (``InProcessRunner``). Both run the same plain-data request (``request.py``)
through the same function (``execute.py``), so a run is reproducible in any process."""

from .pool import InProcessRunner, PoolBusy, PoolSettings, ProgramPool, Runner
from .request import RunRequest

__all__ = ["InProcessRunner", "PoolBusy", "PoolSettings", "ProgramPool", "Runner", "RunRequest"]
