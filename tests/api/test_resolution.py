"""The per-request-shape memo of resolved configs (``api.resolution``): hits, BYOK, errors."""

from __future__ import annotations

import json

import pytest

from airlock.api.errors import ApiError
from airlock.api.resolution import Resolutions
from airlock.api.routing import Route
from airlock.keys import mint_key
from airlock.providers.registry import ApiFormat as Api
from airlock.settings import Settings

ROUTE = Route("chat", "openai", Api.CHAT_COMPLETIONS)
POLICY = json.dumps({"codes": {"language": "sqrt", "code": 'tool "t" { hard deny when x.value == "y"; }'}})


@pytest.fixture
def resolutions() -> Resolutions:
    return Resolutions(Settings(allowed_models="fake-model"))


def key(arch: str = "single-llm"):
    return mint_key("k", {"arch": arch})[1]


def test_the_same_shape_is_resolved_once(resolutions):
    k = key()
    first = resolutions.get(ROUTE, k, {"x-policy": POLICY}, "fake-model", None)
    again = resolutions.get(ROUTE, k, {"x-policy": POLICY}, "fake-model", None)
    assert again is first and first.policy is not None and first.config.codes.code.startswith("tool")
    # Any part of the shape that differs is its own entry.
    assert resolutions.get(ROUTE, k, {}, "fake-model", None) is not first
    assert resolutions.get(ROUTE, key(), {"x-policy": POLICY}, "fake-model", None) is not first


def test_byok_keys_are_never_cached(resolutions):
    k = key()
    a = resolutions.get(ROUTE, k, {}, "any-model", "sk-caller-a")
    b = resolutions.get(ROUTE, k, {}, "any-model", "sk-caller-b")
    assert a.config.byok_key.get_secret_value() == "sk-caller-a"
    assert b.config.byok_key.get_secret_value() == "sk-caller-b"
    held = repr(resolutions._memo._entries.keys()) + "".join(
        str(r.config.byok_key and r.config.byok_key.get_secret_value()) for r in resolutions._memo._entries.values())
    assert "sk-caller" not in held and len(resolutions._memo) == 1


def test_without_byok_the_allow_list_holds_and_errors_are_not_cached(resolutions):
    k = key()
    for _ in range(2):
        with pytest.raises(ApiError) as err:
            resolutions.get(ROUTE, k, {}, "not-allowed-model", None)
        assert err.value.status == 400 and err.value.param == "model"
        with pytest.raises(ApiError) as err:
            resolutions.get(ROUTE, k, {"x-features": "{not json"}, "fake-model", None)
        assert err.value.status == 400 and err.value.param.startswith("X-Features")
    assert len(resolutions._memo) == 0
    # The same model with the caller's own key is fine (the operator does not pay).
    assert resolutions.get(ROUTE, k, {}, "not-allowed-model", "sk-own").config.pllm_model == "not-allowed-model"
