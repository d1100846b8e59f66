"""A guard whose detector this installation lacks is a 400 in the caller's API shape, before any
model is called. The server is a real ``airlock serve`` process whose Python cannot import
Presidio or alt-profanity-check (a ``sitecustomize`` import blocker), as on an install without
the ``guards`` extra."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes.llm_server import FakeLLM

AIRLOCK = str(Path(sys.executable).with_name("airlock"))
BLOCKER = """
import sys
class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("presidio_analyzer", "profanity_check"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bare")
    (tmp / "sitecustomize.py").write_text(BLOCKER)
    fake = FakeLLM().start()
    env = {**os.environ, "PYTHONPATH": str(tmp), "AIRLOCK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bare.db'}",
           "AIRLOCK_OPENAI_BASE_URL": f"{fake.base_url}/v1", "AIRLOCK_ANTHROPIC_BASE_URL": f"{fake.base_url}/v1",
           "OPENAI_API_KEY": "sk-operator", "ANTHROPIC_API_KEY": "sk-ant-operator", "AIRLOCK_ALLOWED_MODELS": "fake-model"}
    created = subprocess.run([AIRLOCK, "keys", "create", "--name", "app", "--arch", "single-llm"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen([AIRLOCK, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/control/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.1)
    yield url, key, fake
    server.terminate()
    server.wait(timeout=10)
    fake.stop()


FEATURES = {"X-Features": json.dumps({"agent_arch": "single-llm", "content_classifiers": [{"name": "pii_redaction"}]})}


def test_openai_chat_and_responses_get_a_400(bare_server):
    url, key, fake = bare_server
    client = openai.OpenAI(base_url=f"{url}/control/chat/openai/v1", api_key=key, max_retries=0, default_headers=FEATURES)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
    body = err.value.body
    assert body["code"] == "guard_unavailable" and body["param"] == "X-Features.content_classifiers"
    assert "pii_redaction needs Presidio" in body["message"] and "airlock[guards]" in body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="fake-model", input="hi", stream=True)
    assert "pii_redaction" in str(err.value)
    toxic = {"X-Features": json.dumps({"content_classifiers": [{"name": "toxicity_filter"}]})}
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}], extra_headers=toxic)
    assert "toxicity_filter needs alt-profanity-check" in str(err.value)
    assert fake.requests == []
    # what needs no extra still runs on this install
    fake.push("fine")
    ok = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}], extra_headers={
        "X-Features": json.dumps({"content_classifiers": [{"name": "finance_topic_guardrail"}],
                                  "content_blockers": [{"name": "url_blocker"}]})})
    assert ok.choices[0].message.content == "fine"
    client.close()


def test_anthropic_messages_gets_a_400_in_its_error_shape(bare_server):
    url, key, fake = bare_server
    client = anthropic.Anthropic(base_url=f"{url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                                 default_headers={"Authorization": f"Bearer {key}", "X-Api-Key": "sk-ant-user", **FEATURES})
    fake.requests.clear()
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model="fake-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["type"] == "error" and err.value.body["error"]["type"] == "invalid_request_error"
    assert "pii_redaction needs Presidio" in err.value.body["error"]["message"]
    assert fake.requests == []
    client.close()
