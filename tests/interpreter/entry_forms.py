"""Call forms for every table entry, for the noninterference property tests.

A form is ``(entry name, prelude, expression)``. ``<type>`` placeholders are operands: each test
case makes one of them the secret and the others public values of the same types. An expression
starting with ``!`` is a statement (its observed result is ``None``; the operands are observed
after it, which is how mutations are checked). ``test_every_entry_has_a_form`` keeps this table
complete: an entry without a form fails the suite.
"""

from __future__ import annotations

from hypothesis import strategies as st

STRATEGIES = {
    "str": st.text(alphabet="ab1,. ", max_size=5),
    "sep": st.sampled_from([",", " ", "a", "1"]),
    "int": st.integers(-3, 6),
    "nat": st.integers(0, 3),
    "float": st.sampled_from([0.0, 1.5, -2.25, 3.0, 2.5, 9.0]),
    "bool": st.booleans(),
    "list": st.lists(st.integers(-2, 3), max_size=4),
    "slist": st.lists(st.text(alphabet="ab", max_size=2), max_size=4),
    "dict": st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), max_size=3),
    "set": st.lists(st.integers(0, 3), max_size=4),
    "tuple": st.lists(st.integers(-1, 2), max_size=3),
    "pairs": st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2)).map(list), max_size=3),
    "date": st.sampled_from(["2024-01-31", "2023-06-15", "2020-02-29"]),
    "dtime": st.sampled_from(["2024-01-31T10:00:00", "2023-06-15T23:59:30", "2020-02-29T00:00:00"]),
    "tod": st.sampled_from(["10:00:00", "23:59:30", "00:00:01"]),
    "pattern": st.sampled_from(["a", "b+", "(a)(b)?", "[0-9]", "^a", "", "(?P<x>a)", "a|1"]),
    "json": st.sampled_from(['{"a": 1}', "[1, 2]", '"x"', "{bad", "3", '{"a": {"b": [true, null]}}']),
    "fmt": st.sampled_from(["", ">4", ".2f", "d", "x", "<3", "^5"]),
    "strf": st.sampled_from(["%Y", "%m-%d", "%A", "%H:%M"]),
}

#: How a placeholder's JSON value becomes the operand (applied to the loaded variable).
CONVERT = {
    "set": "set({})", "tuple": "tuple({})", "date": "date.fromisoformat({})", "dtime": "datetime.fromisoformat({})",
    "tod": "time.fromisoformat({})",
}

PRELUDE = "import json\nimport re\nimport math\nfrom datetime import datetime, date, time, timedelta, timezone\n" \
          "from pydantic import BaseModel, Field\n"

_STR0 = ["capitalize", "casefold", "lower", "upper", "title", "swapcase", "strip", "lstrip", "rstrip", "split",
         "rsplit", "splitlines", "isalnum", "isalpha", "isdigit", "isnumeric", "isdecimal", "isspace", "islower",
         "isupper", "istitle", "isidentifier", "isascii", "isprintable"]
_STR1 = ["strip", "lstrip", "rstrip", "startswith", "endswith", "find", "rfind", "index", "rindex", "count",
         "partition", "rpartition", "removeprefix", "removesuffix"]
_MATH1 = ["floor", "ceil", "sqrt", "log", "log10", "log2", "exp", "fabs", "trunc", "isnan", "isinf", "isfinite", "sin",
          "cos", "tan", "radians", "degrees"]

FORMS: list[tuple[str, str, str]] = []


def form(entry: str, expr: str, prelude: str = "") -> None:
    FORMS.append((entry, prelude, expr))


for m in _STR0:
    form(f"str.{m}", f"<str>.{m}()")
for m in _STR1:
    form(f"str.{m}", f"<str>.{m}(<str>)")
form("str.split", "<str>.split(<sep>)")
form("str.split", "<str>.split(<sep>, <nat>)")
form("str.rsplit", "<str>.rsplit(<sep>)")
form("str.splitlines", "<str>.splitlines(<bool>)")
form("str.startswith", "<str>.startswith((<str>, <str>))")
form("str.endswith", "<str>.endswith((<str>, <str>))")
form("str.find", "<str>.find(<str>, <nat>)")
form("str.join", "<str>.join(<slist>)")
form("str.replace", "<str>.replace(<str>, <str>)")
form("str.replace", "<str>.replace(<sep>, <str>, <nat>)")
for m in ("ljust", "rjust", "center"):
    form(f"str.{m}", f"<str>.{m}(<nat>)")
    form(f"str.{m}", f"<str>.{m}(<nat>, '*')")
