"""Scopes at run time (:class:`Frame`) and program functions (:class:`UserFunction`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from airlock.meta import Meta

from ..values import NONE, Value, mm

if TYPE_CHECKING:
    from ..machine import Machine


class Frame:
    """A scope: ``vars`` maps names to values; ``parent`` is the lexically enclosing frame.

    ``exist`` holds, for names a region could bind or delete, the metadata of whether they exist:
    a ``NameError`` for such a name carries it, and inside a ``try`` reading it adds it to the
    control context (the read would have failed on the other path)."""

    __slots__ = ("vars", "parent", "it", "glob", "ret", "exist")

    def __init__(self, vars: dict[str, Value], parent: "Frame | None", it: "Machine",
                 glob: "Frame | None" = None) -> None:
        self.vars = vars
        self.parent = parent
        self.it = it
        self.glob: Frame = glob if glob is not None else self
        self.ret: Value = NONE
        self.exist: dict[str, Meta] | None = None

    def taint(self, names: tuple[str, ...], m: Meta) -> None:
        """Merge ``m`` into the bindings of ``names`` (a region's join)."""
        d = self.vars
        if self.exist is None:
            self.exist = {}
        ex = self.exist
        for n in names:
            v = d.get(n)
            if v is not None:
                nm = mm(v.m, m)
                if nm is not v.m:
                    d[n] = Value(v.v, nm)
            g = ex.get(n)
            ex[n] = m if g is None else mm(g, m)

    def existence(self, name: str) -> Meta | None:
        """The metadata of whether ``name`` exists, if a region decided it."""
        f: Frame | None = self
        while f is not None:
            if f.exist is not None and name in f.exist:
                return f.exist[name]
            if name in f.vars:
                return None
            f = f.parent
        return None


class UserFunction:
    """A ``def`` or ``lambda`` of the program. ``may_mutate`` (from the text): whether calling it
    can change containers that exist before the call."""

    __slots__ = ("name", "params", "defaults", "kwonly", "kwdefaults", "vararg", "kwarg", "body", "env",
                 "is_lambda", "may_mutate")

    def __init__(self, name: str, params: list[str], defaults: list[Value], kwonly: list[str],
                 kwdefaults: list[Value | None], vararg: str | None, kwarg: str | None,
                 body: Callable[[Frame], Any], env: Frame, is_lambda: bool, may_mutate: bool) -> None:
        self.name = name
        self.params = params
        self.defaults = defaults
        self.kwonly = kwonly
        self.kwdefaults = kwdefaults
        self.vararg = vararg
        self.kwarg = kwarg
        self.body = body
        self.env = env
        self.is_lambda = is_lambda
        self.may_mutate = may_mutate

    def __repr__(self) -> str:
        return f"<function {self.name}>"
