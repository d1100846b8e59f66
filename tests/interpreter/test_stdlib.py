"""json, re (RE2), datetime and pydantic-like models as seen by programs."""

from __future__ import annotations

from airlock.interpreter import Failed, run

from .helpers import fail, value


def test_json_dumps_loads():
    prog = """
import json
data = json.loads('{"a": [1, 2, {"b": null}], "c": "x"}')
s = json.dumps(data, sort_keys=True)
pretty = json.dumps({"k": 1}, indent=2)
final_return_value = [data["a"][2]["b"], s, pretty]
"""
    assert value(prog) == [None, '{"a": [1, 2, {"b": null}], "c": "x"}', '{\n  "k": 1\n}']


def test_json_decode_error_is_catchable():
    prog = "import json\ntry:\n    json.loads('{bad')\nexcept json.JSONDecodeError:\n    r = 'bad'\nfinal_return_value = r"
    assert value(prog) == "bad"
    prog2 = "import json\ntry:\n    json.loads('{bad')\nexcept ValueError:\n    r = 'bad'\nfinal_return_value = r"
    assert value(prog2) == "bad"


def test_re_functions():
    prog = r"""
import re
text = "Order A-12 and B-7; contact Bob@Example.com"
m = re.search(r"([A-Z])-(\d+)", text)
emails = re.findall(r"[\w.]+@[\w.]+", text)
ids = [x.group(0) for x in re.finditer(r"[A-Z]-\d+", text)]
parts = re.split(r"[;,]\s*", "a; b,c")
masked = re.sub(r"\d", "#", text)
low = re.sub(r"bob", "X", text, flags=re.IGNORECASE)
pat = re.compile(r"^order", re.I)
final_return_value = [m.group(1), m.group(2), m.groups(), m.span(), emails, ids, parts, masked[:10], low[-13:],
                      pat.match(text) is not None, re.fullmatch(r"\d+", "123") is not None, re.escape("a.b")]
"""
    assert value(prog) == ["A", "12", ["A", "12"], [6, 10], ["Bob@Example.com"], ["A-12", "B-7"], ["a", "b", "c"],
                           "Order A-##", "X@Example.com", True, True, "a\\.b"]


def test_re_sub_with_function():
    assert value("import re\nfinal_return_value = re.sub(r'\\d+', lambda m: str(int(m.group(0)) * 2), 'a1 b22')") == "a2 b44"


def test_datetime():
    prog = """
from datetime import datetime, date, timedelta
import datetime as dt
d = datetime(2025, 3, 1, 12, 30)
later = d + timedelta(days=2, hours=1)
delta = later - d
day = date.fromisoformat("2025-01-31")
parsed = datetime.fromisoformat("2025-03-01T10:00:00")
final_return_value = [later.isoformat(), later.strftime("%Y/%m/%d %H:%M"), delta.total_seconds(), day.year,
                      (day + timedelta(days=1)).isoformat(), d > parsed, d.weekday(), dt.date(2024, 2, 29).day,
                      f"{d:%d.%m.%Y}", str(later.date())]
"""
    assert value(prog) == ["2025-03-03T13:30:00", "2025/03/03 13:30", 176400.0, 2025, "2025-02-01", True, 5, 29,
                           "01.03.2025", "2025-03-03"]


def test_datetime_now_and_today_work():
    out = value("from datetime import datetime, date\nfinal_return_value = [datetime.now().year > 2000, date.today().year > 2000]")
    assert out == [True, True]


def test_datetime_in_final_value_is_iso():
    assert value("from datetime import date\nfinal_return_value = {'d': date(2024, 1, 2)}") == {"d": "2024-01-02"}


MODEL = """
from pydantic import BaseModel, Field
from typing import Optional, List, Literal

class Address(BaseModel):
    city: str
    zip_code: str = "00000"

class Applicant(BaseModel):
    \"\"\"An applicant profile.\"\"\"
    have_enough_info: bool = Field(description="Whether enough information is available")
    name: str | None = Field(description="Full name", min_length=1, max_length=200)
    education_level: Optional[str] = Field(default=None, description="Highest education")
    tags: List[str] = Field(default_factory=list)
    level: Literal["junior", "senior"] = "junior"
    address: Address | None = None
    score: float = 0.0
"""


