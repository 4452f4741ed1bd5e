"""Detached manifests are short-lived and bounded: they expire, the oldest go first past the bound,
a stream's pending entry resolves when it is fulfilled and disappears when it fails."""
from __future__ import annotations

import pytest

from emotivoice_srv.provenance import ManifestStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl():
    clock = Clock()
    store = ManifestStore(ttl_s=10, max_entries=5, clock=clock)
    key = store.put(b"m")
    assert store.get(key).result() == b"m"
    clock.now = 10.5
    assert store.get(key) is None and len(store) == 0


def test_the_oldest_entries_go_first_past_the_bound():
    store = ManifestStore(ttl_s=60, max_entries=3, clock=Clock())
    keys = [store.put(bytes([i])) for i in range(5)]
    assert [store.get(k) is not None for k in keys] == [False, False, True, True, True]
    assert len(store) == 3


def test_a_pending_entry_resolves_when_fulfilled_and_vanishes_when_failed():
    store = ManifestStore(clock=Clock())
    key = store.reserve()
    pending = store.get(key)
    assert not pending.done()
    store.fulfil(key, b"manifest")
    assert pending.result() == b"manifest"
    other = store.reserve()
    waiting = store.get(other)
    store.fail(other, RuntimeError("stream cut"))
    assert store.get(other) is None
    with pytest.raises(RuntimeError):
        waiting.result()


def test_ids_are_unguessable_and_distinct():
    store = ManifestStore()
    keys = {store.reserve() for _ in range(100)}
    assert len(keys) == 100 and all(len(k) == 32 for k in keys)


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        ManifestStore(ttl_s=0)
    with pytest.raises(ValueError):
        ManifestStore(max_entries=0)
