"""The resource budget of one run: every limit in one place, charged where the work happens.

Work is charged in *steps*: one per statement, call and loop iteration, plus a share
proportional to the size of what a builtin reads or builds (``charge``). The wall clock and the
step count are checked every ``CHECK_EVERY`` steps, so between two checks at most that much work
can happen; since no single operation's cost is unbounded (sizes are capped before allocation),
the time between checks is bounded too.

Memory is checked *before* an allocation, from its computed size (``alloc``): the budget keeps
the process's measured growth at the last sample plus every byte allocated since — an upper bound
of the current growth, as frees are not subtracted — and re-measures only when that bound would
pass the limit. So a program can never allocate past the limit between two samples by the sizes
it computes (the v1 interpreter only sampled, every few thousand steps, and large f-strings
finished at 1.2 GB under a 1 GB limit); the step checks also re-measure, which bounds what the
estimates miss. In a worker process the measured growth is that process's own; the worker's OS limit
(``RLIMIT_AS``) is the last line behind this one.
"""

from __future__ import annotations

import os
import time

from .errors import ResourceLimitExceeded
from .options import Limits

CHECK_EVERY = 2048
MB = 1 << 20


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def str_bytes(n_chars: int, ascii_only: bool) -> int:
    """Upper bound of the memory of a new str (CPython stores 1, 2 or 4 bytes per character)."""
    return 64 + n_chars * (1 if ascii_only else 4)


#: Memory charged per element of a new container: a Value wrapper, its slot, and a dict entry's
#: share of the table (measured: ~150 bytes per dict entry of ints; an upper bound for lists).
ELEMENT_BYTES = 160


class Budget:
    __slots__ = ("lim", "steps", "next_check", "deadline", "mem_limit", "mem_base", "mem_grown",
                 "mem_unsampled", "printed_chars", "tool_calls", "depth")

    def __init__(self, limits: Limits) -> None:
        self.lim = limits
        self.steps = 0
        self.next_check = min(CHECK_EVERY, limits.max_steps + 1)
        self.deadline = time.monotonic() + limits.wall_time_s
        self.mem_limit = limits.max_memory_mb * MB if limits.max_memory_mb else 0
        self.mem_base = rss_bytes() if self.mem_limit else 0
        self.mem_grown = 0
        self.mem_unsampled = 0
        self.printed_chars = 0
        self.tool_calls = 0
        self.depth = 0

    # -- steps and wall time ---------------------------------------------------------------------
    def charge(self, n: int) -> None:
        self.steps += n
        if self.steps >= self.next_check:
            self.tick()

    def tick(self) -> None:
        lim = self.lim
        if self.steps > lim.max_steps:
            raise ResourceLimitExceeded(f"program exceeded max_steps ({lim.max_steps})", limit="max_steps")
        if time.monotonic() > self.deadline:
            raise ResourceLimitExceeded(f"program exceeded wall_time_s ({lim.wall_time_s})", limit="wall_time_s")
        if self.mem_limit:
            # Re-anchor the bound on the measured size: Python's real cost per object can exceed
            # the estimates, and this keeps the overshoot to what CHECK_EVERY steps allocate.
            self.mem_grown = max(0, rss_bytes() - self.mem_base)
            self.mem_unsampled = 0
            if self.mem_grown > self.mem_limit:
                raise ResourceLimitExceeded(f"program exceeded max_memory_mb ({lim.max_memory_mb})",
                                            limit="max_memory_mb")
        self.next_check = min(lim.max_steps + 1, self.steps + CHECK_EVERY)

    def resumed(self) -> None:
        """A parked run continues (warm resume): the wall clock restarts, as the time spent waiting
        for the host is not the program's, and memory is re-anchored so that what other runs of
        the process allocated meanwhile is not charged to this one (its own growth is kept)."""
        self.deadline = time.monotonic() + self.lim.wall_time_s
        if self.mem_limit:
            self.mem_grown += self.mem_unsampled  # its upper bound so far, now measured from here
            self.mem_unsampled = 0
            self.mem_base = rss_bytes() - self.mem_grown

    def iteration(self, n: int) -> None:
        """The ``n``-th iteration of one loop or comprehension: its count limit, one step, and
        the periodic clock/memory check (the one tick every looping construct shares)."""
        if n > self.lim.max_loop_iterations:
            self.loop_limit(n)
        self.steps += 1
        if self.steps >= self.next_check:
            self.tick()

    def loop_limit(self, n: int) -> None:
        if n > self.lim.max_loop_iterations:
            raise ResourceLimitExceeded(
                f"loop exceeded max_loop_iterations ({self.lim.max_loop_iterations})", limit="max_loop_iterations")

    # -- sizes, before allocation -----------------------------------------------------------------
    def str_len(self, n: int, ascii_only: bool = False) -> None:
        if n > self.lim.max_str_len:
            raise ResourceLimitExceeded(f"string length {n} exceeds max_str_len ({self.lim.max_str_len})",
                                        limit="max_str_len")
        self.alloc(str_bytes(n, ascii_only))
        # Building a string copies it: charge the copy (64 characters per step).
        self.charge(1 + (n >> 6))

    def coll_len(self, n: int, new_elements: int = 0) -> None:
        if n > self.lim.max_collection_len:
            raise ResourceLimitExceeded(
                f"collection size {n} exceeds max_collection_len ({self.lim.max_collection_len})",
                limit="max_collection_len")
        if new_elements:
            self.alloc(new_elements * ELEMENT_BYTES)
            # Building n elements is work: charge it, so the clock is looked at during bulk builds.
            self.charge(1 + (new_elements >> 4))

    def int_bits(self, bits: int) -> None:
        if bits > self.lim.max_int_bits:
            raise ResourceLimitExceeded(f"integer exceeds max_int_bits ({self.lim.max_int_bits})", limit="max_int_bits")

    def alloc(self, nbytes: int) -> None:
        if not self.mem_limit:
            return
        self.mem_unsampled += nbytes
        if self.mem_grown + self.mem_unsampled <= self.mem_limit:
            return
        # The upper bound would pass the limit: measure what is really in use.
        self.mem_grown = max(0, rss_bytes() - self.mem_base)
        self.mem_unsampled = nbytes
        if self.mem_grown + nbytes > self.mem_limit:
            raise ResourceLimitExceeded(f"program exceeded max_memory_mb ({self.lim.max_memory_mb})",
                                        limit="max_memory_mb")

    # -- other counters ---------------------------------------------------------------------------
    def printed(self, n: int) -> None:
        self.printed_chars += n
        if self.printed_chars > self.lim.max_print_chars:
            raise ResourceLimitExceeded("program printed too much output", limit="max_print_chars")

    def tool_call(self) -> None:
        self.tool_calls += 1
        if self.tool_calls > self.lim.max_tool_calls:
            raise ResourceLimitExceeded(f"program exceeded max_tool_calls ({self.lim.max_tool_calls})",
                                        limit="max_tool_calls")

    def enter_call(self) -> None:
        self.depth += 1
        if self.depth > self.lim.max_recursion:
            self.depth -= 1
            raise ResourceLimitExceeded(f"call depth exceeded max_recursion ({self.lim.max_recursion})",
                                        limit="max_recursion")
        self.charge(1)

    def leave_call(self) -> None:
        self.depth -= 1
