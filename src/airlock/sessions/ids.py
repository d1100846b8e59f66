"""Session ids and the tool-call ids that carry them.

A tool-call id Airlock hands to a client is ``tc-<session-uuid>-<call-uuid>`` (76 chars), so a
client that only echoes tool results back still leads us to its session: ``id[3:39]`` is the
session. Upstream ids (``call_abc``, ``toolu_...``) are kept in the session's state and put back
before the history is forwarded, so the provider sees its own ids.
"""

from __future__ import annotations

import uuid

TOOL_CALL_PREFIX = "tc-"
_TOOL_CALL_LEN = len(TOOL_CALL_PREFIX) + 36 + 1 + 36


def new_session_id() -> str:
    return str(uuid.uuid4())


_HEX = frozenset("0123456789abcdefABCDEF")


def is_session_id(value: str) -> bool:
    """A canonical (hyphenated, 36-character) uuid, as ``new_session_id`` makes them.

    Checked by its shape, not by ``uuid.UUID``: a Chat history of K tool calls names 2K of our
    ids per request, and two uuid parses per id cost 10 ms of a K=200 request (the ``re2``
    wrapper costs more; see bench/dual_llm_scale.py)."""
    return (isinstance(value, str) and len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-"
            and _HEX.issuperset(value[:8] + value[9:13] + value[14:18] + value[19:23] + value[24:]))


def new_tool_call_id(session_id: str) -> str:
    return f"{TOOL_CALL_PREFIX}{session_id}-{uuid.uuid4()}"


def session_of_tool_call(tool_call_id: str) -> str | None:
    """The session uuid inside one of our tool-call ids, or None for foreign ids."""
    if not isinstance(tool_call_id, str) or len(tool_call_id) != _TOOL_CALL_LEN:
        return None
    if not tool_call_id.startswith(TOOL_CALL_PREFIX) or tool_call_id[39] != "-":
        return None
    session = tool_call_id[3:39]
    return session if is_session_id(session) and is_session_id(tool_call_id[40:]) else None


RESPONSE_PREFIX = "resp_"
_RESPONSE_LEN = len(RESPONSE_PREFIX) + 64


def new_response_id(session_id: str) -> str:
    """A Responses id that names its session: ``resp_<session hex><random hex>``. A client that
    chains with ``previous_response_id`` alone (no ``X-Session-ID``) still leads us to its
    session; the session's owner check (``lookup``) keeps another key's id from resuming it."""
    return f"{RESPONSE_PREFIX}{session_id.replace('-', '')}{uuid.uuid4().hex}"


def session_of_response_id(response_id: object) -> str | None:
    """The session uuid inside one of our response ids, or None for any other id."""
    if not isinstance(response_id, str) or len(response_id) != _RESPONSE_LEN or not response_id.startswith(RESPONSE_PREFIX):
        return None
    h = response_id[len(RESPONSE_PREFIX):len(RESPONSE_PREFIX) + 32]
    session = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return session if is_session_id(session) and _HEX.issuperset(response_id[-32:]) else None
