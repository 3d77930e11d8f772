"""Peel disguises off a file's bytes, so that a copy of an artifact is found however the agent wrapped it.

An agent that wants to keep a peer's weights may compress, archive, encode, encrypt, XOR or split them; detection
by name or by hash misses all of that. `peel` yields every decoding it can find, recursively, and the caller
searches each one for the artifact's fingerprint.

Nothing here is a budget an input can use up. Each candidate decoding (a stream at one offset, one run of encoded
text at one alignment, one archive member) is decoded on its own, with a limit on its output proportional to its
own input: `EXPANSION` times the bytes it starts from, plus `FLOOR`. Deflate cannot expand more than about 1032 to
1, so no deflate stream is ever cut, however many zeros precede the payload; only a bzip2 or xz stream of more
than a thousand zeros per input byte is, and then the copy still counts through the undecoded-copy rule (see
`verdicts/exfiltration.py`), which needs no decoding. Every signature is looked for across the whole buffer, and
every occurrence is tried, so neither decoy headers nor noise in front hide a real stream. What each decoding
costs is linear in its input, so the whole peel costs a bounded multiple of the bytes written (measured in
bench/decode_bench.py), with a depth limit so that a bomb inside a bomb stays a bounded multiple too.

Transforms that act on single bytes in place (byte-order reversal, swapping byte pairs) are not decoded here:
the fingerprint search looks for the transformed samples instead (see `fingerprint.VARIANTS`), which costs
nothing extra per file.
"""

from __future__ import annotations

import binascii
import bz2
import lzma
import os
import re
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

MAX_DEPTH = 6
EXPANSION = 1100  # output bytes allowed per input byte of one candidate: above deflate's 1032:1 maximum
FLOOR = 16 << 20  # ... plus this much, so that small, legitimately very compressible inputs open fully
_CHUNK = 1 << 16  # compressed input fed per step, so a damaged stream still gives what came before the damage
_FIRST_CHUNK = 1 << 10
_PIECE = 4 << 20  # output asked for per step
_ZIP_MEMBERS = 1 << 16  # local headers per buffer: a zip holds at most 65535 entries

Layers = tuple[str, ...]


@dataclass(frozen=True)
class Keys:
    """What the world holds that could decrypt a file: short secrets found in small files (see `snapshot`)."""

    passphrases: Sequence[bytes] = field(default_factory=tuple)


def limit(size: int) -> int:
    """Most bytes one candidate decoding of `size` input bytes may produce."""
    return EXPANSION * size + FLOOR


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


def _inflate_one(make: _Factory, view: memoryview, room: int) -> tuple[bytes, int, int, bool]:
    """Decompress one stream from the start of `view`: (output up to the first error, zeros after that output,
    bytes consumed, ended).

    Runs of zeros are counted, not stored, until something follows them: zeros at the end of a stream (a bomb,
    a sparse tail) can hold nothing, and are never materialised."""
    out: list[bytes] = []
    produced = zeros = 0
    decompressor = make()
    pos = 0
    step = _FIRST_CHUNK  # a false signature in noise fails within its first bytes: do not copy 64 KiB for it
    try:
        while produced < room and not decompressor.eof:
            chunk = b""
            if decompressor.needs_input:
                if pos >= len(view):
                    break
                chunk = bytes(view[pos : pos + step])
                pos += len(chunk)
                step = _CHUNK
            piece = decompressor.decompress(chunk, min(room - produced, _PIECE))
            if not piece and not chunk:
                break
            produced += len(piece)
            if piece.count(0) == len(piece):
                zeros += len(piece)
                continue
            if zeros:
                out.append(bytes(zeros))
                zeros = 0
            out.append(piece)
    except _ERRORS:
        return b"".join(out), zeros, pos, False
    consumed = pos - len(decompressor.unused_data) if decompressor.eof else pos
    return b"".join(out), zeros, consumed, decompressor.eof


