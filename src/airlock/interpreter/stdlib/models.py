"""``class X(BaseModel)`` as programs see it: fields, validation, JSON schema, dumping.

A model class carries ``meta``: everything its body evaluated (defaults, ``Field`` arguments,
``Literal`` values) and the control context it was defined under. Its JSON schema, its defaults
and every instance's structure reveal that, so ``shallow`` of a class includes it (in v1 a
default computed from a secret reached ``model_json_schema()`` and a tool argument untagged).
"""

from __future__ import annotations

import operator
import re as _pyre
from typing import TYPE_CHECKING, Any, Callable, Iterable

from airlock.meta import NEUTRAL, Meta

from ..flow import CHECKED, DEEP, SHALLOW, Entry, deep, elements, mm, shallow
from ..values import DictObj, ListObj, Mutable, SetObj, Value, to_json_value, wrap_json
from .objects import ProgRaise, TypeMarker, TypingMarker, perr, type_name

if TYPE_CHECKING:
    from ..machine import Machine

MISSING: Any = object()
Spec = tuple[Any, ...]
ANY: Spec = ("any",)


class FieldInfo:
    """What ``Field(...)`` returned: default, factory, description and constraints."""

    __slots__ = ("default", "default_factory", "description", "extra", "meta")

    def __init__(self, default: Any = MISSING, default_factory: Value | None = None, description: Any = None,
                 extra: dict[str, Any] | None = None, meta: Meta = NEUTRAL) -> None:
        self.default = default  # a Value, or MISSING
        self.default_factory = default_factory
        self.description = description
        self.extra = extra or {}
        self.meta = meta

    def __repr__(self) -> str:
        return "FieldInfo()"


class BaseModelMarker:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<class 'pydantic.BaseModel'>"


BASE_MODEL = BaseModelMarker()


class ModelClass:
    """A ``class X(BaseModel)`` defined by the program."""

    __slots__ = ("name", "fields", "doc", "parent", "meta")

    def __init__(self, name: str, fields: list[tuple[str, Spec, FieldInfo]], doc: str | None,
                 parent: "ModelClass | None", meta: Meta) -> None:
        self.name = name
        self.fields = fields
        self.doc = doc
        self.parent = parent
        self.meta = mm(meta, parent.meta) if parent is not None else meta

    def is_sub(self, other: "ModelClass") -> bool:
        c: ModelClass | None = self
        while c is not None:
            if c is other:
                return True
            c = c.parent
        return False

    def walk_children(self) -> Iterable[Value]:
        return [f[2].default for f in all_fields(self) if f[2].default is not MISSING]

    def to_json_value(self, conv: Callable[[Value], Any]) -> Any:
        return model_json_schema(self)

    def __repr__(self) -> str:
        return f"<class '{self.name}'>"


class ModelInstance(Mutable):
    __slots__ = ("cls", "fields")

    def __init__(self, cls: ModelClass, fields: dict[str, Value], meta: Meta) -> None:
        super().__init__(meta)
        self.cls = cls
        self.fields = fields

    @property
    def type_name(self) -> str:
        return self.cls.name

    def children(self) -> Iterable[Value]:
        return list(self.fields.values())

    def __len__(self) -> int:
        return len(self.fields)

    def to_json_value(self, conv: Callable[[Value], Any]) -> Any:
        return {k: conv(v) for k, v in self.fields.items()}

    def render(self, walk: Callable[[Value], None], add: Callable[[str], None], top_str: bool) -> None:
        add("" if top_str else f"{self.cls.name}(")
        for i, (k, v) in enumerate(self.fields.items()):
            if i:
                add(" " if top_str else ", ")
            add(f"{k}=")
            walk(v)
        add("" if top_str else ")")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelInstance) and other.cls is self.cls and other.fields == self.fields

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.cls.name}(" + ", ".join(f"{k}={v!r}" for k, v in self.fields.items()) + ")"


# -- type specs (annotations) ---------------------------------------------------------------------


def spec_from_value(x: Any) -> Spec:
    """The type spec of a value used as an annotation (``str``, ``MyModel``, ``None``...)."""
    from .datetimes import DtClass

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


def spec_subscript(base: Any, params: list[Spec], raw: list[Any]) -> Spec:
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


def spec_schema(spec: Spec, defs: dict[str, Any]) -> dict[str, Any]:
    k = spec[0]
    simple = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "none": "null"}
    if k in simple:
        return {"type": simple[k]}
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


_CONSTRAINTS = {"min_length": "minLength", "max_length": "maxLength", "ge": "minimum", "le": "maximum",
                "gt": "exclusiveMinimum", "lt": "exclusiveMaximum", "pattern": "pattern", "multiple_of": "multipleOf",
                "examples": "examples", "title": "title"}


