"""The operator path, as real processes: `airlock keys create`, `airlock serve`, an SDK request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes.llm_server import FakeLLM, Reply

AIRLOCK = str(Path(sys.executable).with_name("airlock"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    fake = FakeLLM().start()
    values = {
        **os.environ,
        "AIRLOCK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "AIRLOCK_OPENAI_BASE_URL": f"{fake.base_url}/v1",
        "OPENAI_API_KEY": "sk-operator-key",
        "AIRLOCK_ALLOWED_MODELS": "fake-model",
    }
    yield values, fake
    fake.stop()


def run(args, env, stdin=None):
    return subprocess.run([AIRLOCK, *args], env=env, capture_output=True, text=True, timeout=60, input=stdin)


def test_keys_create_list_revoke(env):
    values, _ = env
    created = run(["keys", "create", "--name", "ops", "--arch", "single-llm"], values)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("alk_") and len(secret) > 40
    listed = run(["keys", "list"], values)
    assert "ops" in listed.stdout and secret not in listed.stdout and "active" in listed.stdout
    assert run(["keys", "create", "--name", "ops"], values).returncode == 1  # names are unique
    bad_arch = run(["keys", "create", "--name", "x", "--arch", "triple-llm"], values)
    assert bad_arch.returncode == 2 and "--arch" in bad_arch.stderr
    assert run(["keys", "revoke", "ops"], values).returncode == 0
    assert "revoked" in run(["keys", "list"], values).stdout
    assert run(["keys", "revoke", "nobody"], values).returncode == 1
    # the database never holds the secret
    db = Path(values["AIRLOCK_DATABASE_URL"].split("///", 1)[1]).read_bytes()
    assert secret.encode() not in db


def test_keys_created_with_a_policy_are_locked_unless_overridable(env, tmp_path):
    values, _ = env
    policy = tmp_path / "mail.sqrt"
    policy.write_text('tool "send_email" { hard deny when to.value in {"x@evil.com"}; }\n')
    locked = run(["keys", "create", "--name", "locked", "--policy", str(policy)], values)
    assert locked.returncode == 0, locked.stderr
    assert "policy locked" in locked.stdout and locked.stdout.strip().splitlines()[-1].startswith("alk_")
    open_ = run(["keys", "create", "--name", "open", "--policy", str(policy), "--policy-overridable"], values)
    assert open_.returncode == 0 and "policy overridable" in open_.stdout
    assert run(["keys", "create", "--name", "plain"], values).returncode == 0
    listed = {line.split()[1]: line for line in run(["keys", "list"], values).stdout.splitlines()}
    assert "policy:locked" in listed["locked"] and "policy:overridable" in listed["open"] and "policy:-" in listed["plain"]
    pointless = run(["keys", "create", "--name", "x", "--policy-overridable"], values)
    assert pointless.returncode == 2 and "needs a saved policy" in pointless.stderr
    policy.write_text('tool "send_email" {\n  hard deny when ;\n}\n')
    broken = run(["keys", "create", "--name", "broken", "--policy", str(policy)], values)
    assert broken.returncode == 2 and "line 2" in broken.stderr
    assert "broken" not in run(["keys", "list"], values).stdout


def test_serve_and_call_with_the_openai_sdk(env):
    values, fake = env
    secret = run(["keys", "create", "--name", "app"], values).stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen([AIRLOCK, "serve", "--port", str(port)], env=values,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/control/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        fake.push(Reply(text="served by a real process"))
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/control/chat/openai/v1", api_key=secret)
        answer = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "served by a real process"
        assert fake.last_request.headers["authorization"] == "Bearer sk-operator-key"
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0]
    # Secrets never reach the log.
    assert secret not in output and "sk-operator-key" not in output


def test_demo_runs_offline_and_shows_the_denial(tmp_path):
    result = subprocess.run([AIRLOCK, "demo"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "status: failure" in result.stdout
    assert "Tool call send_email denied by argument checking policies." in result.stdout
    assert "attacker@evil.com" in result.stdout


def test_serve_on_postgresql(env):
    """The same operator path with AIRLOCK_DATABASE_URL pointing at PostgreSQL."""
    import asyncio

    from tests.conftest import fresh_pg_database

    values, fake = env

    async def scenario():
        async with fresh_pg_database() as url:
            pg = {**values, "AIRLOCK_DATABASE_URL": url}
            created = await asyncio.to_thread(run, ["keys", "create", "--name", "pg"], pg)
            assert created.returncode == 0, created.stderr
            secret = created.stdout.strip().splitlines()[-1]
            port = _free_port()
            server = subprocess.Popen([AIRLOCK, "serve", "--port", str(port)], env=pg,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    for _ in range(300):
                        try:
                            if (await http.get(f"http://127.0.0.1:{port}/control/health")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        assert server.poll() is None
                        await asyncio.sleep(0.1)
                    fake.push(Reply(text="stored in postgres"))
                    answer = await http.post(f"http://127.0.0.1:{port}/control/chat/openai/v1/chat/completions",
                                             headers={"Authorization": f"Bearer {secret}"},
                                             json={"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})
                    assert answer.status_code == 200 and "stored in postgres" in answer.text
                    session = answer.headers["x-session-id"]
                    again = await http.post(f"http://127.0.0.1:{port}/control/chat/openai/v1/chat/completions",
                                            headers={"Authorization": f"Bearer {secret}", "X-Session-ID": session},
                                            json={"model": "fake-model", "messages": [{"role": "user", "content": "again"}]})
                    assert again.status_code == 200 and again.headers["x-session-id"] == session
            finally:
                server.terminate()
                await asyncio.to_thread(server.communicate, timeout=15)

    asyncio.run(scenario())


def test_policy_check_reads_stdin_and_points_at_the_error(tmp_path):
    bad = run(["policy", "check", "-"], os.environ, stdin='tool "x" {\n  hard deny when ;\n}\n')
    assert bad.returncode != 0
    output = bad.stdout + bad.stderr
    assert "line 2, column" in output and "^" in output and "expected" in output
    good = tmp_path / "ok.sqrt"
    good.write_text('tool "send_email" { hard deny when to.value in {"x@evil.com"}; }\n')
    assert run(["policy", "check", str(good)], os.environ).returncode == 0
