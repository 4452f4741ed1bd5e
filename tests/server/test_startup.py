"""The port opens only when the model can answer; /readyz waits for the warm-up."""
from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import pytest

WARMUP_DELAY_S = 3.0


@dataclass
class StartupObservation:
    port_open_s: float
    first_tts_status: int
    first_tts_seconds: float
    first_tts_content_type: str
    startupz_at_open: int
    readyz_at_open: dict
    readyz_status_at_open: int
    ready_s: float


@pytest.fixture(scope="module")
def observed(start_server, decode_audio) -> StartupObservation:
    """Start a server whose warm-up is held back, and fire requests the moment the port accepts."""
    srv = start_server("--warmup-delay", str(WARMUP_DELAY_S))
    port_open_s = srv.wait_port()
    with srv.client() as c:
        startupz = c.get("/startupz").status_code
        readyz = c.get("/readyz")  # before the first render: on a loaded machine it can outlast the warm-up delay
        tts = c.post("/v1/tts", json={"text": "The first request.", "voice": "en_female_1"})
        audio, _ = decode_audio(tts.content, "wav") if tts.status_code == 200 else ((), 0)
        assert len(audio) > 12000
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() - srv.started_at < 120, srv.log()
            time.sleep(0.05)
    return StartupObservation(port_open_s, tts.status_code, tts.elapsed.total_seconds(), tts.headers["content-type"],
                              startupz, readyz.json(), readyz.status_code, time.monotonic() - srv.started_at)


def test_first_accepted_connection_gets_audio_not_a_loading_error(observed):
    assert observed.first_tts_status == 200
    assert observed.first_tts_content_type == "audio/wav"


def test_startupz_is_200_as_soon_as_the_port_accepts(observed):
    assert observed.startupz_at_open == 200


def test_readyz_is_503_with_a_reason_until_warm_up_finishes(observed):
    assert observed.readyz_status_at_open == 503
    assert observed.readyz_at_open["reason"].startswith("warming")
    assert observed.readyz_at_open["tiers"][0]["state"] == "warming"


def test_readyz_turns_200_after_warm_up(observed):
    assert observed.ready_s > observed.port_open_s + WARMUP_DELAY_S * 0.9


def test_bad_settings_fail_at_start_with_a_clear_message(start_server):
    srv = start_server(env={"EMOTIVOICE_WORKERS": "zero"})
    code = srv.proc.wait(60)
    assert code == 2
    assert "EMOTIVOICE_WORKERS" in srv.log()


def test_a_missing_bundle_exits_with_the_model_error_code(start_server, tmp_path):
    srv = start_server("--bundle", str(tmp_path / "nowhere"))
    assert srv.proc.wait(60) == 3
    assert "bundle" in srv.log().lower()
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/livez")
