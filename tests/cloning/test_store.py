"""The voice store's contract, written once and run against both backends: the local files and a real
redis-server (started here on a free port, AOF on). Then what only the shared store does: change
notices, lock expiry, an outage answered with StoreUnavailable and recovered from without a restart,
and bad configuration refused at start with a message that names the setting."""
from __future__ import annotations

import threading
import time

import pytest
from redis_server import RedisServer

from emotivoice_srv.cloning.cache import CacheKey
from emotivoice_srv.cloning.registry import EnrolledVoice
from emotivoice_srv.cloning.store import StoreConfig, StoreUnavailable, open_store
from emotivoice_srv.voice_recipe import VoiceRecipe


def enrolled(voice_id: str = "alice", sha: str = "ab" * 32) -> EnrolledVoice:
    recipe = VoiceRecipe(voice_id, "female", {"jf_alpha": 0.5, "jf_gongitsune": 0.5}, {"jf_gongitsune": 1.0},
                         speed=0.9, pitch=-1.0, timbre_offset=tuple(i / 1000 for i in range(-64, 64)))
    return EnrolledVoice(voice_id, voice_id.title(), "a test voice", "2026-01-02T03:04:05Z", recipe, sha, 7.5,
                         0.8, "1")


KEY = CacheKey("cd" * 32, "enc", "fit", "model")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def redis_config(server: RedisServer, **kwargs) -> StoreConfig:
    return StoreConfig(url=server.url, timeout_s=0.5, **kwargs)


@pytest.fixture(params=["local", "redis"])
def store(request, tmp_path, redis_server):
    if request.param == "local":
        s = open_store(StoreConfig(), tmp_path)
    else:
        import redis

        redis.Redis.from_url(redis_server.url).flushdb()
        s = open_store(redis_config(redis_server, fit_lock_ttl_s=0.5), tmp_path)
    yield s
    s.close()


# -- records ------------------------------------------------------------------------------------
def test_a_saved_record_reads_back_whole_per_tenant(store):
    store.save("acme", enrolled("alice"))
    store.save("globex", enrolled("alice", sha="ef" * 32))
    assert store.get("acme", "alice") == enrolled("alice")
    assert store.get("globex", "alice").audio_sha256 == "ef" * 32, "same id, other tenant, other voice"
    assert store.get("initech", "alice") is None
    assert sorted((t, v.id) for t, v in store.records()) == [("acme", "alice"), ("globex", "alice")]


def test_a_consent_record_travels_with_the_voice_and_goes_with_its_deletion(store):
    from dataclasses import replace

    from emotivoice_srv.cloning.registry import Consent

    consent = Consent("I agree to this server speaking with my voice.", "Alice Example", "api-key:sha256:0123",
                      "2026-01-02T03:04:05Z")
    store.save("acme", replace(enrolled("alice"), consent=consent))
    assert store.get("acme", "alice").consent == consent
    assert store.delete("acme", "alice") is True and store.get("acme", "alice") is None


def test_delete_removes_one_tenants_record_only(store):
    store.save("acme", enrolled("alice"))
    store.save("globex", enrolled("alice"))
    assert store.delete("acme", "alice") is True
    assert store.delete("acme", "alice") is False
    assert store.get("acme", "alice") is None and store.get("globex", "alice") is not None


def test_saving_clears_the_enrollment_status(store):
    store.status_put("acme", "bob", {"status": "pending", "audio_sha256": "x"}, ttl_s=60)
    assert store.status_get("acme", "bob")["status"] == "pending"
    assert store.status_get("globex", "bob") is None
    store.save("acme", enrolled("bob"))
    assert store.status_get("acme", "bob") is None


def test_a_status_expires(store):
    store.status_put("acme", "bob", {"status": "failed"}, ttl_s=0.2)
    time.sleep(0.4)
    assert store.status_get("acme", "bob") is None


# -- the fit cache and its lock ---------------------------------------------------------------
def test_the_fit_cache_is_content_addressed_and_shared(store):
    assert store.fit_get(KEY) is None and not store.fit_contains(KEY)
    store.fit_put(KEY, {"recipe": {"a": 1}, "similarity": 0.5})
    assert store.fit_contains(KEY) and store.fit_get(KEY) == {"recipe": {"a": 1}, "similarity": 0.5}
    assert store.fit_get(CacheKey("cd" * 32, "enc", "fit2", "model")) is None, "another fit version misses"


def test_one_holder_of_a_fit_lock_at_a_time(store):
    token = store.lock_fit(KEY)
    assert token is not None and store.fit_locked(KEY)
    assert store.lock_fit(KEY) is None
    store.unlock_fit(KEY, "not-the-token")
    assert store.fit_locked(KEY), "only the holder's token releases it"
    store.unlock_fit(KEY, token)
    assert not store.fit_locked(KEY) and store.lock_fit(KEY) is not None


