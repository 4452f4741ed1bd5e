"""Where bundles and caches live by default.

From a source checkout the repository's ``cache/`` folder is the default (it is git-ignored); from an
installed wheel it is ``$XDG_CACHE_HOME/emotivoice-srv``. ``--cache-dir`` / ``EMOTIVOICE_CACHE_DIR``
override both, and ``--bundle`` / ``EMOTIVOICE_BUNDLE`` point at one bundle directory directly.
"""
from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT_CACHE = Path(__file__).resolve().parent.parent / "cache"


def default_cache_dir() -> Path:
    if (_CHECKOUT_CACHE / "README.md").is_file():
        return _CHECKOUT_CACHE
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "emotivoice-srv"


def bundles_dir(cache_dir: Path) -> Path:
    return cache_dir / "bundles"


def staging_dir(cache_dir: Path) -> Path:
    return cache_dir / "staging"


def store_dir(cache_dir: Path) -> Path:
    """The bundle store's default root (bundle/store.py): versions side by side, files stored once."""
    return cache_dir / "store"
