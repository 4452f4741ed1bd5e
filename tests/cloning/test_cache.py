"""The fit cache: reference hash + encoder/fit/model versions -> fitted recipe, on disk. It survives
restarts, drops (never half-uses) damaged entries, and stays within its size bound."""
from __future__ import annotations

import hashlib

import diskcache
import pytest

from emotivoice_srv.cloning.cache import CacheKey, FitCache

VALUE = {"recipe": {"timbre": {"jm_kumo": 1.0}, "prosody": {"jm_kumo": 0.5, "jf_gongitsune": 0.5},
                    "speed": 0.9, "pitch": -2.357, "timbre_offset": []},
         "gender": "male", "similarity": 0.8519, "history": [0.8519]}


def key(n: int = 0, encoder: str = "enc0123456789abc", fit: str = "1", model: str = "model0123456789a") -> CacheKey:
    return CacheKey(f"{n:064x}", encoder, fit, model)


@pytest.fixture
def cache(tmp_path):
    c = FitCache(tmp_path)
    yield c
    c.close()


def test_a_put_value_is_read_back_equal(cache):
    cache.put(key(), VALUE)
    assert cache.get(key()) == VALUE
    assert len(cache) == 1 and cache.corrupt_entries == 0


def test_a_miss_returns_none_and_is_not_counted_as_corrupt(cache):
    assert cache.get(key()) is None
    assert cache.corrupt_entries == 0


def test_putting_the_same_key_again_replaces_the_value(cache):
    cache.put(key(), VALUE)
    cache.put(key(), {**VALUE, "similarity": 0.9})
    assert cache.get(key())["similarity"] == 0.9 and len(cache) == 1


def test_entries_survive_closing_and_reopening_the_directory(tmp_path):
    first = FitCache(tmp_path)
    first.put(key(1), VALUE)
    first.close()

    reopened = FitCache(tmp_path)
    try:
        assert reopened.get(key(1)) == VALUE
    finally:
        reopened.close()


@pytest.mark.parametrize("field", ["audio_sha256", "encoder", "fit", "model"])
def test_a_different_encoder_fit_or_model_version_is_a_different_key(cache, field):
    base = key()
    other = CacheKey(**{**base.__dict__, field: base.__dict__[field][:-1] + "X"})
    assert str(other) != str(base)
    cache.put(base, VALUE)
    assert cache.get(other) is None
    assert cache.get(base) == VALUE


# -- damage -------------------------------------------------------------------------------------
def checksummed(payload: bytes) -> bytes:
    return hashlib.sha256(payload).hexdigest().encode("ascii") + payload


@pytest.mark.parametrize("garbage", [
    b"x" * 100,                       # bytes, but no checksum
    b"",                              # empty
    b"short",                         # shorter than a checksum
    "a str, not bytes",               # wrong type
    {"recipe": "a pickled dict"},     # wrong type
    b"\xff" * 64 + b"{}",             # a checksum that is not even ASCII
    checksummed(b"[1, 2, 3]"),        # checksum right, but not an object
    checksummed(b"{not json"),        # checksum right, but not JSON
], ids=["no-checksum", "empty", "short", "str", "dict", "non-ascii-digest", "json-list", "not-json"])
def test_a_garbage_entry_is_dropped_counted_and_reads_as_a_miss(tmp_path, garbage):
    cache = FitCache(tmp_path)
    raw = diskcache.Cache(str(tmp_path))
    try:
        raw.set(str(key()), garbage)
        assert cache.get(key()) is None
        assert cache.corrupt_entries == 1
        assert str(key()) not in raw and len(cache) == 0
        assert cache.get(key()) is None and cache.corrupt_entries == 1  # gone: a plain miss now
    finally:
        raw.close()
        cache.close()


@pytest.mark.parametrize("where", [64, -2], ids=["first-payload-byte", "last-payload-byte"])
def test_a_flipped_payload_byte_fails_the_checksum_and_the_entry_is_dropped(tmp_path, where):
    cache = FitCache(tmp_path)
    raw = diskcache.Cache(str(tmp_path))
    try:
        cache.put(key(), VALUE)
        stored = raw.get(str(key()))
        i = where % len(stored)
        raw.set(str(key()), stored[:i] + bytes([stored[i] ^ 0x01]) + stored[i + 1:])

        assert cache.get(key()) is None
        assert cache.corrupt_entries == 1
        assert str(key()) not in raw

        cache.put(key(), VALUE)  # recomputed and stored again: whole
        assert cache.get(key()) == VALUE
    finally:
        raw.close()
        cache.close()


# -- size bound ---------------------------------------------------------------------------------
def test_the_size_bound_evicts_least_recently_used_entries(tmp_path):
    limit = 1_000_000
    cache = FitCache(tmp_path, size_limit_bytes=limit)
    try:
        big = {"blob": "x" * 20_000}
        for n in range(150):  # 3 MB written in all
            cache.put(key(n), {**big, "n": n})
            assert cache.volume() <= limit + 50_000
            assert cache.get(key(0)) is not None  # read on every step: always the most recently used
        assert len(cache) < 150
        assert cache.get(key(149))["n"] == 149  # the newest is kept
        assert cache.get(key(1)) is None  # an old entry nobody read is gone
        assert cache.corrupt_entries == 0  # eviction is not damage
    finally:
        cache.close()
