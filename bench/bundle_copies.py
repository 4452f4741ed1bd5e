"""Other versions of a real bundle without copying it: hard links to its files, a rewritten manifest.

What the hot-swap benchmark and tests swap between (a release with no weight change still has its own
manifest hash, hence its own X-Model-Version)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def link_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    for root, _, names in os.walk(src):
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in names:
            if name != "manifest.json":
                os.link(Path(root) / name, dst / rel / name)


def write_manifest(dst: Path, manifest: dict) -> None:
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def bumped(src: Path, dst: Path, version: str, voice_speed: dict[str, float] | None = None) -> Path:
    """The same graphs and voices under another version string (a release with no weight change);
    ``voice_speed`` multiplies some voices' speaking rate (manifest metadata: no file changes), so
    which version rendered a request can be heard in its duration."""
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    link_tree(src, dst)
    manifest["version"] = version
    for voice in manifest["voices"]:
        voice["speed"] = voice.get("speed", 1.0) * (voice_speed or {}).get(voice["id"], 1.0)
    write_manifest(dst, manifest)
    return dst
