"""The shared voice store (``--voice-store redis://...``): Redis or Valkey, one for every replica.

Keys (``emotivoice:`` prefix; tenants and ids match ``[a-z0-9][a-z0-9_-]*``, so ``/`` separates)::

    emotivoice:voice:<tenant>/<id>    the record (JSON); no expiry
    emotivoice:voices                 set of "<tenant>/<id>": the index every replica loads at start
    emotivoice:status:<tenant>/<id>   pending/failed enrollment (JSON), expires
    emotivoice:fit:<cache key>        a fitted recipe, checksummed JSON; expires after --voice-store-fit-ttl unused
    emotivoice:lock:<cache key>       the fit lock: a random token, PX expiry refreshed while the fit runs
    emotivoice:changed (channel)      "<tenant>/<id>" published on every save or delete

A save is one MULTI/EXEC (record + index + status cleared + notice), so a crash or an outage leaves a
whole voice or none. Calls fail fast (``timeout_s``, no retries: the caller answers 503 and the client
retries); redis-py reconnects on the next call. A listener thread holds the pub/sub subscription,
reconnecting with backoff, and asks for a full resync after each (re)connection.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from .cache import CacheKey, encode_entry, read_entry
from .registry import EnrolledVoice
from .store import SETTING, Changed, StoreConfig, StoreUnavailable, VoiceStore, redact

log = logging.getLogger("emotivoice_srv.cloning.store")

PREFIX = "emotivoice:"
CHANNEL = PREFIX + "changed"
INDEX = PREFIX + "voices"
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_REFRESH = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
            "else return 0 end")
BACKOFF_S = (0.2, 5.0)
"""Reconnection backoff of the listener: first wait, longest wait."""


def _member(tenant: str, voice_id: str) -> str:
    return f"{tenant}/{voice_id}"


class RedisStore(VoiceStore):
    backend = "redis"

    def __init__(self, client, config: StoreConfig) -> None:
        super().__init__()
        import redis

        self._redis = redis
        self.client = client
        self.config = config
        self._down_since: float | None = None
        self._last_error = ""
        self._closed = threading.Event()
        self._listener: threading.Thread | None = None
        self._unlock = client.register_script(_UNLOCK)
        self._refresh = client.register_script(_REFRESH)

    @classmethod
    def connect(cls, config: StoreConfig) -> RedisStore:
        """Connect and authenticate now: a wrong password or an unreachable host is a start-up error."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        kwargs: dict[str, Any] = dict(socket_timeout=config.timeout_s, socket_connect_timeout=config.timeout_s,
                                      retry=Retry(NoBackoff(), 0), health_check_interval=5)
        if config.password is not None:
            kwargs["password"] = config.password
        try:
            client = redis.Redis.from_url(config.url, **kwargs)
            client.ping()
        except redis.AuthenticationError as exc:
            raise ValueError(f"{SETTING}: {redact(config.url)} refused the credentials ({exc}); check the password "
                             "(EMOTIVOICE_VOICE_STORE_PASSWORD or the URL)") from None
        except redis.ResponseError as exc:
            raise ValueError(f"{SETTING}: {redact(config.url)} answered {exc}") from None
        except (redis.RedisError, OSError) as exc:
            raise ValueError(f"{SETTING}: cannot reach {redact(config.url)} ({exc})") from None
        return cls(client, config)

    # -- one call, translated ------------------------------------------------------------------
    def _call(self, operation: str, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except (self._redis.ConnectionError, self._redis.TimeoutError, OSError) as exc:
            self._down(operation, exc)
            raise StoreUnavailable(f"the voice store is unavailable ({type(exc).__name__}); retry shortly") from None
        except self._redis.RedisError as exc:
            self._down(operation, exc)
            raise StoreUnavailable(f"the voice store failed: {exc}") from None
        if self._down_since is not None:
            log.info("voice store reachable again", extra={"operation": operation,
                                                           "down_s": round(time.monotonic() - self._down_since, 2)})
            self._down_since = None
        return result

    def _down(self, operation: str, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("voice store unavailable", extra={"operation": operation, "error": repr(exc)})
        self._last_error = f"{type(exc).__name__}: {exc}"
        self._failed(operation)

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.backend, "status": "ok" if self._down_since is None else "unavailable"}
        if self._down_since is not None:
            out.update(down_s=round(time.monotonic() - self._down_since, 1), error=self._last_error)
        return out

    # -- fits ---------------------------------------------------------------------------------
    def fit_get(self, key: CacheKey) -> dict[str, Any] | None:
        name = PREFIX + str(key)
        raw = self._call("fit_get", lambda: self.client.getex(name, ex=int(self.config.fit_ttl_s)))

        def drop() -> None:
            self._corrupt += 1
            self._call("fit_drop", lambda: self.client.delete(name))
        return read_entry(raw, key, drop)

    def fit_contains(self, key: CacheKey) -> bool:
        return bool(self._call("fit_contains", lambda: self.client.exists(PREFIX + str(key))))

    def fit_put(self, key: CacheKey, value: dict[str, Any]) -> None:
        self._call("fit_put", lambda: self.client.set(PREFIX + str(key), encode_entry(value),
                                                      ex=int(self.config.fit_ttl_s)))

    def _lock_name(self, key: CacheKey) -> str:
        return f"{PREFIX}lock:{key}"

    def lock_fit(self, key: CacheKey) -> str | None:
        token = secrets.token_hex(16)
        ttl_ms = int(self.config.fit_lock_ttl_s * 1000)
        got = self._call("lock", lambda: self.client.set(self._lock_name(key), token, nx=True, px=ttl_ms))
        return token if got else None

    def refresh_fit_lock(self, key: CacheKey, token: str) -> None:
        ttl_ms = int(self.config.fit_lock_ttl_s * 1000)
        self._call("lock_refresh", lambda: self._refresh(keys=[self._lock_name(key)], args=[token, ttl_ms]))

    def unlock_fit(self, key: CacheKey, token: str) -> None:
        self._call("unlock", lambda: self._unlock(keys=[self._lock_name(key)], args=[token]))

    def fit_locked(self, key: CacheKey) -> bool:
        return bool(self._call("lock_check", lambda: self.client.exists(self._lock_name(key))))

    # -- records ------------------------------------------------------------------------------
    def records(self) -> list[tuple[str, EnrolledVoice]]:
        members = sorted(m.decode() for m in self._call("records", lambda: self.client.smembers(INDEX)))
        if not members:
            return []
        raws = self._call("records", lambda: self.client.mget([f"{PREFIX}voice:{m}" for m in members]))
        out = []
        for member, raw in zip(members, raws):
            voice = self._parse(member, raw)
            if voice is not None:
                out.append((member.partition("/")[0], voice))
        return out

    def _parse(self, member: str, raw: bytes | None) -> EnrolledVoice | None:
        if raw is None:
            return None
        try:
            voice = EnrolledVoice.from_dict(json.loads(raw))
            if voice.id != member.partition("/")[2]:
                raise ValueError("key and id differ")
            return voice
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable voice record", extra={"voice": member, "error": repr(exc)})
            return None

    def get(self, tenant: str, voice_id: str) -> EnrolledVoice | None:
        member = _member(tenant, voice_id)
        return self._parse(member, self._call("get", lambda: self.client.get(f"{PREFIX}voice:{member}")))

    def save(self, tenant: str, voice: EnrolledVoice) -> None:
        member = _member(tenant, voice.id)
        data = json.dumps(voice.to_dict(), ensure_ascii=False, separators=(",", ":"))

        def write():
            with self.client.pipeline(transaction=True) as tx:
                tx.set(f"{PREFIX}voice:{member}", data).sadd(INDEX, member)
                tx.delete(f"{PREFIX}status:{member}").publish(CHANNEL, member)
                tx.execute()
        self._call("save", write)

    def delete(self, tenant: str, voice_id: str) -> bool:
        member = _member(tenant, voice_id)

        def remove():
            with self.client.pipeline(transaction=True) as tx:
                tx.delete(f"{PREFIX}voice:{member}").srem(INDEX, member).publish(CHANNEL, member)
                return tx.execute()[0]
        return bool(self._call("delete", remove))

    # -- status -------------------------------------------------------------------------------
    def status_get(self, tenant: str, voice_id: str) -> dict[str, Any] | None:
        raw = self._call("status", lambda: self.client.get(f"{PREFIX}status:{_member(tenant, voice_id)}"))
        try:
            return json.loads(raw) if raw is not None else None
        except ValueError:
            return None

    def status_put(self, tenant: str, voice_id: str, status: dict[str, Any], ttl_s: float) -> None:
        name = f"{PREFIX}status:{_member(tenant, voice_id)}"
        self._call("status", lambda: self.client.set(name, json.dumps(status), px=int(ttl_s * 1000)))

    def status_clear(self, tenant: str, voice_id: str) -> None:
        self._call("status", lambda: self.client.delete(f"{PREFIX}status:{_member(tenant, voice_id)}"))

    # -- change notices -----------------------------------------------------------------------
    def watch(self, changed: Changed, resync: Callable[[], None]) -> None:
        self._listener = threading.Thread(target=self._listen, args=(changed, resync), name="voice-store-listener",
                                          daemon=True)
        self._listener.start()

    def _listen(self, changed: Changed, resync: Callable[[], None]) -> None:
        wait, first = BACKOFF_S[0], True
        while not self._closed.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                self._call("subscribe", lambda: pubsub.subscribe(CHANNEL))
                if not first:  # notices sent while disconnected are lost: read everything again
                    resync()
                first, wait = False, BACKOFF_S[0]
                while not self._closed.is_set():
                    message = self._call("listen", lambda: pubsub.get_message(timeout=1.0))
                    if message and message.get("type") == "message":
                        tenant, _, voice_id = message["data"].decode().partition("/")
                        changed(tenant, voice_id)
            except StoreUnavailable:
                self._closed.wait(wait)
                wait = min(wait * 2, BACKOFF_S[1])
            except Exception:  # a bug in a callback must not end the subscription
                if self._closed.is_set():
                    return  # closing: the connection went away under the read
                log.exception("voice store listener error")
                self._closed.wait(wait)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.join(2.0)  # it wakes within a second (get_message's timeout)
        try:
            self.client.close()
        except Exception:
            pass
