"""A client that re-sends its last request after the final answer (a lost response) gets the same
answer again: no new plan, no tool asked for twice — also when that answer ended the session."""

from __future__ import annotations

import dataclasses

import pytest
from sequrity import SequrityClient
from sequrity.control import FsmOverrides

from tests.agent.scenarios import driver
from tests.agent.scenarios.catalog import CASES


@pytest.mark.parametrize("max_turns", [1, 5])
def test_resending_the_last_request_repeats_the_final_answer(scenario_airlock, llm, max_turns):
    base = CASES["tutorial-trusted"]
    config = base.config.model_copy(update={"fsm": (base.config.fsm or FsmOverrides()).model_copy(update={"max_n_turns": max_turns})})
    case = dataclasses.replace(base, config=config)
    with SequrityClient(api_key=scenario_airlock.keys["dual"], base_url=scenario_airlock.url, timeout=30) as client:
        run = driver.sequrity_chat(client, case, llm_api_key=driver.USER_LLM_KEY)
        assert run.status == "success"
        mark = llm.mark()
        retry = client.control.chat.create(messages=run.messages[:-1], tools=case.tools, features=case.features,
                                           security_policy=case.policy, fine_grained_config=config,
                                           model=driver.DUAL_MODEL, provider="openrouter", llm_api_key=driver.USER_LLM_KEY)
    assert retry.choices[0].finish_reason == "stop" and not retry.choices[0].message.tool_calls
    assert retry.choices[0].message.content == run.final_text
    assert retry.session_id == run.sessions[-1]
    assert llm.since(mark) == []  # answered from the stored turn: no LLM call
