"""``PolicyStack``: the session's policy as layers of authority, behind the interpreter's hook.

The first layer is the **base** policy: the key's (or, for a key whose policy is not locked,
the header's, which then replaced it). It alone carries the presets that decide by default
(``default_allow``), the preset rules (``__llm_blocked``), non-executable memory, the mode and
``branching_meta_policy``. Every later layer is **additional** — a header policy under a locked
key, each ``set_policy`` policy — and may only restrict:

* **checks**: a call runs only if every layer allows it. The verdict is the most severe one
  (hard > soft > allowed); the first layer, in authority order, with that verdict decided, and
  the decision says so (``Decision.policy``). An additional layer with no rule for a tool
  abstains (its presets allow by default).
* **updates**: additional layers' ``result {}`` and ``session {}`` updates are clamped to
  additions and written as marks (``restrict``), which the base layer never sees. So no
  sequence of additional policies can change a base-layer verdict or remove metadata the base
  layer set.

Airlock's own rule on ``set_policy`` lives here too: its code must be a literal the planner
wrote. Code carrying any producer or tag (or called under a condition that does) came from data,
and letting data write policy would let an injection rewrite the rules that contain it.
"""

from __future__ import annotations

from typing import Callable, Literal, Mapping, Sequence

from airlock.meta import NEUTRAL, Meta, SessionMeta, Tagged

from .decision import Authority, Decision, FiredRule, Verdict
from .evaluator import CompiledPolicy
from .restrict import MARK, Restriction, key_view, marks_of, restrict, restricted_view, restriction, session_view

LayerAuthority = Literal["key", "header", "planner"]
SET_POLICY = "set_policy"
_SEVERITY: dict[Verdict, int] = {"allowed": 0, "soft_denied": 1, "hard_denied": 2}


View = Callable[[Meta], Meta]


def _args_view(args: Mapping[str, Tagged], view: View) -> Mapping[str, Tagged]:
    out: dict[str, Tagged] | None = None
    for k, t in args.items():
        m = view(t.meta)
        if m is not t.meta:
            out = dict(args) if out is None else out
            out[k] = Tagged(t.value, m)
    return args if out is None else out


def _marked(args: Mapping[str, Tagged], *metas: Meta | SessionMeta) -> bool:
    """Whether any of this call's metadata carries an additional layer's mark. Runs on every
    call of a one-layer stack, so it is inlined (measured 7 µs as nested ``any`` calls, 1 µs so)."""
    for m in (*metas, *(t.meta for t in args.values())):
        for x in m.tags.items:
            if x.startswith(MARK):
                return True
        for x in m.producers.items:
            if x.startswith(MARK):
                return True
    return False