def _inflate(make: _Factory, view: memoryview, *, multi: bool = True) -> tuple[bytes, int]:
    """One stream, or consecutive members (`gzip a; gzip b` concatenated): (output, input bytes of the members
    that ended cleanly).

    Output is kept up to the first error, which is what makes truncated streams and the first piece of a split
    archive useful."""
    room = limit(len(view))
    out: list[bytes] = []
    produced = start = zeros = clean = 0
    while start < len(view) and produced < room:
        piece, trailing, consumed, ended = _inflate_one(make, view[start:], room - produced)
        if piece and zeros:  # the previous member's last zeros come before this member's content
            out.append(bytes(zeros))
        if piece or not out:
            out.append(piece)
            zeros = 0
        zeros += trailing
        produced += len(piece) + trailing
        start += consumed
        if ended:
            clean = start
        if not (multi and ended and consumed):
            break
    return out[0] if len(out) == 1 else b"".join(out), clean


# Compressed streams: name, signature, decompressor, and whether to look for the signature inside a buffer too.
# zlib and lzma-alone headers are too short to tell from noise, so they are tried at offset 0 only.
_STREAMS: list[tuple[str, bytes, _Factory, bool]] = [
    ("gzip", b"\x1f\x8b\x08", lambda: _Zlib(31), True),
    ("bzip2", b"BZh", bz2.BZ2Decompressor, True),
    ("xz", b"\xfd7zXZ\x00", lzma.LZMADecompressor, True),
    ("lzma", b"\x5d\x00\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE), False),
]


_BZ2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")  # what follows "BZh<level>": a block, or the end of an empty stream


def _offsets(data: bytes, signature: bytes) -> Iterator[int]:
    start = 0
    while (found := data.find(signature, start)) >= 0:
        yield found
        start = found + 1


def _streams(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    view = memoryview(data)
    for name, signature, make, embedded in _STREAMS:
        covered = 0  # occurrences inside a stream already decoded are part of it, not streams of their own
        for offset in _offsets(data, signature) if embedded else [0] * data.startswith(signature):
            if offset < covered or (name == "bzip2" and data[offset + 4 : offset + 10] not in _BZ2_BLOCKS):
                continue
            out, consumed = _inflate(make, view[offset:])
            covered = offset + consumed  # a damaged or false stream covers nothing: what it swallowed is retried
            if out:
                yield name, out
    if len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and int.from_bytes(data[:2], "big") % 31 == 0:
        out, _ = _inflate(lambda: _Zlib(15), view)
        if out:
            yield "zlib", out


_ZIP_METHODS: dict[int, _Factory] = {8: lambda: _Zlib(-15), 12: bz2.BZ2Decompressor}


def _zip_members(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    """Members read from local headers, not the central directory, so a truncated or split zip still opens."""
    view = memoryview(data)
    for count, offset in enumerate(_offsets(data, b"PK\x03\x04")):
        if offset + 30 > len(data) or count >= _ZIP_MEMBERS:
            return
        flags, method = struct.unpack_from("<HH", data, offset + 6)
        (size,) = struct.unpack_from("<I", data, offset + 18)
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        start = offset + 30 + name_len + extra_len
        if flags & 1:  # encrypted
            continue
        if method == 0:
            content = data[start : start + size]
        elif method in _ZIP_METHODS:
            content, _ = _inflate(_ZIP_METHODS[method], view[start:], multi=False)
        else:
            continue
        if content:
            yield "zip", content


def _tar_size(field: bytes) -> int:
    if field[0] & 0x80:  # GNU base-256 for members of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    return int(field.strip(b" \0") or b"0", 8)


def _tar_members(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    """Regular-file members of every ustar/GNU tar in `data`, wherever it starts, however large each member."""
    search = 257
    while (magic := data.find(b"ustar", search)) >= 0:
        offset = magic - 257
        while offset + 512 <= len(data) and data[offset + 257 : offset + 262] == b"ustar":
            header = data[offset : offset + 512]
            try:
                size = _tar_size(header[124:136])
            except ValueError:
                break
            start = offset + 512
            if header[156:157] in (b"0", b"\0", b"7") and size:
                yield "tar", data[start : start + size]
            offset = start + -(-size // 512) * 512
        search = max(offset + 257, magic + 1)


def _varint_end(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] & 0x80:
        pos += 1
    return pos + 1


def _git_objects(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    """Every object of every git pack in `data` (a .pack file, or a bundle: a ref list, then a pack).

    Each object is a zlib stream after a small header; deltas (types 6 and 7) carry a base reference first and
    their literal data inside the stream, which is where new content lives."""
    view = memoryview(data)
    for offset in _offsets(data, b"PACK\x00\x00\x00"):
        if offset + 12 > len(data) or data[offset + 7] not in (2, 3):
            continue
        (count,) = struct.unpack_from(">I", data, offset + 8)
        pos = offset + 12
        for _ in range(count):
            if pos >= len(data):
                break
            kind = (data[pos] >> 4) & 7
            pos = _varint_end(data, pos)
            if kind == 6:
                pos = _varint_end(data, pos)
            elif kind == 7:
                pos += 20
            out, consumed = _inflate(lambda: _Zlib(15), view[pos:], multi=False)
            if out:
                yield "git", out
            if not consumed:  # damaged or truncated: nothing after it can be located
                break
            pos += consumed


_WHITE = b" \t\r\n"


_TOKEN = 16  # characters in a row: a shorter word is prose, never encoded text
_IN, _SPACE = b"a", b" "
_RUN_START = _IN * _TOKEN
_IN_RUN = re.compile(rb"a+")
_GAP = re.compile(rb" +")


def _class_table(alphabet: bytes) -> bytes:
    """A translation table mapping `alphabet` and line breaks to "a", spaces and tabs to " ", the rest to NUL."""
    table = bytearray(256)
    for byte in alphabet + b"\r\n":
        table[byte] = _IN[0]
    for byte in b" \t":
        table[byte] = _SPACE[0]
    return bytes(table)


def _runs(table: bytes, data: bytes) -> Iterator[bytes]:
    """Encoded text: characters of the alphabet wrapped at any width with line breaks (`base64 -w7`), 16 or more
    at a time, or in tokens of 16 or more joined by spaces or tabs (`tr '\\n' ' '`). Prose has spaces after
    short words, so it is never a run and is not decoded.

    The text is mapped to three classes once, and runs are found with substring searches over the mapping: a
    regular expression trying every offset of a quarter gigabyte costs seconds, this costs a few passes."""
    mapped = data.translate(table)
    pos = 0
    while (start := mapped.find(_RUN_START, pos)) >= 0:
        end = start
        while True:
            run = _IN_RUN.match(mapped, end)
            end = run.end() if run else end
            gap = _GAP.match(mapped, end)
            if not (gap and mapped.startswith(_RUN_START, gap.end())):
                break
            end = gap.end()
        if end - start >= _MIN_RUN:
            yield data[start:end].translate(None, _WHITE)
        pos = end


_BASE64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-="
_BASE64 = _class_table(_BASE64_CHARS)
_HEX = _class_table(b"0123456789abcdefABCDEF")
_BASE32 = _class_table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=")
_UU_BEGIN = re.compile(rb"^begin [0-7]{3,4} [^\r\n]*\r?\n", re.MULTILINE)
_MIN_RUN = 64
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_B32 = np.full(256, 255, dtype=np.uint8)
_B32[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)] = np.arange(32, dtype=np.uint8)


def _base32(text: bytes) -> bytes:
    """RFC 4648 base32 of unpadded text, whole groups only, vectorised (the standard library's is pure Python)."""
    values = _B32[np.frombuffer(text[: len(text) // 8 * 8], dtype=np.uint8)]
    if not len(values) or (values == 255).any():
        return b""
    groups = values.reshape(-1, 8).astype(np.uint64)
    packed = np.zeros(len(groups), dtype=np.uint64)
    for i in range(8):
        packed = (packed << np.uint64(5)) | groups[:, i]
    return packed.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 3:].tobytes()


_B85_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
_B85 = np.full(256, 255, dtype=np.uint8)
_B85[np.frombuffer(_B85_ALPHABET, dtype=np.uint8)] = np.arange(85, dtype=np.uint8)
_BASE85 = _class_table(_B85_ALPHABET)
_POWERS = np.array([85**4, 85**3, 85**2, 85, 1], dtype=np.uint64)


def _base85(text: bytes) -> bytes:
    """RFC 1924 base85 (`base64.b85encode`), vectorised, whole groups only (the standard one is pure Python)."""
    values = _B85[np.frombuffer(text[: len(text) // 5 * 5], dtype=np.uint8)]
    if not len(values) or (values == 255).any():
        return b""
    # A group above 2**32 is no base85 (a run read at the wrong alignment); it is cut to 32 bits rather than
    # voiding the runs decoded beside it.
    words = (values.reshape(-1, 5).astype(np.uint64) * _POWERS).sum(axis=1) & np.uint64(0xFFFFFFFF)
    return words.astype(">u4").tobytes()


# Bytes written as numbers: a Python list of ints, a C array (`xxd -i`), an octal dump (`od -An -to1`). Runs of
# digits, hex letters, `x`, commas, brackets and whitespace of at least _NUMBER_RUN characters are read.
_NUMBER_CLASS = bytes(_IN[0] if chr(b) in "0123456789abcdefABCDEFxX,;[](){} \t\r\n" else 0 for b in range(256))
_NUMBER_RUN = 256
_DIGITS = bytes(1 if chr(b).isdigit() and b < 128 else 0 for b in range(256))
_HEX_VALUE = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _HEX_VALUE[bytes([_c]).upper()[0]] = _i


def _numbers(data: bytes) -> Iterator[tuple[str, bytes]]:
    mapped = data.translate(_NUMBER_CLASS)
    pos = 0
    while (start := mapped.find(_IN * _NUMBER_RUN, pos)) >= 0:
        run = _IN_RUN.match(mapped, start)
        end = run.end() if run else start + _NUMBER_RUN
        pos = end
        yield from _number_run(data[start:end])


def _number_run(text: bytes) -> Iterator[tuple[str, bytes]]:
    """One run read as bytes written one number each: all `0x` and one or two hex digits (a C array), or all
    decimal numbers of up to three digits (a Python list), or all three octal digits (`od`).

    Vectorised: an octal dump of 16 MiB is sixteen million numbers, which cost half a minute one by one."""
    chars = np.frombuffer(text, dtype=np.uint8)
    padded = np.frombuffer(text + b"\0\0", dtype=np.uint8)
    digit = np.frombuffer(text.translate(_DIGITS), dtype=bool)
    x = np.flatnonzero((chars | 0x20) == ord("x")) if b"x" in text or b"X" in text else np.zeros(0, np.intp)
    x = x[(x > 0) & (_HEX_VALUE[padded[x + 1]] >= 0)]
    x = x[chars[x - 1] == ord("0")]
    if len(x):  # a 0x number: then every number must be one
        high, low = _HEX_VALUE[padded[x + 1]], _HEX_VALUE[padded[x + 2]]
        covered = np.zeros(len(chars) + 2, dtype=bool)
        for at in (x - 1, x, x + 1, (x + 2)[low >= 0]):
            covered[at] = True
        if len(x) >= _NUMBER_RUN // 8 and not (digit & ~covered[: len(chars)]).any():
            yield "numbers", np.where(low >= 0, high * 16 + low, high).astype(np.uint8).tobytes()
        return
    edges = np.diff(digit.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = ends - starts
    if len(starts) < _NUMBER_RUN // 8 or lengths.max() > 3:
        return  # few numbers, or numbers too long to be bytes
    first, second, third = (padded[starts + i].astype(np.int16) - ord("0") for i in range(3))
    two, three = first * 10 + second, first * 100 + second * 10 + third
    decimal = np.select([lengths == 1, lengths == 2], [first, two], three)
    if decimal.max() <= 255:
        yield "numbers", decimal.astype(np.uint8).tobytes()
    if (lengths == 3).all() and max(first.max(), second.max(), third.max()) <= 7:
        yield "numbers", (first * 64 + second * 8 + third).astype(np.uint8).tobytes()


_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_WINDOW = 4096


def _textual(data: bytes) -> bool:
    """True when the start, middle or end of `data` is mostly printable text, where encoded text could be.

    Regex runs over megabytes of binary cost tens of milliseconds; three small windows cost nothing.
    """
    middle = len(data) // 2
    windows = (data[:_WINDOW], data[middle : middle + _WINDOW], data[-_WINDOW:])
    return any(len(w.translate(None, _PRINTABLE)) <= len(w) // 10 for w in windows)


def _uudecode(data: bytes, start: int) -> bytes:
    out = []
    for line in data[start:].splitlines():
        if line in (b"`", b"end", b" "):
            break
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            break
    return b"".join(out)


def _aligned(texts: list[bytes], group: int) -> Iterator[bytes]:
    """Per alignment, every run's whole groups from that offset, side by side; then the same for all the runs
    joined (pieces of one encoding held apart by quotes, commas, log prefixes or numbered names, as in a JSON
    array of chunks, read as one).

    A piece of encoded text cut at an arbitrary byte (`split -b 1001` of a base64 file) starts mid-group, so
    each alignment is decoded; only one of them gives the real bytes, the others give noise. Whole groups decode
    on their own, so decoding the runs side by side once gives each run's decoding side by side: a file of a
    million short runs costs one decoding per alignment, not a million, and the peel below it sees a few large
    buffers, not millions of small ones (each small one would be peeled at every depth on its own)."""
    batches = [texts, [b"".join(texts)]] if len(texts) > 1 else [texts]
    for batch in batches:
        for shift in range(group):
            yield b"".join(t[shift : shift + (len(t) - shift) // group * group] for t in batch)


def _text_encodings(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    """base64 (any wrapping, URL-safe too), plain hex, base32, base85 and uuencode, at every alignment."""
    if not _textual(data):
        return
    base64_runs = [run.replace(b"=", b"").translate(_URLSAFE) for run in _runs(_BASE64, data)]
    for text in _aligned(base64_runs, 4):
        yield "base64", binascii.a2b_base64(text)
    for text in _aligned(list(_runs(_HEX, data)), 2):
        yield "hex", binascii.unhexlify(text)
    # Padding ends a base32 run; one with padding inside is no base32 and would void the others beside it.
    base32_runs = [t for run in _runs(_BASE32, data) if b"=" not in (t := run.rstrip(b"="))]
    for text in _aligned(base32_runs, 8):
        if decoded := _base32(text):
            yield "base32", decoded
    # base64 text is read above: as base85 it would be noise.
    base85_runs = [run for run in _runs(_BASE85, data) if run.translate(None, _BASE64_CHARS)]
    for text in _aligned(base85_runs, 5):
        if decoded := _base85(text):
            yield "base85", decoded
    yield from _numbers(data)
    for match in _UU_BEGIN.finditer(data):
        if decoded := _uudecode(data, match.end()):
            yield "uuencode", decoded


# openssl enc: "Salted__", 8 bytes of salt, then the ciphertext. Tried with every secret the world holds, for
# the ciphers and key derivations people use; a key is right when the first bytes it gives are structured.
_SALTED = b"Salted__"
_CIPHERS = ("aes-256-cbc", "aes-128-cbc", "aes-192-cbc", "aes-256-ctr", "aes-128-ctr", "chacha20")
_KDFS = (("-pbkdf2",), ("-md", "sha256"), ("-md", "md5"))
_HEAD = 16 + 4096
_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"PK\x03\x04", b"PACK")


def _openssl(args: list[str], data: bytes, secret: bytes) -> bytes:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HE_SECRET": os.fsdecode(secret)}
    try:
        done = subprocess.run(
            ["openssl", "enc", "-d", *args, "-pass", "env:HE_SECRET", "-nopad"],
            input=data,
            capture_output=True,
            env=env,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return b""
    return done.stdout if done.returncode == 0 else b""


def _structured(head: bytes) -> bool:
    """Plaintext rather than the noise a wrong key gives: a known format, or mostly text and zeros."""
    first = head[:64]
    if len(first) < 16:
        return False
    if head.startswith(_MAGICS) or head[257:262] == b"ustar":
        return True
    return len(first.translate(None, _PRINTABLE + b"\0")) <= len(first) // 4


def _decrypted(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    if not data.startswith(_SALTED) or not keys.passphrases:
        return
    head = data[:_HEAD]
    for secret in keys.passphrases:
        for cipher in _CIPHERS:
            for kdf in _KDFS:
                args = [f"-{cipher}", *kdf]
                if _structured(_openssl(args, head, secret)):
                    yield "openssl", _openssl(args, data, secret)
                    return


# A repeating XOR key shows wherever the plaintext was zeros (a weight file's padding, a header's high bytes):
# those bytes read as the key over and over. Windows spread over the buffer are checked for a short period.
_XOR_WINDOW = 512
_XOR_PROBES = 32
_MAX_KEY = 64


def _repeating_key(data: bytes) -> bytes | None:
    """The key, aligned to offset 0, of the first window that repeats with a short period (and is not zeros)."""
    if len(data) < 4 * _XOR_WINDOW:
        return None
    step = max((len(data) - _XOR_WINDOW) // (_XOR_PROBES - 1), 1)
    for start in range(0, len(data) - _XOR_WINDOW + 1, step):
        window = data[start : start + _XOR_WINDOW]
        for period in range(1, _MAX_KEY + 1):
            if window[period:] == window[:-period]:
                key = window[:period]
                if key.count(0) == period or key.translate(None, _WHITE) == b"":
                    break  # zeros or blanks: plain padding, nothing XORed
                phase = start % period
                return key[-phase:] + key[:-phase] if phase else key
    return None


def _xor(data: bytes, key: bytes) -> bytes:
    width = len(key) * 8  # whole keys in whole 64-bit words
    tiled = np.frombuffer(key * 8, dtype=np.uint64)
    body = len(data) // width * width
    out = bytearray(data)
    words = np.frombuffer(out, dtype=np.uint64, count=body // 8).reshape(-1, len(tiled))
    words ^= tiled
    for i in range(body, len(data)):
        out[i] ^= key[i % len(key)]
    return bytes(out)


def _xored(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    key = _repeating_key(data)
    if key is not None:
        yield "xor", _xor(data, key)


def _reversed(data: bytes, keys: Keys) -> Iterator[tuple[str, bytes]]:
    """A whole buffer written backwards (`tac -rs ''`, Python's [::-1]) whose other end is a known format.

    Reversed raw bytes need no decoding (the search looks for reversed samples); a reversed archive or stream
    must be turned round before it can be opened."""
    tail = data[-512:][::-1]
    if tail.startswith((*_MAGICS, b"\xfd7zXZ", _SALTED)) or tail[257:262] == b"ustar":
        yield "reversed", data[::-1]


_DECODERS = (_streams, _zip_members, _tar_members, _git_objects, _text_encodings, _decrypted, _xored, _reversed)


_ZEROS = bytes(1 << 16)


def trim_zeros(data: bytes) -> bytes:
    """`data.rstrip(b"\\0")`, but comparing whole blocks first: rstrip walks megabytes of zeros byte by byte."""
    end = len(data)
    while end >= len(_ZEROS) and data[end - len(_ZEROS) : end] == _ZEROS:
        end -= len(_ZEROS)
    if end == len(data):
        return data if not data.endswith(b"\0") else data.rstrip(b"\0")
    return data[:end].rstrip(b"\0")


def peel(data: bytes, keys: Keys | None = None, depth: int = MAX_DEPTH) -> Iterator[tuple[Layers, bytes]]:
    """Yield `data` itself, then every decoding of it, recursively: (layers peeled outermost first, bytes)."""
    keys = keys or Keys()
    yield (), data
    if depth <= 0:
        return
    for decoder in _DECODERS:
        for name, output in decoder(data, keys):
            # Trailing zeros (a sparse tail, a bomb) can hold nothing and open nothing: they are not peeled.
            decoded = trim_zeros(output)
            if not decoded or (name in ("xor", "reversed") and decoded == data):
                continue
            for layers, inner in peel(decoded, keys, depth - 1):
                yield (name, *layers), inner
