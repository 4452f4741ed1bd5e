"""The ``.evdelta`` file: its constants and types, and reading one with every check that needs no base
(framing, checksum, paths, the target manifest). The layout is described in bundle/delta.py."""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import BundleError, DeltaRejected
from .identity import manifest_sha256
from .delta_codec import TRANSFORMS, corrupt, decompress
from .manifest import Manifest, read_manifest

MAGIC = b"EVDELTA\x01"
FORMAT = 1
CODEC = "zstd-patch-from"
MAX_HEADER_BYTES = 16 << 20
MANIFEST = "manifest.json"
OPS = ("base", "whole", "patch")
"""base: the base has a file with this sha256 (any path); whole: zstd of the new file; patch: zstd of
the new file with the base file ``from`` as dictionary."""


@dataclass(frozen=True)
class Entry:
    """One file of the target bundle and how the delta rebuilds it."""

    path: str
    sha256: str
    size: int
    op: str
    source: str = ""
    """The base file a patch applies to (op "patch" only)."""
    offset: int = 0
    length: int = 0
    transform: str = ""
    """"" or "shuffle4": the blob encodes the byte-shuffled file (delta_codec.py)."""


@dataclass(frozen=True)
class Identity:
    name: str
    version: str
    manifest_sha256: str

    def describe(self) -> str:
        return f"{self.name} {self.version} (manifest {self.manifest_sha256[:12]})"


@dataclass(frozen=True)
class DeltaInfo:
    """A read and checked delta file: what it updates, to what, and how."""

    path: Path
    base: Identity
    target: Identity
    entries: tuple[Entry, ...]
    manifest_bytes: bytes
    manifest: Manifest
    payload_start: int
    level: int

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size

    def counts(self) -> dict[str, int]:
        return {op: sum(1 for e in self.entries if e.op == op) for op in OPS}


def identity(bundle_dir: Path) -> Identity:
    manifest = read_manifest(bundle_dir)
    return Identity(manifest.name, manifest.version, manifest_sha256(bundle_dir))


def safe_relative(rel: Any) -> str:
    """A bundle-relative path that stays inside the bundle, or DeltaRejected(delta_unsafe_path)."""
    ok = isinstance(rel, str) and rel and "\\" not in rel and "\x00" not in rel and not rel.startswith("/")
    if ok:
        parts = PurePosixPath(rel).parts
        ok = rel == str(PurePosixPath(rel)) and all(p not in ("", ".", "..") for p in parts) and rel != MANIFEST
        ok = ok and ":" not in parts[0]
    if not ok:
        raise DeltaRejected(f"delta names an unsafe path {rel!r} (absolute, '..', or outside the bundle); "
                            "nothing was written", code="delta_unsafe_path")
    return rel


def _identity(raw: Any, what: str) -> Identity:
    if not isinstance(raw, dict):
        raise corrupt(f"delta header has no {what} identity")
    name, version, sha = raw.get("name"), raw.get("version"), raw.get("manifest_sha256")
    if not (isinstance(name, str) and isinstance(version, str) and isinstance(sha, str) and len(sha) == 64):
        raise corrupt(f"delta header's {what} identity is malformed")
    return Identity(name, version, sha)


def _int(raw: dict, key: str) -> int:
    value = raw.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise corrupt(f"delta entry field {key!r} is not a non-negative integer")
    return value


def _entry(raw: Any, payload: int) -> Entry:
    if not isinstance(raw, dict):
        raise corrupt("delta entry is not an object")
    path = safe_relative(raw.get("path"))
    op, sha = raw.get("op"), raw.get("sha256")
    if op not in OPS or not isinstance(sha, str) or len(sha) != 64:
        raise corrupt(f"delta entry {path}: unknown op {op!r} or malformed sha256")
    entry = Entry(path=path, sha256=sha, size=_int(raw, "size"), op=op,
                  source=safe_relative(raw.get("source")) if op == "patch" else "",
                  offset=_int(raw, "offset"), length=_int(raw, "length"), transform=raw.get("transform", ""))
    if entry.transform not in TRANSFORMS:
        raise corrupt(f"delta entry {path}: unknown transform {entry.transform!r}")
    if entry.offset + entry.length > payload:
        raise corrupt(f"delta entry {path} points past the payload")
    return entry


