"""Data-flow metadata: propagation through operations, containers, control flow and tools."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from airlock.interpreter import Failed, RunOptions, run
from airlock.meta import NEUTRAL, Meta, StrSet

from .helpers import ScriptedPolicy, drive, finish, meta, tools


def sv(value, producers=(), consumers=("*",), tags=(), combine="replace"):
    """A tool result that sets its metadata explicitly."""
    return {"value": value, "meta": {"producers": list(producers), "consumers": list(consumers), "tags": list(tags)},
            "is_sequrity_var": True, "combine_meta": combine}


SRC_TOOLS = tools(src=("name",))


def source_options(mode: str = "standard", **kw) -> RunOptions:
    """``src`` may declassify (its wrappers set exact metadata) and adds no producer of its own."""
    return RunOptions(mode=mode, declassify_tools=frozenset({"src"}), tool_producer=False, **kw)


def run_with_sources(program: str, sources: dict, mode: str = "standard", **kw):
    """Run with a client tool ``src(name)`` whose results are the given sequrity vars."""
    out, _ = drive(program, lambda tool, args: sources[args["name"]], tools={**SRC_TOOLS, **kw.pop("tools", {})},
                   options=kw.pop("options", None) or source_options(mode), **kw)
    return out


def ns_meta(out, name) -> Meta:
    return Meta.from_json(out.namespace[name]["meta"])


def test_tool_result_meta_is_args_meta_plus_producer():
    prog = "doc = get_doc(doc_id='D1')\nbody = f'Doc: {doc}'\nlit = 'plain'\nfinal_return_value = body"
    out, _ = drive(prog, {"get_doc": "contents"}, tools=tools(get_doc=("doc_id",)))
    assert out.value["meta"]["producers"] == ["get_doc"]
    assert ns_meta(out, "lit") == NEUTRAL
    assert ns_meta(out, "doc").producers.contains("get_doc")


def test_policy_result_tags_reach_the_next_tool_arguments():
    policy = ScriptedPolicy(result_tags={"get_doc": {"confidential"}})
    prog = ("doc = get_doc(doc_id='D1')\nsummary = doc.upper()[:10] + '...'\n"
            "send_email(to='a@b.c', body=summary, subject='hi')\nfinal_return_value = 'ok'")
    out, _ = drive(prog, {"get_doc": "secret text", "send_email": "sent"}, policy=policy,
                   tools=tools(get_doc=("doc_id",), send_email=("to", "body", "subject")))
    assert out.status == "finished"
    send_args = [a for t, a in policy.seen_calls if t == "send_email"][-1]
    assert send_args["body"].meta.tags.contains("confidential")
    assert not send_args["to"].meta.tags.contains("confidential")
    assert not send_args["subject"].meta.tags.contains("confidential")


def test_explicit_meta_merge_replace_ignore():
    sources = {
        "a": sv("x", producers=["alice"], tags=["t1"], combine="merge"),
        "b": sv("y", producers=["bob"], tags=["t2"], combine="replace"),
        "c": sv("z", producers=["carol"], tags=["t3"], combine="ignore"),
    }
    out = run_with_sources("a = src('a')\nb = src('b')\nc = src('c')", sources)
    assert ns_meta(out, "a").producers.items == {"alice"}
    assert ns_meta(out, "b").producers.items == {"bob"}
    assert ns_meta(out, "b").tags.items == {"t2"}
    assert ns_meta(out, "c").producers.is_empty()
    assert ns_meta(out, "c").tags.is_empty()
    assert out.namespace["a"]["value"] == "x"


def test_replace_cannot_declassify_without_the_operator():
    """A wrapper's ``replace`` keeps what the result inherited from its arguments unless the
    operator lets that tool declassify."""
    src = tools(src=("name",), fetch=("q",))
    prog = "secret = src(name='s')\nr = fetch(q=secret)\nfinal_return_value = r"
    answers = {"src": sv("S", tags=["secret"]), "fetch": sv("clean?", tags=[], combine="replace")}
    out, _ = drive(prog, lambda t, a: answers[t], tools=src, options=source_options())
    assert "secret" in out.value["meta"]["tags"]
    opts = RunOptions(declassify_tools=frozenset({"src", "fetch"}), tool_producer=False)
    out, _ = drive(prog, lambda t, a: answers[t], tools=src, options=opts)
    assert out.value["meta"]["tags"] == []


def test_consumers_intersect_and_producers_union():
    sources = {"a": sv("x", producers=["p1"], consumers=["alice", "bob"]),
               "b": sv("y", producers=["p2"], consumers=["bob", "carol"])}
    out = run_with_sources("final_return_value = src('a') + src('b')", sources)
    m = out.tagged.meta
    assert m.consumers.items == {"bob"}
    assert m.producers.items == {"p1", "p2"}


def test_container_elements_keep_their_own_meta():
    sources = {"s": sv("secret", tags=["pii"])}
    prog = """
