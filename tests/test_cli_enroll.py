"""`emotivoice-srv enroll`, then the enrolled voice in `synth --voice` and `voices`, run as real subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

FAST_FIT = ("--fit-evaluations", "0")


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMOTIVOICE_")}
    return subprocess.run([sys.executable, "-m", "emotivoice_srv", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def enrolled(bundle_dir, reference_wav, tmp_path_factory):
    """(common args, reference path, the enroll run): "Test Bob" enrolled once into a fresh cache dir."""
    root = tmp_path_factory.mktemp("cli-enroll")
    ref = root / "ref.wav"
    ref.write_bytes(reference_wav)
    common = ("--bundle", str(bundle_dir), "--cache-dir", str(root / "cache"), "--device", "cpu")
    run = cli("enroll", str(ref), "--name", "Test Bob", *common, *FAST_FIT, "--consent", "Bob agreed in writing.",
              "--subject", "Bob Example", "--enrolled-by", "ops@example.com")
    return common, ref, run


def test_enroll_keeps_the_consent_record_with_the_voice(enrolled):
    common, _, run = enrolled
    assert run.returncode == 0, run.stderr
    cache = common[common.index("--cache-dir") + 1]
    record = json.loads((Path(cache) / "voices" / "test_bob.json").read_text())
    assert record["consent"]["statement"] == "Bob agreed in writing."
    assert record["consent"]["subject"] == "Bob Example" and record["consent"]["enrolled_by"] == "ops@example.com"
    assert record["consent"]["recorded"]


def test_enroll_refuses_without_consent_when_required(enrolled):
    common, ref, _ = enrolled
    r = cli("enroll", str(ref), "--name", "Test Eve", *common, *FAST_FIT, "--require-consent")
    assert r.returncode == 2 and "consent statement" in r.stderr


def test_enroll_prints_the_voice_as_json(enrolled):
    common, _, run = enrolled
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["id"] == "test_bob" and info["name"] == "Test Bob"
    assert info["gender"] in ("male", "female")
    assert 7.0 < info["speech_s"] < 9.0
    assert info["cached"] is False and info["fit_evaluations"] >= 1


def test_synth_with_the_enrolled_voice(enrolled, tmp_path):
    common, _, run = enrolled
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out.wav"
    r = cli("synth", "Hello.", "--voice", "test_bob", "-o", str(out), *common)
    assert r.returncode == 0, r.stderr
    audio, sr = sf.read(out)
    assert sr == 24_000 and audio.size / sr > 0.2
    assert np.abs(audio).max() > 0.05, "audible speech"
    assert abs(audio.size / sr - json.loads(r.stdout)["seconds"]) < 0.01


def test_voices_lists_it_as_enrolled(enrolled):
    common, _, run = enrolled
    assert run.returncode == 0, run.stderr
    r = cli("voices", *common)
    assert r.returncode == 0, r.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in r.stdout.splitlines()}
    assert rows["test_bob"][3] == "enrolled"
    assert rows["en_male_1"][3] == "builtin"


def test_enrolling_the_same_name_again_needs_replace(enrolled):
    common, ref, run = enrolled
    assert run.returncode == 0, run.stderr
    again = cli("enroll", str(ref), "--name", "Test Bob", *common, *FAST_FIT)
    assert again.returncode == 2, again.stderr
    assert "test_bob" in again.stderr and "--replace" in again.stderr
    assert again.stdout == ""
    replaced = cli("enroll", str(ref), "--name", "Test Bob", "--replace", *common, *FAST_FIT)
    assert replaced.returncode == 0, replaced.stderr
    info = json.loads(replaced.stdout)
    assert info["id"] == "test_bob" and info["cached"] is True, "the fit comes from the cache"


def test_builtin_voice_name_is_refused(enrolled):
    common, ref, _ = enrolled
    r = cli("enroll", str(ref), "--name", "en_male_1", "--replace", *common, *FAST_FIT)
    assert r.returncode == 2 and "en_male_1" in r.stderr


def test_missing_reference_file_exits_2(enrolled, tmp_path):
    common, _, _ = enrolled
    missing = tmp_path / "nope.wav"
    r = cli("enroll", str(missing), "--name", "Nobody", *common)
    assert r.returncode == 2
    assert "nope.wav" in r.stderr and "Traceback" not in r.stderr