def _read_exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DeltaRejected("delta file is truncated (ends inside its header); nothing was written",
                            code="delta_truncated")
    return data


def read_delta(path: Path) -> DeltaInfo:
    """Read and check a delta file without writing anything: magic, length, checksum, every path,
    and the target manifest it carries (whose files must be exactly the entries)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if _read_exact(f, len(MAGIC)) != MAGIC:
                raise corrupt(f"{path.name} is not an emotivoice bundle delta (bad magic)")
            (header_len,) = struct.unpack("<Q", _read_exact(f, 8))
            if header_len > MAX_HEADER_BYTES:
                raise corrupt(f"delta header of {header_len} bytes is over the {MAX_HEADER_BYTES} limit")
            raw_header = _read_exact(f, header_len)
            try:
                header = json.loads(raw_header)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise corrupt(f"delta header is not JSON: {exc}") from None
            if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("codec") != CODEC:
                raise corrupt(f"unsupported delta (format {header.get('format') if isinstance(header, dict) else '?'}"
                               f", expected {FORMAT} with codec {CODEC})")
            payload = _int(header, "payload_bytes")
            payload_start = len(MAGIC) + 8 + header_len
            expected = payload_start + payload + 32
            if size < expected:
                raise DeltaRejected(f"delta file is truncated ({size} of {expected} bytes); nothing was written",
                                    code="delta_truncated")
            if size > expected:
                raise corrupt(f"delta file has {size - expected} bytes after its end")
            f.seek(0)
            digest = hashlib.sha256()
            left = payload_start + payload
            while left:
                block = f.read(min(left, 1 << 20))
                digest.update(block)
                left -= len(block)
            if f.read(32) != digest.digest():
                raise corrupt("delta file checksum mismatch (damaged in transit?); nothing was written")
            manifest_raw = header.get("manifest")
            if not isinstance(manifest_raw, dict):
                raise corrupt("delta header carries no manifest")
            m_off, m_len, m_size = (_int(manifest_raw, k) for k in ("offset", "length", "size"))
            if m_off + m_len > payload:
                raise corrupt("delta manifest points past the payload")
            f.seek(payload_start + m_off)
            manifest_bytes = decompress(f.read(m_len), m_size, "manifest.json")
    except OSError as exc:
        raise DeltaRejected(f"cannot read delta {path}: {exc.strerror or exc}", code="delta_unreadable") from exc
    base, target = _identity(header.get("base"), "base"), _identity(header.get("target"), "target")
    if hashlib.sha256(manifest_bytes).hexdigest() != target.manifest_sha256:
        raise DeltaRejected("the delta's manifest does not hash to its target identity; nothing was written",
                            code="delta_hash_mismatch")
    raw_entries = header.get("entries")
    if not isinstance(raw_entries, list):
        raise corrupt("delta header has no entry list")
    entries = tuple(_entry(e, payload) for e in raw_entries)
    try:
        raw_manifest = json.loads(manifest_bytes)
        if not isinstance(raw_manifest, dict):
            raise BundleError("not a JSON object")
        manifest = Manifest.from_dict(raw_manifest)
    except (BundleError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise corrupt(f"the delta's manifest is invalid: {getattr(exc, 'message', exc)}") from None
    paths = sorted({safe_relative(rel) for rel, _ in manifest.files()})
    for shorter, longer in zip(paths, paths[1:]):  # a file may not also be a directory of another
        if longer.startswith(shorter + "/"):
            raise corrupt(f"the delta's manifest names {shorter} both as a file and as a directory")
    if sorted(manifest.files()) != sorted((e.path, e.sha256) for e in entries):
        raise corrupt("the delta's entries do not match the files its manifest names")
    sizes = {e.path: e.size for e in entries}
    for g in manifest.graphs:  # the manifest records graph sizes: an entry may not claim more (or less)
        if sizes[g.file] != g.bytes:
            raise corrupt(f"the delta declares {sizes[g.file]} bytes for {g.file}, its manifest {g.bytes}")
    return DeltaInfo(path=path, base=base, target=target, entries=entries, manifest_bytes=manifest_bytes,
                     manifest=manifest, payload_start=payload_start, level=_int(header, "level"))



__all__ = ["CODEC", "DeltaInfo", "Entry", "Identity", "MAGIC", "MANIFEST", "identity", "manifest_sha256", "read_delta",
           "safe_relative"]
