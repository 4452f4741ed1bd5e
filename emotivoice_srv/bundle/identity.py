"""Which build of a bundle this is: its manifest's sha256, and the label responses carry.

A bundle's version string is chosen by whoever builds it, so two builds of one version (re-exported,
re-quantized) can share it; the manifest names every file's sha256, so the manifest's own hash tells
them apart. The label is ``<version>+<first 12 hex digits of the manifest hash>``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import BundleError

DIGEST_PREFIX = 12


def manifest_sha256(bundle_dir: Path) -> str:
    """The sha256 of ``<bundle_dir>/manifest.json`` (a symlinked bundle path is followed)."""
    path = Path(bundle_dir) / "manifest.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError as exc:
        raise BundleError(f"no bundle at {bundle_dir} (manifest.json missing)", code="bundle_missing") from exc
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc


def version_label(version: str, digest: str) -> str:
    """``1.0.0+3f2a9c01b7de``: what ``X-Model-Version`` and /v1/models show."""
    return f"{version}+{digest[:DIGEST_PREFIX]}"