s = src('s')
l = [s, 'public']
pub = l[1]
sec = l[0]
d = {'k': s, 'p': 'open'}
dp = d['p']
text = str(l)
n = len(l)
"""
    out = run_with_sources(prog, sources)
    assert ns_meta(out, "pub").tags.is_empty()
    assert ns_meta(out, "dp").tags.is_empty()
    assert ns_meta(out, "sec").tags.items == {"pii"}
    assert ns_meta(out, "text").tags.items == {"pii"}  # rendering reads every element
    assert ns_meta(out, "l").tags.items == {"pii"}  # the snapshot reports deep metadata
    assert ns_meta(out, "n").tags.is_empty()


def test_methods_and_builtins_propagate():
    sources = {"s": sv("a,b,c", tags=["t"])}
    prog = """
s = src('s')
parts = s.split(',')
first = parts[0]
joined = '-'.join(['x', first])
total = sum([len(p) for p in parts])
up = sorted(parts)[0]
m = max([1, len(s)])
"""
    out = run_with_sources(prog, sources)
    for name in ("parts", "first", "joined", "total", "up", "m"):
        assert ns_meta(out, name).tags.items == {"t"}, name


def test_control_dependency_taken_and_not_taken_branches():
    sources = {"s": sv("no", tags=["secret"])}
    prog = """
s = src('s')
y = 0
if s == 'yes':
    y = 1
z = 'a'
if s == 'no':
    z = 'b'
else:
    z = 'c'
w = 5
"""
    out = run_with_sources(prog, sources, mode="strict")
    assert out.namespace["y"]["value"] == 0
    assert ns_meta(out, "y").tags.items == {"secret"}  # not-taken branch still reveals s
    assert ns_meta(out, "z").tags.items == {"secret"}
    assert ns_meta(out, "w").tags.is_empty()


def test_tool_call_under_branch_sees_condition_meta():
    policy = ScriptedPolicy()
    prog = "flag = src(name='f')\nif flag:\n    notify(msg='constant text')\nfinal_return_value = 1"
    answers = {"src": sv(True, tags=["cond"]), "notify": "ok"}
    out, _ = drive(prog, lambda t, a: answers[t], policy=policy, tools=tools(notify=("msg",), src=("name",)),
                   options=source_options("strict"))
    assert out.status == "finished"
    args = [a for t, a in policy.seen_calls if t == "notify"][-1]
    assert args["msg"].meta.tags.contains("cond")


def test_loop_break_on_tainted_condition_taints_counter():
    sources = {"items": sv([1, 2, 99, 3], tags=["t"])}
    prog = """
items = src('items')
count = 0
for k in range(10):
    count += 1
    if items[k] > 50:
        break
"""
    out = run_with_sources(prog, sources, mode="strict")
    assert out.namespace["count"]["value"] == 3
    assert ns_meta(out, "count").tags.items == {"t"}


def test_early_return_under_tainted_branch_taints_result():
    sources = {"x": sv(5, tags=["t"])}
    prog = """
def classify(v):
    if v > 3:
        return 'big'
    return 'small'
x = src('x')
r = classify(x)
r2 = classify(1)
"""
    out = run_with_sources(prog, sources, mode="strict")
    assert ns_meta(out, "r").tags.items == {"t"}
    assert ns_meta(out, "r2").tags.is_empty()


def test_comprehension_filter_taints_result():
    sources = {"keep": sv([True, False, True], tags=["t"])}
    prog = "keep = src('keep')\nsel = [i for i in range(3) if keep[i]]\nplain = [i for i in range(3)]"
    out = run_with_sources(prog, sources)
    assert out.namespace["sel"]["value"] == [0, 2]
    assert ns_meta(out, "sel").tags.items == {"t"}
    assert ns_meta(out, "plain").tags.is_empty()


def test_exception_raised_under_tainted_branch_taints_handler():
    sources = {"x": sv(1, tags=["t"])}
    prog = """
x = src('x')
status = 'ok'
try:
    if x == 1:
        raise ValueError('one')
except ValueError:
    status = 'failed'
