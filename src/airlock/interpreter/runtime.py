"""The program's runtime library: builtins, methods, safe modules, models, formatting.

Nothing here hands a real Python object with reachable internals to the program: every
callable is one of our wrapper types, attribute access goes through :func:`get_attr` and an
allow list per payload type, and every operation that can grow memory checks the limits
first.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import math
import operator
import re as _pyre
import string as _string
from typing import Any, Callable

import re2

from airlock.meta import NEUTRAL, Meta

from .errors import ProgRaise, ResourceLimitExceeded, SecurityViolation
from .values import NONE, SCALARS, SetV, Value, deep_meta, measure, mm, to_json_value, wrap_json

# ================================================================================================
# Program-level exceptions
# ================================================================================================


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
    """An exception instance in the program."""

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
            return plain_str(self.args[0].v)
        return repr(tuple(a.v for a in self.args))

    def walk_children(self):
        return self.args

    def to_json_value(self, conv):
        return f"{self.type.name}: {self.message()}"

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
    ("ArithmeticError", "Exception"),
    ("ZeroDivisionError", "ArithmeticError"),
    ("OverflowError", "ArithmeticError"),
    ("LookupError", "Exception"),
    ("KeyError", "LookupError"),
    ("IndexError", "LookupError"),
    ("ValueError", "Exception"),
    ("UnicodeError", "ValueError"),
    ("JSONDecodeError", "ValueError"),
    ("ValidationError", "ValueError"),
    ("TypeError", "Exception"),
    ("AttributeError", "Exception"),
    ("NameError", "Exception"),
    ("RuntimeError", "Exception"),
    ("NotImplementedError", "RuntimeError"),
    ("AssertionError", "Exception"),
    ("StopIteration", "Exception"),
    ("ToolCallError", "Exception"),
    ("RegexError", "Exception"),
]:
    _exc(_n, _p)


def perr(name: str, msg: str, meta: Meta = NEUTRAL) -> ProgRaise:
    """A program-level exception of builtin type ``name`` (to ``raise``)."""
    return ProgRaise(ExcObj(EXC[name], [Value(msg, meta)], meta))


def from_python_exc(e: BaseException) -> ProgRaise:
    """Translate a Python exception raised by a safe operation into a program exception."""
    for klass in type(e).__mro__:
        t = EXC.get(klass.__name__)
        if t is not None:
            break
    else:
        t = EXC["Exception"]
    if isinstance(e, KeyError) and e.args:
        return ProgRaise(ExcObj(t, [Value(e.args[0].v if isinstance(e.args[0], Value) else e.args[0])]))
    return ProgRaise(ExcObj(t, [Value(str(e))]))


CONVERTIBLE = (TypeError, ValueError, LookupError, ArithmeticError, AttributeError, re2.error, OSError)

# ================================================================================================
# Callables
# ================================================================================================


class BuiltinFn:
    """A builtin function: ``fn(it, args, kwargs) -> Value``."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn: Callable) -> None:
        self.name = name
        self.fn = fn

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class TypeMarker(BuiltinFn):
    """A builtin type (``str``, ``int``...): callable and usable in ``isinstance``/annotations."""

    __slots__ = ("pytypes", "spec")

    def __init__(self, name: str, fn: Callable, pytypes: tuple, spec: tuple) -> None:
        super().__init__(name, fn)
        self.pytypes = pytypes
        self.spec = spec

    def __repr__(self) -> str:
        return f"<class '{self.name}'>"


class BoundMethod:
    __slots__ = ("recv", "name", "fn")

    def __init__(self, recv: Value, name: str, fn: Callable) -> None:
        self.recv = recv
        self.name = name
        self.fn = fn

    def __repr__(self) -> str:
        return f"<method {self.name}>"


