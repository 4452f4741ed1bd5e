"""GET /v1/audio/voices and /v1/audio/models, read the way OpenAI-compatible TTS clients read them:
Open WebUI (``{v["id"]: v["name"] for v in body["voices"]}``, ``[m["id"] for m in body["models"]]``) and
clients written for Kokoro-FastAPI (a list under ``voices`` whose items are ids or objects with an id).
Both lists come from the catalogue behind /v1/voices and /v1/models; what they list is what
/v1/audio/speech accepts (tenancy: tests/server/test_tenancy.py)."""
from __future__ import annotations

import pytest


def open_webui_voices(client) -> dict[str, str]:
    r = client.get("/v1/audio/voices")
    r.raise_for_status()
    return {voice["id"]: voice["name"] for voice in r.json().get("voices", [])}


def open_webui_models(client) -> list[str]:
    r = client.get("/v1/audio/models")
    r.raise_for_status()
    return [model["id"] for model in r.json().get("models", [])]


def kokoro_client_voices(client) -> list[str]:
    data = client.get("/v1/audio/voices").json()
    voices = data["voices"] if isinstance(data, dict) else data
    return [v["id"] if isinstance(v, dict) else v for v in voices]


def test_voices_are_the_ready_voices_of_v1_voices(client):
    listed = open_webui_voices(client)
    ready = [v["id"] for v in client.get("/v1/voices").json()["data"] if v["status"] == "ready"]
    assert list(listed) == ready == kokoro_client_voices(client)
    assert {"en_female_1", "en_male_1"} <= set(listed)
    assert all(isinstance(name, str) and name for name in listed.values())


def test_models_are_v1_models_and_what_the_speech_route_accepts(client):
    models = open_webui_models(client)
    assert models == [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert {"tts-1", "tts-1-hd"} <= set(models)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SpeechRequest"]
    assert [m for m in schema["properties"]["model"]["enum"] if m is not None] == models


def test_both_lists_are_in_the_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, key in (("/v1/audio/voices", "voices"), ("/v1/audio/models", "models")):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["required"] == [key]
        assert schema["properties"][key]["items"]["required"] == ["id", "name"]


@pytest.fixture
def openai_client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key="unused")


def test_a_listed_voice_and_model_speak_through_the_official_client(client, openai_client, decode_audio):
    """What a front-end does after discovery: pick an entry of each list and ask for speech."""
    voice = next(v for v in open_webui_voices(client) if v == "en_male_1")
    model = open_webui_models(client)[1]
    resp = openai_client.audio.speech.create(model=model, voice=voice, input="Picked from the list.",
                                             response_format="wav")
    audio, rate = decode_audio(resp.content, "wav")
    assert rate == 24000 and len(audio) > rate * 0.5
