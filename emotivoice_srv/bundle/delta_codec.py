"""The delta codec: zstd with the base file as a raw-content dictionary ("patch-from"), long-distance
matching on, and the window sized to the files, so decoding a patch never needs more memory than the
base and the new file; plain zstd for whole files. Decoding is bounded by the size the delta declares."""
from __future__ import annotations

import io
from collections.abc import Iterator

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



__all__ = ["corrupt", "decompress", "decompress_chunks", "patch", "whole", "window_log"]
