"""The benchmark's cases: suites of v1.2, user × injection tasks, and the injections of one case.

Known pitfalls of agentdojo 0.1.35 (measured) shape this module:

* an attack wants the target pipeline's name to contain a key of ``agentdojo.models.MODEL_NAMES``
  (it addresses the model by name: "to you, GPT-4"), so the pipeline we hand it is a named stub;
* ``TaskSuite.check()`` reports every task "not injectable", which makes
  ``BaseAttack.generate_injections`` refuse whole suites; we build each case's injections with the
  attack's own ``attack(user_task, injection_task)`` instead, which is what that method would do;
* workspace injection tasks 6–13 and travel 6 have an empty ground truth (nothing to replay for an
  obedient agent); they are run like the others and reported apart (``empty_ground_truth``);
* banking injection task 0's ``security`` has an operator-precedence bug (``a in b or c in d and
  e``); we score with it as shipped and say so in the report rather than patch their package.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from airlock.eval.agentdojo import BENCHMARK_VERSION

SUITES = ("workspace", "travel", "banking", "slack")
DEFAULT_ATTACK = "important_instructions"
# The model name the attack addresses; any key of agentdojo.models.MODEL_NAMES works.
DEFAULT_TARGET_MODEL = "gpt-4o-2024-05-13"
EMPTY_GROUND_TRUTH_NOTE = ("their ground truth is empty, so an obedient agent has no calls to replay; "
                           "reported apart")
BANKING_0_NOTE = ("banking injection_task_0.security has an operator-precedence bug in agentdojo 0.1.35; "
                  "scored as shipped")


@dataclass(frozen=True)
class Case:
    """One run: a user task, optionally attacked by one injection task."""

    suite: str
    user_task: str
    injection_task: str | None = None

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.user_task}" + (f"/{self.injection_task}" if self.injection_task else "")


def _quiet() -> None:
    warnings.filterwarnings("ignore", module=r"agentdojo\..*")


@lru_cache(maxsize=None)
def suite(name: str) -> Any:
    """The v1.2 ``TaskSuite`` named ``name``."""
    _quiet()
    from agentdojo.task_suite.load_suites import get_suites

    suites = get_suites(BENCHMARK_VERSION)
    if name not in suites:
        raise ValueError(f"unknown suite {name!r}; AgentDojo {BENCHMARK_VERSION} has {', '.join(sorted(suites))}")
    return suites[name]


def task_number(task_id: str) -> int:
    return int(task_id.rsplit("_", 1)[-1])


def user_task_ids(name: str) -> list[str]:
    return sorted(suite(name).user_tasks, key=task_number)


def injection_task_ids(name: str) -> list[str]:
    return sorted(suite(name).injection_tasks, key=task_number)


@lru_cache(maxsize=None)
def default_environment(name: str) -> Any:
    """The suite's environment with every injection vector at its default (harmless) text."""
    return suite(name).load_and_inject_default_environment({})


def task_environment(name: str, user_task: str, injections: dict[str, str]) -> Any:
    """A fresh environment for one case: injected, then initialised by the user task."""
    s = suite(name)
    env = s.load_and_inject_default_environment(injections)
    return s.user_tasks[user_task].init_environment(env)


def ground_truth(name: str, task_id: str) -> list[Any]:
    """The ``FunctionCall`` list of a user or injection task, computed on the default environment."""
    s = suite(name)
    task = s.user_tasks.get(task_id) or s.injection_tasks[task_id]
    env = default_environment(name).model_copy(deep=True)
    if task_id in s.user_tasks:
        env = task.init_environment(env)
    return list(task.ground_truth(env))


def has_empty_ground_truth(name: str, injection_task: str) -> bool:
    return not ground_truth(name, injection_task)


class _NamedTarget:
    """Stands in for the target pipeline: attacks only read its ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name


def target_name(model: str | None) -> str:
    """A pipeline name the attacks accept: the real model's when AgentDojo knows it."""
    from agentdojo.models import MODEL_NAMES

    if model and any(known in model for known in MODEL_NAMES):
        return model
    return DEFAULT_TARGET_MODEL


@lru_cache(maxsize=None)
def attack(name: str, attack_name: str, model: str | None = None) -> Any:
    _quiet()
    from agentdojo.attacks.attack_registry import ATTACKS, load_attack

    import agentdojo.attacks  # noqa: F401  (registers the built-in attacks)

    if attack_name not in ATTACKS:
        raise ValueError(f"unknown attack {attack_name!r}; AgentDojo registers {', '.join(sorted(ATTACKS))}")
    return load_attack(attack_name, suite(name), _NamedTarget(target_name(model)))  # type: ignore[arg-type]


def injections(case: Case, attack_name: str, model: str | None = None) -> dict[str, str]:
    """The injection texts of ``case`` (vector id → text), as the attack builds them."""
    if case.injection_task is None:
        return {}
    s = suite(case.suite)
    return dict(attack(case.suite, attack_name, model).attack(s.user_tasks[case.user_task],
                                                              s.injection_tasks[case.injection_task]))


def _picked(name: str, task_id: str, wanted: list[str] | None) -> bool:
    """``task_id`` of suite ``name`` is selected: no filter, or named bare or as ``suite/task``."""
    return wanted is None or task_id in wanted or f"{name}/{task_id}" in wanted


def cases(suites: list[str], *, user_tasks: list[str] | None = None, injection_tasks: list[str] | None = None,
          attacked: bool) -> list[Case]:
    """Every case of ``suites``: one per user task, or one per user × injection task.

    A filter names tasks bare (``user_task_3``, in every suite) or qualified (``banking/user_task_3``)."""
    out: list[Case] = []
    for name in suites:
        users = [u for u in user_task_ids(name) if _picked(name, u, user_tasks)]
        if not attacked:
            out += [Case(name, u) for u in users]
            continue
        injs = [i for i in injection_task_ids(name) if _picked(name, i, injection_tasks)]
        out += [Case(name, u, i) for u in users for i in injs]
    return out
