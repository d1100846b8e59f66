"""The one error the wire layer raises, so the HTTP glue can map every bad shape to a 400."""

from __future__ import annotations


class WireError(ValueError):
    """A request body the wire layer cannot read. ``param`` is a dotted path (``messages.2.content``).

    The dotted form matches :func:`airlock.api.schemas.describe_validation_error`, so clients get
    the same ``param`` style whichever layer rejected the body.
    """

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = f"{param}: {message}"
