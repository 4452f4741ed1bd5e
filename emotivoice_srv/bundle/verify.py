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


def check_sizes(bundle_dir: Path, manifest: Manifest, precisions: tuple[str, ...] | None = None) -> None:
    """Every graph (of the given precisions) exists with the size the manifest records: a truncated or
    half-copied graph fails here, naming the file, for the price of a stat (always done at load). A graph
    altered in place keeps its size: only ``verify_files`` (--verify-bundle) catches that."""
    wanted = precisions or manifest.precisions
    for graph in manifest.graphs:
        if graph.precision not in wanted:
            continue
        path = Path(bundle_dir) / graph.file
        if not path.is_file():
            raise BundleError(f"bundle file missing: {path}", code="bundle_corrupt")
        size = path.stat().st_size
        if size != graph.bytes:
            raise BundleError(f"bundle file truncated or replaced: {path} has {size} bytes, the manifest says "
                              f"{graph.bytes}; re-export the bundle or restore the file", code="bundle_corrupt")


def verify_files(bundle_dir: Path, manifest: Manifest, precisions: tuple[str, ...] | None = None) -> None:
    """Hash every graph (of the given precisions) and voice file; raise on the first mismatch."""
    for rel, digest in manifest.files(precisions):
        path = Path(bundle_dir) / rel
        if not path.is_file():
            raise BundleError(f"bundle file missing: {path}", code="bundle_corrupt")
        if sha256_file(path) != digest:
            raise BundleError(f"bundle file corrupted (sha256 mismatch): {path}", code="bundle_corrupt")
