"""/metrics parses as Prometheus text and its series move with traffic."""
from __future__ import annotations

from prometheus_samples import scrape, value


def test_counters_move_after_a_synthesis(client):
    before = scrape(client)
    r = client.post("/v1/tts", json={"text": "Counting this request.", "voice": "en_male_1"})
    assert r.status_code == 200
    bad = client.post("/v1/tts", json={"text": "x", "voice": "nobody"})
    assert bad.status_code == 404
    after = scrape(client)
    ok_key = dict(method="POST", route="/v1/tts", status="200")
    assert value(after, "emotivoice_requests_total", **ok_key) == value(before, "emotivoice_requests_total", **ok_key) + 1
    bad_key = dict(method="POST", route="/v1/tts", status="404")
    assert value(after, "emotivoice_requests_total", **bad_key) == value(before, "emotivoice_requests_total", **bad_key) + 1
    produced = value(after, "emotivoice_audio_seconds_total", tier="main") - value(before, "emotivoice_audio_seconds_total", tier="main")
    assert abs(produced - float(r.headers["x-audio-duration"])) < 0.01
    for name, labels in [("emotivoice_time_to_first_audio_seconds_count", dict(route="/v1/tts", stream="false")),
                         ("emotivoice_real_time_factor_count", dict(tier="main")),
                         ("emotivoice_tier_requests_total", dict(tier="main")),
                         ("emotivoice_request_duration_seconds_count", dict(route="/v1/tts"))]:
        assert value(after, name, **labels) > value(before, name, **labels), name


def test_model_and_queue_gauges_are_exported(client):
    samples = scrape(client)
    assert value(samples, "emotivoice_model_ready", tier="main") == 1.0
    assert value(samples, "emotivoice_model_load_seconds", tier="main", step="total") > 0
    assert value(samples, "emotivoice_model_warmup_seconds", tier="main") >= 0  # 0 on CPU: no first-run cost
    assert value(samples, "emotivoice_model_tier_state", tier="main", state="ready") == 1.0
    assert value(samples, "emotivoice_model_tier_state", tier="main", state="warming") == 0.0
    assert ("emotivoice_queue_depth", ()) in samples
    assert ("emotivoice_inflight_syntheses", ()) in samples
