"""Headless Chromium for tests that look at pages as a browser renders them (the docs portal).

Finds the browser (``XN_CHROMIUM``, else ``chromium``, ``chromium-browser``, ``google-chrome``
on ``PATH``; on Debian ``apt-get install -y chromium``) and dumps a page's DOM after its scripts
ran, with a fresh profile and no network use of its own:

    python -m devtools.browser http://127.0.0.1:8000/docs
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install it with `apt-get install -y chromium` (Debian) or set XN_CHROMIUM to its path"


class BrowserUnavailable(RuntimeError):
    pass


def find_chromium() -> str:
    explicit = os.environ.get("XN_CHROMIUM")
    if explicit:
        if shutil.which(explicit) is None:
            raise BrowserUnavailable(f"XN_CHROMIUM={explicit} is not an executable")
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path is not None:
            return path
    raise BrowserUnavailable(f"no Chromium found on PATH; {INSTALL_HINT}")


def dump_dom_command(executable: str, url: str, profile: str, budget_ms: int) -> list[str]:
    return [
        executable,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        url,
    ]


async def dump_dom(url: str, *, budget_ms: int = 10_000, wait_seconds: float = 120.0) -> str:
    """The DOM of ``url`` after its scripts ran (async, so a server in this loop keeps serving)."""
    executable = find_chromium()
    with tempfile.TemporaryDirectory(prefix="xn-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            *dump_dom_command(executable, url, profile, budget_ms),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), wait_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    if process.returncode != 0:
        raise RuntimeError(
            f"chromium exited with {process.returncode}: {err.decode(errors='replace')[-2000:]}"
        )
    return out.decode(errors="replace")


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m devtools.browser <url>\n")
        return 2
    sys.stdout.write(asyncio.run(dump_dom(sys.argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
