"""The one allow list: every builtin, module attribute and method a program can reach.

``METHODS[payload type][name]`` is at once the allow list and the dispatch: a method exists for
a program exactly when it is in this table, and what runs is the table's entry (v1 kept a set of
allowed names beside a separate dispatch, and the two drifted: ``(5).to_bytes_()`` ran
``bit_length``). Attribute reads that are not methods (model fields, ``e.args``, ``d.year``...)
are in :func:`get_attr`, each with the metadata it reveals.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from ..errors import SecurityViolation
from ..flow import CHECKED, PASS, SHALLOW, Entry, invoke, mm, shallow
from ..values import DictObj, ListObj, SetObj, Value
from . import datetimes, dicts, jsonmod, lists, mathmod, models, regex, strings
from .builtins import builtin_values
from .datetimes import DT_CLASSES, DT_TYPES, DtClass
from .models import BASE_MODEL, FIELD, ModelClass, ModelInstance, all_fields
from .objects import EXC, EXC as _EXC, BoundMethod, BuiltinFn, ExcObj, ProgRaise, ResultObj, SafeModule, TypingMarker
from .objects import perr, type_name

if TYPE_CHECKING:
    from ..machine import Machine


def _r_flag(ok: bool) -> Any:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        return Value(recv.v.ok == ok)

    return fn


def _r_unwrap(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    r: ResultObj = recv.v
    if r.ok:
        return r.payload
    raise ProgRaise(ExcObj(_EXC["ToolCallError"], [r.payload]))


def _r_unwrap_or(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 1:
        raise perr("TypeError", "unwrap_or() takes one argument")
    r: ResultObj = recv.v
    return r.payload if r.ok else args[0]


def _r_unwrap_err(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    r: ResultObj = recv.v
    if not r.ok:
        return r.payload
    raise perr("ValueError", "called unwrap_err on Ok")


_RESULT_WHY = "which variant is the reference's; the payload keeps its own metadata"
RESULT_METHODS: dict[str, Entry] = {
    "is_ok": Entry("Result.is_ok", _r_flag(True), recv=SHALLOW, why=_RESULT_WHY),
    "is_err": Entry("Result.is_err", _r_flag(False), recv=SHALLOW, why=_RESULT_WHY),
    "unwrap": Entry("Result.unwrap", _r_unwrap, recv=SHALLOW, why=_RESULT_WHY),
    "expect": Entry("Result.expect", _r_unwrap, recv=SHALLOW, rest=PASS, why=_RESULT_WHY),
    "unwrap_or": Entry("Result.unwrap_or", _r_unwrap_or, recv=SHALLOW, args=(PASS,),
                       why=_RESULT_WHY + "; the default is returned unchanged"),
    "unwrap_err": Entry("Result.unwrap_err", _r_unwrap_err, recv=SHALLOW, why=_RESULT_WHY),
}

METHODS: dict[type, dict[str, Entry]] = {
    str: strings.STR_METHODS,
    int: strings.INT_METHODS,
    bool: strings.INT_METHODS,
    float: strings.FLOAT_METHODS,
    ListObj: lists.LIST_METHODS,
    tuple: lists.TUPLE_METHODS,
    DictObj: dicts.DICT_METHODS,
    SetObj: dicts.SET_METHODS,
    ModelInstance: models.INSTANCE_METHODS,
    ModelClass: models.CLASS_METHODS,
    ResultObj: RESULT_METHODS,
    regex.ReMatch: regex.MATCH_METHODS,
    regex.RePattern: regex.PATTERN_METHODS,
    **datetimes.METHODS,
}


def method_entry(payload: Any, name: str) -> Entry | None:
    table = METHODS.get(type(payload))
    if table is None:
        return None
    return table.get(name)


# -- modules --------------------------------------------------------------------------------------


def _module(name: str, attrs: dict[str, Any]) -> SafeModule:
    return SafeModule(name, {k: v if isinstance(v, Value) else Value(v) for k, v in attrs.items()})


_TYPING = {n: TypingMarker(n) for n in (
    "Optional", "List", "Dict", "Union", "Literal", "Any", "Set", "Tuple", "Sequence", "Mapping", "Annotated")}

MODULES: dict[str, SafeModule] = {
    "json": _module("json", {**{k: BuiltinFn(e) for k, e in jsonmod.FUNCTIONS.items()},
                             "JSONDecodeError": EXC["JSONDecodeError"]}),
    "re": _module("re", {**{k: BuiltinFn(e) for k, e in regex.MODULE_FUNCTIONS.items()},
                         "error": EXC["RegexError"], **regex.FLAGS}),
    "datetime": _module("datetime", dict(DT_CLASSES)),
    "typing": _module("typing", dict(_TYPING)),
    "pydantic": _module("pydantic", {"BaseModel": BASE_MODEL, "Field": BuiltinFn(FIELD),
                                     "ValidationError": EXC["ValidationError"]}),
    "math": _module("math", {**{k: BuiltinFn(e) for k, e in mathmod.FUNCTIONS.items()}, **mathmod.CONSTANTS}),
}
ALLOWED_IMPORTS = frozenset(MODULES)

BUILTINS: dict[str, Value] = builtin_values()
BUILTINS["BaseModel"] = Value(BASE_MODEL)
BUILTINS["Field"] = Value(BuiltinFn(FIELD))

UTC = Value(_dt.timezone.utc)


# -- attributes -----------------------------------------------------------------------------------


def get_attr(it: "Machine", obj: Value, name: str) -> Value:
    """``obj.name`` for the allow-listed attributes and methods of each payload type."""
    if name.startswith("_"):
        raise SecurityViolation(f"access to attribute '{name}' is not allowed")
    v = obj.v
    t = type(v)
    m = shallow(it, obj)
    if t is ModelInstance:
        f = v.fields.get(name)
        if f is not None:
            return Value(f.v, mm(f.m, m))
    elif t is SafeModule:
        a = v.attrs.get(name)
        if a is None:
            raise perr("AttributeError", f"module '{v.name}' has no attribute '{name}'", m)
        return a
    elif t is ModelClass:
        for fname, _spec, info in all_fields(v):
            if fname == name and info.default is not models.MISSING:
                return Value(info.default.v, mm(info.default.m, m))
    elif t is DtClass:
        e = datetimes.classmethod_entry(v, name)
        if e is not None:
            return Value(BoundMethod(obj, e), obj.m)
        if v.pytype is _dt.timezone and name == "utc":
            return UTC
        if name in ("min", "max") and v.pytype in (_dt.datetime, _dt.date, _dt.timedelta):
            return Value(getattr(v.pytype, name))
        raise perr("AttributeError", f"type object '{v.name}' has no attribute '{name}'", m)
    elif t is ExcObj:
        if name == "args":
            return Value(tuple(v.args), m)
        if name == "message":
            return Value(v.message(), mm(m, _args_meta(v)))
    elif t is ResultObj:
        if (name == "value" and v.ok) or (name == "error" and not v.ok):
            return Value(v.payload.v, mm(v.payload.m, m))
    elif t is regex.RePattern and name == "pattern":
        return Value(v.pattern, m)
    elif t is regex.ReMatch and name == "string":
        return Value(v.mt.string, m)
    elif isinstance(v, DT_TYPES) and name in datetimes.ATTRS.get(t, ()):
        return Value(getattr(v, name), m)
    e = method_entry(v, name)
    if e is not None:
        return Value(BoundMethod(obj, e), obj.m)
    raise perr("AttributeError", f"'{type_name(v)}' object has no attribute '{name}'", m)


def _args_meta(exc: ExcObj) -> Any:
    out = exc.meta
    for a in exc.args:
        out = mm(out, a.m)
    return out


def _set_field(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    name_v, val = args
    inst: ModelInstance = recv.v
    name = name_v.v
    for fname, spec, _info in all_fields(inst.cls):
        if fname == name:
            inst.fields[name] = models.validate(it, spec, val, name)
            return Value(None)
    raise perr("ValueError", f"'{inst.cls.name}' object has no field '{name}'")


SET_FIELD = Entry("model field assignment", _set_field, recv=SHALLOW, args=(PASS, CHECKED), mutates=True,
                  why="the field's new value keeps its own metadata once validated (validation decides only "
                      "whether it fails); the name is program text")


def set_attr(it: "Machine", obj: Value, name: str, val: Value) -> None:
    if name.startswith("_"):
        raise SecurityViolation(f"assignment to attribute '{name}' is not allowed")
    if type(obj.v) is ModelInstance:
        invoke(it, SET_FIELD, obj, [Value(name), val], {})
        return
    raise perr("AttributeError", f"cannot set attribute '{name}' on '{type_name(obj.v)}' object", shallow(it, obj))


__all__ = ["METHODS", "MODULES", "BUILTINS", "ALLOWED_IMPORTS", "method_entry", "get_attr", "set_attr", "invoke"]
