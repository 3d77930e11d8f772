"""A CLI install bound from a mirror shows `/` in the mount table, not the cache path it was copied from."""

from __future__ import annotations

from pathlib import Path

from harness_eval.sandbox.mirror import mirrored


def _mount_root(path: Path) -> str:
    """The mountinfo root field (the source's path inside its filesystem) of the mount at `path`."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == str(path):
            return fields[3]
    raise AssertionError(f"{path} is not a mount point")


def test_a_mirror_is_its_own_filesystem_with_the_same_content(tmp_path: Path) -> None:
    source = tmp_path / "cache" / "clis" / "tool-1.0"
    (source / "bin").mkdir(parents=True)
    (source / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    (source / "bin" / "tool").chmod(0o755)
    (source / "link").symlink_to("bin/tool")
    copy = mirrored(source)
    assert _mount_root(copy) == "/" and str(tmp_path) not in str(copy)
    assert (copy / "bin" / "tool").read_text() == "#!/bin/sh\necho hi\n"
    assert (copy / "bin" / "tool").stat().st_mode & 0o111
    assert (copy / "link").readlink() == Path("bin/tool")
    assert mirrored(source) == copy  # once per process
