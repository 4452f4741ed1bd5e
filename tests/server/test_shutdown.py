"""SIGTERM: readiness drops at once, in-flight work finishes, new work is refused, the process exits 0."""
from __future__ import annotations

import threading
import time

LONG = " ".join(f"Sentence {i} keeps this request busy for a while." for i in range(1, 7))


def test_sigterm_drains(start_server, decode_audio):
    srv = start_server("--workers", "1", "--drain-grace", "60")
    srv.wait_port()
    srv.wait_ready()
    results = {}

    def long_request():
        with srv.client() as c:
            results["long"] = c.post("/v1/tts", json={"text": LONG, "voice": "en_female_1"})

    worker = threading.Thread(target=long_request)
    worker.start()
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
    assert "long" not in results, "the long request was still in flight when the checks ran"
    worker.join()
    assert results["long"].status_code == 200
    audio, sr = decode_audio(results["long"].content, "wav")
    assert len(audio) / sr > 5
    assert srv.proc.wait(30) == 0
