"""Delta updates between two bundle versions: one ``.evdelta`` file, applied atomically.

An update usually changes a few files of a bundle (a voice added, one stage re-exported, the
manifest's version), so a delta carries only those: the new manifest, whole files that are new, and
zstd "patch-from" patches (the base file as the compressor's raw-content dictionary, long-distance
matching on) for files that changed, each optionally byte-shuffled first (delta_codec.py). Files whose
sha256 the base already has are taken from the base. zstd patch-from was measured against bsdiff4 on
our changed graphs (``python -m bench delta``, 2026-12-08: the retrained student's three fp32 graphs and
a re-quantized int8 graph): smaller patches on all four (6 % on the int8 graph, 16-17 % on the
student's fp32 graphs shuffled), applied 25-200x faster (milliseconds instead of 0.15-8 s), so it is
the only codec.

File layout (all integers little-endian)::

    b"EVDELTA\\x01"                   magic + format version
    u64 header length, header JSON   base/target identity, codec, and one entry per target file
    payload                          the blobs the entries point at (offset/length in the payload)
    32 bytes                         sha256 of everything before it (a truncated or flipped file fails here)

Applying never writes before the delta has been read and checked (framing, checksum, every path,
the target manifest, the base's identity): a wrong base raises ``DeltaBaseMismatch`` naming the
version the delta expects; the new version is then rebuilt in a staging directory next to the output,
every file's sha256 checked against the target manifest, and only then renamed into place. Any
failure (or a crash) leaves no output directory, only a ``.staging-*`` directory that a failure
removes (a crash's is swept by ``BundleStore.gc``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import time
from pathlib import Path
from typing import Any

from ..errors import BundleError, DeltaBaseMismatch, DeltaRejected
from .delta_codec import corrupt, decode, encode, whole
from .delta_file import (CODEC, FORMAT, MAGIC, MANIFEST, DeltaInfo, Entry, Identity, identity, manifest_sha256,
                         read_delta, safe_relative)
from .manifest import read_manifest
from .verify import sha256_file

DEFAULT_LEVEL = 19
"""zstd level of ``bundle diff`` (``--level``); applying costs the same at any level."""


def write_delta(old_dir: Path, new_dir: Path, out: Path, *, level: int = DEFAULT_LEVEL) -> DeltaInfo:
    """Write the delta that turns bundle ``old_dir`` into ``new_dir`` (both verified first) to ``out``.

    Per changed file the smallest of the whole file and a patch against the base file at the same
    path, each plain or byte-shuffled, is kept (``delta_codec.encode``). Written to a temporary name
    and renamed, so ``out`` is whole or absent.
    """
    from .verify import verify_files

    old_dir, new_dir, out = Path(old_dir), Path(new_dir), Path(out)
    old, new = read_manifest(old_dir), read_manifest(new_dir)
    verify_files(old_dir, old)
    verify_files(new_dir, new)
    base_by_sha = {sha: rel for rel, sha in old.files()}
    base_paths = dict(old.files())
    blobs: list[bytes] = []
    entries: list[dict[str, Any]] = []
    offset = 0

    def add_blob(blob: bytes) -> tuple[int, int]:
        nonlocal offset
        blobs.append(blob)
        offset += len(blob)
        return offset - len(blob), len(blob)

    manifest_bytes = (new_dir / MANIFEST).read_bytes()
    manifest_at = add_blob(whole(manifest_bytes, level))
    for rel, sha in new.files():
        size = (new_dir / rel).stat().st_size
        if sha in base_by_sha:
            entries.append({"path": rel, "sha256": sha, "size": size, "op": "base"})
            continue
        base = (old_dir / rel).read_bytes() if rel in base_paths else None
        blob, op, transform = encode((new_dir / rel).read_bytes(), base, level)
        at, length = add_blob(blob)
        entries.append({"path": rel, "sha256": sha, "size": size, "op": op, "source": rel if op == "patch" else "",
                        "transform": transform, "offset": at, "length": length})
    header = {
        "format": FORMAT, "codec": CODEC, "level": level,
        "base": {"name": old.name, "version": old.version, "manifest_sha256": manifest_sha256(old_dir)},
        "target": {"name": new.name, "version": new.version,
                   "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest()},
        "manifest": {"offset": manifest_at[0], "length": manifest_at[1], "size": len(manifest_bytes)},
        "entries": entries, "payload_bytes": offset,
    }
    raw = json.dumps(header, sort_keys=True).encode()
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{int(time.time() * 1000)}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as f:
            for part in (MAGIC, struct.pack("<Q", len(raw)), raw, *blobs):
                digest.update(part)
                f.write(part)
            f.write(digest.digest())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return read_delta(out)



def check_base(info: DeltaInfo, base_dir: Path) -> None:
    """DeltaBaseMismatch unless ``base_dir`` is exactly the version the delta was made from."""
    try:
        have = identity(base_dir)
    except BundleError as exc:
        raise DeltaBaseMismatch(f"this delta updates {info.base.describe()}; {base_dir} is not a readable bundle "
                                f"({exc.message})") from None
    if have.manifest_sha256 != info.base.manifest_sha256:
        raise DeltaBaseMismatch(f"this delta updates {info.base.describe()} to {info.target.version}, but the base "
                                f"given is {have.describe()}; apply it to {info.base.name} {info.base.version}")


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def rebuild(info: DeltaInfo, base_dir: Path, dest: Path) -> None:
    """Write the target bundle's files into the empty directory ``dest``, checking each sha256 as it is
    written (DeltaRejected(delta_hash_mismatch) naming the first wrong file)."""
    base = read_manifest(base_dir)
    base_by_sha = {sha: rel for rel, sha in base.files()}
    base_paths = {rel for rel, _ in base.files()}
    with open(info.path, "rb") as f:
        for e in info.entries:
            dst = dest / e.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            if e.op == "base":
                if e.sha256 not in base_by_sha:
                    raise corrupt(f"{e.path}: the delta takes it from the base, which has no such file")
                _link_or_copy(base_dir / base_by_sha[e.sha256], dst)
            else:
                if e.op == "patch" and e.source not in base_paths:
                    raise corrupt(f"{e.path}: patch source {e.source} is not a file of the base")
                f.seek(info.payload_start + e.offset)
                blob = f.read(e.length)
                dictionary = (base_dir / e.source).read_bytes() if e.op == "patch" else None
                digest = hashlib.sha256()
                with open(dst, "wb") as out:
                    for chunk in decode(blob, e.size, e.path, dictionary, e.transform):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != e.sha256:
                    raise DeltaRejected(f"{e.path}: the delta's {e.op} produces sha256 {digest.hexdigest()[:12]}, "
                                        f"the manifest says {e.sha256[:12]}; nothing was written",
                                        code="delta_hash_mismatch")
            if e.op == "base" and sha256_file(dst) != e.sha256:
                raise DeltaRejected(f"{e.path}: the base's copy does not hash to {e.sha256[:12]} (base corrupted?)",
                                    code="delta_hash_mismatch")
    (dest / MANIFEST).write_bytes(info.manifest_bytes)


def staging_for(out_dir: Path) -> Path:
    return out_dir.parent / f".staging-{out_dir.name}-{os.getpid()}-{time.time_ns()}"


def apply_delta(base_dir: Path, delta: Path | DeltaInfo, out_dir: Path) -> DeltaInfo:
    """Rebuild the delta's target version from ``base_dir`` into ``out_dir`` (which must not exist):
    checks first, then staging + per-file sha256 + full verification + one rename."""
    from .verify import verify_files

    base_dir, out_dir = Path(base_dir), Path(out_dir)
    info = delta if isinstance(delta, DeltaInfo) else read_delta(Path(delta))
    check_base(info, base_dir)
    if out_dir.exists():
        raise BundleError(f"{out_dir} already exists; choose a new --out directory", code="bundle_exists")
    staging = staging_for(out_dir)
    try:
        staging.mkdir(parents=True)
        rebuild(info, base_dir, staging)
        verify_files(staging, read_manifest(staging))
        os.rename(staging, out_dir)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):  # disk full, permissions: one clear line, not a traceback
            raise BundleError(f"cannot write {out_dir}: {exc.strerror or exc}", code="bundle_write_failed") from exc
        raise
    return info


__all__ = ["CODEC", "MAGIC", "DeltaInfo", "Entry", "Identity", "apply_delta", "check_base", "identity", "manifest_sha256",
           "read_delta", "rebuild", "safe_relative", "write_delta"]
