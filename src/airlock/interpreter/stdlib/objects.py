"""The object types programs can hold, besides plain data: callables, modules, exceptions.

Nothing here hands a real Python object with reachable internals to a program: every callable
is one of these wrappers, and attributes are reached only through the tables in ``tables.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

import re2

from airlock.meta import NEUTRAL, Meta

from ..errors import ProgRaise
from ..values import DictObj, ListObj, SetObj, Value

if TYPE_CHECKING:
    from ..flow import Entry


class BuiltinFn:
    """A builtin function: a table entry."""

    __slots__ = ("entry",)

    def __init__(self, entry: "Entry") -> None:
        self.entry = entry

    @property
    def name(self) -> str:
        return self.entry.name

    def __repr__(self) -> str:
        return f"<built-in function {self.entry.name}>"


class TypeMarker(BuiltinFn):
    """A builtin type (``str``, ``int``...): callable, usable in ``isinstance`` and annotations."""

    __slots__ = ("pytypes", "spec")

    def __init__(self, entry: "Entry", pytypes: tuple[type, ...], spec: tuple[Any, ...]) -> None:
        super().__init__(entry)
        self.pytypes = pytypes
        self.spec = spec

    def __repr__(self) -> str:
        return f"<class '{self.entry.name}'>"


class BoundMethod:
    """``recv.name`` before it is called."""

    __slots__ = ("recv", "entry")

    def __init__(self, recv: Value, entry: "Entry") -> None:
        self.recv = recv
        self.entry = entry

    def __repr__(self) -> str:
        return f"<method {self.entry.name}>"


class TypingMarker:
    """``Optional``, ``List``, ``Literal``... (only meaningful in annotations)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"typing.{self.name}"


class SafeModule:
    __slots__ = ("name", "attrs")

    def __init__(self, name: str, attrs: dict[str, Value]) -> None:
        self.name = name
        self.attrs = attrs

    def __repr__(self) -> str:
        return f"<module '{self.name}'>"


class ResultObj:
    """``Ok(value)`` / ``Err(error)`` wrapping of tool results (``wrap_tool_result``)."""

    __slots__ = ("ok", "payload")

    def __init__(self, ok: bool, payload: Value) -> None:
        self.ok = ok
        self.payload = payload

    def walk_children(self) -> Iterable[Value]:
        return (self.payload,)

    def to_json_value(self, conv: Callable[[Value], Any]) -> Any:
        return {"ok" if self.ok else "err": conv(self.payload)}

    def __repr__(self) -> str:
        return f"{'Ok' if self.ok else 'Err'}({self.payload!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResultObj) and other.ok == self.ok and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


class ResultCtor:
    __slots__ = ("ok",)

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __repr__(self) -> str:
        return "<class 'Ok'>" if self.ok else "<class 'Err'>"


# -- exceptions ----------------------------------------------------------------------------------


class ExcType:
    """An exception class visible to programs (builtin or defined by the program)."""

    __slots__ = ("name", "parent")

    def __init__(self, name: str, parent: "ExcType | None") -> None:
        self.name = name
        self.parent = parent

    def is_sub(self, other: "ExcType") -> bool:
        t: ExcType | None = self
        while t is not None:
            if t is other:
                return True
            t = t.parent
        return False

    def __repr__(self) -> str:
        return f"<class '{self.name}'>"


