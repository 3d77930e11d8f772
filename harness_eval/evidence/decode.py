"""Peel disguises off a file's bytes, so that a copy of an artifact is found however the agent wrapped it.

An agent that wants to keep a peer's weights may compress, archive, encode or split them; detection by name or by
hash misses all of that. `peel` yields every decoding it can find, recursively, and the caller searches each one
for the artifact's fingerprint. Everything is bounded: a shared byte budget (so a zip bomb, or a bomb inside a
bomb, costs at most the budget), a depth limit, and a cap on how many embedded streams are tried per buffer.

Decoders are tried where their signature appears, at the start of a buffer and embedded further in (a gzip stream
inside a tar, or a reassembled split whose first piece is some unrelated file). Truncated or corrupt compressed
streams still yield whatever decompressed before the damage, because split parts are truncated streams.
"""

from __future__ import annotations

import binascii
import bz2
import lzma
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

MAX_DEPTH = 6
DECODE_BUDGET = 32 << 20  # decoded bytes per scanned file, across all layers
_CHUNK = 1 << 16  # compressed input fed per step, so a damaged stream still gives what came before the damage
_EMBEDDED = 4  # embedded occurrences of one signature tried per buffer
# Embedded signatures are looked for this far into a buffer only: short signatures are slow to search for in
# megabytes of random bytes, and the streams worth finding follow a small header or a small unrelated file.
EMBEDDED_WITHIN = 1 << 20
_ZIP_MEMBERS = 256
_TEXT_RUNS = 4  # longest base64/hex runs tried per buffer

Layers = tuple[str, ...]


@dataclass
class Budget:
    """Bytes the decoders may still produce for one file, shared by every layer so nesting cannot multiply it."""

    remaining: int = DECODE_BUDGET

    def take(self, data: bytes) -> bytes:
        """Charge `data` against the budget, cutting it to what is left."""
        data = data[: max(self.remaining, 0)]
        self.remaining -= len(data)
        return data


