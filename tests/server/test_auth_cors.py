"""API keys (bearer) and CORS, configured through EMOTIVOICE_* variables."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def guarded(start_server):
    srv = start_server("--no-warmup", env={"EMOTIVOICE_API_KEYS": "key-one,key-two",
                                           "EMOTIVOICE_PROTECT_METRICS": "true",
                                           "EMOTIVOICE_CORS_ORIGINS": "https://app.example"})
    srv.wait_port()
    return srv


@pytest.mark.parametrize("headers, why", [({}, "missing"), ({"Authorization": "Bearer nope"}, "invalid"),
                                          ({"Authorization": "Basic a2V5LW9uZQ=="}, "missing")])
def test_synthesis_without_a_valid_key_is_401(guarded, headers, why):
    with guarded.client() as c:
        r = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1"}, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized" and why in r.json()["error"]["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_any_configured_key_is_accepted(guarded):
    with guarded.client() as c:
        for key in ("key-one", "key-two"):
            r = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1"}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200


def test_probes_stay_open_and_metrics_can_be_protected(guarded):
    with guarded.client() as c:
        for path in ("/livez", "/startupz", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer key-one"}).status_code == 200


def test_openai_client_sends_its_key(guarded):
    from openai import AuthenticationError, OpenAI

    good = OpenAI(base_url=guarded.url + "/v1", api_key="key-two", max_retries=0)
    assert len(good.audio.speech.create(model="tts-1", voice="alloy", input="Hi.", response_format="pcm").content) > 0
    bad = OpenAI(base_url=guarded.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(AuthenticationError):
        bad.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")


def test_cors_preflight_allows_the_configured_origin_only(guarded):
    with guarded.client() as c:
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        ok = c.options("/v1/tts", headers={"Origin": "https://app.example", **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        other = c.options("/v1/tts", headers={"Origin": "https://evil.example", **pre})
        assert "access-control-allow-origin" not in other.headers
        r = c.post("/v1/tts", json={"text": "Hi.", "voice": "en_female_1"},
                   headers={"Origin": "https://app.example", "Authorization": "Bearer key-one"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-model-tier" in r.headers["access-control-expose-headers"].lower()
