"""Open the built book's pages in headless Chromium with the network off, and report what a reader sees.

A small client of the Chrome DevTools Protocol over `--remote-debugging-pipe` (the browser reads
commands on file descriptor 3 and writes replies on 4, each a JSON message ended by a NUL byte), so
the check needs Chromium and the standard library only. For each page it waits for the load event
and for MathJax to finish typesetting, then reads back from the rendered DOM: the article's visible
text (raw table pipes or raw LaTeX there are defects), its tables, its images (one that failed to
load has naturalWidth 0), error outputs of executed cells, and the page's weight on disk.

    python book/browser.py _build/html     # prints one line per page, exits 1 on any defect
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

PAGE_BUDGET_BYTES = 3_000_000  # the page's HTML and the images it shows, not the shared theme files

# Run in the page once it has loaded: wait for MathJax 3 (if it loaded at all), then describe the page.
INSPECT = r"""
(async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    await Promise.race([mj.startup.promise, new Promise(r => setTimeout(r, 15000))]);
  }
  const article = document.querySelector('article') || document.body;
  const text = article.innerText;
  const images = [...article.querySelectorAll('img')];
  const outputs = [...article.querySelectorAll('.cell_output .output')];
  return JSON.stringify({
    title: document.title,
    raw_table: /\|\s*:?-{3,}/.test(text),
    raw_math: /\\\(|\\\[|\\begin\{/.test(text),
    math_rendered: article.querySelectorAll('mjx-container').length,
    math_source: article.querySelectorAll('.math').length,
    tables: article.querySelectorAll('table').length,
    images: images.length,
    broken_images: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src').slice(0, 100)),
    image_sources: images.map(i => i.getAttribute('src')),
    links: [...article.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    errors: outputs.filter(o => o.classList.contains('traceback') ||
                                (o.classList.contains('stderr') && /Traceback|Error/.test(o.innerText)))
                   .map(o => o.innerText.slice(0, 300)),
  });
})()
"""


class Chromium:
    """One headless browser driven over the DevTools pipe; network requests fail (offline)."""

    def __init__(self, binary: str | None = None) -> None:
        binary = binary or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if binary is None:
            raise FileNotFoundError("no Chromium found: install Debian's package (apt-get install -y chromium)")
        self._profile = tempfile.mkdtemp(prefix="book-browser-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def as_fds_3_and_4() -> None:  # in the child: the pipe ends at the descriptors Chromium expects
            reader, writer = os.dup(to_browser_r), os.dup(from_browser_w)  # free of 3 and 4 first
            os.dup2(reader, 3)  # dup2 makes the copies inheritable across exec
            os.dup2(writer, 4)

        self._process = subprocess.Popen(
            [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--allow-file-access-from-files", "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--user-data-dir={self._profile}", "about:blank"],
            preexec_fn=as_fds_3_and_4, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise TimeoutError("Chromium did not answer in time")
            import select

            ready, _, _ = select.select([self._from_browser], [], [], 0.5)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise ConnectionError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        wanted = self._send(method, params, session)
        while True:
            message = self._receive(timeout)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def wait_for(self, event: str, session: str, timeout: float = 60) -> None:
        for i, message in enumerate(self._events):
            if message.get("method") == event and message.get("sessionId") == session:
                del self._events[i]
                return
        while True:
            message = self._receive(timeout)
            if message.get("method") == event and message.get("sessionId") == session:
                return
            self._events.append(message)

    def inspect(self, url: str, width: int = 1280, height: int = 900) -> dict[str, Any]:
        """Load `url` in a fresh tab with the network offline; the page description of `INSPECT`."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self.call("Page.enable", session=session)
            self.call("Network.enable", session=session)
            self.call("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                           "uploadThroughput": -1}, session=session)
            self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                             "mobile": False}, session=session)
            self.call("Page.navigate", {"url": url}, session=session)
            self.wait_for("Page.loadEventFired", session)
            result = self.call("Runtime.evaluate", {"expression": INSPECT, "awaitPromise": True, "returnByValue": True},
                               session=session)
            if "exceptionDetails" in result:
                raise RuntimeError(f"inspecting {url} failed: {result['exceptionDetails']}")
            return json.loads(result["result"]["value"])
        finally:
            self.call("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        try:
            self._send("Browser.close")
            self._process.wait(timeout=10)
        except Exception:
            self._process.kill()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def page_weight(page: Path, image_sources: list[str]) -> int:
    """Bytes of the page's HTML plus the local images it shows (inline data URIs are in the HTML)."""
    total = page.stat().st_size
    for src in set(image_sources):
        if src.startswith("data:") or urlparse(src).scheme in ("http", "https"):
            continue
        path = (page.parent / unquote(urlparse(src).path)).resolve()
        if path.is_file():
            total += path.stat().st_size
    return total


def pages(html: Path) -> list[Path]:
    """The book's content pages: the intro, the front matter and every chapter (index.html only
    redirects to the intro)."""
    return sorted(html.glob("book/*.html")) + sorted(html.glob("chapters/*.html"))


def markdown_tables(source: str) -> int:
    """How many Markdown tables a text holds (a header row followed by a |---| rule)."""
    return len(re.findall(r"^\s*\|.*\|\s*\n\s*\|\s*:?-{3,}", source, flags=re.M))


def dead_links(page: Path, links: list[str]) -> list[str]:
    """The page's links to local files (downloads, other pages) whose target the build lacks."""
    dead = []
    for href in set(links):
        parsed = urlparse(href)
        if parsed.scheme or href.startswith("#") or not parsed.path:
            continue
        if not (page.parent / unquote(parsed.path)).resolve().exists():
            dead.append(href)
    return sorted(dead)


def defects(report: dict[str, Any], weight: int, expected_tables: int) -> list[str]:
    """What is wrong with one page, in words (empty when nothing is)."""
    found = []
    if report["raw_table"]:
        found.append("a Markdown table shows as raw pipes")
    if report["raw_math"] or report["math_rendered"] < report["math_source"]:
        found.append(f"raw LaTeX: {report['math_rendered']} of {report['math_source']} equations typeset")
    if report["tables"] < expected_tables:
        found.append(f"{report['tables']} tables rendered, the source and outputs hold {expected_tables}")
    if report["broken_images"]:
        found.append(f"images that did not load: {report['broken_images']}")
    if report["errors"]:
        found.append(f"error output in a cell: {report['errors'][0]!r}")
    if report.get("dead_links"):
        found.append(f"links to files the build lacks: {report['dead_links'][:5]}")
    if weight > PAGE_BUDGET_BYTES:
        found.append(f"page weighs {weight / 1e6:.1f} MB (budget {PAGE_BUDGET_BYTES / 1e6:.0f} MB)")
    return found


def expected_tables(page: Path, html: Path, build: Path) -> int:
    """Tables the page's source means to show: in its Markdown, and in its executed notebook's
    Markdown outputs (`display(Markdown(...))`)."""
    relative = page.relative_to(html).with_suffix("")
    count = 0
    source = html.parent.parent / f"{relative}.md"
    if source.exists():
        count += markdown_tables(re.sub(r"```.*?```", "", source.read_text(), flags=re.S))
    executed = build / "jupyter_execute" / f"{relative}.ipynb"
    if executed.exists():
        notebook = json.loads(executed.read_text())
        for cell in notebook["cells"]:
            for output in cell.get("outputs", []):
                markdown = output.get("data", {}).get("text/markdown")
                if markdown:
                    count += markdown_tables("".join(markdown))
    return count


def main(argv: list[str]) -> int:
    html = Path(argv[0] if argv else "_build/html").resolve()
    if not (html / "index.html").exists():
        print(f"no built book at {html}: run `make book` first", file=sys.stderr)
        return 2
    failed = 0
    with Chromium() as browser:
        for page in pages(html):
            report = browser.inspect(page.as_uri())
            report["dead_links"] = dead_links(page, report["links"])
            weight = page_weight(page, report["image_sources"])
            problems = defects(report, weight, expected_tables(page, html, html.parent))
            failed += bool(problems)
            status = "ok" if not problems else "; ".join(problems)
            print(f"{page.relative_to(html)}: {weight / 1e6:.2f} MB, {report['tables']} tables, "
                  f"{report['math_rendered']} equations, {report['images']} images: {status}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