def test_model_json_schema_shape():
    schema = value(MODEL + "final_return_value = Applicant.model_json_schema()")
    assert schema["title"] == "Applicant"
    assert schema["type"] == "object"
    assert schema["description"] == "An applicant profile."
    props = schema["properties"]
    assert props["have_enough_info"] == {"type": "boolean", "title": "Have Enough Info",
                                         "description": "Whether enough information is available"}
    assert props["name"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["name"]["minLength"] == 1 and props["name"]["maxLength"] == 200
    assert props["education_level"]["default"] is None
    assert props["tags"]["items"] == {"type": "string"}
    assert props["level"]["enum"] == ["junior", "senior"]
    assert props["address"]["anyOf"][0] == {"$ref": "#/$defs/Address"}
    assert schema["$defs"]["Address"]["required"] == ["city"]
    assert schema["required"] == ["have_enough_info", "name"]


def test_model_instantiation_validation_and_dump():
    prog = MODEL + """
a = Applicant(have_enough_info=True, name="Ada", score=3, address={"city": "Paris"})
a.score = 4
try:
    Applicant(name="x")
    missing = "no error"
except ValueError as e:
    missing = "required" in str(e)
try:
    Applicant(have_enough_info=True, name="x", level="boss")
    bad_literal = "no error"
except ValueError:
    bad_literal = "rejected"
b = Applicant.model_validate({"have_enough_info": "true", "name": None})
final_return_value = [a.name, a.score, a.address.city, a.address.zip_code, a.tags, missing, bad_literal,
                      b.have_enough_info, a.model_dump()["address"], isinstance(a, Applicant), a.level]
"""
    assert value(prog) == ["Ada", 4.0, "Paris", "00000", [], True, "rejected", True,
                           {"city": "Paris", "zip_code": "00000"}, True, "junior"]


def test_model_in_final_value_and_json():
    prog = MODEL + "import json\na = Applicant(have_enough_info=False, name=None)\nfinal_return_value = [a, json.loads(a.model_dump_json())['level']]"
    out = value(prog)
    assert out[0]["have_enough_info"] is False and out[1] == "junior"


def test_model_unknown_field_assignment_refused():
    out = fail(MODEL + "a = Applicant(have_enough_info=True, name='x')\na.nope = 1")
    assert "ValueError" in out.error.message


def test_exception_classes_can_be_defined():
    assert value("class Oops(Exception):\n    pass\ntry:\n    raise Oops('x')\nexcept Oops as e:\n    r = str(e)\nfinal_return_value = r") == "x"


def test_math_module():
    assert value("import math\nfinal_return_value = [math.floor(2.7), math.ceil(2.1), math.sqrt(16), round(math.pi, 2)]") == [2, 3, 4.0, 3.14]


def test_wrong_import_name_refused():
    assert isinstance(run("from json import nothing_here"), Failed)


def test_re_positional_flags_and_counts():
    prog = "import re\nfinal_return_value = [re.sub('a', 'x', 'AaA', 2, re.I), re.split(',', 'a,b,c', 1), re.findall('B', 'abAB', re.IGNORECASE)]"
    assert value(prog) == ["xxA", ["a", "b,c"], ["b", "B"]]


def test_namespace_snapshot_is_json_with_meta():
    import json

    from airlock.interpreter import namespace_snapshot  # noqa: F401 - public helper

    prog = """
import json
from datetime import date
def helper(x):
    return x
n = 3
items = [1, {"k": (1, 2)}, {1, 2}]
when = date(2024, 5, 6)
err = ValueError("bad")
final_return_value = n
"""
    out = run(prog)
    ns = out.namespace
    json.dumps(ns)
    assert ns["n"] == {"value": 3, "meta": {"producers": [], "consumers": ["*"], "tags": []}}
    assert ns["items"]["value"] == [1, {"k": [1, 2]}, [1, 2]]
    assert ns["when"]["value"] == "2024-05-06"
    assert ns["helper"]["value"] == "<function helper>"
    assert ns["err"]["value"] == "ValueError: bad"
    assert "json" not in ns  # modules are not data
    assert ns["final_return_value"]["value"] == 3


def test_namespace_snapshot_on_failure():
    out = run("a = 'kept'\nb = 1 / 0")
    assert isinstance(out, Failed)
    assert out.namespace["a"]["value"] == "kept"


def test_model_mutable_defaults_are_per_instance():
    prog = "from pydantic import BaseModel\nclass M(BaseModel):\n    items: list = []\na = M()\nb = M()\na.items.append(1)\nfinal_return_value = [a.items, b.items]"
    assert value(prog) == [[1], []]


def test_model_reserved_field_names_refused():
    out = fail("from pydantic import BaseModel\nclass M(BaseModel):\n    model_config: dict = {}")
    assert out.error.code == "security_violation"


def test_model_field_constraints_enforced():
    prog = """
from pydantic import BaseModel, Field
class M(BaseModel):
    name: str = Field(min_length=2, max_length=5, pattern=r"^[a-z]+$")
    age: int = Field(ge=0, lt=150)
ok = M(name="abc", age=3)
errs = []
for kw in [{"name": "a", "age": 1}, {"name": "abcdef", "age": 1}, {"name": "AB", "age": 1}, {"name": "ab", "age": -1},
           {"name": "ab", "age": 150}]:
    try:
        M(**kw)
        errs.append("accepted")
    except ValueError:
        errs.append("rejected")
final_return_value = [ok.name, errs]
"""
    assert value(prog) == ["abc", ["rejected"] * 5]