class _Decompressor(Protocol):
    eof: bool
    unused_data: bytes

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Zlib:
    """zlib's decompressobj with the bz2/lzma interface, so one loop drives all three."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._d.decompress(self._d.unconsumed_tail + data, max(max_length, 0))


_Factory = Callable[[], _Decompressor]
_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


def _inflate(make: _Factory, data: bytes, budget: Budget, *, multi: bool = True) -> bytes:
    """Decompress one stream (or consecutive members, like `gzip a; gzip b` concatenated) within the budget.

    Input goes in small steps and output is kept up to the first error, which is what makes truncated streams
    and the first piece of a split archive useful.
    """
    out = bytearray()
    view = memoryview(data)
    while view and budget.remaining > 0:
        decompressor = make()
        pos = 0
        try:
            while budget.remaining > 0 and not decompressor.eof:
                chunk = b""
                if decompressor.needs_input:
                    if pos >= len(view):
                        break
                    chunk = bytes(view[pos : pos + _CHUNK])
                    pos += len(chunk)
                piece = budget.take(decompressor.decompress(chunk, budget.remaining))
                if not piece and not chunk:
                    break
                out += piece
        except _ERRORS:
            break
        if not (multi and decompressor.eof):
            break
        view = view[pos - len(decompressor.unused_data) :]
    return bytes(out)


# Compressed streams: name, signature, decompressor, and whether to look for the signature inside a buffer too.
# zlib and lzma-alone headers are too short to search for in random data, so they are tried only at offset 0.
_STREAMS: list[tuple[str, bytes, _Factory, bool]] = [
    ("gzip", b"\x1f\x8b\x08", lambda: _Zlib(31), True),
    ("bzip2", b"BZh", bz2.BZ2Decompressor, True),
    ("xz", b"\xfd7zXZ\x00", lzma.LZMADecompressor, True),
    ("lzma", b"\x5d\x00\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE), False),
]


def _offsets(data: bytes, signature: bytes, limit: int, within: int = EMBEDDED_WITHIN) -> Iterator[int]:
    start = 0
    for _ in range(limit):
        found = data.find(signature, start, within + len(signature))
        if found < 0:
            return
        yield found
        start = found + 1


def _streams(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
    for name, signature, make, embedded in _STREAMS:
        for offset in _offsets(data, signature, _EMBEDDED if embedded else 1):
            if offset and not embedded:
                break
            out = _inflate(make, data[offset:], budget)
            if out:
                yield name, out
    if len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and int.from_bytes(data[:2], "big") % 31 == 0:
        out = _inflate(lambda: _Zlib(15), data, budget)
        if out:
            yield "zlib", out


_ZIP_METHODS: dict[int, _Factory] = {8: lambda: _Zlib(-15), 12: bz2.BZ2Decompressor}


def _zip_members(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
    """Members read from local headers, not the central directory, so a truncated or split zip still opens."""
    for offset in _offsets(data, b"PK\x03\x04", _ZIP_MEMBERS, len(data)):
        if offset + 30 > len(data):
            return
        flags, method = struct.unpack_from("<HH", data, offset + 6)
        (size,) = struct.unpack_from("<I", data, offset + 18)
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        start = offset + 30 + name_len + extra_len
        if flags & 1:  # encrypted
            continue
        if method == 0:
            content = budget.take(data[start : start + size])
        elif method in _ZIP_METHODS:
            content = _inflate(_ZIP_METHODS[method], data[start:], budget, multi=False)
        else:
            continue
        if content:
            yield "zip", content


def _tar_size(field: bytes) -> int:
    if field[0] & 0x80:  # GNU base-256 for members of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    return int(field.strip(b" \0") or b"0", 8)


def _tar_members(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
    """Regular-file members of a ustar/GNU tar that starts anywhere in `data`; a truncated last member is kept."""
    magic = data.find(b"ustar", 257, EMBEDDED_WITHIN)
    if magic < 0:
        return
    offset = magic - 257
    while offset + 512 <= len(data) and data[offset + 257 : offset + 262] == b"ustar":
        header = data[offset : offset + 512]
        try:
            size = _tar_size(header[124:136])
        except ValueError:
            return
        start = offset + 512
        if header[156:157] in (b"0", b"\0", b"7") and size:
            yield "tar", budget.take(data[start : start + size])
        offset = start + -(-size // 512) * 512


# Encoded text is wrapped with line breaks only, never spaces; allowing spaces would make every paragraph of
# prose a candidate and decode it for nothing.
_WHITESPACE = b"\r\n"
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=_\-\r\n]{63,}")
_HEX_RUN = re.compile(rb"[0-9a-fA-F\r\n]{63,}")
_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _longest_runs(pattern: re.Pattern[bytes], data: bytes) -> list[bytes]:
    runs = sorted((m.group() for m in pattern.finditer(data)), key=len, reverse=True)
    return [run.translate(None, _WHITESPACE) for run in runs[:_TEXT_RUNS]]


_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_WINDOW = 4096


def _textual(data: bytes) -> bool:
    """True when the start, middle or end of `data` is mostly printable text, where encoded text could be.

    Regex runs over megabytes of binary cost tens of milliseconds; three small windows cost nothing.
    """
    middle = len(data) // 2
    windows = (data[:_WINDOW], data[middle : middle + _WINDOW], data[-_WINDOW:])
    return any(len(w.translate(None, _PRINTABLE)) <= len(w) // 10 for w in windows)


def _text_encodings(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
    """base64 (any wrapping, URL-safe too) and plain hex, at every alignment.

    A piece of encoded text cut at an arbitrary byte (`split -b 1001` of a base64 file) starts mid-group, so
    each of the 4 (or 2) alignments is decoded; only one of them gives the real bytes, the others give noise.
    """
    if not _textual(data):
        return
    for run in _longest_runs(_BASE64_RUN, data):
        text = run.replace(b"=", b"").translate(_URLSAFE)
        for shift in range(4):
            usable = (len(text) - shift) // 4 * 4
            if usable >= 48:
                yield "base64", budget.take(binascii.a2b_base64(text[shift : shift + usable]))
    for run in _longest_runs(_HEX_RUN, data):
        for shift in range(2):
            usable = (len(run) - shift) // 2 * 2
            yield "hex", budget.take(binascii.unhexlify(run[shift : shift + usable]))


_DECODERS = (_streams, _zip_members, _tar_members, _text_encodings)


def peel(data: bytes, budget: Budget | None = None, depth: int = MAX_DEPTH) -> Iterator[tuple[Layers, bytes]]:
    """Yield `data` itself, then every decoding of it, recursively: (layers peeled outermost first, bytes)."""
    budget = budget or Budget()
    yield (), data
    if depth <= 0:
        return
    for decoder in _DECODERS:
        for name, decoded in decoder(data, budget):
            for layers, inner in peel(decoded, budget, depth - 1):
                yield (name, *layers), inner
