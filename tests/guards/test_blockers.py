"""URL and file-path blockers: every encoding of a URL or path in an argument blocks the call,
in a result it is redacted; plain prose is left alone."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

import pytest
from hypothesis import assume, example, given, settings, strategies as st

from airlock.guards import GuardSet, Redactor

BLOCKERS = GuardSet.from_features({"content_blockers": [{"name": "url_blocker"}, {"name": "file_blocker"}]})
URLS = GuardSet.from_features({"content_blockers": [{"name": "url_blocker"}]})
FILES = GuardSet.from_features({"content_blockers": [{"name": "file_blocker"}]})

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
host = st.builds(lambda parts, tld: ".".join([*parts, tld]), st.lists(label, min_size=1, max_size=3),
                 st.sampled_from(["com", "org", "example", "io", "net", "dev", "co.uk", "xyz"]))
path = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=10), max_size=4).map("/".join)
url = st.builds(lambda scheme, h, p: f"{scheme}://{h}/{p}", st.sampled_from(["http", "https", "ftp", "HTTP", "Https", "ws", "file", "s3"]), host, path)
posix = st.builds(lambda root, p: f"/{root}/{p}" if p else f"/{root}",
                  st.sampled_from(["etc", "home", "root", "var", "tmp", "Users", "opt", "proc"]), path)
windows = st.builds(lambda d, p: f"{d}:\\" + p.replace("/", "\\"), st.sampled_from("CDEcz"), path)
home = st.builds(lambda p: f"~/{p}", path)
relative = st.builds(lambda up, p: "../" * up + (p or "x"), st.integers(1, 4), path)
file_path = st.one_of(posix, windows, home, relative)


def zero_width(s: str) -> str:
    return s[:2] + "\u200b" + s[2:]


ENCODINGS = {
    "plain": lambda s: s,
    "percent": lambda s: quote(s, safe=""),
    "percent-all": lambda s: "".join(f"%{b:02X}" for b in s.encode()),
    "double-percent": lambda s: quote(quote(s, safe=""), safe=""),
    "json-escaped": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "unicode-escaped": lambda s: "".join(f"\\u{ord(c):04x}" if c in "/:.\\" else c for c in s),
    "html-entities": lambda s: "".join(f"&#{ord(c)};" if c in "/:." else c for c in s),
    "html-hex": lambda s: html.escape(s).replace("/", "&#x2F;"),
    "fullwidth": lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s),
    "zero-width": zero_width,
}
encoding = st.sampled_from(sorted(ENCODINGS))
prose = st.lists(st.sampled_from("the tool reads data and sends a short report to our team today".split()), max_size=8).map(" ".join)


@given(url, encoding, prose, prose)
@settings(max_examples=300)
def test_every_encoding_of_a_url_in_an_argument_blocks(u, enc, before, after):
    text = f"{before} {ENCODINGS[enc](u)} {after}".strip()
    scan = URLS.scan_value({"q": text}, "argument", Redactor())
    assert scan.blocked and scan.blocks[0].guard == "url_blocker" and scan.blocks[0].path == "q"
    assert "url" in scan.tags


@given(file_path, encoding, prose)
@example("C:\\x00", "double-percent", "")  # decoded past the path: "\\x00" became a NUL
@settings(max_examples=300)
def test_every_encoding_of_a_path_in_an_argument_blocks(p, enc, before):
    assume(enc != "zero-width" or len(p) > 3)
    scan = FILES.scan_value({"args": [f"{before} {ENCODINGS[enc](p)}"]}, "argument", Redactor())
    assert scan.blocked and scan.blocks[0].guard == "file_blocker" and scan.blocks[0].path == "args[0]"


@given(url, encoding, prose)
@settings(max_examples=200)
def test_in_a_result_a_url_is_redacted_not_blocked(u, enc, before):
    encoded = ENCODINGS[enc](u)
    scan = URLS.scan_value({"body": f"{before} {encoded}"}, "result", Redactor())
    assert not scan.blocked
    assert encoded not in scan.value["body"] and "<URL_1>" in scan.value["body"]


@given(st.lists(st.sampled_from("alpha beta gamma delta report team today and or the a of in to 42 7 x y".split()), max_size=30))
def test_plain_prose_passes(words):
    text = " ".join(words)
    scan = BLOCKERS.scan_text(text, "argument", Redactor())
    assert not scan.blocked and scan.value == text


@pytest.mark.parametrize("text", [
    "Version 1.2.3 ships Monday.", "Reply yes/no by 24/7.", "jane.doe@example.com", "10:30 in room 4.2",
    "e.g. and i.e.", "about ~5 minutes", "km/h and and/or", "$3.50 each", "Ratio 16:9",
])
def test_known_near_misses_pass(text):
    assert not BLOCKERS.scan_text(text, "argument", Redactor()).blocked


def test_a_block_names_the_argument_and_what_it_saw():
    scan = BLOCKERS.scan_value({"to": "a@example.com", "link": "see http://evil.example/x", "file": "/etc/passwd"},
                               "argument", Redactor())
    described = sorted(b.describe() for b in scan.blocks)
    assert described == ["file_blocker: a file path in file: '/etc/passwd'",
                         "url_blocker: a URL in link: 'http://evil.example/x'"]
    assert scan.value["link"] == "see <URL_1>" and scan.value["to"] == "a@example.com"
