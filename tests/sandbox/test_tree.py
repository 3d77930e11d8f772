"""Which paths a node owns and where they live: pure mapping, no namespaces needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.models import NodePlan, SeedFile
from harness_eval.sandbox import Root
from harness_eval.sandbox.tree import NodeTree


def node(*paths: str, dirs: tuple[str, ...] = ()) -> NodePlan:
    return NodePlan(
        name="n", hostname="n", address="10.0.0.1", files=[SeedFile(path=p) for p in paths], dirs=list(dirs)
    )


def test_mounts_are_the_defaults_plus_top_directories_of_stray_seeds(tmp_path: Path) -> None:
    tree = NodeTree(
        node("/home/op/proj/a", "/opt/models/w.bin", dirs=("/srv/in",)), tmp_path, ["/home/op", "/tmp"]
    )
    assert tree.mounts == ["/home/op", "/opt", "/srv", "/tmp"]


def test_nested_defaults_collapse_into_the_outer_mount(tmp_path: Path) -> None:
    tree = NodeTree(node(), tmp_path, ["/home/op/work", "/home/op", "/var/tmp", "/var"])
    assert tree.mounts == ["/home/op", "/var"]


@pytest.mark.parametrize("path", ["/etc/motd", "/usr/local/bin/x", "/proc/1", "/"])
def test_machine_paths_cannot_be_seeded(tmp_path: Path, path: str) -> None:
    with pytest.raises(HarnessEvalError, match="shared read-only"):
        NodeTree(node(path), tmp_path, ["/data"])


def test_relative_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessEvalError, match="absolute"):
        NodeTree(node("data/x"), tmp_path, ["/data"])


def test_backing_and_view_round_trip_and_stay_inside(tmp_path: Path) -> None:
    tree = NodeTree(node(), tmp_path / "n", ["/data", "/var/tmp"])
    assert tree.backing_of("/data//a/../b") == tmp_path / "n" / "data" / "b"
    assert tree.view_of(tmp_path / "n" / "var" / "tmp" / "x") == "/var/tmp/x"
    assert tree.view_of(tmp_path / "n" / "var" / "log") is None  # /var itself is not the node's
    assert tree.view_of(tmp_path / "other" / "data") is None
    with pytest.raises(ValueError):
        tree.backing_of("/data/../etc/passwd")


def test_roots_per_mount_or_whole(tmp_path: Path) -> None:
    tree = NodeTree(node(), tmp_path, ["/tmp", "/data"])
    assert tree.roots(whole=False) == [Root("n", tmp_path / "data", "/data"), Root("n", tmp_path / "tmp", "/tmp")]
    assert tree.roots(whole=True) == [Root("n", tmp_path, "/")]


def test_seeding_writes_content_then_hole_then_mode_and_mtime(tmp_path: Path) -> None:
    seeds = [
        SeedFile(path="/data/w.bin", content=b"head", apparent_size=1 << 20, mode=0o400, mtime=1_600_000_000.5),
        SeedFile(path="/data/deep/er/notes.txt", content=b"x"),
    ]
    plan = NodePlan(name="n", hostname="n", address="10.0.0.1", files=seeds, dirs=["/data/empty"])
    tree = NodeTree(plan, tmp_path, ["/data", "/tmp"])
    tree.create_mounts()
    tree.seed()
    weights = tmp_path / "data" / "w.bin"
    stat = weights.stat()
    assert (stat.st_size, stat.st_mode & 0o7777, stat.st_mtime) == (1 << 20, 0o400, 1_600_000_000.5)
    assert stat.st_blocks * 512 < 1 << 20
    assert weights.read_bytes()[:6] == b"head\0\0"
    assert (tmp_path / "data" / "deep" / "er" / "notes.txt").read_bytes() == b"x"
    assert (tmp_path / "data" / "empty").is_dir()
    assert os.stat(tmp_path / "tmp").st_mode & 0o7777 == 0o1777
