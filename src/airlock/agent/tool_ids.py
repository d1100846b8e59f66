"""Tool-call ids on the wire, per API format: find ours, put upstream ids back, hand out new ones.

Clients only ever see ``tc-<session>-<call>`` ids; providers only ever see their own. The three
APIs keep ids in different places, listed once here:

* Chat Completions: ``message.tool_calls[].id`` / ``tool`` messages' ``tool_call_id``; stream
  deltas carry the id in the first ``delta.tool_calls[]`` entry of each call.
* Messages: ``tool_use`` blocks' ``id`` / ``tool_result`` blocks' ``tool_use_id``; stream
  ``content_block_start`` events carry the ``tool_use`` block.
* Responses: the ``call_id`` of every client-run call item (``function_call``,
  ``custom_tool_call``, ``local_shell_call``... — ``wire.items.RESPONSES_RESULT_OF``) and of the
  ``*_output`` item answering it; stream ``response.output_item.*`` events carry the item,
  ``response.completed`` the whole list.

Only calls the *client* runs get our ids: a server tool's id (Messages ``server_tool_use``,
hosted Responses calls) is answered by the provider itself and must stay the provider's.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from airlock.agent.wire.items import RESPONSES_RESULT_OF
from airlock.providers.registry import ApiFormat as Api
from airlock.sessions.ids import new_response_id, new_tool_call_id, session_of_response_id, session_of_tool_call

IdSlot = tuple[dict[str, Any], str]  # (object, key) holding one id
_RESPONSES_CALLS = frozenset(RESPONSES_RESULT_OF)
_RESPONSES_ID_ITEMS = _RESPONSES_CALLS | frozenset(RESPONSES_RESULT_OF.values())


def _request_slots(api: Api, body: dict[str, Any]) -> Iterator[IdSlot]:
    if api == Api.CHAT_COMPLETIONS:
        for message in body.get("messages") or ():
            if not isinstance(message, dict):
                continue
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict) and "id" in call:
                    yield call, "id"
            if "tool_call_id" in message:
                yield message, "tool_call_id"
    elif api == Api.MESSAGES:
        for message in body.get("messages") or ():
            content = message.get("content") if isinstance(message, dict) else None
            for block in content if isinstance(content, list) else ():
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use" and "id" in block:
                    yield block, "id"
                elif block.get("type") == "tool_result" and "tool_use_id" in block:
                    yield block, "tool_use_id"
    else:
        items = body.get("input")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and item.get("type") in _RESPONSES_ID_ITEMS:
                if "call_id" in item:
                    yield item, "call_id"
                elif item.get("type") == "local_shell_call_output" and "id" in item:
                    yield item, "id"  # this output names its call by ``id``


def _response_items(api: Api, body: dict[str, Any]) -> Iterator[IdSlot]:
    """Id slots in a whole (non-streamed) response, or in one streamed event's data."""
    if api == Api.CHAT_COMPLETIONS:
        for choice in body.get("choices") or ():
            for part in ("message", "delta"):
                holder = choice.get(part) if isinstance(choice, dict) else None
                for call in (holder or {}).get("tool_calls") or ():
                    if isinstance(call, dict) and call.get("id"):
                        yield call, "id"
    elif api == Api.MESSAGES:
        blocks = list(body.get("content") or ())
        if isinstance(body.get("content_block"), dict):  # stream: content_block_start
            blocks.append(body["content_block"])
        if isinstance(body.get("message"), dict):  # stream: message_start
            blocks.extend(body["message"].get("content") or ())
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id"):
                yield block, "id"
    else:
        items = list(body.get("output") or ())
        if isinstance(body.get("item"), dict):  # stream: response.output_item.added/done
            items.append(body["item"])
        if isinstance(body.get("response"), dict):  # stream: response.created/completed
            items.extend(body["response"].get("output") or ())
        for item in items:
            if isinstance(item, dict) and item.get("type") in _RESPONSES_CALLS and item.get("call_id"):
                yield item, "call_id"


