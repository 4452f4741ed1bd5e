"""Every audio response says it is synthetic: files carry a signed C2PA manifest, pcm/ogg/opus and
streams link to one that binds their whole body, the OpenAI route does the same (and its Python client
still reads the audio), cloned voices carry their consent record, and a bad signing identity stops the
server before it serves anything."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pki import write_pki
from prometheus_samples import scrape, value

from emotivoice_srv.provenance import verify_bytes
from emotivoice_srv.provenance.verify import MEDIA_TYPES

FAST_FIT = ("--fit-evaluations", "0")
TEXT = "Marked speech. A second one."
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="c2pa-manifest"')


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def marked(start_server, pki):
    """A server signing with a certificate the tests' own CA issued, requiring consent for cloning."""
    chain, key, _ = pki
    srv = start_server("--workers", "2", "--no-warmup", "--require-consent", *FAST_FIT,
                       "--provenance-cert", str(chain), "--provenance-key", str(key))
    srv.wait_port()
    srv.wait_ready()
    return srv


@pytest.fixture
def mc(marked):
    with marked.client() as c:
        yield c


def anchors(pki) -> bytes:
    return pki[2].read_bytes()


def linked_manifest(client, response) -> bytes:
    match = LINK.match(response.headers["link"])
    assert match, response.headers["link"]
    got = client.get(match["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/c2pa", got.text
    return got.content


def bundle_prefix(bundle_dir) -> str:
    return hashlib.sha256((bundle_dir / "manifest.json").read_bytes()).hexdigest()[:16]


@pytest.fixture(scope="module")
def responses(marked):
    """format -> the marked server's response to the same request (each rendered once per module)."""
    cache: dict = {}

    def get(fmt: str):
        if fmt not in cache:
            with marked.client() as c:
                cache[fmt] = c.post("/v1/tts", json={"text": TEXT, "voice": "en_female_1", "emotion": "happy",
                                                     "intensity": 0.7, "format": fmt})
        r = cache[fmt]
        assert r.status_code == 200, r.text
        assert r.headers["x-synthetic-audio"] == "true"
        return r
    return get


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_file_formats_carry_a_trusted_manifest_with_the_synthesis_facts(responses, pki, bundle_dir, fmt):
    r = responses(fmt)
    assert "link" not in r.headers  # the file itself carries it
    verdict = verify_bytes(r.content, MEDIA_TYPES[fmt], trust_anchors=anchors(pki))
    assert verdict.state == "trusted", verdict
    assert verdict.synthetic and verdict.generator.startswith("emotivoice-srv ")
    syn = verdict.synthesis
    assert syn["model"]["name"] == "kokoro-82m" and syn["model"]["manifest_sha256_prefix"] == bundle_prefix(bundle_dir)
    assert syn["model"]["version"] and syn["model"]["tier"] == "main"
    assert syn["voice"] == {"kind": "built-in", "id": "en_female_1"}
    assert syn["emotion"] == {"emotion": "happy", "intensity": 0.7}
    assert syn["request_id"] == r.headers["x-request-id"] and syn["signer"] == "configured"
    created = datetime.fromisoformat(syn["created"])
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 120
    assert verify_bytes(r.content, MEDIA_TYPES[fmt]).state == "untrusted"  # without the anchor


def test_signed_files_hold_the_same_samples_as_the_unmarked_pcm(responses):
    pcm = np.frombuffer(responses("pcm").content, "<i2")
    for fmt in ("wav", "flac"):
        samples, _ = sf.read(io.BytesIO(responses(fmt).content), dtype="int16")
        assert np.array_equal(samples, pcm), fmt


def test_one_flipped_byte_in_a_served_file_reads_as_tampered(responses, pki):
    body = bytearray(responses("wav").content)
    body[body.index(b"data") + 8 + 2001] ^= 0x01
    assert verify_bytes(bytes(body), "audio/wav", trust_anchors=anchors(pki)).state == "tampered"


@pytest.mark.parametrize("fmt", ["pcm", "opus", "ogg"])
def test_formats_without_a_manifest_slot_link_to_one_that_binds_the_body(responses, mc, pki, fmt):
    r = responses(fmt)
    manifest = linked_manifest(mc, r)
    verdict = verify_bytes(r.content, manifest=manifest, trust_anchors=anchors(pki))
    assert verdict.state == "trusted" and verdict.synthesis["audio"]["format"] == fmt
    flipped = bytearray(r.content)
    flipped[len(flipped) // 2] ^= 0x01
    assert verify_bytes(bytes(flipped), manifest=manifest).state == "tampered"


@pytest.mark.parametrize("fmt", ["wav", "pcm"])
def test_a_stream_links_to_a_manifest_that_validates_against_the_whole_streamed_body(marked, pki, fmt):
    with marked.client() as c:
        with c.stream("POST", "/v1/tts", json={"text": TEXT, "voice": "en_male_1", "format": fmt,
                                                "stream": True}) as r:
            assert r.status_code == 200 and r.headers["x-synthetic-audio"] == "true"
            link = r.headers["link"]
            body = b"".join(r.iter_bytes())
        manifest = linked_manifest(c, type("R", (), {"headers": {"link": link}})())
    verdict = verify_bytes(body, manifest=manifest, trust_anchors=anchors(pki))
    assert verdict.state == "trusted" and verdict.synthesis["voice"]["id"] == "en_male_1"
    assert verify_bytes(body[: len(body) // 2], manifest=manifest).state == "tampered"  # a cut stream


def test_unknown_manifest_ids_are_404(mc):
    r = mc.get("/v1/manifests/" + "0" * 32)
    assert r.status_code == 404 and r.json()["error"]["code"] == "manifest_not_found"


def test_signatures_are_counted_and_timed(mc, responses):
    responses("wav")
    samples = scrape(mc)
    assert value(samples, "emotivoice_provenance_signatures_total", kind="embedded", result="ok") >= 1
    assert value(samples, "emotivoice_provenance_sign_seconds_count") >= 1


def test_openai_route_is_marked_and_the_openai_client_still_reads_it(marked, pki):
    from openai import OpenAI

    client = OpenAI(base_url=marked.url + "/v1", api_key="-", max_retries=0)
    mp3 = client.audio.speech.create(model="tts-1", voice="nova", input="Hello from an OpenAI client.").content
    verdict = verify_bytes(mp3, "audio/mpeg", trust_anchors=anchors(pki))
    assert verdict.state == "trusted" and verdict.synthesis["route"] == "/v1/audio/speech"
    audio, rate = sf.read(io.BytesIO(mp3), dtype="float32")
    assert rate == 24000 and len(audio) > rate // 2
    raw = client.audio.speech.with_raw_response.create(model="tts-1", voice="onyx", input="Streamed as wav.",
                                                       response_format="wav")
    assert raw.headers["x-synthetic-audio"] == "true"
    body = raw.content
    with marked.client() as c:
        manifest = linked_manifest(c, raw)
    assert verify_bytes(body, manifest=manifest, trust_anchors=anchors(pki)).state == "trusted"


def test_the_shared_server_signs_with_its_development_certificate(server):
    with server.client() as c:
        r = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1", "format": "wav"})
    verdict = verify_bytes(r.content, "audio/wav")
    assert verdict.state == "untrusted" and verdict.synthesis["signer"] == "development"
    assert "DEVELOPMENT certificate" in server.log()


# -- consent on cloned voices ------------------------------------------------------------------------
def enroll(client, reference_wav, **fields):
    return client.post("/v1/voices", data={"name": "Consenting Carol", **fields},
                       files={"file": ("ref.wav", reference_wav, "audio/wav")})


def test_consent_is_required_when_configured(mc, reference_wav):
    r = enroll(mc, reference_wav)
    assert r.status_code == 422 and r.json()["error"]["code"] == "consent_required"
    r = mc.post("/v1/tts", data={"text": "Inline."}, files={"reference_audio": ("r.wav", reference_wav, "audio/wav")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "consent_required"


def test_consent_is_kept_with_the_voice_marked_in_its_audio_and_deleted_with_it(marked, mc, reference_wav, pki):
    statement = "I, Carol, agree that this server may speak with my voice for the demo."
    r = enroll(mc, reference_wav, consent=statement, subject="Carol Example")
    assert r.status_code == 201, r.text
    consent = r.json()["consent"]
    assert consent["statement"] == statement and consent["subject"] == "Carol Example"
    assert consent["enrolled_by"].startswith("client:") and consent["recorded"]
    record = voice_record(marked, "consenting_carol")
    assert record.is_file() and json.loads(record.read_text())["consent"]["statement"] == statement
    audio = mc.post("/v1/tts", json={"text": "Hello.", "voice": "consenting_carol", "format": "wav"}).content
    verdict = verify_bytes(audio, "audio/wav", trust_anchors=anchors(pki))
    assert verdict.synthesis["voice"] == {"kind": "cloned", "consent_recorded": True}
    assert b"consenting_carol" not in audio and b"Carol" not in audio  # no name, no reference in the file
    assert mc.delete("/v1/voices/consenting_carol").status_code == 204
    assert not record.exists()


def voice_record(server, voice_id: str) -> Path:
    args = server.proc.args
    return Path(args[args.index("--cache-dir") + 1]) / "voices" / f"{voice_id}.json"


# -- bad configuration stops the start ---------------------------------------------------------------
def serve_fails(bundle_dir, tmp_path, *args: str) -> str:
    cmd = [sys.executable, "-m", "emotivoice_srv", "serve", "--bundle", str(bundle_dir), "--port", "0",
           "--host", "127.0.0.1", "--fallback-bundle", "none", "--cache-dir", str(tmp_path), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    return done.stderr


def test_bad_signing_identities_fail_at_start_naming_the_setting(bundle_dir, tmp_path):
    import datetime as dt

    from emotivoice_srv.provenance import generate_chain

    chain, key, _ = write_pki(tmp_path / "good")
    err = serve_fails(bundle_dir, tmp_path, "--provenance-cert", str(tmp_path / "nope.pem"), "--provenance-key", str(key))
    assert "--provenance-cert" in err and "cannot read" in err
    _, other_key, _ = write_pki(tmp_path / "other")
    err = serve_fails(bundle_dir, tmp_path, "--provenance-cert", str(chain), "--provenance-key", str(other_key))
    assert "--provenance-key" in err and "does not match" in err
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)
    old_chain, old_key = generate_chain("old", "expired signer", valid_days=1, not_before=start)
    (tmp_path / "old.pem").write_bytes(old_chain)
    (tmp_path / "old-key.pem").write_bytes(old_key)
    err = serve_fails(bundle_dir, tmp_path, "--provenance-cert", str(tmp_path / "old.pem"),
                      "--provenance-key", str(tmp_path / "old-key.pem"))
    assert "--provenance-cert" in err and "expired" in err


def test_marking_off_still_discloses_synthetic_audio(engine):
    from starlette.testclient import TestClient

    from emotivoice_srv.server import create_app
    from emotivoice_srv.server.config import ServerConfig

    app = create_app(engine, ServerConfig(workers=1), provenance=None)
    with TestClient(app) as c:
        for fmt in ("wav", "pcm"):
            r = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1", "format": fmt})
            assert r.status_code == 200 and r.headers["x-synthetic-audio"] == "true" and "link" not in r.headers
        wav = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1", "format": "wav"}).content
        assert verify_bytes(wav, "audio/wav").state == "unsigned"


class BrokenSealer:
    """A sealer whose signing fails (e.g. an HSM gone away): the one seam a test can break on purpose."""

    identity = None

    def embed(self, body, facts):
        from emotivoice_srv.provenance import ProvenanceError

        raise ProvenanceError("signing backend unavailable")

    detached = embed


def test_a_signing_failure_never_sends_unmarked_audio(engine, tmp_path):
    from starlette.testclient import TestClient

    from emotivoice_srv.provenance import Provenance, ProvenanceError, load_identity
    from emotivoice_srv.server import create_app
    from emotivoice_srv.server.config import ServerConfig

    provenance = Provenance(load_identity(None, None, tmp_path), "0")
    provenance.sealer = BrokenSealer()
    app = create_app(engine, ServerConfig(workers=1), provenance=provenance)
    with TestClient(app, raise_server_exceptions=True) as c:
        for fmt in ("wav", "pcm"):
            r = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1", "format": fmt})
            assert r.status_code == 500 and r.json()["error"]["code"] == "provenance_failed", r.text
        # a stream's headers are gone when its manifest is signed: it is cut (the ASGI app fails with the
        # response started; uvicorn drops the connection), never ended cleanly as if it were marked
        with pytest.raises(RuntimeError, match="response already started") as cut:
            with c.stream("POST", "/v1/tts", json={"text": "Hi.", "voice": "en_female_1", "stream": True}) as s:
                b"".join(s.iter_bytes())
        assert isinstance(cut.value.__context__, ProvenanceError)
        failed = value(scrape(c), "emotivoice_provenance_signatures_total", kind="detached",
                       result="failed")
        assert failed == 2  # the pcm file and the stream


def test_the_verify_endpoint_reports_what_the_cli_reports(mc, responses):
    wav = responses("wav").content
    r = mc.post("/v1/verify", files={"file": ("a.wav", wav, "audio/wav")})
    assert r.status_code == 200 and r.json()["state"] == "untrusted"  # the server trusts no anchor itself
    assert r.json()["synthesis"]["voice"] == {"kind": "built-in", "id": "en_female_1"}
    pcm = responses("pcm")
    manifest = linked_manifest(mc, pcm)
    r = mc.post("/v1/verify", files={"file": ("a.pcm", pcm.content), "manifest": ("a.c2pa", manifest)})
    assert r.json()["state"] == "untrusted"
    assert mc.post("/v1/verify", files={"file": ("a.pcm", pcm.content)}).json()["state"] == "unsigned"
    bad = bytearray(wav)
    bad[bad.index(b"data") + 8 + 77] ^= 0x01
    assert mc.post("/v1/verify", files={"file": ("b.wav", bytes(bad))}).json()["state"] == "tampered"
    r = mc.post("/v1/verify", files={"manifest": ("a.c2pa", manifest)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_file"
