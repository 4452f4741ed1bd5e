"""SIGTERM: readiness drops at once, in-flight work finishes, new work is refused, the process exits 0."""
from __future__ import annotations

import time

LONG = " ".join(f"Sentence {i} keeps this request busy for a while." for i in range(1, 4))


def test_sigterm_drains(start_server, decode_audio):
    srv = start_server("--workers", "1", "--drain-grace", "60")
    srv.wait_port()
    srv.wait_ready()
    long = srv.post_in_background("/v1/tts", {"text": LONG, "voice": "en_female_1"})
    time.sleep(0.5)
    srv.terminate()
    time.sleep(0.2)
    with srv.client() as c:
        readyz = c.get("/readyz")
        assert readyz.status_code == 503 and readyz.json()["reason"].startswith("draining")
        assert c.get("/livez").status_code == 200
        refused = c.post("/v1/tts", json={"text": "Too late.", "voice": "en_female_1"})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "draining"
        assert "retry-after" in refused.headers
    assert not long.done(), "the long request was still in flight when the checks ran"
    assert long.result().status_code == 200
    audio, sr = decode_audio(long.result().content, "wav")
    assert len(audio) / sr > 4
    assert srv.proc.wait(30) == 0
