"""``airlock serve | keys | policy | demo | eval`` — the operator's command line (names fixed by SPEC)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Airlock: a self-hostable Sequrity Control API server.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke Airlock API keys.", no_args_is_help=True)
policy_app = typer.Typer(help="Check and test SQRT policies without an LLM.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(policy_app, name="policy")
eval_app = typer.Typer(help="Measure Airlock's security efficacy (needs the eval extra).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default: one per CPU core)."),
    keep_alive: int = typer.Option(
        75, "--keep-alive", min=1,
        help="Seconds an idle client connection is kept open (uvicorn's 5 s default closes pooled "
             "connections under clients that reuse them, which then fail with read errors)."),
) -> None:
    """Run the server (embedded SQLite unless AIRLOCK_DATABASE_URL says otherwise)."""
    import os

    import uvicorn

    from airlock.settings import get_settings

    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        typer.echo("error: --workers must be at least 1", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    # Migrate once here, before any worker starts (workers then find the schema at head; the
    # SQLite store also takes a file lock around its upgrade, for servers started side by side).
    asyncio.run(_with_store(lambda store: asyncio.sleep(0)))
    # Each worker process reads its settings from the environment: tell it how many share the host.
    os.environ["AIRLOCK_SERVE_WORKERS"] = str(n)
    get_settings.cache_clear()
    uvicorn.run(
        "airlock.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=n,
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=keep_alive,
    )


def _store():
    from airlock.sessions.store import store_from_url
    from airlock.settings import get_settings

    return store_from_url(get_settings().database_url)


async def _with_store(action):
    store = _store()
    await store.start()
    try:
        return await action(store)
    finally:
        await store.close()


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", help="A unique name for the key."),
    arch: str = typer.Option("single-llm", "--arch", help="single-llm or dual-llm."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="SQRT file saved as the key's policy."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON file {features?, policy?, config?} saved with the key."),
    policy_overridable: bool = typer.Option(
        False, "--policy-overridable",
        help="Let requests replace the saved policy with their X-Policy (default: a saved policy is locked "
             "and request policies can only add restrictions)."),
) -> None:
    """Mint a key; the secret is printed once, alone on the last line."""
    from airlock.keys import has_saved_policy, mint_key

    if arch not in ("single-llm", "dual-llm"):
        typer.echo(f"error: --arch must be single-llm or dual-llm, not {arch!r}", err=True)
        raise typer.Exit(2)
    base: dict = {}
    if config is not None:
        try:
            base = json.loads(config.read_text())
        except (OSError, ValueError) as exc:
            typer.echo(f"error: cannot read --config {config}: {exc}", err=True)
            raise typer.Exit(2)
        if not isinstance(base, dict):
            typer.echo("error: --config must hold a JSON object", err=True)
            raise typer.Exit(2)
    base["arch"] = arch
    if policy is not None:
        try:
            code = policy.read_text()
        except OSError as exc:
            typer.echo(f"error: cannot read --policy {policy}: {exc}", err=True)
            raise typer.Exit(2)
        base.setdefault("policy", {})["codes"] = {"code": code, "language": "sqrt"}
    from airlock.config import KeyConfigError, validate_key_base

    try:
        validated = validate_key_base(base)  # a bad saved config would fail every request made with the key
    except (KeyConfigError, ValueError) as exc:
        typer.echo(f"error: invalid key configuration: {exc}", err=True)
        raise typer.Exit(2)
    codes = validated.get("policy", {}).get("codes")
    if codes and codes.get("code", "").strip():
        from airlock.policy import PolicyError, compile_policy

        try:
            compile_policy(codes["code"], codes.get("language", "sqrt"))
        except PolicyError as exc:
            typer.echo(f"error: the key's policy does not compile:\n{exc}", err=True)
            raise typer.Exit(2)
    if policy_overridable and not has_saved_policy(base):
        typer.echo("error: --policy-overridable needs a saved policy (--policy FILE, or a policy in --config)", err=True)
        raise typer.Exit(2)
    secret, record = mint_key(name, base, policy_locked=has_saved_policy(base) and not policy_overridable)

    async def add(store):
        from sqlalchemy.exc import IntegrityError

        try:
            await store.add_key(record)
        except IntegrityError:
            typer.echo(f"error: a key named {name!r} already exists", err=True)
            raise typer.Exit(1)

    asyncio.run(_with_store(add))
    lock = "; policy locked" if record.policy_locked else ("; policy overridable" if policy_overridable else "")
    typer.echo(f"created key {record.name} (id {record.id}, arch {arch}{lock})")
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (names, ids, prefixes, arch, policy lock, status — never secrets)."""

    from airlock.keys import has_saved_policy

    async def rows(store):
        return await store.list_keys()

    for k in asyncio.run(_with_store(rows)):
        status = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        policy = "locked" if k.policy_locked else ("overridable" if has_saved_policy(k.base_config) else "-")
        typer.echo(f"{k.id}  {k.name:<24} {k.prefix}…  {k.base_config.get('arch', 'single-llm'):<10} "
                   f"policy:{policy:<11} {status}")


@keys_app.command("revoke")
def keys_revoke(key: str = typer.Argument(..., help="Key id or name.")) -> None:
    """Revoke a key by id or name (takes effect within seconds on every replica)."""

    async def revoke(store):
        return await store.revoke_key(key)

    record = asyncio.run(_with_store(revoke))
    if record is None:
        typer.echo(f"error: no key with id or name {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {record.name} ({record.id})")


@policy_app.command("check")
def policy_check(file: str = typer.Argument(..., help="SQRT file, or - for stdin.")) -> None:
    """Validate a SQRT policy; errors show line, column and a caret."""
    from airlock.policy.cli import check_main

    raise typer.Exit(check_main(file))


@policy_app.command("test")
def policy_test(policy: str = typer.Argument(...), cases: str = typer.Argument(...)) -> None:
    """Run policy test cases (tool calls with metadata and expected verdicts) without an LLM."""
    from airlock.policy.cli import run_policy_tests

    raise typer.Exit(run_policy_tests(policy, cases))


@app.command()
def demo() -> None:
    """Offline walkthrough with the recorded replay provider: an injection meets a policy."""
    from airlock.demo.walkthrough import run

    raise typer.Exit(run(typer.echo))


from airlock.eval.agentdojo.command import agentdojo as _eval_agentdojo  # noqa: E402 (options only)

eval_app.command("agentdojo")(_eval_agentdojo)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