class ExcObj:
    """An exception instance. ``meta`` is what the failing operation read plus the control
    context it failed under: whether it raised is information about those inputs, and so is
    its message."""

    __slots__ = ("type", "args", "meta", "line", "col")

    def __init__(self, etype: ExcType, args: list[Value], meta: Meta = NEUTRAL) -> None:
        self.type = etype
        self.args = args
        self.meta = meta
        self.line: int | None = None
        self.col: int | None = None

    def message(self) -> str:
        if not self.args:
            return ""
        if len(self.args) == 1:
            if self.type.name == "KeyError":
                return repr(self.args[0].v)
            return str(self.args[0].v)
        return repr(tuple(a.v for a in self.args))

    def walk_children(self) -> Iterable[Value]:
        return self.args

    def to_json_value(self, conv: Callable[[Value], Any]) -> Any:
        return f"{self.type.name}: {self.message()}"

    def render(self, walk: Callable[[Value], None], add: Callable[[str], None], top_str: bool) -> None:
        if top_str:
            add(self.message())
            return
        add(f"{self.type.name}(")
        for i, a in enumerate(self.args):
            if i:
                add(", ")
            walk(a)
        add(")")

    def __repr__(self) -> str:
        return f"{self.type.name}({', '.join(repr(a) for a in self.args)})"

    def __str__(self) -> str:
        return self.message()


EXC: dict[str, ExcType] = {}


def _exc(name: str, parent: str | None) -> ExcType:
    t = ExcType(name, EXC[parent] if parent else None)
    EXC[name] = t
    return t


_exc("BaseException", None)
_exc("Exception", "BaseException")
for _n, _p in [
    ("ArithmeticError", "Exception"), ("ZeroDivisionError", "ArithmeticError"), ("OverflowError", "ArithmeticError"),
    ("LookupError", "Exception"), ("KeyError", "LookupError"), ("IndexError", "LookupError"),
    ("ValueError", "Exception"), ("UnicodeError", "ValueError"), ("JSONDecodeError", "ValueError"),
    ("ValidationError", "ValueError"), ("TypeError", "Exception"), ("AttributeError", "Exception"),
    ("NameError", "Exception"), ("RuntimeError", "Exception"), ("NotImplementedError", "RuntimeError"),
    ("AssertionError", "Exception"), ("StopIteration", "Exception"), ("ToolCallError", "Exception"),
    ("RegexError", "Exception"),
]:
    _exc(_n, _p)


def perr(name: str, msg: str, meta: Meta = NEUTRAL) -> ProgRaise:
    """A program-level exception of builtin type ``name`` (to ``raise``). Inside a table entry
    the dispatch adds what the entry read; elsewhere ``meta`` must say what decided it."""
    return ProgRaise(ExcObj(EXC[name], [Value(msg)], meta))


#: Python exceptions a safe operation may raise on bad input: they become program exceptions.
CONVERTIBLE = (TypeError, ValueError, LookupError, ArithmeticError, AttributeError, re2.error, OSError)


def convert_python_error(e: BaseException) -> ProgRaise | None:
    """The program exception for a Python error raised by a safe operation, or None when it is
    not one of ours to convert (a bug, which must surface as an internal error)."""
    if isinstance(e, RecursionError) or not isinstance(e, CONVERTIBLE):
        return None
    for klass in type(e).__mro__:
        t = EXC.get(klass.__name__)
        if t is not None:
            break
    else:
        t = EXC["Exception"]
    if isinstance(e, re2.error):
        t = EXC["RegexError"]
    if isinstance(e, KeyError) and e.args:
        k = e.args[0]
        return ProgRaise(ExcObj(t, [k if isinstance(k, Value) else Value(str(k))]))
    return ProgRaise(ExcObj(t, [Value(str(e)[:2000])]))


def type_name(x: Any) -> str:
    t = type(x)
    if t is ListObj:
        return "list"
    if t is DictObj:
        return "dict"
    if t is SetObj:
        return "set"
    if t is ExcObj:
        return x.type.name
    if t in (BuiltinFn, TypeMarker, BoundMethod):
        return "builtin_function_or_method"
    if t is ResultObj:
        return "Ok" if x.ok else "Err"
    if t is type(None):
        return "NoneType"
    cls_name = getattr(x, "type_name", None)
    if isinstance(cls_name, str):
        return cls_name
    n = getattr(t, "__name__", "object")
    return {"UserFunction": "function", "ToolFn": "function", "ModelClass": "type"}.get(n, n)