"""
    out = run_with_sources(prog, sources, mode="strict")
    assert out.namespace["status"]["value"] == "failed"
    assert ns_meta(out, "status").tags.items == {"t"}


def test_mutation_under_branch_taints_container():
    sources = {"x": sv(1, tags=["t"])}
    prog = "x = src('x')\nl = []\nif x == 1:\n    l.append('a')\nl.append('b')\nfinal_return_value = len(l)"
    out = run_with_sources(prog, sources, mode="strict")
    assert out.value["value"] == 2
    assert "t" in out.value["meta"]["tags"]


def test_check_branch_denial_stops_with_structured_error():
    policy = ScriptedPolicy(branch_deny_tags={"RACE"})
    prog = ("profile = get_profile(applicant_id='a-1')\nrace = profile.get('race')\n"
            "if race == 'European':\n    to = 'hr-1@x.com'\nelse:\n    to = 'hr-2@x.com'\nfinal_return_value = to")
    pol_tools = tools(get_profile=("applicant_id",))
    policy.result_tags = {"get_profile": {"RACE"}}
    out, _ = drive(prog, {"get_profile": '{"race": "European", "name": "A"}'}, policy=policy, tools=pol_tools)
    assert isinstance(out, Failed)
    assert out.error.code == "control_flow_denied"
    assert out.error.line == 3
    assert any(h["kind"] == "branch" for h in out.history)


def test_branch_on_untainted_data_is_allowed_and_checked():
    policy = ScriptedPolicy(branch_deny_tags={"RACE"})
    out = finish("x = 3\nif x > 2:\n    y = 1\nfinal_return_value = y", policy=policy)
    assert out.value["value"] == 1
    assert policy.seen_branches  # the hook was consulted


def test_non_executable_memory_and_tool_tag_options():
    opts = RunOptions(non_executable_memory=True, tool_tag=True, tool_producer=False)
    out, _ = drive("r = fetch(q='x')\nfinal_return_value = r", {"fetch": "data"}, options=opts,
                   tools=tools(fetch=("q",)))
    assert out.value["meta"] == {"producers": [], "consumers": ["*"], "tags": ["__non_executable", "__tool/fetch"]}


# -- property tests ---------------------------------------------------------------------------------

metas = st.builds(
    lambda p, c, t, univ: meta(p, ("*",) if univ else c, t),
    st.sets(st.sampled_from(["p1", "p2", "p3", "user"]), max_size=2),
    st.sets(st.sampled_from(["alice", "bob", "carol"]), max_size=3),
    st.sets(st.sampled_from(["pii", "secret", "x"]), max_size=2),
    st.booleans(),
)


def _expr(draw, names, depth):
    if depth == 0 or draw(st.booleans()):
        n = draw(st.sampled_from(names))
        return f"str({n})", {n}
    kind = draw(st.sampled_from(["concat", "fstring", "join", "upper", "list_str", "ifexp_all"]))
    a, ua = _expr(draw, names, depth - 1)
    b, ub = _expr(draw, names, depth - 1)
    if kind == "concat":
        return f"({a} + {b})", ua | ub
    if kind == "fstring":
        n1 = draw(st.sampled_from(names))
        n2 = draw(st.sampled_from(names))
        return f"(f'<{{{n1}}}|{{{n2}!r:>3}}>' + {a})", ua | {n1, n2}
    if kind == "join":
        return f"'-'.join([{a}, {b}])", ua | ub
    if kind == "upper":
        return f"{a}.upper()", ua
    if kind == "list_str":
        return f"str([{a}, {b}])", ua | ub
    return f"({a} if len({a}) >= 0 else {b})", ua  # condition always true: b never evaluated


@st.composite
def programs(draw):
    n = draw(st.integers(1, 4))
    names = [f"v{i}" for i in range(n)]
    ms = {name: draw(metas) for name in names}
    vals = {name: draw(st.one_of(st.integers(-50, 50), st.text("abc", max_size=3))) for name in names}
    expr, used = _expr(draw, names, 3)
    return names, ms, vals, expr, used


@settings(max_examples=60, deadline=None)
@given(programs())
def test_derived_meta_is_merge_of_inputs(case):
    names, ms, vals, expr, used = case
    sources = {n: {"value": vals[n], "meta": ms[n].to_json(), "is_sequrity_var": True, "combine_meta": "replace"}
               for n in names}
    prog = "".join(f"{n} = src('{n}')\n" for n in names) + f"final_return_value = {expr}\n"
    out = run_with_sources(prog, sources)
    expected = Meta.merge_all(ms[n] for n in sorted(used))
    got = out.tagged.meta
    assert got.producers == expected.producers
    assert got.tags == expected.tags
    assert got.consumers == expected.consumers


@settings(max_examples=40, deadline=None)
@given(st.lists(metas, min_size=1, max_size=5), st.integers(0, 4))
def test_element_read_only_carries_that_element(ms, pick):
    pick = pick % len(ms)
    sources = {f"e{i}": {"value": i, "meta": m.to_json(), "is_sequrity_var": True, "combine_meta": "replace"}
               for i, m in enumerate(ms)}
    prog = "".join(f"e{i} = src('e{i}')\n" for i in range(len(ms)))
    prog += "l = [" + ", ".join(f"e{i}" for i in range(len(ms))) + f"]\nfinal_return_value = l[{pick}]\n"
    out = run_with_sources(prog, sources)
    assert out.value["value"] == pick
    assert out.tagged.meta == ms[pick]
    assert Meta.from_json(out.namespace["l"]["meta"]) == Meta.merge_all(ms)


def test_meta_strset_universal_consumers_by_default():
    out = finish("final_return_value = 'x'")
    assert out.value["meta"]["consumers"] == ["*"]
    assert StrSet.of(out.value["meta"]["consumers"]).universal
