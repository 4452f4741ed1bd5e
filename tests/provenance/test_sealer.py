"""Signing real rendered speech: every format's manifest validates (untrusted with the development
certificate, trusted under the test CA), says what made the audio, breaks on one flipped audio byte,
and leaves the samples exactly as an unsigned render."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from emotivoice_srv.audio.encode import encode
from emotivoice_srv.provenance import (
    DIGITAL_SOURCE_TYPE,
    ModelFacts,
    Provenance,
    SynthesisFacts,
    load_identity,
    verify_bytes,
)
from emotivoice_srv.provenance.verify import MEDIA_TYPES

EMBEDDED = ("wav", "flac", "mp3")
DETACHED = ("pcm", "ogg", "opus")


@pytest.fixture(scope="module")
def speech(engine) -> np.ndarray:
    return engine.synthesize("Signed speech, made by a machine.", voice="en_female_1", emotion="happy").audio


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Provenance:
    return Provenance(load_identity(None, None, tmp_path_factory.mktemp("dev")), "9.9.9")


@pytest.fixture(scope="module")
def configured(ca_signed) -> Provenance:
    chain, key, _ = ca_signed
    return Provenance(load_identity(chain, key, chain.parent), "9.9.9")


def facts(fmt: str) -> SynthesisFacts:
    return SynthesisFacts(ModelFacts("kokoro-82m", "1.0.0", "0123456789abcdef", "main", "int8"), "built-in",
                          "en_female_1", {"emotion": "happy"}, "req-42", fmt, 24000, "/v1/tts")


def sealed(provenance: Provenance, body: bytes, fmt: str):
    """(body as sent, manifest or None, verdict)."""
    out, manifest_id = provenance.seal(body, facts(fmt))
    manifest = provenance.store.get(manifest_id).result() if manifest_id else None
    return out, manifest, manifest_id


def decoded(body: bytes, fmt: str) -> np.ndarray:
    if fmt == "pcm":
        return np.frombuffer(body, "<i2")
    return sf.read(io.BytesIO(body), dtype="int16" if fmt != "mp3" else "float32")[0]


@pytest.mark.parametrize("fmt", EMBEDDED + DETACHED)
def test_every_format_validates_untrusted_with_the_development_certificate(dev, speech, fmt):
    body = encode(speech, 24000, fmt)
    out, manifest, manifest_id = sealed(dev, body, fmt)
    assert (manifest_id is None) == (fmt in EMBEDDED)
    if fmt in DETACHED:
        assert out == body  # detached: the body goes out byte for byte as encoded
    verdict = verify_bytes(out, MEDIA_TYPES.get(fmt), manifest=manifest)
    assert verdict.state == "untrusted" and verdict.failures == ("signingCredential.untrusted",)
    assert verdict.synthetic and verdict.generator == "emotivoice-srv 9.9.9"
    syn = verdict.synthesis
    assert syn["signer"] == "development"
    assert syn["model"] == {"name": "kokoro-82m", "version": "1.0.0", "manifest_sha256_prefix": "0123456789abcdef",
                            "tier": "main", "precision": "int8"}
    assert syn["voice"] == {"kind": "built-in", "id": "en_female_1"}
    assert syn["emotion"] == {"emotion": "happy"} and syn["request_id"] == "req-42" and syn["created"]


@pytest.mark.parametrize("fmt", EMBEDDED + ("pcm",))
def test_trusted_when_the_signers_ca_is_a_trust_anchor(configured, ca_signed, speech, fmt):
    out, manifest, _ = sealed(configured, encode(speech, 24000, fmt), fmt)
    anchors = ca_signed[2].read_bytes()
    verdict = verify_bytes(out, MEDIA_TYPES.get(fmt), manifest=manifest, trust_anchors=anchors)
    assert verdict.state == "trusted", verdict
    assert verdict.synthesis["signer"] == "configured"
    assert verify_bytes(out, MEDIA_TYPES.get(fmt), manifest=manifest).state == "untrusted"  # no anchors given


def _audio_offset(body: bytes, fmt: str) -> int:
    """A byte inside the audio payload, not the manifest: c2pa appends a chunk after a WAV's data, and
    puts an ID3 tag in front of FLAC and MP3 audio frames."""
    if fmt == "wav":
        return body.index(b"data") + 8 + 1001
    if fmt in ("flac", "mp3"):
        return len(body) - 100
    return len(body) // 2


@pytest.mark.parametrize("fmt", EMBEDDED + DETACHED)
def test_one_flipped_audio_byte_reads_as_tampered(dev, speech, fmt):
    out, manifest, _ = sealed(dev, encode(speech, 24000, fmt), fmt)
    bad = bytearray(out)
    bad[_audio_offset(out, fmt)] ^= 0x01
    verdict = verify_bytes(bytes(bad), MEDIA_TYPES.get(fmt), manifest=manifest)
    assert verdict.state == "tampered" and "assertion.dataHash.mismatch" in verdict.failures, verdict


@pytest.mark.parametrize("fmt", EMBEDDED)
def test_signed_files_decode_to_the_unsigned_samples(dev, speech, fmt):
    body = encode(speech, 24000, fmt)
    out, _, _ = sealed(dev, body, fmt)
    assert len(out) > len(body)
    assert np.array_equal(decoded(out, fmt), decoded(body, fmt))


def test_manifest_never_names_a_cloned_voice(dev, speech):
    cloned = SynthesisFacts(facts("wav").model, "cloned", None, {}, "req-1", "wav", 24000, "/v1/tts",
                            consent_recorded=True)
    out, _ = dev.seal(encode(speech, 24000, "wav"), cloned)
    verdict = verify_bytes(out, "audio/wav")
    assert verdict.synthesis["voice"] == {"kind": "cloned", "consent_recorded": True}


def test_unsigned_audio_reads_as_unsigned(speech):
    assert verify_bytes(encode(speech, 24000, "wav"), "audio/wav").state == "unsigned"
    raw = verify_bytes(encode(speech, 24000, "pcm"), None)  # no container, no manifest given
    assert raw.state == "unsigned" and "detached" in raw.failures[0]


def test_digital_source_type_is_iptc_trained_algorithmic_media():
    assert DIGITAL_SOURCE_TYPE.endswith("/digitalsourcetype/trainedAlgorithmicMedia")
