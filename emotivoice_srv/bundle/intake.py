"""What reaches the bundle store from outside: bundle paths, and delta uploads.

* ``within_roots(raw, roots)``: the one check for a bundle path a request names: its real path (symlinks
  and '..' resolved) must lie inside an allowed root, else BundlePathForbidden (403).
* ``receive_delta(store, chunks, max_bytes)`` and ``await receive_delta_async(store, request.stream(),
  max_bytes)``: an uploaded ``.evdelta`` written to the store's staging as it arrives (BodyTooLarge, 413,
  as soon as it passes ``max_bytes``), then checked and applied like ``BundleStore.apply_delta`` (the
  async form applies in a worker thread, off the event loop); the upload is removed either way. What
  ``POST /admin/bundles`` calls.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BodyTooLarge, BundlePathForbidden

if TYPE_CHECKING:
    from .store import BundleStore, StoredVersion


def within_roots(raw: str, roots: Iterable[Path]) -> Path:
    """The real path of ``raw`` when it lies inside one of ``roots``; BundlePathForbidden otherwise."""
    roots = tuple(Path(r).expanduser().resolve() for r in roots)
    path = Path(raw).expanduser().resolve()
    if any(path.is_relative_to(root) for root in roots):
        return path
    raise BundlePathForbidden(f"bundle path {raw} is outside the allowed roots ({', '.join(map(str, roots))}); "
                              "add its root with --bundle-roots / EMOTIVOICE_BUNDLE_ROOTS")


class _Upload:
    """A delta being received into staging, refused as soon as it passes ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes, self.size = path, max_bytes, 0
        self.file = open(path, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise BodyTooLarge(f"delta upload is over the {self.max_bytes}-byte limit")
        self.file.write(chunk)


@contextmanager
def _upload(store: BundleStore, max_bytes: int) -> Iterator[_Upload]:
    store.staging.mkdir(parents=True, exist_ok=True)
    upload = _Upload(store.staging / f"upload-{os.getpid()}-{time.time_ns()}.evdelta", max_bytes)
    try:
        yield upload
    finally:
        upload.file.close()
        upload.path.unlink(missing_ok=True)


def receive_delta(store: BundleStore, chunks: Iterable[bytes], max_bytes: int) -> StoredVersion:
    with _upload(store, max_bytes) as upload:
        for chunk in chunks:
            upload.write(chunk)
        upload.file.close()
        return store.apply_delta(upload.path)


async def receive_delta_async(store: BundleStore, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredVersion:
    with _upload(store, max_bytes) as upload:
        async for chunk in chunks:
            upload.write(chunk)
        upload.file.close()
        return await asyncio.to_thread(store.apply_delta, upload.path)


__all__ = ["receive_delta", "receive_delta_async", "within_roots"]
