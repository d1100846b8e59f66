"""Schemathesis hooks (loaded by tests/api/test_schemathesis.py through SCHEMATHESIS_HOOKS): besides
the bodies and headers generated from our OpenAPI document, send the input classes that once
caused HTTP 500s — JSON nested past the depth limit and lone UTF-16 surrogates — in bodies and
in the JSON headers. Every one must be answered with a 4xx, never a 5xx.

The nesting stays encodable by the client (``json.dumps`` recurses per level); the 100k-deep
body that the C parser cannot even read is its own test (test_hostile_input.py).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import strategies as st

LONE = "\ud800"


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for i in range(levels):
        value = [value] if i % 2 else {"d": value}
    return value


def _hostile_bodies(body: dict[str, Any]) -> list[dict[str, Any]]:
    variants = [{**body, "metadata": _deep(150)}, {**body, "metadata": _deep(600)}, {**body, "user": f"a{LONE}b"}]
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        variants.append({**body, "messages": [{**messages[0], "content": f"hi {LONE}"}, *messages[1:]]})
    if isinstance(body.get("x_policy"), str) or "x_policy" in body:
        variants.append({**body, "x_policy": json.dumps({"codes": {"code": f"tool {LONE}"}}, ensure_ascii=True)})
    return variants


@schemathesis.hook
def flatmap_body(context, body):  # noqa: ANN001 - schemathesis' hook signature
    if not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, *_hostile_bodies(body)])


HOSTILE_HEADERS = {
    "X-Policy": ['{"codes": {"code": "tool \\"x\\" { hard deny when to.value == \\"\\ud800\\"; }"}}',
                 '{"presets": ' * 300 + "{}" + "}" * 300],
    "X-Config": ["[" * 5000 + "]" * 5000, '{"fsm": {"max_n_turns": "\\udfff"}}'],
    "X-Features": ['{"agent_arch": "\\ud83d"}'],
}


@schemathesis.hook
def flatmap_headers(context, headers):  # noqa: ANN001
    headers = headers or {}
    variants = [headers] + [{**headers, name: value} for name, values in HOSTILE_HEADERS.items() for value in values]
    return st.sampled_from(variants)