class PolicyStack:
    """Implements the interpreter's policy hook (``check_call``, ``apply_result``,
    ``update_session``, ``check_branch``) over layers; build it with ``build_policy``."""

    def __init__(self, layers: Sequence[tuple[LayerAuthority, CompiledPolicy]], enforces_nothing: bool = False) -> None:
        if not layers:
            raise ValueError("a policy stack needs a base layer")
        self.layers = tuple(layers)
        self.base_authority, self.base = self.layers[0]
        self.additional = self.layers[1:]
        self._enforces_nothing = enforces_nothing

    # ---- what callers ask about the stack ------------------------------------------------------
    @property
    def language(self) -> str:
        return self.base.language

    @property
    def mode(self) -> str:
        return self.base.mode

    @property
    def propagates_control_flow(self) -> bool:
        return any(p.propagates_control_flow for _, p in self.layers)

    @property
    def enforces_nothing(self) -> bool:
        """No layer has code and ``default_allow`` is on: no call can be denied on its arguments
        (the single-LLM proxy then streams straight through)."""
        return self._enforces_nothing

    # ---- the hook --------------------------------------------------------------------------------
    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta, *,
                   control: Meta = NEUTRAL) -> Decision:
        if tool == SET_POLICY:
            tainted = sorted(k for k, a in args.items() if not (a.meta.producers.is_empty() and a.meta.tags.is_empty()))
            if tainted or not (control.producers.is_empty() and control.tags.is_empty()):
                what = f"argument {', '.join(tainted)} carries" if tainted else "the call depends on a condition that carries"
                return Decision(tool, "hard_denied", [FiredRule("preset", "deny", "hard", tool, description=(
                    "set_policy code must be a literal the planner wrote"))],
                    f"set_policy code must be written by the planner, not derived from data ({what} metadata)",
                    policy="preset")
        if not self.additional and not _marked(args, session, control):
            d = self.base.check_call(tool, args, session, control=control)
            d.policy = "preset" if d.decided_by_preset() else self.base_authority
            return d
        s_meta = session.as_meta()
        decisions: list[tuple[LayerAuthority, Decision]] = []
        for i, (authority, layer) in enumerate(self.layers):
            view: View = key_view if i == 0 else restricted_view
            d = layer.check_call(tool, _args_view(args, view), session_view(session, view(s_meta)), control=view(control))
            decisions.append((authority, d))
        return _combine(decisions)

    def before_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta, *,
                    control: Meta = NEUTRAL) -> Decision:
        """``session before`` updates, then ``check_call`` (the order the interpreter uses)."""
        self.update_session(tool, "before", args, session, control=control)
        return self.check_call(tool, args, session, control=control)

    def apply_result(self, tool: str, args: Mapping[str, Tagged], result: Tagged, session: SessionMeta, *,
                     control: Meta = NEUTRAL) -> Meta:
        if not self.additional and not _marked(args, session, control, result.meta):
            return self.base.apply_result(tool, args, result, session, control=control)
        inherited = marks_of(result.meta)
        s_meta = session.as_meta()
        carrier = self.base.apply_result(tool, _args_view(args, key_view), Tagged(result.value, key_view(result.meta)),
                                         session_view(session, key_view(s_meta)), control=key_view(control))
        carrier = restrict(carrier, inherited)  # restrictions flow from what the result was derived from
        if not self.additional:
            return carrier
        extra_args = _args_view(args, restricted_view)
        extra_session = session_view(session, restricted_view(s_meta))
        for _, layer in self.additional:
            before = restricted_view(carrier)
            after = layer.apply_result(tool, extra_args, Tagged(result.value, before), extra_session,
                                       control=restricted_view(control))
            carrier = restrict(carrier, restriction(before, after))
        return carrier

    def update_session(self, tool: str, phase: Literal["before", "after"], args: Mapping[str, Tagged],
                       session: SessionMeta, result: Tagged | None = None, *, control: Meta = NEUTRAL) -> None:
        if not self.additional and not _marked(args, session, control, *(() if result is None else (result.meta,))):
            self.base.update_session(tool, phase, args, session, result, control=control)
            return
        current = session.as_meta()
        marks = marks_of(current)
        key_session = session_view(session, key_view(current))
        key_result = None if result is None else Tagged(result.value, key_view(result.meta))
        self.base.update_session(tool, phase, _args_view(args, key_view), key_session, key_result,
                                 control=key_view(control))
        updated = restrict(key_session.as_meta(), marks)
        extra_args = _args_view(args, restricted_view)
        extra_result = None if result is None else Tagged(result.value, restricted_view(result.meta))
        for _, layer in self.additional:
            before = restricted_view(updated)
            scratch = session_view(key_session, before)
            layer.update_session(tool, phase, extra_args, scratch, extra_result, control=restricted_view(control))
            updated = restrict(updated, restriction(before, scratch.as_meta()))
        session.producers, session.consumers, session.tags = updated.producers, updated.consumers, updated.tags
        session.extra = key_session.extra

    def check_branch(self, condition: Meta) -> Decision:
        decision = self.base.check_branch(key_view(condition))
        decision.policy = "preset"  # branching_meta_policy is a preset
        return decision

    def __repr__(self) -> str:
        return f"<PolicyStack {' + '.join(a for a, _ in self.layers)} {self.base!r}>"


def _combine(decisions: list[tuple[LayerAuthority, Decision]]) -> Decision:
    """The most severe verdict wins; among equals the first layer in authority order decided.
    For an allowed call the layer named is the first whose own rule allowed it (``preset`` when
    only defaults did)."""
    worst_authority, worst = decisions[0]
    for authority, d in decisions[1:]:
        if _SEVERITY[d.verdict] > _SEVERITY[worst.verdict]:
            worst_authority, worst = authority, d
    by: Authority = worst_authority
    if worst.allowed:
        by = next((a for a, d in decisions if not d.decided_by_preset()), "preset")
        if by != "preset":
            worst = next(d for a, d in decisions if a == by and not d.decided_by_preset())
    elif worst.decided_by_preset():
        by = "preset"
    worst.policy = by
    worst.layers = tuple((a, d.verdict) for a, d in decisions) if len(decisions) > 1 else ()
    return worst


__all__ = ["LayerAuthority", "PolicyStack", "Restriction", "SET_POLICY"]
