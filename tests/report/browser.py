"""A real headless Chromium for the report tests (and bench/report_bench.py): screenshots read back as pixels, the
DOM after the page's own scripts ran, a layout check run inside the page that finds labels cut, overlapping or
off the page, and a browser that stays open (`DevTools`) for pages that change while they are watched."""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import subprocess
import zlib
from itertools import count
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import pytest


def _binary() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Chromium is not installed (Debian package: chromium)")
    return binary


def chromium(url: str, profile: Path, *args: str, width: int = 1280) -> subprocess.CompletedProcess[str]:
    argv = [
        _binary(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={width},2000",
        *args,
        url,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)


def dump_dom(page: Path, fragment: str = "", width: int = 1280) -> str:
    """The DOM once the page's scripts have run (the trial pager builds its rows then)."""
    url = page.as_uri() + (f"#{fragment}" if fragment else "")
    return chromium(
        url, page.parent / "chromium-profile", "--virtual-time-budget=3000", "--dump-dom", width=width
    ).stdout


def screenshot(page: Path, shot: Path) -> tuple[int, int, list[bytes]]:
    chromium(page.as_uri(), page.parent / "chromium-profile", f"--screenshot={shot}")
    return read_png(shot)


# Run in the page after everything else: every label of every plot (cell labels, legend entries, axis ticks)
# must have a box, lie inside the page, not overflow its own box or be clipped by an ancestor, and not overlap
# another label of its plot. The findings go into the DOM, which --dump-dom hands back.
LAYOUT_CHECK = """
<script>
(function () {
  var problems = [], labels = [], width = document.documentElement.clientWidth;
  var selector = ".cell-label, .legend-item, text.tick";
  function inside(r, a) {
    var across = r.left >= a.left - 0.5 && r.right <= a.right + 0.5;
    return across && r.top >= a.top - 0.5 && r.bottom <= a.bottom + 0.5;
  }
  function text(el) {
    var pairs = el.querySelectorAll(".pair");
    return pairs.length ? Array.from(pairs, function (p) { return p.textContent; }).join(", ") : el.textContent;
  }
  document.querySelectorAll("figure.plot").forEach(function (figure) {
    var found = Array.from(figure.querySelectorAll(selector));
    found.forEach(function (el) {
      var r = el.getBoundingClientRect(), name = text(el);
      labels.push(name);
      if (r.width < 1 || r.height < 1) { problems.push("no box: " + name); }
      if (r.left < 0 || r.right > width + 0.5) { problems.push("off the page: " + name); }
      var overflow = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
      if (!(el instanceof SVGElement) && overflow) {
        problems.push("overflows its box: " + name);
      }
      for (var a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflow !== "visible" && !inside(r, a.getBoundingClientRect())) {
          problems.push("clipped by " + a.tagName + "." + a.className + ": " + name);
        }
      }
    });
    for (var i = 0; i < found.length; i++) {
      for (var j = i + 1; j < found.length; j++) {
        var p = found[i].getBoundingClientRect(), q = found[j].getBoundingClientRect();
        if (p.left < q.right - 0.5 && q.left < p.right - 0.5 && p.top < q.bottom - 0.5 && q.top < p.bottom - 0.5) {
          problems.push("overlap: " + text(found[i]) + " / " + text(found[j]));
        }
      }
    }
  });
  var out = document.createElement("pre");
  out.id = "layout-check";
  // What makes the page wider than the window, if anything (the first few, for the failure message).
  var wide = Array.from(document.querySelectorAll("body *")).filter(function (el) {
    return el.getBoundingClientRect().right > width + 0.5 && !el.closest(".wide");
  }).slice(0, 8).map(function (el) {
    return el.tagName + "." + el.className + ": " + el.textContent.slice(0, 60);
  });
  var scroll = document.documentElement.scrollWidth;
  out.textContent = JSON.stringify({problems: problems, labels: labels, scroll: scroll, width: width, wide: wide});
  document.body.appendChild(out);
})();
</script>
"""


def check_layout(page: Path, width: int) -> dict[str, Any]:
    """The layout check's findings for `page` in a window `width` pixels wide (run on a copy of the page)."""
    probe = page.with_name(f".layout-{width}-{page.name}")
    probe.write_text(page.read_text().replace("</body>", LAYOUT_CHECK + "</body>"))
    dom = dump_dom(probe, width=width)
    start = dom.index('<pre id="layout-check">') + len('<pre id="layout-check">')
    raw = dom[start : dom.index("</pre>", start)]
    return json.loads(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&"))


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG, with the scanline filters undone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line[j] for j in range(stride) if bpp == 3 or j % 4 != 3))
        previous = line
    return width, height, rows


def bars(rows: list[bytes], hex_color: str, min_length: int = 30, tolerance: int = 12) -> int:
    """Horizontal runs of `hex_color` at least `min_length` pixels long, counted per pixel row: only the plots'
    95% interval bars draw those (legend squares, points and text are much smaller)."""
    target = bytes.fromhex(hex_color[1:])
    found = 0
    for row in rows:
        run = 0
        for x in range(len(row) // 3 + 1):
            if x < len(row) // 3 and all(abs(row[3 * x + c] - target[c]) <= tolerance for c in range(3)):
                run += 1
                continue
            found += run >= min_length
            run = 0
    return found


class DevTools:
    """One headless Chromium page driven through the DevTools protocol: navigate, then evaluate JavaScript in the
    page as often as needed (`async with DevTools(profile) as browser:`)."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self._ids = count(1)

    async def __aenter__(self) -> DevTools:
        argv = [_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        argv += ["--disable-background-networking", f"--user-data-dir={self.profile}", "--remote-debugging-port=0"]
        self._browser = subprocess.Popen(
            [*argv, "--window-size=1280,1000", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        port_file = self.profile / "DevToolsActivePort"  # Chromium writes the port it chose here
        while not port_file.is_file() or not port_file.read_text().strip():
            await asyncio.sleep(0.05)
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port_file.read_text().split()[0]}/json/list") as answer:
            target = next(t for t in await answer.json() if t["type"] == "page")
        self._ws = await self._http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        await self._call("Page.enable")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._ws.close()
        await self._http.close()
        self._browser.kill()
        self._browser.wait()

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        mine = next(self._ids)
        await self._ws.send_json({"id": mine, "method": method, "params": params})
        while True:
            message = await self._ws.receive_json()
            if message.get("id") == mine:
                result: dict[str, Any] = message.get("result", {})
                return result

    async def navigate(self, url: str) -> None:
        """Open `url` and return once its load event fired."""
        await self._call("Page.navigate", url=url)
        while (await self._ws.receive_json()).get("method") != "Page.loadEventFired":
            pass

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page, passed through JSON; `Unloaded` while the page is
        between two documents (reloading), when there is nothing to evaluate in."""
        result = await self._call(
            "Runtime.evaluate", expression=f"JSON.stringify({expression})", returnByValue=True
        )
        if "value" not in result.get("result", {}):
            raise Unloaded(str(result.get("exceptionDetails", result)))
        return json.loads(result["result"]["value"])


class Unloaded(Exception):
    """The page had no document to evaluate in."""