class TypingMarker:
    """``Optional``, ``List``, ``Literal``... (only meaningful in annotations)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"typing.{self.name}"


class SafeModule:
    __slots__ = ("name", "attrs")

    def __init__(self, name: str, attrs: dict[str, Any]) -> None:
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

    def walk_children(self):
        return (self.payload,)

    def to_json_value(self, conv):
        return {"ok" if self.ok else "err": conv(self.payload)}

    def __repr__(self) -> str:
        return f"{'Ok' if self.ok else 'Err'}({self.payload!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResultObj) and other.ok == self.ok and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


# ================================================================================================
# Limits helpers
# ================================================================================================


def chk_str(it, n: int) -> None:
    if n > it.lim.max_str_len:
        raise ResourceLimitExceeded(
            f"string length {n} exceeds max_str_len ({it.lim.max_str_len})", limit="max_str_len"
        )


def chk_coll(it, n: int) -> None:
    if n > it.lim.max_collection_len:
        raise ResourceLimitExceeded(
            f"collection size {n} exceeds max_collection_len ({it.lim.max_collection_len})",
            limit="max_collection_len",
        )


def chk_int(it, x: Any) -> None:
    if type(x) is int and x.bit_length() > it.lim.max_int_bits:
        raise ResourceLimitExceeded(
            f"integer exceeds max_int_bits ({it.lim.max_int_bits})", limit="max_int_bits"
        )


def _bits(x: Any) -> int:
    if type(x) is int or type(x) is bool:
        return int(x).bit_length()
    return 64


# ================================================================================================
# Conversions
# ================================================================================================


def plain_str(v: Any) -> str:
    """``str()`` of a payload that is already known to be bounded."""
    if type(v) is str:
        return v
    return str(v)


def to_str(it, val: Value) -> tuple[str, Meta]:
    """``str(val)`` with its deep metadata, bounded by the limits."""
    v = val.v
    t = type(v)
    if t is str:
        return v, val.m
    if t in SCALARS:
        return str(v), val.m
    m, _ = measure(val, it.lim.max_walk_nodes, it.lim.max_str_len)
    s = str(v)
    chk_str(it, len(s))
    return s, m


def to_repr(it, val: Value) -> tuple[str, Meta]:
    v = val.v
    if type(v) in SCALARS:
        s = repr(v)
        chk_str(it, len(s))
        return s, val.m
    m, _ = measure(val, it.lim.max_walk_nodes, it.lim.max_str_len)
    s = repr(v)
    chk_str(it, len(s))
    return s, m


def plain_arg(v: Value) -> Any:
    """Shallow plain conversion for passing simple arguments to safe Python functions."""
    x = v.v
    t = type(x)
    if t in SCALARS:
        return x
    if t is tuple or t is list:
        return tuple(plain_arg(e) for e in x)
    if isinstance(x, (_dt.datetime, _dt.date, _dt.timedelta, _dt.time, _dt.timezone)):
        return x
    raise perr("TypeError", f"unsupported argument type {type_name(x)}")


def type_name(x: Any) -> str:
    t = type(x)
    if t is SetV:
        return "set"
    if t is ModelInstance:
        return x.cls.name
    if t is ExcObj:
        return x.type.name
    if t in (BuiltinFn, TypeMarker, BoundMethod):
        return "builtin_function_or_method"
    if t is ResultObj:
        return "Ok" if x.ok else "Err"
    if t is type(None):
        return "NoneType"
    n = getattr(t, "__name__", "object")
    return {"UserFunction": "function", "ToolFn": "function", "ModelClass": "type"}.get(n, n)


def args_meta(args: list[Value], kwargs: dict[str, Value] | None = None) -> Meta:
    m = NEUTRAL
    for a in args:
        m = mm(m, a.m)
    if kwargs:
        for a in kwargs.values():
            m = mm(m, a.m)
    return m


def deep_args_meta(it, args: list[Value], kwargs: dict[str, Value] | None = None) -> Meta:
    m = NEUTRAL
    b = it.lim.max_walk_nodes
    for a in args:
        m = mm(m, deep_meta(a, b))
    if kwargs:
        for a in kwargs.values():
            m = mm(m, deep_meta(a, b))
    return m


def wrap_plain(x: Any, m: Meta) -> Value:
    """Wrap the plain result of a safe Python function (str/list of str/tuple...)."""
    t = type(x)
    if t in SCALARS:
        return Value(x, m)
    if t is list:
        return Value([wrap_plain(e, m) for e in x], m)
    if t is tuple:
        return Value(tuple(wrap_plain(e, m) for e in x), m)
    if t is dict:
        return Value({wrap_plain(k, m): wrap_plain(e, m) for k, e in x.items()}, m)
    if isinstance(x, (_dt.datetime, _dt.date, _dt.timedelta, _dt.time)):
        return Value(x, m)
    return wrap_json(x, m)


def iter_values(it, val: Value):
    """Iterate a program iterable, yielding element Values (container meta merged in)."""
    v = val.v
    cm = val.m
    t = type(v)
    if t is list or t is tuple:
        src = v
    elif t is dict:
        src = v.keys()
    elif t is SetV:
        src = v.d
    elif t is str:
        it.count_steps(len(v))
        return [Value(c, cm) for c in v]
    elif t is range:
        return _iter_range(it, v, cm)
    else:
        raise perr("TypeError", f"'{type_name(v)}' object is not iterable")
    if cm is NEUTRAL:
        return list(src)
    return [e if e.m is cm else Value(e.v, mm(e.m, cm)) for e in src]


def _iter_range(it, r: range, m: Meta):
    for i in r:
        it.count_steps(1)
        yield Value(i, m)


def materialize(it, val: Value) -> list[Value]:
    v = val.v
    if type(v) is range:
        chk_coll(it, len(v))
    out = list(iter_values(it, val))
    chk_coll(it, len(out))
    return out


def store_elem(it, x: Value) -> Value:
    """A value about to be stored into a container or variable: add the control context."""
    c = it.ctx
    if c is NEUTRAL:
        return x
    m = mm(x.m, c)
    return x if m is x.m else Value(x.v, m)


def touch(it, recv: Value) -> None:
    """A container is being mutated: its structure now depends on the control context."""
    c = it.ctx
    if c is not NEUTRAL:
        recv.m = mm(recv.m, c)


# ================================================================================================
# Formatting
# ================================================================================================

_SPEC_RE = _pyre.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<prec>\d+))?"
    r"(?P<type>[bcdeEfFgGnosxX%])?\Z",
    _pyre.S,
)


def safe_format(it, val: Value, spec: str) -> str:
    """``format(value, spec)`` for a validated spec on a scalar/datetime payload."""
    v = val.v
    if spec == "":
        s, _ = to_str(it, val)
        return s
    if len(spec) > 200:
        raise perr("ValueError", "format specifier too long")
    if isinstance(v, (_dt.date, _dt.time)):
        s = format(v, spec)  # strftime: output bounded by the spec length
        chk_str(it, len(s))
        return s
    if type(v) not in (str, int, float, bool):
        raise perr("TypeError", f"unsupported format string passed to {type_name(v)}.__format__")
    mt = _SPEC_RE.match(spec)
    if mt is None:
        raise perr("ValueError", f"invalid format specifier {spec!r}")
    width = int(mt.group("width") or 0)
    prec = int(mt.group("prec") or 0)
    if width > it.lim.max_str_len:
        raise ResourceLimitExceeded(f"format width {width} exceeds max_str_len", limit="max_str_len")
    if prec > 1000:
        raise ResourceLimitExceeded("format precision too large", limit="max_str_len")
    if type(v) is float and mt.group("type") in ("f", "F", "%") and abs(v) > 1e300 and prec > 100:
        raise ResourceLimitExceeded("formatted number too long", limit="max_str_len")
    s = format(v, spec)
    chk_str(it, len(s))
    return s


def convert_field(it, val: Value, conv: int | str | None) -> Value:
    if conv in (None, -1):
        return val
    if conv in ("r", 114, "a", 97):
        s, m = to_repr(it, val)
        if conv in ("a", 97):
            s = s.encode("ascii", "backslashreplace").decode("ascii")
        return Value(s, m)
    if conv in ("s", 115):
        s, m = to_str(it, val)
        return Value(s, m)
    raise perr("ValueError", f"unknown conversion {conv!r}")


def str_format(it, fmt: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """``str.format`` without attribute or index walking in field names."""
    out: list[str] = []
    m = fmt.m
    auto = 0
    total = 0
    try:
        parsed = list(_string.Formatter().parse(fmt.v))
    except ValueError as e:
        raise perr("ValueError", str(e)) from None
    for literal, field, spec, conv in parsed:
        out.append(literal)
        total += len(literal)
        if field is None:
            continue
        if "." in field or "[" in field:
            raise SecurityViolation(
                f"format field {field!r}: attribute/index access in format strings is not allowed"
            )
        if field == "":
            if auto >= len(args):
                raise perr("IndexError", "Replacement index out of range for positional args tuple")
            val = args[auto]
            auto += 1
        elif field.isdigit():
            i = int(field)
            if i >= len(args):
                raise perr("IndexError", f"Replacement index {i} out of range")
            val = args[i]
        else:
            if field not in kwargs:
                raise perr("KeyError", repr(field))
            val = kwargs[field]
        if spec and "{" in spec:
            sub = str_format(it, Value(spec), args, kwargs)
            spec = sub.v
            m = mm(m, sub.m)
        val = convert_field(it, val, conv)
        s = safe_format(it, val, spec or "")
        m = mm(m, deep_meta(val, it.lim.max_walk_nodes))
        out.append(s)
        total += len(s)
        chk_str(it, total)
    return Value("".join(out), m)


_PCT_RE = _pyre.compile(r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?[hlL]?(?P<conv>.)", _pyre.S)


def percent_format(it, fmt: Value, arg: Value) -> Value:
    """``"..." % args`` with bounded widths and scalar arguments only."""
    for mt in _PCT_RE.finditer(fmt.v):
        if mt.group("width") == "*" or mt.group("prec") == "*":
            raise perr("ValueError", "'*' width is not supported")
        if int(mt.group("width") or 0) > it.lim.max_str_len or int(mt.group("prec") or 0) > 1000:
            raise ResourceLimitExceeded("format width too large", limit="max_str_len")
    m = mm(fmt.m, deep_meta(arg, it.lim.max_walk_nodes))
    a = arg.v
    if type(a) is tuple:
        pa: Any = tuple(_pct_arg(it, e) for e in a)
    elif type(a) is dict:
        pa = {k.v: _pct_arg(it, e) for k, e in a.items()}
    else:
        pa = _pct_arg(it, arg)
    s = fmt.v % pa
    chk_str(it, len(s))
    return Value(s, m)


def _pct_arg(it, v: Value) -> Any:
    if type(v.v) in SCALARS:
        return v.v
    return to_str(it, v)[0]


# ================================================================================================
# Models (pydantic-like BaseModel)
# ================================================================================================

_MISSING = object()


class FieldInfo:
    __slots__ = ("default", "default_factory", "description", "extra")

    def __init__(self, default: Any = _MISSING, default_factory: Any = None, description: Any = None, extra=None):
        self.default = default  # a Value, or _MISSING
        self.default_factory = default_factory
        self.description = description
        self.extra = extra or {}

    def __repr__(self) -> str:
        return "FieldInfo()"


class BaseModelMarker:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<class 'pydantic.BaseModel'>"


BASE_MODEL = BaseModelMarker()


class ModelClass:
    """A ``class X(BaseModel)`` defined by the program."""

    __slots__ = ("name", "fields", "doc", "parent")

    def __init__(self, name: str, fields: list, doc: str | None, parent: "ModelClass | None") -> None:
        self.name = name
        self.fields = fields  # list of (name, spec, FieldInfo)
        self.doc = doc
        self.parent = parent

    def is_sub(self, other: "ModelClass") -> bool:
        c: ModelClass | None = self
        while c is not None:
            if c is other:
                return True
            c = c.parent
        return False

    def __repr__(self) -> str:
        return f"<class '{self.name}'>"


class ModelInstance:
    __slots__ = ("cls", "fields")

    def __init__(self, cls: ModelClass, fields: dict[str, Value]) -> None:
        self.cls = cls
        self.fields = fields

    def walk_children(self):
        return list(self.fields.values())

    def to_json_value(self, conv):
        return {k: conv(v) for k, v in self.fields.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelInstance) and other.cls is self.cls and other.fields == self.fields

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.cls.name}(" + ", ".join(f"{k}={v!r}" for k, v in self.fields.items()) + ")"

    def __str__(self) -> str:
        return " ".join(f"{k}={v!r}" for k, v in self.fields.items())


ANY = ("any",)


def spec_from_value(x: Any) -> tuple:
    """Type spec for a runtime value used as annotation (``str``, ``MyModel``, ``None``...)."""
    if x is None:
        return ("none",)
    if isinstance(x, TypeMarker):
        return x.spec
    if isinstance(x, ModelClass):
        return ("model", x)
    if isinstance(x, TypingMarker) and x.name == "Any":
        return ANY
    if isinstance(x, DtClass):
        return ("dt", x.name)
    if isinstance(x, tuple):  # already a spec
        return x
    return ANY


def spec_subscript(base: Any, params: list[tuple], raw: list[Any]) -> tuple:
    name = base.name if isinstance(base, (TypingMarker, TypeMarker)) else ""
    if name in ("list", "List", "Sequence", "set", "Set", "tuple", "Tuple"):
        return ("list", params[0] if params else ANY)
    if name in ("dict", "Dict", "Mapping"):
        return ("dict", params[0] if params else ANY, params[1] if len(params) > 1 else ANY)
    if name == "Optional":
        return ("union", [params[0], ("none",)])
    if name == "Union":
        return ("union", params)
    if name == "Literal":
        return ("literal", raw)
    if name == "Annotated":
        return params[0]
    return ANY


def spec_schema(spec: tuple, defs: dict[str, Any]) -> dict[str, Any]:
    k = spec[0]
    if k == "str":
        return {"type": "string"}
    if k == "int":
        return {"type": "integer"}
    if k == "float":
        return {"type": "number"}
    if k == "bool":
        return {"type": "boolean"}
    if k == "none":
        return {"type": "null"}
    if k == "list":
        return {"type": "array", "items": spec_schema(spec[1], defs)}
    if k == "dict":
        return {"type": "object", "additionalProperties": spec_schema(spec[2], defs)}
    if k == "union":
        return {"anyOf": [spec_schema(s, defs) for s in spec[1]]}
    if k == "literal":
        vals = list(spec[1])
        out: dict[str, Any] = {"enum": vals}
        kinds = {type(v) for v in vals}
        if kinds == {str}:
            out["type"] = "string"
        elif kinds == {int}:
            out["type"] = "integer"
        return out
    if k == "model":
        cls: ModelClass = spec[1]
        if cls.name not in defs:
            defs[cls.name] = {}  # placeholder against recursion
            defs[cls.name] = model_schema_body(cls, defs)
        return {"$ref": f"#/$defs/{cls.name}"}
    if k == "dt":
        return {"type": "string", "format": {"datetime": "date-time", "date": "date"}.get(spec[1], "duration")}
    return {}


_CONSTRAINTS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "pattern": "pattern",
    "multiple_of": "multipleOf",
    "examples": "examples",
    "title": "title",
}


def all_fields(cls: ModelClass) -> list:
    chain = []
    c: ModelClass | None = cls
    while c is not None:
        chain.append(c)
        c = c.parent
    out: dict[str, tuple] = {}
    for c in reversed(chain):
        for f in c.fields:
            out[f[0]] = f
    return list(out.values())


def model_schema_body(cls: ModelClass, defs: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, spec, info in all_fields(cls):
        sch = dict(spec_schema(spec, defs))
        sch.setdefault("title", name.replace("_", " ").title())
        if info.description is not None:
            sch["description"] = info.description
        for key, jkey in _CONSTRAINTS.items():
            if key in info.extra:
                sch[jkey] = info.extra[key]
        if info.default is not _MISSING:
            try:
                sch["default"] = to_json_value(info.default)
            except Exception:  # noqa: BLE001 - a default that is not JSON stays out of the schema
                pass
        elif info.default_factory is None:
            required.append(name)
        props[name] = sch
    body: dict[str, Any] = {"properties": props}
    if required:
        body["required"] = required
    body["title"] = cls.name
    body["type"] = "object"
    if cls.doc:
        body["description"] = cls.doc
    return body


def model_json_schema(cls: ModelClass) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    body = model_schema_body(cls, defs)
    defs.pop(cls.name, None)
    if defs:
        return {"$defs": defs, **body}
    return body


def _verr(path: str, msg: str) -> ProgRaise:
    return perr("ValidationError", f"{path}: {msg}" if path else msg)


def validate(it, spec: tuple, val: Value, path: str) -> Value:
    """Validate/coerce a value against a type spec (pydantic lax mode, roughly)."""
    k = spec[0]
    v = val.v
    t = type(v)
    if k == "any":
        return val
    if k == "str":
        if t is str:
            return val
        raise _verr(path, f"Input should be a valid string, got {type_name(v)}")
    if k == "int":
        if t is int:
            return val
        if t is bool:
            return Value(int(v), val.m)
        if t is float and v.is_integer():
            return Value(int(v), val.m)
        if t is str and _pyre.fullmatch(r"\s*[-+]?\d{1,300}\s*", v):
            return Value(int(v), val.m)
        raise _verr(path, f"Input should be a valid integer, got {v!r}")
    if k == "float":
        if t is float:
            return val
        if t is int or t is bool:
            return Value(float(v), val.m)
        if t is str:
            try:
                return Value(float(v), val.m)
            except ValueError:
                pass
        raise _verr(path, f"Input should be a valid number, got {v!r}")
    if k == "bool":
        if t is bool:
            return val
        if t is int and v in (0, 1):
            return Value(bool(v), val.m)
        if t is str and v.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return Value(v.lower() in ("true", "yes", "1", "on"), val.m)
        raise _verr(path, f"Input should be a valid boolean, got {v!r}")
    if k == "none":
        if v is None:
            return val
        raise _verr(path, "Input should be None")
    if k == "list":
        if t not in (list, tuple, SetV):
            raise _verr(path, f"Input should be a valid list, got {type_name(v)}")
        items = list(v.d) if t is SetV else v
        return Value([validate(it, spec[1], e, f"{path}.{i}") for i, e in enumerate(items)], val.m)
    if k == "dict":
        if t is not dict:
            raise _verr(path, f"Input should be a valid dictionary, got {type_name(v)}")
        return Value(
            {validate(it, spec[1], kk, path): validate(it, spec[2], e, f"{path}.{kk.v}") for kk, e in v.items()},
            val.m,
        )
    if k == "union":
        errs = []
        for s in spec[1]:
            try:
                return validate(it, s, val, path)
            except ProgRaise as e:
                errs.append(e.exc.message())
        raise _verr(path, "; ".join(errs))
    if k == "literal":
        if v in spec[1]:
            return val
        raise _verr(path, f"Input should be one of {spec[1]!r}")
    if k == "model":
        cls = spec[1]
        if t is ModelInstance and v.cls.is_sub(cls):
            return val
        if t is dict:
            kw = {}
            for kk, e in v.items():
                if type(kk.v) is str:
                    kw[kk.v] = e
            return instantiate(it, cls, [], kw, path)
        raise _verr(path, f"Input should be a valid dictionary or instance of {cls.name}")
    if k == "dt":
        return val
    return val


def instantiate(it, cls: ModelClass, args: list[Value], kwargs: dict[str, Value], path: str = "") -> Value:
    if args:
        raise perr("TypeError", f"{cls.name}() takes keyword arguments only")
    fields: dict[str, Value] = {}
    m = NEUTRAL
    for name, spec, info in all_fields(cls):
        sub = f"{path}.{name}" if path else name
        if name in kwargs:
            fields[name] = validate(it, spec, kwargs[name], sub)
            if info.extra:
                _check_constraints(it, info.extra, fields[name].v, sub)
        elif info.default is not _MISSING:
            d = info.default
            t = type(d.v)
            # Like pydantic, every instance gets its own copy of a mutable default.
            if t is list:
                d = Value(list(d.v), d.m)
            elif t is dict:
                d = Value(dict(d.v), d.m)
            elif t is SetV:
                d = Value(d.v.copy(), d.m)
            fields[name] = d
        elif info.default_factory is not None:
            fields[name] = it.call(info.default_factory, [], {})
        else:
            raise _verr(sub, "Field required")
        m = mm(m, fields[name].m)
    return Value(ModelInstance(cls, fields), NEUTRAL)


def _check_constraints(it, extra: dict, v: Any, path: str) -> None:
    """``Field(min_length=, max_length=, ge=, gt=, le=, lt=, pattern=)`` on a validated value."""
    if v is None:
        return
    if type(v) in (str, list, tuple, dict, SetV):
        n = len(v)
        if "min_length" in extra and type(extra["min_length"]) is int and n < extra["min_length"]:
            raise _verr(path, f"should have at least {extra['min_length']} items/characters")
        if "max_length" in extra and type(extra["max_length"]) is int and n > extra["max_length"]:
            raise _verr(path, f"should have at most {extra['max_length']} items/characters")
    if type(v) in (int, float):
        for key, ok in (("ge", operator.ge), ("gt", operator.gt), ("le", operator.le), ("lt", operator.lt)):
            bound = extra.get(key)
            if type(bound) in (int, float) and not ok(v, bound):
                raise _verr(path, f"Input should be {key} {bound}")
    pat = extra.get("pattern")
    if type(v) is str and type(pat) is str:
        if re_op(it, re_compile(it, Value(pat)), "search", [Value(v)], {}).v is None:
            raise _verr(path, f"String should match pattern {pat!r}")


def model_dump(it, inst: ModelInstance) -> Value:
    out = {}
    for k, v in inst.fields.items():
        if type(v.v) is ModelInstance:
            v = Value(model_dump(it, v.v).v, v.m)
        out[Value(k)] = v
    return Value(out, NEUTRAL)


# ================================================================================================
# datetime
# ================================================================================================


class DtClass:
    """``datetime.datetime`` / ``date`` / ``timedelta`` / ``timezone`` as seen by programs."""

    __slots__ = ("name", "pytype")

    def __init__(self, name: str, pytype: type) -> None:
        self.name = name
        self.pytype = pytype

    def __repr__(self) -> str:
        return f"<class 'datetime.{self.name}'>"


DT_CLASSES = {
    "datetime": DtClass("datetime", _dt.datetime),
    "date": DtClass("date", _dt.date),
    "time": DtClass("time", _dt.time),
    "timedelta": DtClass("timedelta", _dt.timedelta),
    "timezone": DtClass("timezone", _dt.timezone),
}

_DT_TYPES = (_dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone)

_DT_ATTRS = {
    _dt.datetime: {"year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo"},
    _dt.date: {"year", "month", "day"},
    _dt.time: {"hour", "minute", "second", "microsecond"},
    _dt.timedelta: {"days", "seconds", "microseconds"},
    _dt.timezone: set(),
}
_DT_METHODS = {
    _dt.datetime: {
        "isoformat", "strftime", "date", "time", "weekday", "isoweekday", "replace", "timestamp",
        "astimezone", "utcoffset", "isocalendar", "ctime",
    },
    _dt.date: {"isoformat", "strftime", "weekday", "isoweekday", "replace", "isocalendar", "ctime"},
    _dt.time: {"isoformat", "strftime", "replace"},
    _dt.timedelta: {"total_seconds"},
    _dt.timezone: {"utcoffset", "tzname"},
}


def dt_construct(it, cls: DtClass, args: list[Value], kwargs: dict[str, Value]) -> Value:
    pa = [plain_arg(a) for a in args]
    pk = {k: plain_arg(a) for k, a in kwargs.items()}
    for x in list(pa) + list(pk.values()):
        if type(x) is int and abs(x) > 10**12:
            raise perr("OverflowError", "date value out of range")
    return Value(cls.pytype(*pa, **pk), args_meta(args, kwargs))


def dt_classmethod(it, cls: DtClass, name: str) -> Callable | None:
    py = cls.pytype
    if name in ("now", "today", "utcnow") and py in (_dt.datetime, _dt.date):

        def now(it, args, kwargs):
            tz = plain_arg(args[0]) if args else (plain_arg(kwargs["tz"]) if "tz" in kwargs else None)
            stamp = it.clock()  # recorded for replay
            d = _dt.datetime.fromisoformat(stamp)
            if tz is not None:
                d = d.astimezone(tz)
            elif name != "utcnow":
                d = d.astimezone().replace(tzinfo=None)
            else:
                d = d.replace(tzinfo=None)
            if py is _dt.date:
                return Value(d.date())
            return Value(d)

        return now
    if name == "fromisoformat" and py in (_dt.datetime, _dt.date, _dt.time):

        def fromiso(it, args, kwargs):
            s = args[0]
            if type(s.v) is not str or len(s.v) > 100:
                raise perr("ValueError", "Invalid isoformat string")
            return Value(py.fromisoformat(s.v), s.m)

        return fromiso
    if name == "strptime" and py is _dt.datetime:

        def strptime(it, args, kwargs):
            s, f = args[0], args[1]
            if type(s.v) is not str or type(f.v) is not str or len(s.v) > 200 or len(f.v) > 200:
                raise perr("ValueError", "strptime arguments must be short strings")
            return Value(_dt.datetime.strptime(s.v, f.v), mm(s.m, f.m))

        return strptime
    if name in ("fromtimestamp", "combine", "fromordinal") and py in (_dt.datetime, _dt.date):

        def other(it, args, kwargs):
            return Value(getattr(py, name)(*[plain_arg(a) for a in args]), args_meta(args, kwargs))

        return other
    return None


# ================================================================================================
# re (RE2)
# ================================================================================================


class RePattern:
    __slots__ = ("rx", "pattern", "meta")

    def __init__(self, rx: Any, pattern: str, meta: Meta) -> None:
        self.rx = rx
        self.pattern = pattern
        self.meta = meta

    def __repr__(self) -> str:
        return f"re.compile({self.pattern!r})"


class ReMatch:
    __slots__ = ("mt", "meta")

    def __init__(self, mt: Any, meta: Meta) -> None:
        self.mt = mt
        self.meta = meta

    def __repr__(self) -> str:
        return f"<re.Match object; span={self.mt.span()}, match={self.mt.group(0)!r}>"


RE_FLAGS = {"IGNORECASE": 2, "I": 2, "MULTILINE": 8, "M": 8, "DOTALL": 16, "S": 16, "ASCII": 256, "A": 256}
_RE_CACHE: dict[tuple[str, int], Any] = {}


def re_compile(it, pattern: Value, flags: int = 0) -> RePattern:
    p = pattern.v
    if type(p) is str:
        pass
    elif type(p) is RePattern:
        return p
    else:
        raise perr("TypeError", "pattern must be a string")
    if len(p) > 10_000:
        raise ResourceLimitExceeded("regular expression too long", limit="max_regex_len")
    key = (p, flags)
    rx = _RE_CACHE.get(key)
    if rx is None:
        prefix = ""
        if flags & 2:
            prefix += "i"
        if flags & 8:
            prefix += "m"
        if flags & 16:
            prefix += "s"
        opts = re2.Options()
        opts.max_mem = 8 << 20
        opts.log_errors = False
        try:
            rx = re2.compile(f"(?{prefix}){p}" if prefix else p, opts)
        except re2.error as e:
            raise perr("RegexError", f"unsupported or invalid regular expression: {e}") from None
        if len(_RE_CACHE) > 512:
            _RE_CACHE.clear()
        _RE_CACHE[key] = rx
    return RePattern(rx, p, pattern.m)


def _flags(args: list[Value], kwargs: dict[str, Value], pos: int) -> int:
    if "flags" in kwargs:
        return int(kwargs["flags"].v)
    if len(args) > pos:
        return int(args[pos].v)
    return 0


def _subject(it, v: Value) -> str:
    if type(v.v) is not str:
        raise perr("TypeError", "expected string")
    return v.v


def re_op(it, pat: RePattern, op: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """Run ``op`` of a compiled pattern; ``args`` excludes the pattern."""
    rx = pat.rx
    if op in ("search", "match", "fullmatch"):
        s = args[0]
        subj = _subject(it, s)
        mt = getattr(rx, op)(subj)
        m = mm(pat.meta, s.m)
        return Value(ReMatch(mt, m), m) if mt is not None else Value(None, m)
    if op == "findall":
        s = args[0]
        subj = _subject(it, s)
        m = mm(pat.meta, s.m)
        res = rx.findall(subj)
        chk_coll(it, len(res))
        return wrap_plain(list(res), m)
    if op == "finditer":
        s = args[0]
        subj = _subject(it, s)
        m = mm(pat.meta, s.m)
        res = [Value(ReMatch(x, m), m) for x in rx.finditer(subj)]
        chk_coll(it, len(res))
        return Value(res, m)
    if op == "split":
        s = args[0]
        subj = _subject(it, s)
        maxsplit = int(kwargs["maxsplit"].v) if "maxsplit" in kwargs else (int(args[1].v) if len(args) > 1 else 0)
        m = mm(pat.meta, s.m)
        res = rx.split(subj, maxsplit=maxsplit)
        chk_coll(it, len(res))
        return wrap_plain(list(res), m)
    if op in ("sub", "subn"):
        repl, s = args[0], args[1]
        count = int(kwargs["count"].v) if "count" in kwargs else (int(args[2].v) if len(args) > 2 else 0)
        subj = _subject(it, s)
        m = mm(mm(pat.meta, s.m), repl.m)
        if type(repl.v) is str:
            r = repl.v
            # Worst case: every position matches and is replaced.
            if len(r) * (len(subj) + 1) + len(subj) > it.lim.max_str_len:
                n = len(rx.findall(subj))
                chk_str(it, len(subj) + n * len(r) * 2)
            out = getattr(rx, op)(r, subj, count=count)
        else:
            # A callable replacement: call it for each match, in order.
            pieces = []
            last = 0
            n = 0
            for mt in rx.finditer(subj):
                if count and n >= count:
                    break
                rv = it.call(repl, [Value(ReMatch(mt, m), m)], {})
                if type(rv.v) is not str:
                    raise perr("TypeError", "replacement function must return str")
                m = mm(m, rv.m)
                pieces.append(subj[last : mt.start()])
                pieces.append(rv.v)
                last = mt.end()
                n += 1
                chk_str(it, sum(len(p) for p in pieces))
            pieces.append(subj[last:])
            res = "".join(pieces)
            out = (res, n) if op == "subn" else res
        if op == "subn":
            chk_str(it, len(out[0]))
            return Value((Value(out[0], m), Value(out[1], m)), m)
        chk_str(it, len(out))
        return Value(out, m)
    raise perr("AttributeError", f"'re.Pattern' object has no attribute '{op}'")


# Positional layout of the module-level functions: (number of arguments before ``flags``).
_RE_ARITY = {"search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2, "split": 3, "sub": 4, "subn": 4}


def _re_module_fn(op: str):
    arity = _RE_ARITY[op]

    def fn(it, args, kwargs):
        if not args:
            raise perr("TypeError", f"re.{op}() missing pattern")
        if len(args) > arity + 1:
            raise perr("TypeError", f"re.{op}() takes at most {arity + 1} arguments")
        pat = re_compile(it, args[0], _flags(args, kwargs, arity))
        kw = {k: v for k, v in kwargs.items() if k != "flags"}
        return re_op(it, pat, op, list(args[1:arity]), kw)

    return fn


def _re_compile_fn(it, args, kwargs):
    pat = re_compile(it, args[0], _flags(args, kwargs, 1))
    return Value(pat, pat.meta)


def _re_escape(it, args, kwargs):
    s = args[0]
    return Value(re2.escape(_subject(it, s)), s.m)


def match_method(it, recv: Value, mtv: ReMatch, name: str, args: list[Value]) -> Value:
    mt = mtv.mt
    m = mtv.meta
    pa = [a.v for a in args]
    if name == "group":
        if len(pa) > 1:
            return wrap_plain(tuple(mt.group(*pa)), m)
        return wrap_plain(mt.group(*pa), m)
    if name == "groups":
        return wrap_plain(tuple(mt.groups(*pa)), m)
    if name == "groupdict":
        return wrap_plain(dict(mt.groupdict(*pa)), m)
    if name in ("start", "end"):
        return Value(getattr(mt, name)(*pa), m)
    if name == "span":
        return wrap_plain(tuple(mt.span(*pa)), m)
    raise perr("AttributeError", f"'re.Match' object has no attribute '{name}'")


# ================================================================================================
# json
# ================================================================================================


def _json_dumps(it, args, kwargs):
    val = args[0]
    m, _ = measure(val, it.lim.max_walk_nodes, it.lim.max_str_len)
    indent = kwargs.get("indent")
    ind = indent.v if indent is not None else None
    if ind is not None and (type(ind) is not int or ind > 16):
        if not (type(ind) is str and len(ind) <= 16):
            raise perr("ValueError", "indent must be a small integer")
    ensure_ascii = bool(kwargs["ensure_ascii"].v) if "ensure_ascii" in kwargs else True
    sort_keys = bool(kwargs["sort_keys"].v) if "sort_keys" in kwargs else False
    seps = kwargs.get("separators")
    sep = tuple(plain_arg(seps)) if seps is not None and seps.v is not None else None
    plain = to_json_value(val, it.lim.max_walk_nodes)
    s = _json.dumps(plain, indent=ind, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=sep, default=str)
    chk_str(it, len(s))
    return Value(s, m)


def _json_loads(it, args, kwargs):
    s = args[0]
    if type(s.v) is not str:
        raise perr("TypeError", "the JSON object must be str")
    try:
        obj = _json.loads(s.v)
    except _json.JSONDecodeError as e:
        raise perr("JSONDecodeError", str(e), s.m) from None
    except RecursionError:
        raise perr("JSONDecodeError", "JSON nested too deeply", s.m) from None
    return wrap_json(obj, s.m)


# ================================================================================================
# Builtin functions
# ================================================================================================


def _one(args: list[Value], name: str) -> Value:
    if len(args) != 1:
        raise perr("TypeError", f"{name}() takes exactly one argument ({len(args)} given)")
    return args[0]


def b_len(it, args, kwargs):
    a = _one(args, "len")
    v = a.v
    if type(v) in (str, list, tuple, dict, SetV, range):
        return Value(len(v), a.m)
    raise perr("TypeError", f"object of type '{type_name(v)}' has no len()")


def b_range(it, args, kwargs):
    pa = [a.v for a in args]
    for x in pa:
        if type(x) is not int and type(x) is not bool:
            raise perr("TypeError", f"'{type_name(x)}' object cannot be interpreted as an integer")
    return Value(range(*pa), args_meta(args))


def b_enumerate(it, args, kwargs):
    start = kwargs["start"].v if "start" in kwargs else (args[1].v if len(args) > 1 else 0)
    src = args[0]
    m = src.m
    out = [Value((Value(i, m), e), m) for i, e in enumerate(materialize(it, src), start)]
    return Value(out, m)


def b_zip(it, args, kwargs):
    lists = [materialize(it, a) for a in args]
    m = args_meta(args)
    return Value([Value(tuple(t), m) for t in zip(*lists)], m)


def _key_fn(it, kwargs):
    kf = kwargs.get("key")
    if kf is None or kf.v is None:
        return None
    return kf


def b_sorted(it, args, kwargs):
    items = materialize(it, args[0])
    rev = bool(kwargs["reverse"].v) if "reverse" in kwargs else False
    return Value(_sort_values(it, items, _key_fn(it, kwargs), rev), _order_meta(args[0].m, items))


def _order_meta(m: Meta, items: list[Value]) -> Meta:
    for e in items:
        m = mm(m, e.m)
    return m


def _sort_values(it, items: list[Value], key: Value | None, rev: bool) -> list[Value]:
    it.count_steps(len(items))
    if key is None:
        return sorted(items, reverse=rev)
    keys = [it.call(key, [e], {}) for e in items]
    order = sorted(range(len(items)), key=lambda i: keys[i], reverse=rev)
    return [items[i] for i in order]


def _minmax(which: str):
    def fn(it, args, kwargs):
        if len(args) == 1:
            items = materialize(it, args[0])
            m = args[0].m
        else:
            items = list(args)
            m = NEUTRAL
        if not items:
            if "default" in kwargs:
                return kwargs["default"]
            raise perr("ValueError", f"{which}() arg is an empty sequence")
        key = _key_fn(it, kwargs)
        it.count_steps(len(items))
        if key is None:
            best = min(items) if which == "min" else max(items)
        else:
            keys = [it.call(key, [e], {}) for e in items]
            idx = range(len(items))
            bi = min(idx, key=lambda i: keys[i]) if which == "min" else max(idx, key=lambda i: keys[i])
            best = items[bi]
        m = _order_meta(m, items)
        return Value(best.v, mm(best.m, m))

    return fn


def b_sum(it, args, kwargs):
    items = materialize(it, args[0])
    start = args[1] if len(args) > 1 else kwargs.get("start", Value(0))
    total = start.v
    m = mm(args[0].m, start.m)
    for e in items:
        x = e.v
        if type(x) not in (int, float, bool):
            raise perr("TypeError", f"unsupported operand type(s) for +: '{type_name(total)}' and '{type_name(x)}'")
        total = total + x
        m = mm(m, e.m)
    chk_int(it, total)
    return Value(total, m)


def b_any(it, args, kwargs):
    items = materialize(it, args[0])
    return Value(any(bool(e.v) for e in items), _order_meta(args[0].m, items))


def b_all(it, args, kwargs):
    items = materialize(it, args[0])
    return Value(all(bool(e.v) for e in items), _order_meta(args[0].m, items))


def b_abs(it, args, kwargs):
    a = _one(args, "abs")
    if type(a.v) not in (int, float, bool) and not isinstance(a.v, _dt.timedelta):
        raise perr("TypeError", f"bad operand type for abs(): '{type_name(a.v)}'")
    return Value(abs(a.v), a.m)


def b_round(it, args, kwargs):
    x = args[0]
    nd = args[1] if len(args) > 1 else kwargs.get("ndigits")
    if type(x.v) not in (int, float, bool):
        raise perr("TypeError", f"type {type_name(x.v)} doesn't define __round__ method")
    if nd is None or nd.v is None:
        return Value(round(x.v), x.m)
    if type(nd.v) is not int or abs(nd.v) > 400:
        raise perr("ValueError", "ndigits out of range")
    return Value(round(x.v, nd.v), mm(x.m, nd.m))


def b_divmod(it, args, kwargs):
    a, b = args
    if type(a.v) not in (int, float, bool) or type(b.v) not in (int, float, bool):
        raise perr("TypeError", "unsupported operand type(s) for divmod()")
    q, r = divmod(a.v, b.v)
    m = mm(a.m, b.m)
    return Value((Value(q, m), Value(r, m)), m)


def b_pow(it, args, kwargs):
    if len(args) == 3:
        b, e, mod = (x.v for x in args)
        if not all(type(x) is int for x in (b, e, mod)):
            raise perr("TypeError", "pow() 3rd argument not allowed unless all arguments are integers")
        return Value(pow(b, e, mod), args_meta(args))
    return binop(it, "**", args[0], args[1])


def b_isinstance(it, args, kwargs):
    obj, types = args
    return Value(_isinstance(obj.v, types.v), obj.m)


def _isinstance(x: Any, t: Any) -> bool:
    if type(t) is tuple:
        return any(_isinstance(x, e.v) for e in t)
    if isinstance(t, TypeMarker):
        return isinstance(x, t.pytypes)
    if isinstance(t, ModelClass):
        return type(x) is ModelInstance and x.cls.is_sub(t)
    if isinstance(t, ExcType):
        return type(x) is ExcObj and x.type.is_sub(t)
    if isinstance(t, DtClass):
        return isinstance(x, t.pytype)
    if isinstance(t, BaseModelMarker):
        return type(x) is ModelInstance
    if isinstance(t, ResultCtor):
        return type(x) is ResultObj and x.ok == t.ok
    if t is None:
        return x is None
    raise perr("TypeError", "isinstance() arg 2 must be a type or tuple of types")


def b_str(it, args, kwargs):
    if not args:
        return Value("")
    s, m = to_str(it, args[0])
    return Value(s, m)


def b_repr(it, args, kwargs):
    s, m = to_repr(it, _one(args, "repr"))
    return Value(s, m)


def b_int(it, args, kwargs):
    if not args:
        return Value(0)
    x = args[0]
    v = x.v
    if len(args) > 1 or "base" in kwargs:
        base = (args[1] if len(args) > 1 else kwargs["base"]).v
        if type(v) is not str:
            raise perr("TypeError", "int() can't convert non-string with explicit base")
        return Value(int(v, base), args_meta(args, kwargs))
    if type(v) is str:
        if len(v) > 1000:
            raise perr("ValueError", "integer string too long")
        return Value(int(v), x.m)
    if type(v) in (int, float, bool):
        return Value(int(v), x.m)
    raise perr("TypeError", f"int() argument must be a string or a number, not '{type_name(v)}'")


def b_float(it, args, kwargs):
    if not args:
        return Value(0.0)
    x = args[0]
    v = x.v
    if type(v) in (int, float, bool) or (type(v) is str and len(v) <= 1000):
        return Value(float(v), x.m)
    raise perr("TypeError", f"float() argument must be a string or a real number, not '{type_name(v)}'")


def b_bool(it, args, kwargs):
    if not args:
        return Value(False)
    x = args[0]
    return Value(truthy(x.v), x.m)


def truthy(v: Any) -> bool:
    return bool(v)


def b_list(it, args, kwargs):
    if not args:
        return Value([])
    return Value(materialize(it, args[0]), args[0].m)


def b_tuple(it, args, kwargs):
    if not args:
        return Value(())
    return Value(tuple(materialize(it, args[0])), args[0].m)


def b_set(it, args, kwargs):
    if not args:
        return Value(SetV())
    items = materialize(it, args[0])
    return Value(SetV(items), args[0].m)


def b_dict(it, args, kwargs):
    out: dict[Value, Value] = {}
    m = NEUTRAL
    if args:
        src = args[0]
        m = src.m
        if type(src.v) is dict:
            out.update(src.v)
        else:
            for pair in materialize(it, src):
                kv = list(iter_values(it, pair))
                if len(kv) != 2:
                    raise perr("ValueError", "dictionary update sequence element has wrong length")
                out[kv[0]] = kv[1]
    for k, v in kwargs.items():
        out[Value(k)] = v
    chk_coll(it, len(out))
    return Value(out, m)


def b_print(it, args, kwargs):
    sep = kwargs["sep"].v if "sep" in kwargs and kwargs["sep"].v is not None else " "
    parts = [to_str(it, a)[0] for a in args]
    line = str(sep).join(parts)
    it.print_line(line)
    return NONE


def b_chr(it, args, kwargs):
    x = _one(args, "chr")
    return Value(chr(x.v), x.m)


def b_ord(it, args, kwargs):
    x = _one(args, "ord")
    return Value(ord(x.v), x.m)


def _numfmt(fn):
    def f(it, args, kwargs):
        x = _one(args, fn.__name__)
        if type(x.v) not in (int, bool):
            raise perr("TypeError", "an integer is required")
        return Value(fn(x.v), x.m)

    return f


def b_map(it, args, kwargs):
    fn = args[0]
    lists = [materialize(it, a) for a in args[1:]]
    m = args_meta(args[1:])
    out = [it.call(fn, list(t), {}) for t in zip(*lists)]
    return Value(out, m)


def b_filter(it, args, kwargs):
    fn = args[0]
    items = materialize(it, args[1])
    out = []
    m = args[1].m
    for e in items:
        keep = truthy(e.v) if fn.v is None else None
        if keep is None:
            r = it.call(fn, [e], {})
            keep = truthy(r.v)
            m = mm(m, r.m)
        else:
            m = mm(m, e.m)
        if keep:
            out.append(e)
    return Value(out, m)


def b_reversed(it, args, kwargs):
    src = _one(args, "reversed")
    if type(src.v) in (dict, SetV):
        if type(src.v) is SetV:
            raise perr("TypeError", "'set' object is not reversible")
    items = materialize(it, src)
    items.reverse()
    return Value(items, src.m)


def b_format(it, args, kwargs):
    val = args[0]
    spec = args[1] if len(args) > 1 else Value("")
    return Value(safe_format(it, val, spec.v), mm(deep_meta(val, it.lim.max_walk_nodes), spec.m))


def b_field(it, args, kwargs):
    default: Any = _MISSING
    if args:
        d = args[0]
        if d.v is not Ellipsis:
            default = d
    if "default" in kwargs:
        default = kwargs["default"]
    factory = kwargs.get("default_factory")
    desc = kwargs.get("description")
    extra = {}
    for k, v in kwargs.items():
        if k in ("default", "default_factory", "description"):
            continue
        try:
            extra[k] = to_json_value(v)
        except Exception:  # noqa: BLE001
            continue
    return Value(FieldInfo(default, factory, desc.v if desc is not None else None, extra))


class ResultCtor:
    __slots__ = ("ok",)

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __repr__(self) -> str:
        return "<class 'Ok'>" if self.ok else "<class 'Err'>"


def _type_ctor(name: str, fn, pytypes, spec):
    return TypeMarker(name, fn, pytypes, spec)


BUILTINS: dict[str, Any] = {
    "len": BuiltinFn("len", b_len),
    "range": BuiltinFn("range", b_range),
    "enumerate": BuiltinFn("enumerate", b_enumerate),
    "zip": BuiltinFn("zip", b_zip),
    "sorted": BuiltinFn("sorted", b_sorted),
    "reversed": BuiltinFn("reversed", b_reversed),
    "min": BuiltinFn("min", _minmax("min")),
    "max": BuiltinFn("max", _minmax("max")),
    "sum": BuiltinFn("sum", b_sum),
    "any": BuiltinFn("any", b_any),
    "all": BuiltinFn("all", b_all),
    "abs": BuiltinFn("abs", b_abs),
    "round": BuiltinFn("round", b_round),
    "divmod": BuiltinFn("divmod", b_divmod),
    "pow": BuiltinFn("pow", b_pow),
    "isinstance": BuiltinFn("isinstance", b_isinstance),
    "repr": BuiltinFn("repr", b_repr),
    "print": BuiltinFn("print", b_print),
    "chr": BuiltinFn("chr", b_chr),
    "ord": BuiltinFn("ord", b_ord),
    "hex": BuiltinFn("hex", _numfmt(hex)),
    "bin": BuiltinFn("bin", _numfmt(bin)),
    "oct": BuiltinFn("oct", _numfmt(oct)),
    "map": BuiltinFn("map", b_map),
    "filter": BuiltinFn("filter", b_filter),
    "format": BuiltinFn("format", b_format),
    "str": _type_ctor("str", b_str, (str,), ("str",)),
    "int": _type_ctor("int", b_int, (int,), ("int",)),
    "float": _type_ctor("float", b_float, (float,), ("float",)),
    "bool": _type_ctor("bool", b_bool, (bool,), ("bool",)),
    "list": _type_ctor("list", b_list, (list,), ("list", ANY)),
    "tuple": _type_ctor("tuple", b_tuple, (tuple,), ("list", ANY)),
    "dict": _type_ctor("dict", b_dict, (dict,), ("dict", ANY, ANY)),
    "set": _type_ctor("set", b_set, (SetV,), ("list", ANY)),
    "Ok": ResultCtor(True),
    "Err": ResultCtor(False),
}
for _name, _t in EXC.items():
    if _name not in ("BaseException", "JSONDecodeError", "ValidationError", "RegexError"):
        BUILTINS[_name] = _t

_TYPING = {n: TypingMarker(n) for n in (
    "Optional", "List", "Dict", "Union", "Literal", "Any", "Set", "Tuple", "Sequence", "Mapping", "Annotated",
)}


def _mod(name: str, attrs: dict[str, Any]) -> SafeModule:
    return SafeModule(name, attrs)


def _math_fn(name: str, f, bounded=False):
    def fn(it, args, kwargs):
        pa = [a.v for a in args]
        for x in pa:
            if type(x) not in (int, float, bool):
                raise perr("TypeError", f"must be real number, not {type_name(x)}")
        r = f(*pa)
        chk_int(it, r)
        return Value(r, args_meta(args))

    return BuiltinFn(name, fn)


MODULES: dict[str, SafeModule] = {
    "json": _mod(
        "json",
        {
            "dumps": BuiltinFn("dumps", _json_dumps),
            "loads": BuiltinFn("loads", _json_loads),
            "JSONDecodeError": EXC["JSONDecodeError"],
        },
    ),
    "re": _mod(
        "re",
        {
            **{op: BuiltinFn(op, _re_module_fn(op)) for op in (
                "search", "match", "fullmatch", "findall", "finditer", "split", "sub", "subn")},
            "compile": BuiltinFn("compile", _re_compile_fn),
            "escape": BuiltinFn("escape", _re_escape),
            "error": EXC["RegexError"],
            **{k: Value(v) for k, v in RE_FLAGS.items()},
        },
    ),
    "datetime": _mod("datetime", dict(DT_CLASSES)),
    "typing": _mod("typing", dict(_TYPING)),
    "pydantic": _mod(
        "pydantic",
        {"BaseModel": BASE_MODEL, "Field": BuiltinFn("Field", b_field), "ValidationError": EXC["ValidationError"]},
    ),
    "math": _mod(
        "math",
        {
            "floor": _math_fn("floor", math.floor),
            "ceil": _math_fn("ceil", math.ceil),
            "sqrt": _math_fn("sqrt", math.sqrt),
            "isclose": _math_fn("isclose", math.isclose),
            "log": _math_fn("log", math.log),
            "log10": _math_fn("log10", math.log10),
            "exp": _math_fn("exp", math.exp),
            "fabs": _math_fn("fabs", math.fabs),
            "trunc": _math_fn("trunc", math.trunc),
            "isnan": _math_fn("isnan", math.isnan),
            "isinf": _math_fn("isinf", math.isinf),
            "pi": Value(math.pi),
            "e": Value(math.e),
            "inf": Value(math.inf),
            "nan": Value(math.nan),
        },
    ),
}
MODULES["datetime"].attrs["timezone"] = DT_CLASSES["timezone"]
UTC = Value(_dt.timezone.utc)

# ================================================================================================
# Operators
# ================================================================================================

_NUM = (int, float, bool)


def _arith_ok(av: Any, bv: Any) -> bool:
    return type(av) in _NUM and type(bv) in _NUM


def binop(it, op: str, a: Value, b: Value) -> Value:
    av = a.v
    bv = b.v
    ta = type(av)
    tb = type(bv)
    m = mm(a.m, b.m)
    if op == "+":
        if ta is str and tb is str:
            chk_str(it, len(av) + len(bv))
            return Value(av + bv, m)
        if _arith_ok(av, bv):
            r = av + bv
            if ta is int and tb is int:
                chk_int(it, r)
            return Value(r, m)
        if (ta is list and tb is list) or (ta is tuple and tb is tuple):
            chk_coll(it, len(av) + len(bv))
            return Value(av + bv, m)
    elif op == "*":
        if _arith_ok(av, bv):
            if ta is int and tb is int and _bits(av) + _bits(bv) > it.lim.max_int_bits:
                raise ResourceLimitExceeded("integer exceeds max_int_bits", limit="max_int_bits")
            return Value(av * bv, m)
        if ta in (str, list, tuple) and tb in (int, bool) or tb in (str, list, tuple) and ta in (int, bool):
            seq, n = (av, bv) if ta in (str, list, tuple) else (bv, av)
            total = len(seq) * max(int(n), 0)
            if type(seq) is str:
                chk_str(it, total)
            else:
                chk_coll(it, total)
            return Value(seq * n, m)
    elif op == "%":
        if ta is str:
            return percent_format(it, a, b)
        if _arith_ok(av, bv):
            return Value(av % bv, m)
    elif op == "**":
        if _arith_ok(av, bv):
            if type(bv) is int and type(av) in (int, bool) and bv > 0:
                if abs(av) > 1 and max(_bits(av) - 1, 1) * bv > it.lim.max_int_bits:
                    raise ResourceLimitExceeded("integer exceeds max_int_bits", limit="max_int_bits")
            r = av**bv
            if type(r) is complex:
                raise perr("ValueError", "complex results are not supported")
            return Value(r, m)
    elif op == "<<":
        if ta in (int, bool) and tb in (int, bool):
            if bv > 0 and _bits(av) + bv > it.lim.max_int_bits:
                raise ResourceLimitExceeded("integer exceeds max_int_bits", limit="max_int_bits")
            return Value(av << bv, m)
    elif op in ("|", "&", "^", "-") and ta is SetV and tb is SetV:
        return Value(set_op(op, av, bv), m)
    elif op == "|" and ta is dict and tb is dict:
        r = dict(av)
        r.update(bv)
        chk_coll(it, len(r))
        return Value(r, m)
    else:
        f = _ARITH.get(op)
        if f is not None and _arith_ok(av, bv):
            return Value(f(av, bv), m)
    if isinstance(av, _DT_TYPES) or isinstance(bv, _DT_TYPES):
        f = _ARITH.get(op)
        if op in ("+", "-") and (
            (isinstance(av, (_dt.date, _dt.timedelta)) and isinstance(bv, (_dt.date, _dt.timedelta)))
        ):
            return Value(f(av, bv), m)
        if op in ("*", "/", "//") and isinstance(av, _dt.timedelta) and type(bv) in _NUM:
            return Value(f(av, bv), m)
        if op in ("/", "//") and isinstance(av, _dt.timedelta) and isinstance(bv, _dt.timedelta):
            return Value(f(av, bv), m)
    raise perr(
        "TypeError", f"unsupported operand type(s) for {op}: '{type_name(av)}' and '{type_name(bv)}'"
    )


_ARITH = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    ">>": operator.rshift,
    "|": operator.or_,
    "&": operator.and_,
    "^": operator.xor,
}


def set_op(op: str, a: SetV, b: SetV) -> SetV:
    if op == "|":
        r = a.copy()
        r.d.update(b.d)
        return r
    if op == "&":
        return SetV(k for k in a.d if k in b.d)
    if op == "-":
        return SetV(k for k in a.d if k not in b.d)
    r = SetV(k for k in a.d if k not in b.d)
    r.d.update((k, None) for k in b.d if k not in a.d)
    return r


_CMP = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compare(it, op: str, a: Value, b: Value) -> Value:
    av = a.v
    bv = b.v
    if type(av) in SCALARS and type(bv) in SCALARS:
        m = mm(a.m, b.m)
        if op in _CMP:
            return Value(_CMP[op](av, bv), m)
    if op == "in" or op == "not in":
        r, m = contains(it, b, a)
        return Value(r if op == "in" else not r, m)
    if op == "is":
        return Value(_is(av, bv), mm(a.m, b.m))
    if op == "is not":
        return Value(not _is(av, bv), mm(a.m, b.m))
    m = mm(deep_meta(a, it.lim.max_walk_nodes), deep_meta(b, it.lim.max_walk_nodes))
    it.count_steps(1)
    if isinstance(av, ModelInstance) or isinstance(bv, ModelInstance):
        if op not in ("==", "!="):
            raise perr("TypeError", f"'{op}' not supported between model instances")
    r = _CMP[op](av, bv)
    if type(r) is not bool:
        raise perr("TypeError", f"'{op}' not supported between '{type_name(av)}' and '{type_name(bv)}'")
    return Value(r, m)


def _is(a: Any, b: Any) -> bool:
    if a is None or b is None or type(a) is bool or type(b) is bool:
        return a is b
    if type(a) in SCALARS and type(b) in SCALARS:
        return type(a) is type(b) and a == b
    return a is b


def contains(it, container: Value, item: Value) -> tuple[bool, Meta]:
    c = container.v
    t = type(c)
    m = mm(container.m, item.m)
    if t is str:
        if type(item.v) is not str:
            raise perr("TypeError", "'in <string>' requires string as left operand")
        return item.v in c, m
    if t is dict or t is SetV:
        d = c if t is dict else c.d
        try:
            hash(item)
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(item.v)}'") from None
        return item in d, m
    if t is list or t is tuple:
        it.count_steps(len(c))
        for e in c:
            m = mm(m, e.m)
        return item in c, m
    if t is range:
        return item.v in c, m
    raise perr("TypeError", f"argument of type '{type_name(c)}' is not iterable")


def unary(it, op: str, a: Value) -> Value:
    v = a.v
    if op == "not":
        return Value(not truthy(v), a.m)
    if type(v) in _NUM or isinstance(v, _dt.timedelta):
        if op == "-":
            return Value(-v, a.m)
        if op == "+":
            return Value(+v, a.m)
        if op == "~" and type(v) in (int, bool):
            return Value(~v, a.m)
    raise perr("TypeError", f"bad operand type for unary {op}: '{type_name(v)}'")


# ================================================================================================
# Subscripts
# ================================================================================================


def getitem(it, cont: Value, key: Value) -> Value:
    c = cont.v
    k = key.v
    t = type(c)
    if t is dict:
        try:
            e = c[key]
        except KeyError:
            raise ProgRaise(ExcObj(EXC["KeyError"], [key], mm(cont.m, key.m))) from None
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(k)}'") from None
        em = e.m
        cm = cont.m
        km = key.m
        if (cm is em or cm is NEUTRAL) and (km is NEUTRAL or km is em):
            return e
        m = mm(mm(em, cm), km)
        return e if m is em else Value(e.v, m)
    if t is list or t is tuple or t is str or t is range:
        if type(k) is int or type(k) is bool:
            try:
                e = c[k]
            except IndexError:
                raise perr("IndexError", f"{type_name(c)} index out of range") from None
            if t is str or t is range:
                return Value(e, mm(cont.m, key.m))
            m = mm(mm(e.m, cont.m), key.m)
            return e if m is e.m else Value(e.v, m)
        if type(k) is slice:
            r = c[k]
            m = mm(cont.m, key.m)
            if t is range:
                return Value(r, m)
            return Value(r, m)
        raise perr("TypeError", f"{type_name(c)} indices must be integers or slices, not {type_name(k)}")
    if t is ModelInstance:
        raise perr("TypeError", f"'{c.cls.name}' object is not subscriptable")
    if t is ReMatch:
        return match_method(it, cont, c, "group", [key])
    raise perr("TypeError", f"'{type_name(c)}' object is not subscriptable")


def setitem(it, cont: Value, key: Value, val: Value) -> None:
    c = cont.v
    t = type(c)
    val = store_elem(it, val)
    if t is dict:
        try:
            if key not in c:
                chk_coll(it, len(c) + 1)
            else:
                c.pop(key)  # keep the new key's metadata
            c[store_elem(it, key)] = val
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(key.v)}'") from None
        touch(it, cont)
        if key.m is not NEUTRAL:
            cont.m = mm(cont.m, key.m)
        return
    if t is list:
        k = key.v
        if type(k) is int or type(k) is bool:
            try:
                c[k] = val
            except IndexError:
                raise perr("IndexError", "list assignment index out of range") from None
        elif type(k) is slice:
            items = materialize(it, val)
            c[k] = items
            chk_coll(it, len(c))
        else:
            raise perr("TypeError", f"list indices must be integers or slices, not {type_name(k)}")
        touch(it, cont)
        if key.m is not NEUTRAL:
            cont.m = mm(cont.m, key.m)
        return
    raise perr("TypeError", f"'{type_name(c)}' object does not support item assignment")


def delitem(it, cont: Value, key: Value) -> None:
    c = cont.v
    t = type(c)
    try:
        if t is dict:
            del c[key]
        elif t is list:
            del c[key.v]
        else:
            raise perr("TypeError", f"'{type_name(c)}' object doesn't support item deletion")
    except KeyError:
        raise ProgRaise(ExcObj(EXC["KeyError"], [key])) from None
    except IndexError:
        raise perr("IndexError", "list assignment index out of range") from None
    touch(it, cont)


# ================================================================================================
# Methods
# ================================================================================================

_STR_PURE = {
    "capitalize", "casefold", "lower", "upper", "title", "swapcase", "strip", "lstrip", "rstrip",
    "split", "rsplit", "splitlines", "startswith", "endswith", "find", "rfind", "index", "rindex",
    "count", "isalnum", "isalpha", "isdigit", "isnumeric", "isdecimal", "isspace", "islower",
    "isupper", "istitle", "isidentifier", "isascii", "isprintable", "partition", "rpartition",
    "removeprefix", "removesuffix",
}


def str_method(it, recv: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    s = recv.v
    m = mm(recv.m, args_meta(args, kwargs))
    if name in _STR_PURE:
        pa = [plain_arg(a) for a in args]
        pk = {k: plain_arg(a) for k, a in kwargs.items()}
        if name in ("split", "rsplit", "splitlines"):
            it.count_steps(len(s) // 64)
        r = getattr(s, name)(*pa, **pk)
        if type(r) is list:
            chk_coll(it, len(r))
        return wrap_plain(r, m)
    if name == "join":
        items = materialize(it, args[0])
        total = len(s) * max(len(items) - 1, 0)
        parts = []
        for e in items:
            if type(e.v) is not str:
                raise perr("TypeError", f"sequence item: expected str instance, {type_name(e.v)} found")
            total += len(e.v)
            parts.append(e.v)
            m = mm(m, e.m)
        chk_str(it, total)
        return Value(s.join(parts), m)
    if name == "replace":
        old, new = plain_arg(args[0]), plain_arg(args[1])
        if type(old) is not str or type(new) is not str:
            raise perr("TypeError", "replace() arguments must be str")
        cnt = plain_arg(args[2]) if len(args) > 2 else -1
        n = s.count(old)
        if cnt >= 0:
            n = min(n, cnt)
        chk_str(it, len(s) + n * (len(new) - len(old)))
        return Value(s.replace(old, new, cnt), m)
    if name in ("ljust", "rjust", "center", "zfill"):
        width = plain_arg(args[0])
        if type(width) is not int:
            raise perr("TypeError", "width must be an integer")
        chk_str(it, width)
        return Value(getattr(s, name)(*[plain_arg(a) for a in args]), m)
    if name == "expandtabs":
        ts = plain_arg(args[0]) if args else 8
        chk_str(it, len(s) * max(ts, 1))
        return Value(s.expandtabs(ts), m)
    if name == "format":
        return str_format(it, recv, args, kwargs)
    raise perr("AttributeError", f"'str' object has no attribute '{name}'")


def _need(args: list[Value], n: int, name: str) -> None:
    if len(args) < n:
        raise perr("TypeError", f"{name}() missing required argument")


def list_method(it, recv: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    lst: list = recv.v
    if name == "append":
        _need(args, 1, name)
        chk_coll(it, len(lst) + 1)
        lst.append(store_elem(it, args[0]))
        touch(it, recv)
        return NONE
    if name == "extend":
        items = materialize(it, args[0])
        chk_coll(it, len(lst) + len(items))
        lst.extend(store_elem(it, e) for e in items)
        touch(it, recv)
        return NONE
    if name == "insert":
        _need(args, 2, name)
        chk_coll(it, len(lst) + 1)
        lst.insert(args[0].v, store_elem(it, args[1]))
        touch(it, recv)
        if args[0].m is not NEUTRAL:
            recv.m = mm(recv.m, args[0].m)
        return NONE
    if name == "pop":
        if not lst:
            raise perr("IndexError", "pop from empty list")
        i = args[0].v if args else -1
        try:
            e = lst.pop(i)
        except IndexError:
            raise perr("IndexError", "pop index out of range") from None
        touch(it, recv)
        return Value(e.v, mm(e.m, recv.m))
    if name == "remove":
        it.count_steps(len(lst))
        try:
            lst.remove(args[0])
        except ValueError:
            raise perr("ValueError", "list.remove(x): x not in list") from None
        touch(it, recv)
        recv.m = mm(recv.m, args[0].m)
        return NONE
    if name == "clear":
        lst.clear()
        touch(it, recv)
        return NONE
    if name == "sort":
        rev = bool(kwargs["reverse"].v) if "reverse" in kwargs else False
        lst[:] = _sort_values(it, list(lst), _key_fn(it, kwargs), rev)
        recv.m = _order_meta(recv.m, lst)
        touch(it, recv)
        return NONE
    if name == "reverse":
        lst.reverse()
        touch(it, recv)
        return NONE
    if name == "copy":
        return Value(list(lst), recv.m)
    return seq_method(it, recv, name, args, kwargs, "list")


def seq_method(it, recv: Value, name: str, args: list[Value], kwargs: dict[str, Value], tn: str) -> Value:
    seq = recv.v
    if name == "index":
        it.count_steps(len(seq))
        m = _order_meta(mm(recv.m, args[0].m), list(seq))
        try:
            return Value(seq.index(args[0], *[a.v for a in args[1:]]), m)
        except ValueError:
            raise perr("ValueError", f"{args[0].v!r} is not in {tn}") from None
    if name == "count":
        it.count_steps(len(seq))
        m = _order_meta(mm(recv.m, args[0].m), list(seq))
        return Value(seq.count(args[0]), m)
    raise perr("AttributeError", f"'{tn}' object has no attribute '{name}'")


def dict_method(it, recv: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    d: dict = recv.v
    cm = recv.m
    if name == "get":
        _need(args, 1, name)
        key = args[0]
        try:
            e = d.get(key)
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(key.v)}'") from None
        if e is None:
            dflt = args[1] if len(args) > 1 else NONE
            return Value(dflt.v, mm(mm(dflt.m, cm), key.m))
        m = mm(mm(e.m, cm), key.m)
        return e if m is e.m else Value(e.v, m)
    if name == "keys":
        return Value([k if mm(k.m, cm) is k.m else Value(k.v, mm(k.m, cm)) for k in d], cm)
    if name == "values":
        return Value([e if mm(e.m, cm) is e.m else Value(e.v, mm(e.m, cm)) for e in d.values()], cm)
    if name == "items":
        return Value([Value((k, e), cm) for k, e in d.items()], cm)
    if name == "pop":
        key = args[0]
        if key in d:
            e = d.pop(key)
            touch(it, recv)
            return Value(e.v, mm(mm(e.m, cm), key.m))
        if len(args) > 1:
            return Value(args[1].v, mm(mm(args[1].m, cm), key.m))
        raise ProgRaise(ExcObj(EXC["KeyError"], [key]))
    if name == "popitem":
        if not d:
            raise perr("KeyError", "popitem(): dictionary is empty")
        k, e = d.popitem()
        touch(it, recv)
        return Value((k, e), cm)
    if name == "setdefault":
        key = args[0]
        if key in d:
            e = d[key]
            return Value(e.v, mm(mm(e.m, cm), key.m))
        dflt = store_elem(it, args[1] if len(args) > 1 else NONE)
        chk_coll(it, len(d) + 1)
        d[store_elem(it, key)] = dflt
        touch(it, recv)
        return dflt
    if name == "update":
        if args:
            src = b_dict(it, [args[0]], {})
            if src.m is not NEUTRAL:
                recv.m = mm(recv.m, src.m)
            for k, e in src.v.items():
                d.pop(k, None)
                d[store_elem(it, k)] = store_elem(it, e)
        for k, e in kwargs.items():
            d[Value(k)] = store_elem(it, e)
        chk_coll(it, len(d))
        touch(it, recv)
        return NONE
    if name == "copy":
        return Value(dict(d), cm)
    if name == "clear":
        d.clear()
        touch(it, recv)
        return NONE
    raise perr("AttributeError", f"'dict' object has no attribute '{name}'")


def set_method(it, recv: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    s: SetV = recv.v
    if name == "add":
        chk_coll(it, len(s) + 1)
        try:
            if args[0] not in s.d:
                s.d[store_elem(it, args[0])] = None
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(args[0].v)}'") from None
        touch(it, recv)
        return NONE
    if name in ("remove", "discard"):
        if args[0] in s.d:
            del s.d[args[0]]
        elif name == "remove":
            raise ProgRaise(ExcObj(EXC["KeyError"], [args[0]]))
        touch(it, recv)
        recv.m = mm(recv.m, args[0].m)
        return NONE
    if name == "pop":
        if not s.d:
            raise perr("KeyError", "pop from an empty set")
        k = next(iter(s.d))
        del s.d[k]
        touch(it, recv)
        return Value(k.v, mm(k.m, recv.m))
    if name == "clear":
        s.d.clear()
        touch(it, recv)
        return NONE
    if name == "copy":
        return Value(s.copy(), recv.m)
    others = [Value(SetV(materialize(it, a)), a.m) if type(a.v) is not SetV else a for a in args]
    m = mm(recv.m, args_meta(others))
    if name in ("union", "intersection", "difference", "symmetric_difference"):
        op = {"union": "|", "intersection": "&", "difference": "-", "symmetric_difference": "^"}[name]
        r = s
        for o in others:
            r = set_op(op, r, o.v)
        if r is s:
            r = s.copy()
        chk_coll(it, len(r))
        return Value(r, m)
    if name in ("update", "intersection_update", "difference_update"):
        op = {"update": "|", "intersection_update": "&", "difference_update": "-"}[name]
        r = s
        for o in others:
            r = set_op(op, r, o.v)
        chk_coll(it, len(r))
        s.d = r.d if r is not s else s.d
        recv.m = m
        touch(it, recv)
        return NONE
    if name == "issubset":
        return Value(s <= others[0].v, _order_meta(m, list(s.d)))
    if name == "issuperset":
        return Value(s >= others[0].v, _order_meta(m, list(s.d)))
    if name == "isdisjoint":
        return Value(not (set_op("&", s, others[0].v)), _order_meta(m, list(s.d)))
    raise perr("AttributeError", f"'set' object has no attribute '{name}'")


def _model_method(it, recv: Value, inst: ModelInstance, name: str, args, kwargs) -> Value:
    if name == "model_dump":
        return model_dump(it, inst)
    if name == "model_dump_json":
        d = model_dump(it, inst)
        return _json_dumps(it, [d], kwargs)
    if name == "model_copy":
        fields = dict(inst.fields)
        upd = kwargs.get("update")
        if upd is not None and type(upd.v) is dict:
            for k, e in upd.v.items():
                fields[str(k.v)] = e
        return Value(ModelInstance(inst.cls, fields), recv.m)
    raise perr("AttributeError", f"'{inst.cls.name}' object has no attribute '{name}'")


_MODEL_METHODS = {"model_dump", "model_dump_json", "model_copy"}
_RESULT_METHODS = {"is_ok", "is_err", "unwrap", "unwrap_or", "unwrap_err", "expect"}
_MATCH_METHODS = {"group", "groups", "groupdict", "start", "end", "span"}
_PATTERN_METHODS = {"search", "match", "fullmatch", "findall", "finditer", "split", "sub", "subn"}


def _result_method(it, recv: Value, r: ResultObj, name: str, args, kwargs) -> Value:
    p = r.payload
    m = recv.m
    if name == "is_ok":
        return Value(r.ok, m)
    if name == "is_err":
        return Value(not r.ok, m)
    if name in ("unwrap", "expect"):
        if r.ok:
            return Value(p.v, mm(p.m, m))
        raise ProgRaise(ExcObj(EXC["ToolCallError"], [p], mm(p.m, m)))
    if name == "unwrap_or":
        if r.ok:
            return Value(p.v, mm(p.m, m))
        return Value(args[0].v, mm(args[0].m, m))
    if name == "unwrap_err":
        if not r.ok:
            return Value(p.v, mm(p.m, m))
        raise perr("ValueError", "called unwrap_err on Ok", m)
    raise perr("AttributeError", name)


def method_impl(recv: Value, name: str) -> Callable | None:
    """The implementation of ``recv.name(...)`` if ``name`` is an allowed method, else None."""
    v = recv.v
    t = type(v)
    if t is str:
        if name in _STR_PURE or name in ("join", "replace", "ljust", "rjust", "center", "zfill", "expandtabs", "format"):
            return lambda it, args, kwargs: str_method(it, recv, name, args, kwargs)
        return None
    if t is list:
        if name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "copy", "index", "count"):
            return lambda it, args, kwargs: list_method(it, recv, name, args, kwargs)
        return None
    if t is tuple:
        if name in ("index", "count"):
            return lambda it, args, kwargs: seq_method(it, recv, name, args, kwargs, "tuple")
        return None
    if t is dict:
        if name in ("get", "keys", "values", "items", "pop", "popitem", "setdefault", "update", "copy", "clear"):
            return lambda it, args, kwargs: dict_method(it, recv, name, args, kwargs)
        return None
    if t is SetV:
        if name in (
            "add", "remove", "discard", "pop", "clear", "copy", "union", "intersection", "difference",
            "symmetric_difference", "update", "intersection_update", "difference_update", "issubset",
            "issuperset", "isdisjoint",
        ):
            return lambda it, args, kwargs: set_method(it, recv, name, args, kwargs)
        return None
    if t is int and name in ("bit_length", "to_bytes_"):
        return lambda it, args, kwargs: Value(v.bit_length(), recv.m)
    if t is float and name == "is_integer":
        return lambda it, args, kwargs: Value(v.is_integer(), recv.m)
    if t is ModelInstance and name in _MODEL_METHODS:
        return lambda it, args, kwargs: _model_method(it, recv, v, name, args, kwargs)
    if t is ResultObj and name in _RESULT_METHODS:
        return lambda it, args, kwargs: _result_method(it, recv, v, name, args, kwargs)
    if t is ReMatch and name in _MATCH_METHODS:
        return lambda it, args, kwargs: match_method(it, recv, v, name, args)
    if t is RePattern and name in _PATTERN_METHODS:
        return lambda it, args, kwargs: re_op(it, v, name, args, kwargs)
    if isinstance(v, _DT_TYPES):
        allowed = _DT_METHODS.get(type(v), set())
        if name in allowed:
            return lambda it, args, kwargs: _dt_method(it, recv, name, args, kwargs)
        return None
    return None


def _dt_method(it, recv: Value, name: str, args, kwargs) -> Value:
    pa = [plain_arg(a) for a in args]
    pk = {k: plain_arg(a) for k, a in kwargs.items()}
    if name == "strftime":
        if not pa or type(pa[0]) is not str or len(pa[0]) > 500:
            raise perr("ValueError", "strftime format must be a short string")
    r = getattr(recv.v, name)(*pa, **pk)
    return wrap_plain(r, mm(recv.m, args_meta(args, kwargs)))


def get_attr(it, obj: Value, name: str) -> Value:
    """``obj.name`` for the allow-listed attributes and methods of each payload type."""
    if name.startswith("_"):
        raise SecurityViolation(f"access to attribute '{name}' is not allowed")
    v = obj.v
    t = type(v)
    if t is ModelInstance:
        f = v.fields.get(name)
        if f is not None:
            m = mm(f.m, obj.m)
            return f if m is f.m else Value(f.v, m)
    elif t is SafeModule:
        a = v.attrs.get(name)
        if a is None:
            raise perr("AttributeError", f"module '{v.name}' has no attribute '{name}'")
        return a if isinstance(a, Value) else Value(a)
    elif t is ModelClass:
        if name == "model_json_schema":
            return Value(BuiltinFn(name, lambda it, a, k: wrap_json(model_json_schema(v), NEUTRAL)))
        if name == "model_validate":
            return Value(BuiltinFn(name, lambda it, a, k: validate(it, ("model", v), a[0], "")))
        if name == "model_validate_json":
            return Value(BuiltinFn(name, lambda it, a, k: validate(it, ("model", v), _json_loads(it, a, {}), "")))
        for fname, _spec, info in all_fields(v):
            if fname == name and info.default is not _MISSING:
                return info.default
        raise perr("AttributeError", f"type object '{v.name}' has no attribute '{name}'")
    elif t is DtClass:
        fn = dt_classmethod(it, v, name)
        if fn is not None:
            return Value(BuiltinFn(name, fn))
        if v.pytype is _dt.timezone and name == "utc":
            return UTC
        if name in ("min", "max") and v.pytype in (_dt.datetime, _dt.date, _dt.timedelta):
            return Value(getattr(v.pytype, name))
        raise perr("AttributeError", f"type object '{v.name}' has no attribute '{name}'")
    elif t is ExcObj:
        if name == "args":
            return Value(tuple(v.args), v.meta)
        if name == "message":
            return Value(v.message(), v.meta)
    elif t is ResultObj:
        if name == "value" and v.ok or name == "error" and not v.ok:
            return Value(v.payload.v, mm(v.payload.m, obj.m))
    elif t is RePattern and name == "pattern":
        return Value(v.pattern, v.meta)
    elif t is ReMatch and name == "string":
        return Value(v.mt.string, v.meta)
    elif isinstance(v, _DT_TYPES):
        if name in _DT_ATTRS.get(type(v), ()):
            return wrap_plain(getattr(v, name), obj.m) if name != "tzinfo" else Value(v.tzinfo, obj.m)
    impl = method_impl(obj, name)
    if impl is not None:
        return Value(BoundMethod(obj, name, impl), obj.m)
    raise perr("AttributeError", f"'{type_name(v)}' object has no attribute '{name}'")


def set_attr(it, obj: Value, name: str, val: Value) -> None:
    if name.startswith("_"):
        raise SecurityViolation(f"assignment to attribute '{name}' is not allowed")
    v = obj.v
    if type(v) is ModelInstance:
        for fname, spec, _info in all_fields(v.cls):
            if fname == name:
                v.fields[name] = store_elem(it, validate(it, spec, val, name))
                touch(it, obj)
                return
        raise perr("ValueError", f"'{v.cls.name}' object has no field '{name}'")
    raise perr("AttributeError", f"cannot set attribute '{name}' on '{type_name(v)}' object")
