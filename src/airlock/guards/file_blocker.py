"""``file_blocker``: "Block file access in tool calls", by detecting file paths.

Caught: ``file:`` URLs; POSIX absolute paths (two or more segments, a well-known root such as
``/etc`` or ``/home``, or a last segment with an extension); home paths (``~/``, ``~user/``,
``$HOME``, ``${VAR}/``, ``%USERPROFILE%\\``); explicit relative paths (``./``, ``../``, ``..\\``);
Windows drive paths (``C:\\``, ``c:/``) and UNC/device paths (``\\\\server\\share``, ``\\\\?\\C:``);
well-known secret-bearing dotfiles (``.env``, ``.ssh/``...); and bare file names with a common
extension (``report.pdf``, ``id_rsa.pub``). Encoded forms are handled by ``decode``.

The blocker errs towards blocking: an API route such as ``/users/42`` in an argument reads as a
path. Prose mentions of ``Node.js``-style names are the known false positives (measured in
``bench/guards.py``).
"""

from __future__ import annotations

import re

from airlock.guards.base import Span
from airlock.guards.pattern_blocker import PatternBlocker

ROOTS = frozenset(
    "etc home root usr var tmp opt proc sys dev bin sbin lib lib64 mnt media srv boot run Users "
    "Library Applications System Volumes private cygdrive".split()
)
EXTENSIONS = (
    "txt|pdf|docx?|xlsx?|pptx?|csv|tsv|json|jsonl|ya?ml|xml|toml|ini|cfg|conf|log|env|key|pem|crt|cer|"
    "p12|pfx|kdbx|sqlite3?|db|sql|bak|old|zip|tar|gz|tgz|bz2|xz|7z|rar|py|js|ts|rb|php|pl|sh|bash|zsh|"
    "ps1|bat|cmd|exe|dll|so|dylib|jar|war|class|png|jpe?g|gif|bmp|tiff?|svg|webp|mp3|mp4|mov|avi|wav|"
    "html?|md|rtf|odt|ods|odp|eml|msg|pst|ovpn|pub|ppk|rdp|vhdx?|iso|img|dmg|apk|ipa|deb|rpm"
)
_SEG = r"[^\s/\\'\"<>|:*?`]+"
_PATTERNS = [
    re.compile(r"(?<![a-z0-9+.-])file:[^\s<>\"'`]*", re.I),
    # home and environment-variable prefixed paths
    re.compile(r"(?<![\w~])~[\w.-]*[/\\][^\s'\"<>|`]*"),
    re.compile(r"(?<![\w$])\$(?:HOME|\{[A-Za-z_]\w*\}|[A-Z_][A-Z0-9_]*(?=[/\\]))[^\s'\"<>|`]*"),
    re.compile(r"%[A-Za-z_]\w*%[/\\][^\s'\"<>|`]*"),
    # relative, Windows drive, UNC and device paths
    re.compile(r"(?<![\w.])\.{1,2}[/\\][^\s'\"<>|`]*"),
    re.compile(r"(?<![\w])[A-Za-z]:[\\/][^\s'\"<>|`]*"),
    re.compile(r"(?<![\w\\])\\\\[\w.$?-]+\\[^\s'\"<>|`]*"),
    # secret-bearing dotfiles and bare file names with a common extension
    re.compile(r"(?<![\w./\\-])\.(?:env|ssh|aws|gnupg|kube|docker|bashrc|bash_history|zshrc|profile|"
               r"gitconfig|git-credentials|npmrc|pypirc|netrc|pgpass|htpasswd)(?:[/\\.][^\s'\"<>|`]*)?(?![\w-])"),
    re.compile(r"(?<![\w./\\-])[\w-][\w.-]*\.(?:" + EXTENSIONS + r")(?![\w-])", re.I),
]
_ABSOLUTE = re.compile(r"(?<![\w.~/\\:%$-])/(" + _SEG + r"(?:/" + _SEG + r")*)/?")
_HAS_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def find_paths(text: str) -> list[Span]:
    spans = [Span(m.start(), _trim(text, m.start(), m.end()), "FILE_PATH") for p in _PATTERNS for m in p.finditer(text)]
    for m in _ABSOLUTE.finditer(text):
        segments = m.group(1).split("/")
        if len(segments) >= 2 or segments[0] in ROOTS or _HAS_EXT.search(segments[-1]):
            spans.append(Span(m.start(), _trim(text, m.start(), m.end()), "FILE_PATH"))
    return [s for s in spans if s.end - s.start > 1]


def _trim(text: str, start: int, end: int) -> int:
    while end > start + 1 and text[end - 1] in ".,;:!?)]}":
        end -= 1
    return end


GUARD = PatternBlocker("file_blocker", "file_path", find_paths)
