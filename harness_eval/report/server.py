"""`harness-eval view`: the report folder's pages served from memory, live while a run is still writing verdicts.

The first page is rendered once per state of the runs on disk; a trial's page is rendered from its folder when it
is opened, so opening the viewer costs the same for 50 trials as for 10,000 and nothing is written anywhere. The
page asks `state` every few seconds and reloads when a verdict appeared. Only the report's own pages are served
(no file of the run is reachable by path), and by default only on the loopback interface.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness_eval.errors import HarnessEvalError
from harness_eval.pricing import PriceTable
from harness_eval.report.html import TRIAL_DIR, Page
from harness_eval.report.runs import LoadedRun, load_runs, run_folders

TRIAL_PAGE = re.compile(rf"^/{TRIAL_DIR}/(\d+)\.html$")


class Viewer:
    """The runs behind the pages, reloaded when a verdict is written, removed or rewritten."""

    def __init__(self, paths: Sequence[Path], prices: PriceTable | None = None) -> None:
        self.paths = list(paths)
        self.prices = prices
        self._lock = threading.Lock()
        self.version = ""
        self._index = ""
        self.page = self._build(load_runs(self.paths))

    def _build(self, runs: list[LoadedRun]) -> Page:
        self.version = self._fingerprint()
        page = Page(runs, self.prices, live=True)
        self._index = page.index(self.version)
        return page

    def _fingerprint(self) -> str:
        """The run folders and every verdict's name and modification time: what changes when a cell starts, a
        trial ends or `--retry-errors` rewrites a verdict. Listings and stats only, so polling is cheap."""
        digest = hashlib.sha256()
        for folder in run_folders(self.paths):
            digest.update(f"{folder}\n".encode())
            trials = folder / "trials"
            if not trials.is_dir():
                continue
            for entry in sorted(os.scandir(trials), key=lambda e: e.name):
                try:
                    mtime = os.stat(os.path.join(entry.path, "verdict.json")).st_mtime_ns
                except OSError:
                    continue
                digest.update(f"{entry.name}:{mtime}\n".encode())
        return digest.hexdigest()[:16]

    def refresh(self) -> None:
        """Reload if anything changed; a run caught mid-write keeps the last good pages until the next poll."""
        with self._lock:
            if self._fingerprint() == self.version:
                return
            try:
                self.page = self._build(load_runs(self.paths))
            except HarnessEvalError:
                return

    def index(self) -> str:
        self.refresh()
        return self._index

    def trial(self, k: int) -> str | None:
        page = self.page
        return page.trial(k) if 0 <= k < len(page.trials) else None


def serve(viewer: Viewer, host: str, port: int) -> ThreadingHTTPServer:
    """A server for `viewer` bound to host:port (port 0: any free one); the caller runs `serve_forever`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path in ("/", "/index.html"):
                self._send(viewer.index(), "text/html")
            elif path == "/state":
                viewer.refresh()
                self._send(json.dumps({"version": viewer.version}), "application/json")
            elif (match := TRIAL_PAGE.match(path)) and (body := viewer.trial(int(match[1]))) is not None:
                self._send(body, "text/html")
            else:
                self._send("not found", "text/plain", HTTPStatus.NOT_FOUND)

        def _send(self, body: str, kind: str, status: HTTPStatus = HTTPStatus.OK) -> None:
            raw = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: a page polling every two seconds would flood the terminal."""

    try:
        return ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise HarnessEvalError(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
