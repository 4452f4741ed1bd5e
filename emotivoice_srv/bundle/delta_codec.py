"""The delta codec: zstd with the base file as a raw-content dictionary ("patch-from"), long-distance
matching on, and the window sized to the files, so decoding a patch never needs more memory than the
base and the new file; plain zstd for whole files. Decoding is bounded by the size the delta declares.

Optionally both sides are first byte-shuffled at a 4-byte stride ("shuffle4": byte k of every 4-byte
word together), which puts the sign/exponent bytes of float32 weights side by side: a retrained fp32
graph's patch shrinks by ~13 % (`python -m bench delta`); ``encode`` keeps whichever form is smallest."""
from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np

from ..errors import DeltaRejected


def corrupt(message: str) -> DeltaRejected:
    return DeltaRejected(message, code="delta_corrupt")


def window_log(*sizes: int) -> int:
    """zstd window covering the dictionary (base file) and the file itself, as patch-from needs."""
    return min(31, max(20, (max(sizes) * 2).bit_length()))


def patch(base: bytes, new: bytes, level: int) -> bytes:
    import zstandard as zstd

    params = zstd.ZstdCompressionParameters.from_level(level, window_log=window_log(len(base), len(new)),
                                                       enable_ldm=True)
    dictionary = zstd.ZstdCompressionDict(base, dict_type=zstd.DICT_TYPE_RAWCONTENT)
    return zstd.ZstdCompressor(compression_params=params, dict_data=dictionary).compress(new)


def whole(data: bytes, level: int) -> bytes:
    import zstandard as zstd

    return zstd.ZstdCompressor(level=level).compress(data)


TRANSFORMS = ("", "shuffle4")


def shuffle4(data: bytes) -> bytes:
    n = len(data) // 4 * 4
    return np.frombuffer(data, np.uint8, n).reshape(-1, 4).T.tobytes() + data[n:]


def unshuffle4(data: bytes) -> bytes:
    n = len(data) // 4 * 4
    return np.frombuffer(data, np.uint8, n).reshape(4, -1).T.tobytes() + data[n:]


def encode(new: bytes, base: bytes | None, level: int) -> tuple[bytes, str, str]:
    """(blob, op, transform): the smallest of the whole file and, given a base, a patch against it,
    each plain and byte-shuffled. op is "whole" or "patch"."""
    candidates = [(whole(new, level), "whole", ""), (whole(shuffle4(new), level), "whole", "shuffle4")]
    if base is not None:
        candidates += [(patch(base, new, level), "patch", ""),
                       (patch(shuffle4(base), shuffle4(new), level), "patch", "shuffle4")]
    return min(candidates, key=lambda c: len(c[0]))


def decode(blob: bytes, size: int, what: str, dictionary: bytes | None, transform: str) -> Iterator[bytes]:
    """The inverse of ``encode``, in chunks (a shuffled file is decoded whole, then unshuffled)."""
    if not transform:
        yield from decompress_chunks(blob, size, what, dictionary)
        return
    shuffled = decompress(blob, size, what, shuffle4(dictionary) if dictionary is not None else None)
    yield unshuffle4(shuffled)


def decompress(blob: bytes, size: int, what: str, dictionary: bytes | None = None) -> bytes:
    out = io.BytesIO()
    for chunk in decompress_chunks(blob, size, what, dictionary):
        out.write(chunk)
    return out.getvalue()


def decompress_chunks(blob: bytes, size: int, what: str, dictionary: bytes | None = None) -> Iterator[bytes]:
    """zstd-decode ``blob`` in chunks, refusing more than ``size`` bytes (a lying header cannot make it
    allocate more) and a window larger than the file and its dictionary need."""
    import zstandard as zstd

    window = 1 << window_log(size, len(dictionary or b""))
    dict_data = zstd.ZstdCompressionDict(dictionary, dict_type=zstd.DICT_TYPE_RAWCONTENT) if dictionary else None
    total = 0
    try:
        reader = zstd.ZstdDecompressor(dict_data=dict_data, max_window_size=window).stream_reader(io.BytesIO(blob))
        while chunk := reader.read(1 << 20):
            total += len(chunk)
            if total > size:
                raise DeltaRejected(f"{what} decodes to more than the {size} bytes the delta declares",
                                    code="delta_hash_mismatch")
            yield chunk
    except zstd.ZstdError as exc:
        raise corrupt(f"{what}: undecodable data in the delta ({exc})") from None


__all__ = ["TRANSFORMS", "corrupt", "decode", "decompress", "decompress_chunks", "encode", "patch", "shuffle4",
           "unshuffle4", "whole", "window_log"]
