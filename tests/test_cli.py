"""The emotivoice-srv command line, run as a real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import soundfile as sf


def cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EMOTIVOICE_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "emotivoice_srv.cli", *args], input=stdin, capture_output=True,
                          text=True, env=full_env, timeout=300)


def test_synth_writes_a_wav_and_reports_json(bundle_dir, tmp_path):
    out = tmp_path / "out.wav"
    r = cli("synth", "Hello from the command line.", "--voice", "jf_alpha", "--emotion", "happy:0.8",
            "--bundle", str(bundle_dir), "--device", "cpu", "-o", str(out))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["emotion"] == {"happy": 1.0} and info["intensity"] == 0.8
    audio, sr = sf.read(out)
    assert sr == 24_000 and abs(len(audio) / sr - info["seconds"]) < 0.01


def test_synth_reads_stdin_and_bundle_from_env(bundle_dir, tmp_path):
    out = tmp_path / "out.flac"
    r = cli("synth", "--voice", "jm_kumo", "-o", str(out), stdin="Text from standard input.",
            env={"EMOTIVOICE_BUNDLE": str(bundle_dir), "EMOTIVOICE_DEVICE": "cpu"})
    assert r.returncode == 0, r.stderr
    assert sf.info(out).format == "FLAC"


def test_bad_input_exits_2_with_a_message(bundle_dir, tmp_path):
    base = ("--bundle", str(bundle_dir), "--device", "cpu", "-o", str(tmp_path / "x.wav"))
    for args, needle in [
        (("synth", "Hi.", "--voice", "nobody"), "unknown voice"),
        (("synth", "Hi.", "--emotion", "bored"), "unknown emotion"),
        (("synth", "Hi.", "--emotion", "happy:2"), "intensity"),
        (("synth", "   "), "empty"),
    ]:
        r = cli(*args, *base)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr and "Traceback" not in r.stderr


def test_invalid_env_value_is_a_usage_error():
    r = cli("voices", env={"EMOTIVOICE_THREADS": "many"})
    assert r.returncode == 2 and "EMOTIVOICE_THREADS" in r.stderr


def test_voices_and_emotions_list(bundle_dir):
    r = cli("voices", "--bundle", str(bundle_dir), "--device", "cpu")
    assert r.returncode == 0 and "jm_kumo\tmale" in r.stdout
    r = cli("emotions")
    assert r.returncode == 0
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == [
        "neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"]


def test_export_on_an_up_to_date_bundle_says_so(bundle_dir):
    r = cli("export", "--out", str(bundle_dir), "--quiet")
    assert r.returncode == 0 and "up to date" in r.stdout


def test_help_documents_env_variables():
    r = cli("synth", "--help")
    assert "EMOTIVOICE_BUNDLE" in r.stdout and "EMOTIVOICE_DEVICE" in r.stdout


def test_serve_help_documents_every_server_setting():
    from emotivoice_srv.settings import COMMON, ENGINE, FALLBACK, SERVER

    r = cli("serve", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())  # argparse wraps lines
    for opt in COMMON + ENGINE + SERVER + FALLBACK:
        assert opt.flag in text and opt.env in text, opt.flag


def test_server_settings_come_from_the_environment(monkeypatch):
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.server.config import ServerConfig

    for key, value in {"EMOTIVOICE_PORT": "9001", "EMOTIVOICE_WORKERS": "3", "EMOTIVOICE_API_KEYS": "a, b",
                       "EMOTIVOICE_SAMPLE_RATES": "16000,24000", "EMOTIVOICE_VOICE_ALIASES": "alloy=en_male_1",
                       "EMOTIVOICE_WARMUP": "false"}.items():
        monkeypatch.setenv(key, value)
    config = ServerConfig.from_args(build_parser().parse_args(["serve"]))
    assert (config.port, config.workers, config.queue_capacity) == (9001, 3, 12)
    assert config.api_keys == ("a", "b") and config.sample_rates == (16000, 24000)
    assert config.voice_aliases == {"alloy": "en_male_1"} and config.warmup is False


def test_synth_renders_with_the_fallback_tier_on_request(bundle_dir, tmp_path):
    out = tmp_path / "fallback.wav"
    r = cli("synth", "Hello from the fallback.", "--tier", "fallback", "--bundle", str(bundle_dir), "-o", str(out),
            "--cache-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["tier"] == "fallback" and report["bundle"] == "kokoro-82m-student"
    assert report["precision"] == "fp32" and report["seconds"] > 0.5 and out.stat().st_size > 20_000


def test_export_assembles_the_fallback_bundle_and_a_given_bundle_runs_at_a_precision_it_has(bundle_dir, tmp_path):
    fallback = tmp_path / "student"
    r = cli("export", "--out", str(bundle_dir), "--fallback-out", str(fallback), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "fallback bundle (distilled student) built in" in r.stdout
    assert json.loads((fallback / "manifest.json").read_text())["name"] == "kokoro-82m-student"
    again = cli("export", "--out", str(bundle_dir), "--fallback-out", str(fallback), "--quiet")
    assert "is up to date" in again.stdout  # idempotent
    out = tmp_path / "s.wav"
    r = cli("synth", "A student bundle given as the main bundle.", "--bundle", str(fallback), "--device", "cpu",
            "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["precision"] == "fp32"  # the CPU default int8 is absent


def test_the_fallback_tier_runs_a_student_on_one_thread_per_session_unless_told(bundle_dir, tmp_path):
    """One intra-op thread halves the student's session creation (bench distill) and leaves the other
    cores to main, which loads at the same time; a full-size fallback bundle keeps --threads."""
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.loading import fallback_args, load_engine
    from emotivoice_srv.settings import STUDENT_THREADS

    def session_threads(*extra: str) -> set[int]:
        args = build_parser().parse_args(["serve", "--bundle", str(bundle_dir), "--cache-dir", str(tmp_path),
                                          "--threads", "2", *extra])
        engine = load_engine(fallback_args(args))
        return {s.get_session_options().intra_op_num_threads for s in engine.graphs.sessions.values()}

    assert session_threads() == {STUDENT_THREADS} == {1}
    assert session_threads("--fallback-threads", "2") == {2}
    assert session_threads("--fallback-bundle", "main") == {2}
    assert session_threads("--fallback-bundle", "main", "--fallback-threads", "1") == {1}
