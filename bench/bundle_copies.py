"""Other versions of a real bundle without copying it: hard links to its files, a rewritten manifest.

What the delta and hot-swap benchmarks and their tests derive their versions from. A derived bundle
is edited by replacing files (unlink, then write), never in place: the links share their data with the
source bundle.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


def link_tree(src: Path, dst: Path) -> None:
    """A copy of a bundle whose files are hard links (then edited by replacing files, never in place)."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)


def write_manifest(bundle: Path, manifest: Any) -> None:
    """Replace ``manifest.json`` with a Manifest's (or a manifest dict's) JSON."""
    path = bundle / "manifest.json"
    path.unlink(missing_ok=True)
    text = manifest.to_json() if hasattr(manifest, "to_json") else json.dumps(manifest, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


def bumped(src: Path, dst: Path, version: str, voice_speed: dict[str, float] | None = None) -> Path:
    """The same graphs and voices under another version string (a release with no weight change);
    ``voice_speed`` multiplies some voices' speaking rate (manifest metadata: no file changes), so
    which version rendered a request can be heard in its duration."""
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    if dst.exists():
        shutil.rmtree(dst)
    link_tree(src, dst)
    manifest["version"] = version
    for voice in manifest["voices"]:
        voice["speed"] = voice.get("speed", 1.0) * (voice_speed or {}).get(voice["id"], 1.0)
    write_manifest(dst, manifest)
    return dst