def all_fields(cls: ModelClass) -> list[tuple[str, Spec, FieldInfo]]:
    chain = []
    c: ModelClass | None = cls
    while c is not None:
        chain.append(c)
        c = c.parent
    out: dict[str, tuple[str, Spec, FieldInfo]] = {}
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
        if info.default is not MISSING:
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


# -- validation -----------------------------------------------------------------------------------


def _verr(it: "Machine", path: str, msg: str, val: Value) -> ProgRaise:
    """A validation error: it reveals the value that failed (and what the class said)."""
    return perr("ValidationError", f"{path}: {msg}" if path else msg, deep(it, val))


def validate(it: "Machine", spec: Spec, val: Value, path: str) -> Value:
    """Validate/coerce a value against a type spec (pydantic lax mode, roughly). The result
    keeps the value's metadata; a failure carries it (``_verr``)."""
    k = spec[0]
    v = val.v
    t = type(v)
    if k == "any" or k == "dt":
        return val
    if k == "str":
        if t is str:
            return val
        raise _verr(it, path, f"Input should be a valid string, got {type_name(v)}", val)
    if k == "int":
        if t is int:
            return val
        if t is bool or (t is float and v.is_integer()):
            return Value(int(v), val.m)
        if t is str and _pyre.fullmatch(r"\s*[-+]?\d{1,300}\s*", v):
            return Value(int(v), val.m)
        raise _verr(it, path, "Input should be a valid integer", val)
    if k == "float":
        if t is float:
            return val
        if t is int or t is bool:
            return Value(float(v), val.m)
        if t is str and len(v) <= 100:
            try:
                return Value(float(v), val.m)
            except ValueError:
                pass
        raise _verr(it, path, "Input should be a valid number", val)
    if k == "bool":
        if t is bool:
            return val
        if t is int and v in (0, 1):
            return Value(bool(v), val.m)
        if t is str and v.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return Value(v.lower() in ("true", "yes", "1", "on"), val.m)
        raise _verr(it, path, "Input should be a valid boolean", val)
    if k == "none":
        if v is None:
            return val
        raise _verr(it, path, "Input should be None", val)
    if k == "list":
        if t not in (ListObj, tuple, SetObj):
            raise _verr(it, path, f"Input should be a valid list, got {type_name(v)}", val)
        items = elements(it, val)
        return Value(ListObj([validate(it, spec[1], e, f"{path}.{i}") for i, e in enumerate(items)]), shallow(it, val))
    if k == "dict":
        if t is not DictObj:
            raise _verr(it, path, f"Input should be a valid dictionary, got {type_name(v)}", val)
        base = shallow(it, val)
        out = DictObj(meta=base)
        for kk, e in v.items.items():
            out.put(validate(it, spec[1], kk, path), validate(it, spec[2], e, f"{path}.{kk.v}"))
        return Value(out, base)
    if k == "union":
        errs = []
        for s in spec[1]:
            try:
                return validate(it, s, val, path)
            except ProgRaise as e:
                errs.append(e.exc.message())
        raise _verr(it, path, "; ".join(errs), val)
    if k == "literal":
        if v in spec[1]:
            return val
        raise _verr(it, path, f"Input should be one of {spec[1]!r}", val)
    if k == "model":
        cls: ModelClass = spec[1]
        if t is ModelInstance and v.cls.is_sub(cls):
            return val
        if t is DictObj:
            kw = {kk.v: e for kk, e in v.items.items() if type(kk.v) is str}
            inst = instantiate(it, cls, kw, path)
            return Value(inst.v, mm(inst.m, shallow(it, val)))
        raise _verr(it, path, f"Input should be a valid dictionary or instance of {cls.name}", val)
    return val


def instantiate(it: "Machine", cls: ModelClass, kwargs: dict[str, Value], path: str = "") -> Value:
    fields: dict[str, Value] = {}
    for name in kwargs:
        if not any(f[0] == name for f in all_fields(cls)):
            raise perr("ValidationError", f"{path + '.' if path else ''}{name}: Extra inputs are not permitted")
    for name, spec, info in all_fields(cls):
        sub = f"{path}.{name}" if path else name
        if name in kwargs:
            fv = validate(it, spec, kwargs[name], sub)
            if info.extra:
                _check_constraints(it, info.extra, fv, sub)
            fields[name] = fv
        elif info.default is not MISSING:
            d = info.default
            # Like pydantic, every instance gets its own copy of a mutable default.
            if type(d.v) is ListObj:
                d = Value(ListObj(list(d.v.items), d.v.meta), d.m)
            elif type(d.v) is DictObj:
                d = Value(DictObj(dict(d.v.items), d.v.meta), d.m)
            elif type(d.v) is SetObj:
                d = Value(SetObj(d.v.items, d.v.meta), d.m)
            fields[name] = d
        elif info.default_factory is not None:
            fields[name] = it.call(info.default_factory, [], {})
        else:
            raise perr("ValidationError", f"{sub}: Field required")
    return Value(ModelInstance(cls, fields, mm(cls.meta, it.pc)))


