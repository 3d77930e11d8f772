"""Monitors turn what the agent does into `Event`s: files (inotify), commands (PATH shims over a checked socket),
processes (/proc)."""

from harness_eval.monitors.events import EventLog, Sink
from harness_eval.monitors.files import ContentScan, FileMonitor, WatchRoot
from harness_eval.monitors.procs import ProcessMonitor, kill_tree
from harness_eval.monitors.shims import SHIM_BIN, SHIM_SOCKET_DIR, ShimListener, write_shims

__all__ = [
    "SHIM_BIN",
    "SHIM_SOCKET_DIR",
    "ContentScan",
    "EventLog",
    "FileMonitor",
    "ProcessMonitor",
    "ShimListener",
    "Sink",
    "WatchRoot",
    "kill_tree",
    "write_shims",
]
