"""Domain errors of the guards package; ``airlock.api`` maps both to HTTP 400.

A guard the request asks for but this installation cannot run must never become a silent pass:
an unrun PII filter would forward exactly the data the user asked to protect.
"""

from __future__ import annotations


class GuardError(Exception):
    """Base class: a content-guard configuration that cannot be honoured."""

    def __init__(self, guard: str, message: str) -> None:
        super().__init__(message)
        self.guard = guard
        self.message = message


class GuardConfigError(GuardError):
    """Unknown guard name, duplicate entry, unknown mode or out-of-range threshold."""


class GuardUnavailable(GuardError):
    """The guard's detector is not installed here (``pip install 'airlock[guards]'``)."""
