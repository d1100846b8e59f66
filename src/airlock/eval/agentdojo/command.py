"""``airlock eval agentdojo`` — options and output; importable without the ``eval`` extra."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer


def _split(value: Optional[str]) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def agentdojo(
    suites: Optional[str] = typer.Option(None, "--suites",
                                         help="Comma-separated suites (default: every suite the oracle has programs for)."),
    attack: str = typer.Option("important_instructions", "--attack", help="Any attack AgentDojo registers."),
    mode: Optional[str] = typer.Option(None, "--mode", help="standard or strict (default: both)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the full report (JSON) here."),
    user_tasks: Optional[str] = typer.Option(None, "--user-tasks", help="Only these user tasks (comma-separated; bare or suite/user_task_N)."),
    injection_tasks: Optional[str] = typer.Option(None, "--injection-tasks", help="Only these injection tasks (bare or suite/injection_task_N)."),
    reader: str = typer.Option("adversarial", "--reader", help="Offline reader under attack: adversarial or honest."),
    configs: Optional[str] = typer.Option(None, "--configs", help="Only these configurations (comma-separated)."),
    workers: int = typer.Option(4, "--workers", help="Cases run concurrently."),
    policy_dir: Optional[Path] = typer.Option(None, "--policy-dir", help="Directory of <suite>.sqrt policies."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Target a running Airlock instead of starting one."),
    key: Optional[str] = typer.Option(None, "--key", envvar="AIRLOCK_KEY", help="Airlock key for --base-url."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Provider segment: a real planner instead of the oracle."),
    model: str = typer.Option("agentdojo-oracle", "--model", help="Model (\"pllm,qllm\" for two)."),
    provider_key: Optional[str] = typer.Option(None, "--provider-key", envvar="AIRLOCK_EVAL_PROVIDER_KEY",
                                               help="Provider key sent as X-Api-Key (bring your own key)."),
) -> None:
    """AgentDojo utility and attack success through Airlock; offline (scripted oracle) by default."""
    try:
        from airlock.eval.agentdojo import app as A
        from airlock.eval.agentdojo import cases as C
        from airlock.eval.agentdojo import report, runner
    except ImportError as exc:  # pragma: no cover - depends on the environment
        typer.echo(f"error: {exc}. Install the extra: pip install 'airlock[eval]'", err=True)
        raise typer.Exit(2)
    from airlock.eval.agentdojo.oracle import covered_suites

    names = _split(suites) or covered_suites()
    try:
        for name in names:
            C.suite(name)
        C.attack(names[0], attack) if names else None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if mode not in (None, "standard", "strict"):
        typer.echo("error: --mode must be standard or strict", err=True)
        raise typer.Exit(2)
    if reader not in ("adversarial", "honest"):
        typer.echo("error: --reader must be adversarial or honest", err=True)
        raise typer.Exit(2)
    plan = runner.Plan(suites=names, attack=attack, modes=[mode] if mode else list(runner.MODES),
                       user_tasks=_split(user_tasks), injection_tasks=_split(injection_tasks),
                       adversarial=reader == "adversarial", workers=workers,
                       policy_dir=policy_dir or runner.POLICY_DIR, configs=_split(configs))
    missing = [s for s in names if not (plan.policy_dir / f"{s}.sqrt").exists()]
    if missing:
        typer.echo(f"error: no policy for {', '.join(missing)} in {plan.policy_dir} (use --policy-dir)", err=True)
        raise typer.Exit(2)
    say = lambda s: typer.echo(s, err=True)  # noqa: E731
    if base_url is None and provider is None:
        results = runner.offline(plan, say)
    else:
        if base_url is not None and not key:
            typer.echo("error: --base-url needs --key (or AIRLOCK_KEY)", err=True)
            raise typer.Exit(2)
        local = None
        if base_url is None:
            local = runner.LocalAirlock(None).start()
            base_url, key = local.url, local.key
        target = A.Target(base_url, key or "", provider=provider or "openai_compatible", model=model,
                          provider_key=provider_key or os.environ.get("AIRLOCK_EVAL_PROVIDER_KEY"))
        try:
            results = runner.run_plan(plan, target, say)
        finally:
            if local is not None:
                local.stop()
    doc = report.document(results)
    if json_path is not None:
        json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        say(f"wrote {json_path}")
    typer.echo(report.markdown(doc), nl=False)
    listed = report.blocked_markdown(doc)
    if listed:
        typer.echo("\nBlocked by the policies:\n" + listed, nl=False)
    typer.echo(f"\nwall time {results.wall_s:.1f} s")
