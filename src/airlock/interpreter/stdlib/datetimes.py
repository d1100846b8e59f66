"""``datetime`` as programs see it. Date and time values are immutable scalars: every entry keeps
the default ``DEEP`` declarations. ``now()`` reads the clock through the machine, which records
the reading so a replay sees the same time."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Callable

from ..flow import Entry
from ..values import Value
from .objects import perr, type_name

if TYPE_CHECKING:
    from ..machine import Machine

Impl = Callable[["Machine", Any, list[Value], dict[str, Value]], Value]
DT_TYPES = (_dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone)


class DtClass:
    """``datetime.datetime`` / ``date`` / ``time`` / ``timedelta`` / ``timezone``."""

    __slots__ = ("name", "pytype")

    def __init__(self, name: str, pytype: type) -> None:
        self.name = name
        self.pytype = pytype

    def __repr__(self) -> str:
        return f"<class 'datetime.{self.name}'>"


DT_CLASSES = {n: DtClass(n, t) for n, t in (("datetime", _dt.datetime), ("date", _dt.date), ("time", _dt.time),
                                              ("timedelta", _dt.timedelta), ("timezone", _dt.timezone))}

ATTRS: dict[type, set[str]] = {
    _dt.datetime: {"year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo"},
    _dt.date: {"year", "month", "day"},
    _dt.time: {"hour", "minute", "second", "microsecond"},
    _dt.timedelta: {"days", "seconds", "microseconds"},
    _dt.timezone: set(),
}


def plain(v: Value) -> Any:
    x = v.v
    if type(x) in (int, float, bool, str) or x is None or isinstance(x, DT_TYPES):
        return x
    raise perr("TypeError", f"unsupported argument type {type_name(x)}")


def construct(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    cls: DtClass = recv.v
    pa = [plain(a) for a in args]
    pk = {k: plain(a) for k, a in kwargs.items()}
    for x in list(pa) + list(pk.values()):
        if type(x) is int and abs(x) > 10**12:
            raise perr("OverflowError", "date value out of range")
    return Value(cls.pytype(*pa, **pk))


CONSTRUCT = Entry("datetime constructor", construct)


def _now(name: str) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        py = recv.v.pytype
        tz = plain(args[0]) if args else (plain(kwargs["tz"]) if "tz" in kwargs else None)
        if tz is not None and not isinstance(tz, _dt.tzinfo):
            raise perr("TypeError", "tz must be a timezone")
        d = _dt.datetime.fromisoformat(it.clock())  # recorded for replay
        if tz is not None:
            d = d.astimezone(tz)
        elif name != "utcnow":
            d = d.astimezone().replace(tzinfo=None)
        else:
            d = d.replace(tzinfo=None)
        return Value(d.date() if py is _dt.date else d)

    return fn


def _fromiso(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    s = args[0].v if args else None
    if type(s) is not str or len(s) > 100:
        raise perr("ValueError", "Invalid isoformat string")
    return Value(recv.v.pytype.fromisoformat(s))


def _strptime(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 2:
        raise perr("TypeError", "strptime() takes exactly 2 arguments")
    s, f = args[0].v, args[1].v
    if type(s) is not str or type(f) is not str or len(s) > 200 or len(f) > 200:
        raise perr("ValueError", "strptime arguments must be short strings")
    return Value(_dt.datetime.strptime(s, f))


def _other(name: str) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        return Value(getattr(recv.v.pytype, name)(*[plain(a) for a in args]))

    return fn


#: Class methods per class: the allow list and the dispatch.
CLASS_METHODS: dict[str, dict[str, Entry]] = {
    "datetime": {"now": Entry("datetime.now", _now("now")), "today": Entry("datetime.today", _now("today")),
                 "utcnow": Entry("datetime.utcnow", _now("utcnow")),
                 "fromisoformat": Entry("datetime.fromisoformat", _fromiso),
                 "strptime": Entry("datetime.strptime", _strptime),
                 "fromtimestamp": Entry("datetime.fromtimestamp", _other("fromtimestamp")),
                 "combine": Entry("datetime.combine", _other("combine")),
                 "fromordinal": Entry("datetime.fromordinal", _other("fromordinal"))},
    "date": {"today": Entry("date.today", _now("today")), "fromisoformat": Entry("date.fromisoformat", _fromiso),
             "fromtimestamp": Entry("date.fromtimestamp", _other("fromtimestamp")),
             "fromordinal": Entry("date.fromordinal", _other("fromordinal"))},
    "time": {"fromisoformat": Entry("time.fromisoformat", _fromiso)},
    "timedelta": {},
    "timezone": {},
}


def classmethod_entry(cls: DtClass, name: str) -> Entry | None:
    return CLASS_METHODS.get(cls.name, {}).get(name)


_METHOD_NAMES: dict[type, set[str]] = {
    _dt.datetime: {"isoformat", "strftime", "date", "time", "weekday", "isoweekday", "replace", "timestamp",
                   "astimezone", "utcoffset", "isocalendar", "ctime"},
    _dt.date: {"isoformat", "strftime", "weekday", "isoweekday", "replace", "isocalendar", "ctime"},
    _dt.time: {"isoformat", "strftime", "replace"},
    _dt.timedelta: {"total_seconds"},
    _dt.timezone: {"utcoffset", "tzname"},
}


def _wrap(r: Any) -> Value:
    if type(r) is tuple:
        return Value(tuple(Value(x) for x in r))
    if type(r).__name__ == "IsoCalendarDate":
        return Value(tuple(Value(x) for x in tuple(r)))
    return Value(r)


def _method(name: str) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        pa = [plain(a) for a in args]
        pk = {k: plain(a) for k, a in kwargs.items()}
        if name == "strftime" and (not pa or type(pa[0]) is not str or len(pa[0]) > 500):
            raise perr("ValueError", "strftime format must be a short string")
        return _wrap(getattr(recv.v, name)(*pa, **pk))

    return fn


METHODS: dict[type, dict[str, Entry]] = {
    t: {n: Entry(f"{t.__name__}.{n}", _method(n)) for n in sorted(names)} for t, names in _METHOD_NAMES.items()
}