form("str.zfill", "<str>.zfill(<nat>)")
form("str.expandtabs", "<str>.expandtabs(<nat>)")
form("str.format", "'{} {}'.format(<str>, <int>)")
form("str.format", "<str>.format(<int>)")
form("str.format", "'{:>3}|{}'.format(<str>, x=<int>)")
form("int.bit_length", "<int>.bit_length()")
form("float.is_integer", "<float>.is_integer()")

form("list.append", "!<list>.append(<int>)")
form("list.extend", "!<list>.extend(<list>)")
form("list.insert", "!<list>.insert(<int>, <int>)")
form("list.pop", "<list>.pop()")
form("list.pop", "<list>.pop(<int>)")
form("list.remove", "!<list>.remove(<int>)")
form("list.clear", "!<list>.clear()")
form("list.sort", "!<list>.sort()")
form("list.sort", "!<list>.sort(reverse=<bool>)")
form("list.sort", "!<slist>.sort(key=len)")
form("list.reverse", "!<list>.reverse()")
form("list.copy", "<list>.copy()")
form("list.index", "<list>.index(<int>)")
form("list.count", "<list>.count(<int>)")
form("tuple.index", "<tuple>.index(<int>)")
form("tuple.count", "<tuple>.count(<int>)")

form("dict.get", "<dict>.get(<str>)")
form("dict.get", "<dict>.get(<str>, <int>)")
form("dict.keys", "<dict>.keys()")
form("dict.values", "<dict>.values()")
form("dict.items", "<dict>.items()")
form("dict.pop", "<dict>.pop(<str>)")
form("dict.pop", "<dict>.pop(<str>, <int>)")
form("dict.popitem", "<dict>.popitem()")
form("dict.setdefault", "<dict>.setdefault(<str>, <int>)")
form("dict.update", "!<dict>.update(<dict>)")
form("dict.update", "!<dict>.update(<pairs>)")
form("dict.update", "!<dict>.update(z=<int>)")
form("dict.copy", "<dict>.copy()")
form("dict.clear", "!<dict>.clear()")

form("set.add", "!<set>.add(<int>)")
form("set.remove", "!<set>.remove(<int>)")
form("set.discard", "!<set>.discard(<int>)")
form("set.pop", "<set>.pop()")
form("set.clear", "!<set>.clear()")
form("set.copy", "<set>.copy()")
for m in ("union", "intersection", "difference", "symmetric_difference"):
    form(f"set.{m}", f"<set>.{m}(<set>)")
    form(f"set.{m}", f"<set>.{m}(<list>)")
for m in ("update", "intersection_update", "difference_update", "symmetric_difference_update"):
    form(f"set.{m}", f"!<set>.{m}(<set>)")
    form(f"set.{m}", f"!<set>.{m}(<list>)")
for m in ("issubset", "issuperset", "isdisjoint"):
    form(f"set.{m}", f"<set>.{m}(<set>)")
    form(f"set.{m}", f"<set>.{m}(<list>)")

for arg in ("<list>", "<str>", "<dict>", "<set>"):
    form("len", f"len({arg})")
form("range", "list(range(<int>))")
form("range", "list(range(<int>, <int>))")
form("enumerate", "list(enumerate(<list>))")
form("enumerate", "list(enumerate(<slist>, <int>))")
form("zip", "list(zip(<list>, <slist>))")
form("sorted", "sorted(<list>)")
form("sorted", "sorted(<slist>, key=len)")
form("sorted", "sorted(<list>, reverse=<bool>)")
form("sorted", "sorted(<dict>)")
form("sorted", "sorted(<list>, key=lambda v: -v)")
form("reversed", "list(reversed(<list>))")
for fn in ("min", "max"):
    form(fn, f"{fn}(<list>)")
    form(fn, f"{fn}(<list>, default=<int>)")
    form(fn, f"{fn}(<int>, <int>)")
    form(fn, f"{fn}(<slist>, key=len)")
    form(fn, f"{fn}(<dict>, key=lambda k: k)")
form("sum", "sum(<list>)")
form("sum", "sum(<list>, <int>)")
form("any", "any(<list>)")
form("all", "all(<slist>)")
form("abs", "abs(<int>)")
form("round", "round(<float>)")
form("round", "round(<float>, <nat>)")
form("divmod", "divmod(<int>, <int>)")
form("pow", "pow(<int>, <nat>)")
form("pow", "pow(<int>, <nat>, 7)")
form("isinstance", "isinstance(<int>, int)")
form("isinstance", "isinstance(json.loads(<json>), (list, dict))")
form("repr", "repr(<list>)")
form("repr", "repr(<str>)")
form("print", "print(<str>, <int>)")
form("chr", "chr(<nat> + 65)")
form("ord", "ord(<str>)")
for fn in ("hex", "bin", "oct"):
    form(fn, f"{fn}(<int>)")
