"""The Portkey AI gateway (npm ``@portkey-ai/gateway``), installed on demand into bench/.portkey.

It needs one patch to stream on Node 20. Its response service appends ``x-portkey-*`` headers to
the ``Response`` that ``fetch`` returned; for a streamed answer that object's headers are
immutable under Node's undici (the fetch spec's "immutable" guard) and every ``stream: true``
request fails with ``TypeError: immutable`` → HTTP 500 (Portkey-AI/gateway issues 1389 and 1550;
JSON answers are not affected). The patch wraps the answer in a new ``Response`` with the same
body, status and headers before the headers are added (what the upstream fix proposes). It is
applied by ``ensure_portkey`` to the installed build, checked, and never by hand.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

VERSION = "1.15.2"
HERE = Path(__file__).resolve().parent
PREFIX = HERE.parent / ".portkey"
SERVER_JS = PREFIX / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"

# The one line, as it appears in the minified 1.15.2 build, and what it becomes.
_BEFORE = "this.updateHeaders(i,n.cacheStatus,o),{response:i,"
_AFTER = "this.updateHeaders(i=new Response(i.body,i),n.cacheStatus,o),{response:i,"


def ensure_portkey() -> Path:
    """The patched ``start-server.js``; installs the pinned version first if it is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("Node.js and npm are needed for the Portkey gateway")
    if not SERVER_JS.exists():
        print(f"[setup] npm install @portkey-ai/gateway@{VERSION} into {PREFIX} (first run only)...", flush=True)
        PREFIX.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX),
                               f"@portkey-ai/gateway@{VERSION}"], capture_output=True, text=True, timeout=900)
        if done.returncode != 0 or not SERVER_JS.exists():
            raise RuntimeError(f"npm install @portkey-ai/gateway failed: {(done.stderr or done.stdout).strip()[-800:]}")
    patch(SERVER_JS)
    return SERVER_JS


def patch(path: Path) -> None:
    text = path.read_text()
    if _AFTER in text:
        return
    if text.count(_BEFORE) != 1:
        raise RuntimeError(f"Portkey {path}: the line to patch for streaming on Node 20 was not found "
                           f"(is it version {VERSION}?)")
    path.write_text(text.replace(_BEFORE, _AFTER))


def command(port: int) -> list[str]:
    return ["node", str(SERVER_JS), f"--port={port}", "--headless"]


def headers(upstream_base: str, api_key: str) -> dict[str, str]:
    """Route a request through Portkey to an OpenAI-compatible upstream at ``upstream_base``."""
    return {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream_base, "Authorization": f"Bearer {api_key}"}
