"""Schemathesis against a real server process: every check, the coverage, fuzzing and stateful phases
(links from POST /v1/voices to GET and DELETE /v1/voices/{voice_id}), a fixed seed and a bounded number
of examples per operation. Zero failures means the published schema is what the server accepts and
answers. The larger run is ``python -m bench fuzz`` (bench/fuzz.py holds the configuration and why)."""
from __future__ import annotations

import pytest

from bench.fuzz import SERVER_ARGS, run_schemathesis

MAX_EXAMPLES = 15
SEED = 20261208


@pytest.fixture(scope="module")
def fuzzed(start_server, reference_wav, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "reference.wav").write_bytes(reference_wav)
    listing = root / "references.txt"
    listing.write_text(f"{root / 'reference.wav'}\n")
    srv = start_server(*SERVER_ARGS)
    srv.wait_port()
    srv.wait_ready()
    summary = run_schemathesis(srv.url, listing, root / "report", max_examples=MAX_EXAMPLES, seed=SEED,
                               timeout_s=900)
    return srv, summary


def _failures(summary) -> str:
    """The failure headlines of the run's output (its curl lines can hold a megabyte of audio)."""
    lines = open(summary["output"], errors="replace").read().splitlines()
    return "\n".join(line[:300] for line in lines if line.startswith(("_____", "- ST", "[", "    `{")))


def test_schemathesis_finds_nothing(fuzzed):
    _, summary = fuzzed
    assert summary["exit_code"] == 0 and summary["failures"] == 0 and summary["errors"] == 0, _failures(summary)
    assert summary["phases"] == {"examples": "success", "coverage": "success", "fuzzing": "success",
                                 "stateful": "success"}, _failures(summary)


def test_no_request_was_answered_with_a_5xx(fuzzed):
    _, summary = fuzzed
    assert summary["status_5xx"] == 0, summary["statuses"]
    assert summary["requests"] >= 300, summary


def test_the_run_reached_synthesis_enrollment_and_the_linked_voice_routes(fuzzed):
    """Not only refusals: audio was rendered, voices enrolled (real speech in the upload), read and deleted."""
    _, summary = fuzzed
    statuses = summary["statuses"]
    assert statuses.get("200", 0) > 20 and statuses.get("201", 0) >= 1 and statuses.get("204", 0) >= 1, statuses
    assert not summary["warnings"].get("missing_test_data", []) or \
        summary["warnings"]["missing_test_data"] == ["GET /v1/manifests/{manifest_id}"], summary["warnings"]


def test_the_server_is_healthy_after_the_run(fuzzed):
    srv, _ = fuzzed
    with srv.client() as c:
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/tts", json={"text": "Still here.", "voice": "en_female_1"}).status_code == 200
    assert "unhandled error" not in srv.log()
