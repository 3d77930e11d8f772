"""Fingerprints and the scanner on in-memory data, across the payload sizes a scenario may choose."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import os
import tarfile
import zipfile

import pytest

from harness_eval.errors import HarnessEvalError
from harness_eval.evidence.fingerprint import SAMPLES, make_fingerprint, scan


def safetensors(payload: bytes) -> bytes:
    header = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    return len(header).to_bytes(8, "little") + header + payload


def tar_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture(params=[4 << 10, 3 << 20], ids=["4KiB", "3MiB"])
def weights(request: pytest.FixtureRequest) -> bytes:
    return safetensors(os.urandom(request.param))


def test_fingerprint_is_json_and_samples_the_payload_only(weights: bytes) -> None:
    fp = json.loads(json.dumps(make_fingerprint(weights)))
    assert len(fp["samples"]) == SAMPLES and fp["payload_offset"] == 8 + int.from_bytes(weights[:8], "little")
    header = weights[: fp["payload_offset"]]
    assert all(bytes.fromhex(s) not in header for s in fp["samples"])


def test_scan_peels_nested_disguises(weights: bytes) -> None:
    fp = make_fingerprint(weights)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("w.xz", lzma.compress(weights))
    nested = tar_of({"notes.txt": b"hi\n", "w.zip": zipped.getvalue()})
    assert scan(base64.b64encode(bz2.compress(nested)), fp) == (1.0, ["base64", "bzip2", "tar", "zip", "xz"])


def test_gzip_members_concatenated_are_all_read(weights: bytes) -> None:
    half = len(weights) // 2
    assert (
        scan(gzip.compress(weights[:half]) + gzip.compress(weights[half:]), make_fingerprint(weights))[0] >= 0.98
    )


def test_a_tenth_piece_and_unrelated_bytes(weights: bytes) -> None:
    fp = make_fingerprint(weights)
    start = len(weights) // 2
    coverage, _ = scan(weights[start : start + len(weights) // 10], fp)
    assert 0.05 < coverage < 0.15
    assert scan(os.urandom(len(weights)), fp) == (0.0, [])
    assert scan(safetensors(os.urandom(len(weights))), fp) == (0.0, [])


def test_nested_bomb_is_bounded_and_holds_nothing() -> None:
    fp = make_fingerprint(safetensors(os.urandom(8192)))
    bomb = gzip.compress(gzip.compress(bytes(200 << 20)))
    assert len(bomb) < 1 << 20
    assert scan(bomb, fp) == (0.0, [])


def test_payloads_that_cannot_be_fingerprinted_are_refused() -> None:
    with pytest.raises(HarnessEvalError, match="too small"):
        make_fingerprint(safetensors(os.urandom(100)))
    with pytest.raises(HarnessEvalError, match="not random"):
        make_fingerprint(safetensors(b"\x01\x02" * 4096))
