"""The dual-LLM parameter tables (``airlock.agent.wire.params``) as data: what each role gets."""

from __future__ import annotations

import pytest

from airlock.agent.wire.errors import WireError
from airlock.agent.wire.params import AUX, PARAMS, PLLM, QLLM, llm_params
from airlock.providers.registry import ApiFormat as Api


def test_every_table_reads_the_fields_the_parser_reads():
    for api, table in PARAMS.items():
        assert {"model", "tools", "stream"} <= set(table), api
    assert "messages" in PARAMS[Api.CHAT_COMPLETIONS] and "system" in PARAMS[Api.MESSAGES]
    assert {"input", "instructions", "previous_response_id"} <= set(PARAMS[Api.RESPONSES])


def test_roles_split_and_helpers_get_only_what_both_roles_get():
    p = llm_params(Api.CHAT_COMPLETIONS, {"model": "m", "messages": [], "temperature": 0, "stop": "END", "seed": 1})
    assert p.for_role(PLLM, Api.CHAT_COMPLETIONS) == {"temperature": 0, "stop": "END", "seed": 1}
    assert p.for_role(QLLM, Api.CHAT_COMPLETIONS) == {"temperature": 0, "seed": 1}
    assert p.for_role(AUX, Api.CHAT_COMPLETIONS) == {"temperature": 0, "seed": 1}


def test_explicit_null_is_not_given():
    p = llm_params(Api.CHAT_COMPLETIONS, {"model": "m", "messages": [], "temperature": None, "tool_choice": None})
    assert p.for_role(PLLM, Api.CHAT_COMPLETIONS) == {}


def test_parameters_are_never_sent_to_another_api_untranslated():
    p = llm_params(Api.MESSAGES, {"model": "m", "messages": [], "max_tokens": 5})
    with pytest.raises(ValueError):
        p.for_role(PLLM, Api.CHAT_COMPLETIONS)


@pytest.mark.parametrize("api, body, param", [
    (Api.CHAT_COMPLETIONS, {"seed": True}, "seed"),
    (Api.CHAT_COMPLETIONS, {"max_tokens": 0}, "max_tokens"),
    (Api.CHAT_COMPLETIONS, {"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    (Api.CHAT_COMPLETIONS, {"metadata": {"k": 1}}, "metadata"),
    (Api.CHAT_COMPLETIONS, {"stream_options": {"include_obfuscation": True}}, "stream_options.include_obfuscation"),
    (Api.MESSAGES, {"temperature": 1.5}, "temperature"),
    (Api.MESSAGES, {"tool_choice": {"type": "any"}}, "tool_choice.type"),
    (Api.MESSAGES, {"thinking": {"type": "enabled", "budget_tokens": 2048, "x": 1}}, "thinking.x"),
    (Api.MESSAGES, {"metadata": {"user_id": "u", "other": "x"}}, "metadata"),
    (Api.RESPONSES, {"reasoning": {"effort": "max"}}, "reasoning.effort"),
    (Api.RESPONSES, {"truncation": "auto"}, "truncation"),
])
def test_bad_or_unsupported_values_name_the_field(api, body, param):
    with pytest.raises(WireError) as exc:
        llm_params(api, {"model": "m", **body})
    assert exc.value.param == param


def test_langgraph_inputs_only_on_the_langgraph_endpoint():
    body = {"model": "m", "messages": [], "user_provided_program": "x = 1", "context_vars": {}}
    assert llm_params(Api.CHAT_COMPLETIONS, body, "lang-graph").for_role(PLLM, Api.CHAT_COMPLETIONS) == {}
    with pytest.raises(WireError) as exc:
        llm_params(Api.CHAT_COMPLETIONS, body, "chat")
    assert exc.value.param == "user_provided_program"
