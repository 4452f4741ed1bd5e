"""`emotivoice-srv verify FILE`: who made it, when, with which model and voice kind, and whether the
signature holds (exit 0 trusted/untrusted, 1 tampered/unsigned, 2 bad usage)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from emotivoice_srv.audio.encode import encode
from emotivoice_srv.provenance import ModelFacts, Provenance, SynthesisFacts, load_identity


@pytest.fixture(scope="module")
def signed(tmp_path_factory, ca_signed):
    d = tmp_path_factory.mktemp("verify")
    chain, key, _ = ca_signed
    provenance = Provenance(load_identity(chain, key, d), "1.2.3")
    audio = (0.2 * np.sin(np.arange(24000) * 0.07)).astype(np.float32)
    facts = SynthesisFacts(ModelFacts("kokoro-82m", "1.0.0", "feedfacefeedface", "fallback", "fp32"), "cloned", None,
                           {"emotion": "sad"}, "req-7", "wav", 24000, "/v1/tts", consent_recorded=True)
    wav, _ = provenance.seal(encode(audio, 24000, "wav"), facts)
    pcm = encode(audio, 24000, "pcm")
    _, key_id = provenance.seal(pcm, SynthesisFacts(facts.model, "built-in", "en_male_1", {}, "req-8", "pcm", 24000,
                                                    "/v1/tts"))
    files = {"wav": d / "speech.wav", "pcm": d / "speech.pcm", "c2pa": d / "speech.c2pa"}
    files["wav"].write_bytes(wav)
    files["pcm"].write_bytes(pcm)
    files["c2pa"].write_bytes(provenance.store.get(key_id).result())
    return files


def verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotivoice_srv", "verify", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_a_signed_file_reports_its_maker_model_voice_kind_and_trust(signed, ca_signed):
    done = verify(signed["wav"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "state: untrusted" in out and "emotivoice-srv 1.2.3" in out and "emotivoice test signer" in out
    assert "kokoro-82m 1.0.0" in out and "feedfacefeedface" in out and "voice: cloned" in out
    assert "request id: req-7" in out and "synthetic (trainedAlgorithmicMedia): yes" in out
    trusted = verify(signed["wav"], "--trust-anchors", ca_signed[2], "--json")
    assert trusted.returncode == 0 and json.loads(trusted.stdout)["state"] == "trusted"


def test_a_detached_manifest_verifies_its_body(signed):
    done = verify(signed["pcm"], "--manifest", signed["c2pa"], "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["state"] == "untrusted"
    assert report["synthesis"]["voice"] == {"kind": "built-in", "id": "en_male_1"}


def test_tampered_and_unsigned_files_exit_1(signed, tmp_path):
    bad = bytearray(signed["wav"].read_bytes())
    bad[bad.index(b"data") + 8 + 500] ^= 0x01
    (tmp_path / "bad.wav").write_bytes(bytes(bad))
    done = verify(tmp_path / "bad.wav")
    assert done.returncode == 1 and "state: tampered" in done.stdout
    plain = tmp_path / "plain.wav"
    plain.write_bytes(encode(np.zeros(2400, np.float32), 24000, "wav"))
    done = verify(plain)
    assert done.returncode == 1 and "unsigned" in done.stdout


def test_a_missing_file_is_a_usage_error(tmp_path):
    done = verify(tmp_path / "nope.wav")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_synth_marks_its_files_like_the_server(bundle_dir, tmp_path):
    """Offline files are signed too: wav inside, pcm with a .c2pa beside it; `--provenance off` writes neither."""
    def synth(out, *extra):
        done = subprocess.run([sys.executable, "-m", "emotivoice_srv", "synth", "Signed offline.", "--bundle",
                               str(bundle_dir), "--device", "cpu", "--cache-dir", str(tmp_path / "cache"), "-o",
                               str(out), *extra], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["provenance"]

    assert synth(tmp_path / "a.wav") == "embedded"
    report = json.loads(verify(tmp_path / "a.wav", "--json").stdout)
    assert report["state"] == "untrusted" and report["synthesis"]["route"] == "cli synth"
    assert synth(tmp_path / "a.pcm").startswith("detached")
    done = verify(tmp_path / "a.pcm", "--manifest", tmp_path / "a.pcm.c2pa")
    assert done.returncode == 0 and "state: untrusted" in done.stdout
    assert synth(tmp_path / "b.wav", "--provenance", "off") == "off"
    assert verify(tmp_path / "b.wav").returncode == 1
