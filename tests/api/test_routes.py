"""Route listing, health, OpenAPI, and 404s that name what exists."""

from __future__ import annotations

import pytest

from airlock.api.routing import control_routes


def test_listing_names_every_route(http):
    body = http.get("/control/").json()
    listed = {(r["method"], r["path"]) for r in body["routes"]}
    for route in control_routes():
        assert ("POST", route.path) in listed
    for path in ["/control/chat/v1/chat/completions", "/control/chat/anthropic/v1/messages", "/control/code/v1/responses",
                 "/control/lang-graph/anthropic/v1/messages", "/control/policy-gen/v1/generate",
                 "/control/v1/validate-headers", "/control/health"]:
        assert any(p == path for _, p in listed), path
    assert all(r["description"] for r in body["routes"])


def test_seed_routes_are_served(http, auth):
    # Every seed route answers something other than 404 (401 without a key proves it is routed).
    for route in control_routes():
        assert http.post(route.path, json={}).status_code == 401, route.path


def test_health_reports_storage(http):
    response = http.get("/control/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "storage": "ok"}


def test_openapi_lists_routes_with_request_schemas(http):
    doc = http.get("/control/openapi.json").json()
    chat = doc["paths"]["/control/chat/openai/v1/chat/completions"]["post"]
    schema = chat["requestBody"]["content"]["application/json"]["schema"]
    assert "messages" in schema["properties"] and "model" in schema["required"]
    headers = {p["name"] for p in chat["parameters"]}
    assert {"X-Features", "X-Policy", "X-Config", "X-Session-ID", "X-Api-Key"} <= headers
    assert "/control/v1/validate-headers" in doc["paths"]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/control/chat/anthropic/v1/chat/completions", "Providers that do: openrouter, openai, sequrity_azure"),
        ("/control/chat/openrouter/v1/messages", "Providers that do: anthropic"),
        ("/control/chat/anthropic/v1/responses", "Providers that do: openai, sequrity_azure"),
        ("/control/agent/v1/chat/completions", "reserved"),
        ("/control/bogus/v1/chat/completions", "Unknown endpoint type 'bogus'"),
        ("/control/chat/v1/embeddings", "Unknown API '/v1/embeddings'"),
        ("/control/lang-graph/v1/responses", "not served on the 'lang-graph'"),
    ],
)
def test_unknown_routes_name_what_exists(http, path, expected):
    response = http.post(path, json={})
    assert response.status_code == 404
    error = response.json()["error"]
    assert expected in error["message"], error["message"]


def test_messages_404_is_in_anthropic_shape(http):
    response = http.post("/control/chat/openrouter/v1/messages", json={})
    body = response.json()
    assert response.status_code == 404
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"


def test_wrong_method_is_405(http):
    response = http.get("/control/chat/v1/chat/completions")
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]["message"]


def test_every_openapi_reference_resolves(http):
    doc = http.get("/control/openapi.json").json()
    text = __import__("json").dumps(doc)
    import re

    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in doc["components"]["schemas"], ref
