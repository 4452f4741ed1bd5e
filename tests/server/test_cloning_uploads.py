"""POST /v1/voices with every kind of bad upload: each gets its documented 4xx and a JSON error body,
odd-but-valid audio (telephone band, stereo 48 kHz) is accepted, and the server stays healthy."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

FAST_FIT = ("--fit-evaluations", "0", "--enroll-wait", "120")
"""No refinement; a long wait, so a fit on a busy machine still answers 201 (these tests are about
which audio is accepted, not how fast)."""


@pytest.fixture(scope="module")
def upload_server(start_server):
    """Default intake limits (3..30 s of speech, 20 MiB uploads), the stock-timbre fit."""
    srv = start_server("--workers", "2", "--no-warmup", *FAST_FIT)
    srv.wait_port()
    srv.wait_ready()
    return srv


@pytest.fixture
def uc(upload_server):
    with upload_server.client() as c:
        yield c


def samples_of(wav: bytes) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return audio, rate


def to_wav(audio: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def resampled(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    from emotivoice_srv.audio.resample import resample

    return resample(np.ascontiguousarray(audio, dtype=np.float32), rate, target)


def one_second(ref: bytes) -> bytes:
    audio, rate = samples_of(ref)
    return to_wav(audio[:rate], rate)


def two_minutes(ref: bytes) -> bytes:
    audio, rate = samples_of(ref)
    reps = int(np.ceil(120 * rate / audio.size))
    return to_wav(np.tile(audio, reps)[: 120 * rate], rate)


def silent(ref: bytes) -> bytes:
    return to_wav(np.zeros(5 * 24000, dtype=np.float32), 24000)


def truncated(ref: bytes) -> bytes:
    return ref[:30]  # "RIFF....WAVEfmt " and part of the fmt chunk: cut inside the header


def text_file(ref: bytes) -> bytes:
    return b"These are notes about the recording, not the recording itself.\n" * 20


def empty(ref: bytes) -> bytes:
    return b""


# (id, audio builder, file name, status, error code)
REFUSED = [
    ("empty_file", empty, "ref.wav", 422, "audio_empty"),
    ("text_named_wav", text_file, "ref.wav", 422, "audio_unreadable"),
    ("truncated_header", truncated, "ref.wav", 422, "audio_unreadable"),
    ("one_second", one_second, "short.wav", 422, "audio_too_short"),
    ("two_minutes", two_minutes, "long.wav", 422, "audio_too_long"),
    ("silence", silent, "silence.wav", 422, "audio_silent"),
]


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def assert_healthy(client) -> None:
    assert client.get("/livez").status_code == 200, "the server stays alive"
    assert client.get("/readyz").status_code == 200, "and ready"


@pytest.mark.parametrize("name, build, filename, status, code", REFUSED, ids=[c[0] for c in REFUSED])
def test_bad_reference_upload_is_refused(uc, reference_wav, name, build, filename, status, code):
    r = uc.post("/v1/voices", data={"name": f"bad {name}"}, files={"file": (filename, build(reference_wav), "audio/wav")})
    assert_error(r, status, code)
    assert uc.get(f"/v1/voices/bad_{name}").status_code == 404, "nothing was enrolled"
    assert_healthy(uc)


def test_fifty_megabyte_upload_is_413_and_the_client_gets_the_answer(uc):
    big = np.random.default_rng(0).integers(0, 256, 50 * 1024 * 1024, dtype=np.uint8).tobytes()
    r = uc.post("/v1/voices", data={"name": "huge"}, files={"file": ("huge.wav", big, "audio/wav")})
    error = assert_error(r, 413, "audio_too_large")
    assert str(20 * 1024 * 1024) in error["message"]
    assert_healthy(uc)


def test_audio_just_over_the_limit_is_413_and_the_connection_stays_usable(uc):
    """20 MiB + 1 KiB: within the form's allowance for boundaries, so the intake itself refuses it."""
    r = uc.post("/v1/voices", data={"name": "over"}, files={"file": ("over.wav", b"\0" * (20 * 1024 * 1024 + 1024))})
    assert_error(r, 413, "audio_too_large")
    assert uc.get("/v1/voices").status_code == 200, "the same keep-alive connection still answers"
    assert_healthy(uc)


@pytest.mark.parametrize("kind", ["telephone_8k", "stereo_48k"])
def test_unusual_but_valid_audio_is_accepted(uc, reference_wav, kind):
    audio, rate = samples_of(reference_wav)
    if kind == "telephone_8k":
        data = to_wav(resampled(audio, rate, 8000), 8000)
    else:
        wide = resampled(audio, rate, 48000)
        data = to_wav(np.stack([wide, 0.8 * wide], axis=1), 48000)
    assert sf.info(io.BytesIO(data)).samplerate == (8000 if kind == "telephone_8k" else 48000)
    r = uc.post("/v1/voices", data={"name": f"Accepted {kind}"}, files={"file": (f"{kind}.wav", data, "audio/wav")})
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["id"] == f"accepted_{kind}"
    assert voice["status"] == "ready" and voice["kind"] == "enrolled"
    assert uc.delete(f"/v1/voices/{voice['id']}").status_code == 204
    assert_healthy(uc)


def test_missing_file_part(uc):
    r = uc.post("/v1/voices", content=_multipart({"name": "no file"}),
                headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    error = assert_error(r, 400, "missing_file")
    assert "file" in error["message"]
    assert_healthy(uc)


def test_audio_under_another_part_name_is_an_unknown_field(uc, reference_wav):
    """An unknown part is an unknown field, 422 as in a JSON body (the schema's additionalProperties: false)."""
    r = uc.post("/v1/voices", data={"name": "wrong part"}, files={"audio": ("ref.wav", reference_wav, "audio/wav")})
    error = assert_error(r, 422, "invalid_request")
    assert "audio" in error["message"]
    assert_healthy(uc)


@pytest.mark.parametrize("name", [None, "", "   ", "!!!"], ids=["missing", "empty", "blank", "no_letters"])
def test_missing_or_empty_name(uc, reference_wav, name):
    data = {} if name is None else {"name": name}
    r = uc.post("/v1/voices", data=data, files={"file": ("ref.wav", reference_wav, "audio/wav")})
    assert_error(r, 422, "invalid_name")
    assert_healthy(uc)


def test_json_body_instead_of_multipart(uc):
    r = uc.post("/v1/voices", json={"name": "json", "file": "UklGRg=="})
    error = assert_error(r, 400, "invalid_content_type")
    assert "multipart/form-data" in error["message"]
    assert_healthy(uc)


def test_unknown_form_field(uc, reference_wav):
    r = uc.post("/v1/voices", data={"name": "typo", "descripton": "misspelt"},
                files={"file": ("ref.wav", reference_wav, "audio/wav")})
    error = assert_error(r, 422, "invalid_request")
    assert "descripton" in error["message"]
    assert uc.get("/v1/voices/typo").status_code == 404
    assert_healthy(uc)


def test_description_too_long(uc, reference_wav):
    r = uc.post("/v1/voices", data={"name": "wordy", "description": "x" * 501},
                files={"file": ("ref.wav", reference_wav, "audio/wav")})
    assert_error(r, 422, "invalid_description")
    assert_healthy(uc)


BOUNDARY = "emotivoice-test-boundary"


def _multipart(fields: dict[str, str]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()