form("map", "list(map(lambda v: v + 1, <list>))")
form("map", "list(map(lambda a, b: a * b, <list>, <list>))")
form("filter", "list(filter(lambda v: v > 0, <list>))")
form("filter", "list(filter(None, <list>))")
form("format", "format(<float>, <fmt>)")
form("format", "format(<str>, <fmt>)")
form("str", "str(<list>)")
form("str", "str(<dict>)")
form("int", "int(<str>)")
form("int", "int(<float>)")
form("int", "int(<str>, 2)")
form("float", "float(<str>)")
form("bool", "bool(<list>)")
form("bool", "bool(<str>)")
form("list", "list(<str>)")
form("list", "list(<dict>)")
form("tuple", "tuple(<list>)")
form("dict", "dict(<pairs>)")
form("dict", "dict(a=<int>)")
form("dict", "dict(<dict>)")
form("set", "set(<slist>)")
form("set", "set(<str>)")

form("Ok", "Ok(<int>)")
form("Err", "Err(<str>)")
form("Result.is_ok", "Ok(<int>).is_ok()")
form("Result.is_err", "Err(<str>).is_err()")
form("Result.unwrap", "Ok(<int>).unwrap()")
form("Result.unwrap", "Err(<str>).unwrap()")
form("Result.expect", "Ok(<int>).expect('x')")
form("Result.unwrap_or", "Err(<str>).unwrap_or(<int>)")
form("Result.unwrap_or", "Ok(<int>).unwrap_or(<int>)")
form("Result.unwrap_err", "Err(<str>).unwrap_err()")

for op in ("+", "-", "*", "/", "//", "%", "<<", ">>", "|", "&", "^"):
    form(f"operator {op}", f"<int> {op} <nat>")
form("operator **", "<int> ** <nat>")
form("operator +", "<str> + <str>")
form("operator +", "<float> + <int>")
form("operator *", "<str> * <nat>")
form("operator %", "'%s-%d' % (<str>, <int>)")
form("operator %", "<str> % ()")
for op in ("|", "&", "-", "^"):
    form(f"operator {op}", f"<set> {op} <set>")
form("operator |", "<dict> | <dict>")
form("sequence +", "<list> + <list>")
form("sequence +", "<tuple> + <tuple>")
form("sequence *", "<list> * <nat>")
for op in ("==", "!=", "<", "<=", ">", ">="):
    form(f"operator {op}", f"<int> {op} <int>")
    form(f"operator {op}", f"<str> {op} <str>")
    form(f"operator {op}", f"<list> {op} <list>")
form("operator ==", "<dict> == <dict>")
form("operator in", "<int> in <list>")
form("operator in", "<str> in <str>")
form("operator in", "<int> in <tuple>")
form("operator in (dict/set)", "<str> in <dict>")
form("operator in (dict/set)", "<int> in <set>")
form("operator in (dict/set)", "<int> not in <set>")
form("operator is", "json.loads(<json>) is None")
form("operator is not", "<dict>.get(<str>) is not None")
form("operator not", "not <list>")
form("operator not", "not <str>")
form("operator -", "-<int>")
form("operator ~", "~<int>")
form("operator +", "+<float>")
form("subscript", "<list>[<int>]")
form("subscript", "<dict>[<str>]")
form("subscript", "<str>[<int>]")
form("subscript", "<list>[<nat>:]")
form("subscript", "<str>[:<nat>]")
form("subscript", "<tuple>[<int>]")
form("subscript", "<dict>[<str>] if <str> in <dict> else 0")
form("subscript assignment", "!<dict>[<str>] = <int>")
form("subscript assignment", "!<list>[<int>] = <int>")
form("slice assignment", "!<list>[<nat>:] = <list>")
form("subscript deletion", "!del <dict>[<str>]")
form("subscript deletion", "!del <list>[<int>]")

form("json.loads", "json.loads(<json>)")
form("json.dumps", "json.dumps(<dict>)")
form("json.dumps", "json.dumps(<list>, sort_keys=<bool>)")
form("json.dumps", "json.dumps(<slist>, indent=<nat>)")
for m in ("search", "match", "fullmatch"):
    form(f"re.{m}", f"re.{m}(<pattern>, <str>) is None")
    form(f"Pattern.{m}", f"re.compile(<pattern>).{m}(<str>) is not None")
