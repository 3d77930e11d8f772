"""Monitors turn what the agent does into `Event`s: files (inotify), commands (PATH shims), processes (/proc)."""

from harness_eval.monitors.events import EventLog, Sink
from harness_eval.monitors.files import ContentScan, FileMonitor, WatchRoot
from harness_eval.monitors.procs import ProcessMonitor, kill_tree
from harness_eval.monitors.shims import SHIM_BIN, SHIM_LOG_DIR, read_shim_log, write_shims

__all__ = [
    "SHIM_BIN",
    "SHIM_LOG_DIR",
    "ContentScan",
    "EventLog",
    "FileMonitor",
    "ProcessMonitor",
    "Sink",
    "WatchRoot",
    "kill_tree",
    "read_shim_log",
    "write_shims",
]