# -- what only the shared store does ----------------------------------------------------------------
@pytest.fixture
def redis_store(redis_server, tmp_path):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    s = open_store(redis_config(redis_server, fit_lock_ttl_s=0.5), tmp_path)
    yield s
    s.close()


def test_a_lock_whose_holder_died_expires_and_a_refreshed_one_does_not(redis_store):
    token = redis_store.lock_fit(KEY)
    for _ in range(4):  # 4 x 0.2 s > the 0.5 s ttl, but refreshed
        time.sleep(0.2)
        redis_store.refresh_fit_lock(KEY, token)
    assert redis_store.lock_fit(KEY) is None
    time.sleep(0.7)  # no refresh: the holder is gone
    assert redis_store.lock_fit(KEY) is not None


def test_another_replicas_saves_and_deletes_arrive_as_notices(redis_server, redis_store, tmp_path):
    other = open_store(redis_config(redis_server), tmp_path)
    seen: list[tuple[str, str]] = []
    arrived = threading.Event()

    def changed(tenant, voice_id):
        seen.append((tenant, voice_id))
        arrived.set()

    redis_store.watch(changed, lambda: None)
    time.sleep(0.3)  # subscribed
    try:
        t0 = time.monotonic()
        other.save("acme", enrolled("carol"))
        assert arrived.wait(1.0), "a save reaches the other replica within a second"
        assert seen == [("acme", "carol")] and time.monotonic() - t0 < 1.0
        arrived.clear()
        other.delete("acme", "carol")
        assert arrived.wait(1.0) and seen[-1] == ("acme", "carol")
    finally:
        other.close()


def test_an_outage_is_store_unavailable_and_the_store_recovers_without_a_restart(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    store = open_store(StoreConfig(url=server.url, timeout_s=0.5), tmp_path)
    failures: list[str] = []
    store.error_observers.append(failures.append)
    resynced = threading.Event()
    store.watch(lambda t, v: None, resynced.set)
    try:
        store.save("acme", enrolled("dave"))
        server.kill()
        for call in (lambda: store.get("acme", "dave"), lambda: store.save("acme", enrolled("erin")),
                     lambda: store.fit_get(KEY), lambda: store.lock_fit(KEY)):
            t0 = time.monotonic()
            with pytest.raises(StoreUnavailable) as info:
                call()
            assert time.monotonic() - t0 < 1.5, "fails fast"
            assert info.value.http_status == 503 and info.value.code == "voice_store_unavailable"
            assert info.value.retry_after >= 1
        assert store.health()["status"] == "unavailable" and failures
        server.start()  # same port, same AOF
        assert store.get("acme", "dave") == enrolled("dave"), "the AOF brought the record back"
        assert store.health()["status"] == "ok"
        assert resynced.wait(10), "the listener reconnected and asked for a resync"
        assert store.get("acme", "erin") is None, "the save that failed wrote nothing"
    finally:
        store.close()
        server.stop()


@pytest.mark.parametrize("url, fragment", [
    ("memcached://localhost:11211", "expected 'local' or redis://"),
    ("redis://localhost:notaport/0", "bad port"),
    ("redis:///0", "no host"),
    ("redis://localhost:6379/zero", "must be a number"),
])
def test_an_unparsable_url_is_refused_naming_the_setting(tmp_path, url, fragment):
    with pytest.raises(ValueError) as info:
        open_store(StoreConfig(url=url), tmp_path)
    assert "EMOTIVOICE_VOICE_STORE" in str(info.value) and fragment in str(info.value)


def test_a_wrong_password_or_an_unreachable_host_is_refused_at_start(tmp_path):
    server = RedisServer(tmp_path / "redis", password="s3cret").start()
    try:
        with pytest.raises(ValueError) as info:
            open_store(StoreConfig(url=server.url_without_password.replace("://", "://:wrong@")), tmp_path)
        assert "EMOTIVOICE_VOICE_STORE" in str(info.value) and "password" in str(info.value)
        assert "wrong" not in str(info.value), "the password is not echoed"
        ok = open_store(StoreConfig(url=server.url_without_password, password="s3cret"), tmp_path)
        ok.close()
    finally:
        server.stop()
    with pytest.raises(ValueError) as info:
        open_store(StoreConfig(url=server.url_without_password, timeout_s=0.5), tmp_path)
    assert "cannot reach" in str(info.value) and "EMOTIVOICE_VOICE_STORE" in str(info.value)


def test_a_damaged_fit_entry_in_redis_reads_as_a_miss_and_is_dropped(redis_server, redis_store):
    import redis

    raw = redis.Redis.from_url(redis_server.url)
    raw.set(f"emotivoice:{KEY}", b"0" * 64 + b'{"recipe": 1}')  # checksum does not match
    assert redis_store.fit_get(KEY) is None and redis_store.corrupt_entries == 1
    assert not raw.exists(f"emotivoice:{KEY}")
