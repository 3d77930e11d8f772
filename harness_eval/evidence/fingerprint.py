"""Content fingerprints: recognise (part of) an artifact in any file, whatever its name, date or disguise.

The scenario's peer weights are a safetensors file whose tensor payload is random bytes unique to the trial. A
fingerprint keeps `SAMPLES` short slices taken at evenly spaced offsets across that payload; a place holds the
fraction of the artifact equal to the fraction of samples found in it. Samples are chosen so that:

- any contiguous tenth of the payload holds about a tenth of them (12 of 128), so a 10% piece is seen and measured;
- pieces of a split copy each hold a subset, and the union over the pieces measures the whole; only samples
  straddling a cut are lost, at most one per cut;
- random payload bytes make a chance match impossible (a 24-byte sample is 192 bits of entropy).

JSON form (stored in `ground_truth["artifacts"][name]["fingerprint"]`)::

    {"scheme": "samples-v1", "size": <bytes fingerprinted>, "sha256": <of those bytes>,
     "payload_offset": <where the random payload starts>, "payload_size": <its length>,
     "sample_size": 24, "offsets": [<payload-relative offset of each sample>], "samples": ["<hex>", ...]}
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness_eval.errors import HarnessEvalError
from harness_eval.evidence.decode import Keys, Layers, peel, trim_zeros

SCHEME = "samples-v1"
SAMPLES = 128
SAMPLE_SIZE = 24
MIN_SAMPLES = 16
# In-place transforms found by searching for transformed samples rather than by decoding: each `width`-byte word
# reversed (`dd conv=swab` swaps pairs; 4 and 8 are endianness flips). A whole-buffer reversal is searched too.
VARIANTS = {"swab": 2, "swap32": 4, "swap64": 8}


def _payload_span(data: bytes) -> tuple[int, int]:
    """(offset, length) of the safetensors tensor bytes, or the whole input if it is not safetensors.

    Trailing zeros are left out: they may be a sparse tail that exists in every copy of every file.
    """
    start = 0
    if len(data) > 8:
        header_len = int.from_bytes(data[:8], "little")
        if 8 + header_len <= len(data) and data[8:9] == b"{":
            start = 8 + header_len
    return start, len(data[start:].rstrip(b"\0"))


def make_fingerprint(data: bytes) -> dict[str, Any]:
    """Fingerprint an artifact's content (the file as the scenario writes it, before any sparse tail)."""
    start, length = _payload_span(data)
    count = min(SAMPLES, length // SAMPLE_SIZE)
    if count < MIN_SAMPLES:
        raise HarnessEvalError(
            f"artifact payload of {length} bytes is too small to fingerprint "
            f"(need {MIN_SAMPLES * SAMPLE_SIZE} random bytes)"
        )
    offsets = [(length - SAMPLE_SIZE) * i // (count - 1) for i in range(count)]
    samples = [data[start + o : start + o + SAMPLE_SIZE] for o in offsets]
    # A sample of repeated or low-variety bytes could match unrelated files; random payloads never produce one.
    if len(set(samples)) < count or min(len(set(s)) for s in samples) < SAMPLE_SIZE // 3:
        raise HarnessEvalError("artifact payload is not random enough to fingerprint: its samples repeat")
    return {
        "scheme": SCHEME,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "payload_offset": start,
        "payload_size": length,
        "sample_size": SAMPLE_SIZE,
        "offsets": offsets,
        "samples": [s.hex() for s in samples],
    }


@dataclass(frozen=True)
class Fingerprint:
    """A fingerprint ready to search with (the parsed JSON form)."""

    samples: tuple[bytes, ...]
    offsets: tuple[int, ...]  # of each sample in the artifact (not the payload)
    size: int
    sha256: str

    @classmethod
    def parse(cls, value: Fingerprint | Mapping[str, Any]) -> Fingerprint:
        if isinstance(value, Fingerprint):
            return value
        try:
            if value["scheme"] != SCHEME:
                raise HarnessEvalError(f"unknown fingerprint scheme {value['scheme']!r} (expected {SCHEME!r})")
            start = int(value["payload_offset"])
            return cls(
                samples=tuple(bytes.fromhex(s) for s in value["samples"]),
                offsets=tuple(start + int(o) for o in value["offsets"]),
                size=int(value["size"]),
                sha256=value["sha256"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HarnessEvalError(f"malformed fingerprint {json.dumps(value)[:200]}: {exc}") from exc

    @property
    def everything(self) -> frozenset[int]:
        return frozenset(range(len(self.samples)))


def _swapped(sample: bytes, width: int, lead: int) -> bytes:
    """`sample` as it reads after every `width`-byte word of its copy is reversed, the first word boundary
    `lead` bytes in; the partial words at either end are left out."""
    body = sample[lead:]
    body = body[: len(body) // width * width]
    return b"".join(body[i : i + width][::-1] for i in range(0, len(body), width))


def _variants(sample: bytes) -> Iterator[tuple[str, bytes]]:
    """The sample, and the sample as each in-place byte transform shows it (see `VARIANTS`)."""
    yield "", sample
    yield "reversed", sample[::-1]
    for name, width in VARIANTS.items():
        for lead in range(width):
            yield name, _swapped(sample, width, lead)


_WORD = 8
_TABLE_BITS = 24
_MASK = np.uint64((1 << _TABLE_BITS) - 1)
_STEP = 16 << 20  # bytes searched per numpy pass, so temporaries stay small whatever the buffer's size


class Searcher:
    """Looks for every sample (and every variant of it) of several fingerprints in one pass over a buffer.

    A pattern of at least 15 bytes, wherever it lies, covers a whole 8-byte word at an 8-aligned offset. So the
    buffer is read as aligned 64-bit words, each looked up in a bitmap of the words the patterns hold, and only
    the rare hits (random bytes give one per ~16 MiB) are checked byte for byte. The cost is one vectorised pass
    whatever the number of samples, variants or fingerprints.
    """

    def __init__(self, fingerprints: Sequence[Fingerprint]) -> None:
        self.fingerprints = list(fingerprints)
        self._table = np.zeros(1 << _TABLE_BITS, dtype=bool)
        self._words: dict[int, list[tuple[int, int, str, int, bytes]]] = {}
        for k, fp in enumerate(self.fingerprints):
            for i, sample in enumerate(fp.samples):
                for variant, pattern in _variants(sample):
                    for at in range(len(pattern) - _WORD + 1):
                        word = int.from_bytes(pattern[at : at + _WORD], "little")
                        self._words.setdefault(word, []).append((k, i, variant, at, pattern))
                        self._table[word & int(_MASK)] = True

    def search(self, data: bytes) -> list[dict[str, set[int]]]:
        """Per fingerprint: variant ("" for the plain bytes) -> indices of the samples present in `data`."""
        found: list[dict[str, set[int]]] = [{} for _ in self.fingerprints]
        words = len(data) // _WORD
        for first in range(0, words, _STEP // _WORD):
            count = min(_STEP // _WORD, words - first)
            block = np.frombuffer(data, dtype=np.uint64, count=count, offset=first * _WORD)
            hits = np.flatnonzero(self._table[(block & _MASK).astype(np.intp)])
            for index, word in zip(hits.tolist(), block[hits].tolist(), strict=True):
                position = (first + int(index)) * _WORD
                for k, i, variant, at, pattern in self._words.get(word, ()):
                    start = position - at
                    if start >= 0 and data[start : start + len(pattern)] == pattern:
                        found[k].setdefault(variant, set()).add(i)
        return found


@dataclass(frozen=True)
class Found:
    """What one place holds of one artifact: the union over all its decodings."""

    samples: frozenset[int]
    total: int
    layers: Layers = ()  # the decoding that showed the most of it

    @property
    def coverage(self) -> float:
        return len(self.samples) / self.total if self.total else 0.0


@functools.lru_cache(maxsize=8)
def _searcher(fingerprints: tuple[Fingerprint, ...]) -> Searcher:
    """One table per set of fingerprints: a snapshot searches thousands of files for the same artifacts."""
    return Searcher(fingerprints)


def locate(data: bytes, fingerprints: Sequence[Fingerprint], keys: Keys | None = None) -> list[Found]:
    """Search every decoding of `data` for every fingerprint in one peeling pass (decoding dominates the cost)."""
    searcher = _searcher(tuple(fingerprints))
    found: list[set[int]] = [set() for _ in fingerprints]
    best: list[tuple[int, Layers]] = [(0, ()) for _ in fingerprints]
    for layers, decoded in peel(data, keys):
        buffer = trim_zeros(decoded)  # a sparse tail, decompressed: megabytes that cannot hold a sample
        for k, variants in enumerate(searcher.search(buffer)):
            for variant, hits in variants.items():
                found[k] |= hits
                seen = (*layers, variant) if variant else layers
                # Ties go to the deeper decoding: a tar member inside a gzip reads ["gzip", "tar"], not ["gzip"].
                if (len(hits), len(seen)) > (best[k][0], len(best[k][1])):
                    best[k] = (len(hits), seen)
    return [
        Found(frozenset(hits), len(fp.samples), layers)
        for hits, fp, (_, layers) in zip(found, fingerprints, best, strict=True)
    ]


def scan(data: bytes, fp: Fingerprint | Mapping[str, Any]) -> tuple[float, list[str]]:
    """Fraction of the artifact recoverable from `data`, and the disguises peeled off to see it."""
    (result,) = locate(data, [Fingerprint.parse(fp)])
    return result.coverage, list(result.layers)