def _check_constraints(it: "Machine", extra: dict[str, Any], val: Value, path: str) -> None:
    """``Field(min_length=, max_length=, ge=, gt=, le=, lt=, pattern=)`` on a validated value."""
    from .regex import re_search

    v = val.v
    if v is None:
        return
    if type(v) in (str, ListObj, tuple, DictObj, SetObj):
        n = len(v)
        if type(extra.get("min_length")) is int and n < extra["min_length"]:
            raise _verr(it, path, f"should have at least {extra['min_length']} items/characters", val)
        if type(extra.get("max_length")) is int and n > extra["max_length"]:
            raise _verr(it, path, f"should have at most {extra['max_length']} items/characters", val)
    if type(v) in (int, float):
        for key, ok in (("ge", operator.ge), ("gt", operator.gt), ("le", operator.le), ("lt", operator.lt)):
            bound = extra.get(key)
            if type(bound) in (int, float) and not ok(v, bound):
                raise _verr(it, path, f"Input should be {key} {bound}", val)
    pat = extra.get("pattern")
    if type(v) is str and type(pat) is str and not re_search(it, pat, v):
        raise _verr(it, path, f"String should match pattern {pat!r}", val)


def model_dump(it: "Machine", inst: ModelInstance) -> DictObj:
    out = DictObj()
    for k, v in inst.fields.items():
        if type(v.v) is ModelInstance:
            v = Value(model_dump(it, v.v), mm(v.m, struct_of(it, v.v)))
        out.put(Value(k), v)
    return out


def struct_of(it: "Machine", obj: Mutable) -> Meta:
    from ..flow import struct

    return struct(it, obj)


# -- entries --------------------------------------------------------------------------------------


def b_field(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    default: Any = MISSING
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
        except Exception:  # noqa: BLE001 - a constraint that is not JSON is ignored
            continue
    return Value(FieldInfo(default, factory, desc.v if desc is not None else None, extra, it.reads))


def m_instantiate(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if args:
        raise perr("TypeError", f"{recv.v.name}() takes keyword arguments only")
    return instantiate(it, recv.v, kwargs)


def m_json_schema(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    return wrap_json(model_json_schema(recv.v), NEUTRAL)


def m_validate(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 1:
        raise perr("TypeError", "model_validate() takes one argument")
    return validate(it, ("model", recv.v), args[0], "")


def m_validate_json(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    from .jsonmod import loads

    if len(args) != 1:
        raise perr("TypeError", "model_validate_json() takes one argument")
    return validate(it, ("model", recv.v), loads(it, args[0]), "")


def i_dump(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    return Value(model_dump(it, recv.v))


def i_dump_json(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    from .jsonmod import dumps

    return dumps(it, Value(model_dump(it, recv.v)), kwargs)


def i_copy(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    inst: ModelInstance = recv.v
    fields = dict(inst.fields)
    upd = kwargs.get("update")
    if upd is not None and type(upd.v) is DictObj:
        for k, e in upd.v.items.items():
            fields[str(k.v)] = e
    return Value(ModelInstance(inst.cls, fields, inst.meta))


FIELD = Entry("Field", b_field)
INSTANTIATE = Entry("model()", m_instantiate, recv=SHALLOW, kw_rest=CHECKED,
                    why="each field keeps its own value's metadata; a failed validation raises with the "
                        "failing value's metadata (_verr); the class's own metadata is in its shallow read")
CLASS_METHODS: dict[str, Entry] = {
    "model_json_schema": Entry("model_json_schema", m_json_schema, recv=SHALLOW,
                               why="the schema is built from the class (its metadata covers defaults)"),
    "model_validate": Entry("model_validate", m_validate, recv=SHALLOW, args=(CHECKED,),
                            why="validation keeps the input's metadata and fails with it"),
    "model_validate_json": Entry("model_validate_json", m_validate_json, recv=SHALLOW),
}
INSTANCE_METHODS: dict[str, Entry] = {
    "model_dump": Entry("model_dump", i_dump, recv=SHALLOW, why="the same fields as a dict"),
    "model_dump_json": Entry("model_dump_json", i_dump_json),
    "model_copy": Entry("model_copy", i_copy, recv=SHALLOW, kw={"update": SHALLOW},
                        why="the same fields, some replaced by the update's values"),
}
__all__ = ["ModelClass", "ModelInstance", "FieldInfo", "BASE_MODEL", "validate", "instantiate", "DEEP"]