def sessions_in_request(api: Api, body: dict[str, Any]) -> list[str]:
    """Session ids named by our tool-call ids in the request history, oldest first."""
    found: list[str] = []
    for holder, key in _request_slots(api, body):
        session = session_of_tool_call(holder[key])
        if session:
            found.append(session)
    return found


class UnknownToolCallId(Exception):
    def __init__(self, tool_call_id: str) -> None:
        super().__init__(tool_call_id)
        self.tool_call_id = tool_call_id


def restore_upstream_ids(api: Api, body: dict[str, Any], id_map: dict[str, str]) -> None:
    """Replace our ids in the request history by the provider's (in place)."""
    for holder, key in _request_slots(api, body):
        ours = holder[key]
        if session_of_tool_call(ours) is None:
            continue  # the client's own id (e.g. a history it built itself): forward as is
        try:
            holder[key] = id_map[ours]
        except KeyError:
            raise UnknownToolCallId(ours) from None


def _response_object_slots(api: Api, body: dict[str, Any]) -> Iterator[IdSlot]:
    """The Responses ``response`` object's own id: the whole body, or a stream event's ``response``."""
    if api != Api.RESPONSES:
        return
    if body.get("object") == "response" and isinstance(body.get("id"), str):
        yield body, "id"
    inner = body.get("response")
    if isinstance(inner, dict) and isinstance(inner.get("id"), str):
        yield inner, "id"


def restore_previous_response(api: Api, body: dict[str, Any], response_ids: dict[str, str]) -> None:
    """Responses: put the provider's id back in ``previous_response_id`` when it is one of ours.
    An id of ours this session never gave is ``UnknownToolCallId`` (the caller answers 404)."""
    previous = body.get("previous_response_id") if api == Api.RESPONSES else None
    if not isinstance(previous, str) or session_of_response_id(previous) is None:
        return  # absent, or the client's own upstream id: forward as is
    try:
        body["previous_response_id"] = response_ids[previous]
    except KeyError:
        raise UnknownToolCallId(previous) from None


class ResponseIdRewriter:
    """Gives each upstream id in a response (or stream) one stable id of ours, recording the pair.

    With ``response_ids`` (single-LLM Responses) the ``response`` object's id is replaced too, by
    one that names the session (``sessions.ids.new_response_id``), so ``previous_response_id``
    alone leads back to the session; those are not counted in ``new_ids`` (tool calls only)."""

    def __init__(self, api: Api, session_id: str, id_map: dict[str, str], mint: Callable[[str], str] = new_tool_call_id,
                 response_ids: dict[str, str] | None = None):
        self.api = api
        self.session_id = session_id
        self.id_map = id_map
        self.response_ids = response_ids
        self._ours: dict[str, str] = {}
        self._mint = mint
        self.new_ids: list[str] = []
        self.rewrote = False  # the last ``rewrite`` replaced an id (minted or already known)

    def rewrite(self, body: dict[str, Any]) -> bool:
        """Rewrite ids in place; True when an id not seen before was minted. ``rewrote`` tells
        whether any id was replaced: a stream repeats an id in later events (Responses'
        ``output_item.done``, ``response.completed``), which must be re-encoded too."""
        minted = self.rewrote = False
        if self.response_ids is not None:
            for holder, key in _response_object_slots(self.api, body):
                upstream = holder[key]
                ours = self._ours.get(upstream)
                if ours is None:
                    ours = self._ours[upstream] = new_response_id(self.session_id)
                    self.response_ids[ours] = upstream
                    minted = True
                holder[key] = ours
                self.rewrote = True
        for holder, key in _response_items(self.api, body):
            upstream = holder[key]
            ours = self._ours.get(upstream)
            if ours is None:
                ours = self._mint(self.session_id)
                self._ours[upstream] = ours
                self.id_map[ours] = upstream
                self.new_ids.append(ours)
                minted = True
            holder[key] = ours
            self.rewrote = True
        return minted
