"""The server's provenance starts after the port opens: until then detached manifests can be reserved,
signatures wait for the identity, and a bad identity fails every signature instead of sending audio
unmarked, and stops the server through the failure hook."""
from __future__ import annotations

import threading

import pytest

from emotivoice_srv.provenance import ModelFacts, ProvenanceConfig, ProvenanceError, SynthesisFacts, verify_bytes
from emotivoice_srv.provenance.deferred import DeferredProvenance

FACTS = SynthesisFacts(ModelFacts("kokoro-82m", "1", "0" * 16, "main", "int8"), "built-in", "en_female_1", {},
                       "req-1", "pcm", 24000, "/v1/tts")


def test_a_reserved_stream_manifest_is_fulfilled_once_the_identity_has_loaded(tmp_path):
    service = DeferredProvenance(ProvenanceConfig(), tmp_path, "9.9.9")
    key = service.reserve()  # the event loop reserves before the start has even begun
    assert service.starting and not service.ready
    signed: list[str] = []
    service.observers.append(lambda kind, result, _s: signed.append(f"{kind}:{result}"))
    waiter = threading.Thread(target=service.finish_stream, args=(key, b"\x01\x02" * 500, FACTS))
    waiter.start()  # a worker thread waits for the identity
    failures: list[Exception] = []
    service.start(on_failure=failures.append).join(timeout=60)
    waiter.join(timeout=60)
    assert service.ready and not service.starting and not failures
    assert signed == ["detached:ok"]
    manifest = service.store.get(key).result(timeout=5)
    verdict = verify_bytes(b"\x01\x02" * 500, "application/octet-stream", manifest=manifest)
    assert verdict.state == "untrusted" and verdict.synthetic  # the development identity signed it
    assert service.identity.development


def test_a_bad_identity_fails_signatures_and_calls_the_failure_hook(tmp_path):
    config = ProvenanceConfig(cert=tmp_path / "missing.pem", key=tmp_path / "missing-key.pem")
    service = DeferredProvenance(config, tmp_path, "9.9.9")
    key = service.reserve()
    failures: list[Exception] = []
    service.start(on_failure=failures.append).join(timeout=60)
    assert not service.starting and not service.ready
    assert len(failures) == 1 and "--provenance-cert" in str(failures[0])
    with pytest.raises(ProvenanceError, match="--provenance-cert"):
        service.seal(b"\x00" * 64, FACTS)
    with pytest.raises(ProvenanceError):
        service.finish_stream(key, b"\x00" * 64, FACTS)
    assert service.store.get(key) is None  # the stream's manifest id is dropped: a reader gets 404, never waits
