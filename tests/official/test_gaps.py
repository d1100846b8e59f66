"""What the official suite does not check but relies on (notes/official.md, bug 2, fixed).

The official ``test_responses.py::test_dual_llm_multi_turn`` ends with a request that posts only
a ``function_call_output`` and ``previous_response_id``, without ``tools``. The official test
only asserts ``status == "completed"``; this test checks what must happen: the suspended program
resumes (the turn kept its tool list) and returns the tool's result, with no new plan.
"""

from __future__ import annotations

import pytest
from sequrity import SequrityClient
from sequrity.control import FeaturesHeader, FineGrainedConfigHeader, FsmOverrides

BOOK_FLIGHT = {
    "type": "function", "name": "book_flight",
    "description": "Books a flight. Returns a booking reference number (str).",
    "parameters": {"type": "object", "required": ["flight_number", "origin", "destination", "date"],
                   "properties": {k: {"type": "string"} for k in ("flight_number", "origin", "destination", "date")}},
}


def test_tool_result_without_tools_resumes_the_program(official_airlock, official_fake):
    client = SequrityClient(api_key=official_airlock.keys["dual"], base_url=official_airlock.url, timeout=30)
    common = dict(model="gpt-5-mini", llm_api_key="sk-test-openai", provider="openai",
                  features=FeaturesHeader.dual_llm(),
                  fine_grained_config=FineGrainedConfigHeader(fsm=FsmOverrides(max_n_turns=5, enabled_internal_tools=[])))
    mark = len(official_fake.handler.calls)
    first = client.control.responses.create(
        input=[{"role": "user", "content": "Book me the flight BA263 from New York to San Francisco on 10th June, 2026."}],
        tools=[BOOK_FLIGHT], **common)
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert call.name == "book_flight" and "2026-06-10" in call.arguments
    final = client.control.responses.create(
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Booked. Reference ABC12345."}],
        previous_response_id=first.id, **common)
    assert final.status == "completed"
    assert "ABC12345" in final.output_text  # the program's final_return_value is the booking result
    assert [role for role, _ in official_fake.handler.calls[mark:]] == ["pllm"]  # resumed, not re-planned