form("re.findall", "re.findall(<pattern>, <str>)")
form("re.finditer", "[m.group(0) for m in re.finditer(<pattern>, <str>)]")
form("re.split", "re.split(<pattern>, <str>)")
form("re.sub", "re.sub(<pattern>, <str>, <str>)")
form("re.sub", "re.sub(<pattern>, lambda m: m.group(0).upper() + 'x', <str>)")
form("re.subn", "re.subn(<pattern>, <sep>, <str>)")
form("re.compile", "re.compile(<pattern>).pattern")
form("re.escape", "re.escape(<str>)")
form("Pattern.findall", "re.compile(<pattern>).findall(<str>)")
form("Pattern.finditer", "[m.span() for m in re.compile(<pattern>).finditer(<str>)]")
form("Pattern.split", "re.compile(<pattern>).split(<str>)")
form("Pattern.sub", "re.compile(<pattern>).sub(<sep>, <str>)")
form("Pattern.subn", "re.compile(<pattern>).subn(<sep>, <str>)")
for m, call in (("group", "group(0)"), ("groups", "groups()"), ("span", "span()"), ("start", "start()"),
                ("end", "end()"), ("groupdict", "groupdict()")):
    form(f"Match.{m}", f"re.search(<pattern>, <str>).{call}")
for fn in _MATH1:
    form(f"math.{fn}", f"math.{fn}(<float>)")
form("math.isclose", "math.isclose(<float>, <float>)")
form("math.atan2", "math.atan2(<float>, <float>)")
form("math.hypot", "math.hypot(<float>, <int>)")

form("datetime constructor", "datetime(2024, <nat> + 1, 1).isoformat()")
form("datetime constructor", "timedelta(seconds=<int>).total_seconds()")
form("datetime.fromisoformat", "datetime.fromisoformat(<str>)")
form("date.fromisoformat", "date.fromisoformat(<str>)")
form("time.fromisoformat", "time.fromisoformat(<str>)")
form("datetime.strptime", "datetime.strptime(<str>, '%Y')")
form("datetime.fromtimestamp", "datetime.fromtimestamp(<int> * 86400, timezone.utc).isoformat()")
form("date.fromtimestamp", "date.fromtimestamp(<nat> * 86400 + 86400).isoformat()")
form("datetime.fromordinal", "datetime.fromordinal(<nat> + 1).isoformat()")
form("date.fromordinal", "date.fromordinal(<nat> + 1).isoformat()")
form("datetime.combine", "datetime.combine(<date>, <tod>).isoformat()")
for m in ("isoformat", "weekday", "isoweekday", "ctime", "isocalendar"):
    form(f"date.{m}", f"<date>.{m}()")
    form(f"datetime.{m}", f"<dtime>.{m}()")
form("date.strftime", "<date>.strftime(<strf>)")
form("datetime.strftime", "<dtime>.strftime(<strf>)")
form("date.replace", "<date>.replace(day=<nat> + 1).isoformat()")
form("datetime.replace", "<dtime>.replace(hour=<nat>).isoformat()")
form("datetime.date", "<dtime>.date().isoformat()")
form("datetime.time", "<dtime>.time().isoformat()")
form("datetime.timestamp", "<dtime>.replace(tzinfo=timezone.utc).timestamp()")
form("datetime.astimezone", "<dtime>.replace(tzinfo=timezone.utc).astimezone(timezone.utc).isoformat()")
form("datetime.utcoffset", "str(<dtime>.replace(tzinfo=timezone.utc).utcoffset())")
form("time.isoformat", "<tod>.isoformat()")
form("time.strftime", "<tod>.strftime(<strf>)")
form("time.replace", "<tod>.replace(minute=<nat>).isoformat()")
form("timedelta.total_seconds", "(<date> - <date>).total_seconds()")
form("timezone.utcoffset", "str(timezone.utc.utcoffset(<dtime>))")
form("timezone.tzname", "timezone.utc.tzname(<dtime>)")

_MODEL = "class M(BaseModel):\n    a: int\n    b: str = <str>\n"
form("model()", "M(a=<int>).model_dump()", _MODEL)
form("model()", "M(a=<str>).a", _MODEL)
form("model_json_schema", "M.model_json_schema()", _MODEL)
form("model_validate", "M.model_validate(<dict>).model_dump()", _MODEL)
form("model_validate_json", "M.model_validate_json(<json>).a", _MODEL)
form("model_dump", "M(a=<int>).model_dump()", _MODEL)
form("model_dump_json", "M(a=<int>).model_dump_json()", _MODEL)
form("model_copy", "M(a=1).model_copy(update=<dict>).model_dump()", _MODEL)
form("model field assignment", "!mm = M(a=1)\nmm.a = <int>\nmm.b = <str>\nr = mm.model_dump()", _MODEL)
form("Field", "F.model_json_schema()", "class F(BaseModel):\n    a: int = Field(default=<int>, description=<str>)\n")

#: Entries with no data operand: they read nothing a program could vary (the clock is recorded).
NO_DATA = {"datetime.now", "datetime.today", "datetime.utcnow", "date.today"}
