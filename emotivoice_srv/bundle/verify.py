"""Checking a bundle's files against the sha256 sums its manifest records."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import BundleError
from .manifest import Manifest


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_files(bundle_dir: Path, manifest: Manifest, precisions: tuple[str, ...] | None = None) -> None:
    """Hash every graph (of the given precisions) and voice file; raise on the first mismatch."""
    for rel, digest in manifest.files(precisions):
        path = Path(bundle_dir) / rel
        if not path.is_file():
            raise BundleError(f"bundle file missing: {path}", code="bundle_corrupt")
        if sha256_file(path) != digest:
            raise BundleError(f"bundle file corrupted (sha256 mismatch): {path}", code="bundle_corrupt")
