"""``mode`` → threshold, and whether the mode adds the LLM classifier.

The reference leaves ``mode`` free text ("high sensitivity", "strict", "low sensitivity",
"normal") and says it overrides ``threshold``. Every local detector is calibrated so that a
score of 0.5 is its balanced operating point on our evaluation set (``bench/guards.py``), so the
modes are fixed points on that shared scale:

    ===================  =========  ==============================================
    mode                 threshold  detector
    ===================  =========  ==============================================
    (none)               threshold  local detectors at the request's ``threshold``
    ``low sensitivity``  0.8        local; only confident findings tag
    ``normal``           0.5        local
    ``high sensitivity`` 0.3        local; weaker evidence tags (more recall)
    ``strict``           0.2        local, plus the LLM classifier (a tag if either fires)
    ===================  =========  ==============================================

Spelling is forgiving about case, ``_``/``-``/space; anything else is a configuration error
(a 400), because guessing what an unknown mode means would be guessing a security level.
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.guards.errors import GuardConfigError


@dataclass(frozen=True, slots=True)
class Mode:
    name: str
    threshold: float
    llm: bool = False


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("low sensitivity", 0.8),
        Mode("normal", 0.5),
        Mode("high sensitivity", 0.3),
        Mode("strict", 0.2, llm=True),
    )
}


def resolve_mode(guard: str, mode: str | None, threshold: float) -> Mode:
    """The effective operating point of one classifier entry."""
    if not 0.0 <= threshold <= 1.0:
        raise GuardConfigError(guard, f"{guard}: threshold must be between 0.0 and 1.0, got {threshold!r}")
    if mode is None:
        return Mode("threshold", threshold)
    key = " ".join(mode.replace("_", " ").replace("-", " ").lower().split())
    found = MODES.get(key)
    if found is None:
        known = ", ".join(repr(m) for m in MODES)
        raise GuardConfigError(guard, f"{guard}: unknown mode {mode!r}; use one of {known} or omit it and set threshold")
    return found
