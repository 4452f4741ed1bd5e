"""The lazy baseline: the same engine behind a minimal Starlette app that loads the model on the
first request (the common pattern this project exists to beat). The port opens at once; /readyz is
always 200, as in servers whose health check does not look at the model.

    python -m bench.baselines.lazy_server <bundle_dir> <port>
"""
from __future__ import annotations

import sys
import threading


def main() -> None:
    bundle, port = sys.argv[1], int(sys.argv[2])
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    state: dict = {}
    lock = threading.Lock()

    def engine():
        with lock:
            if "engine" not in state:
                from emotivoice_srv import Engine, EngineConfig

                state["engine"] = Engine.load(EngineConfig(bundle, device="cpu"))
            return state["engine"]

    async def tts(request: Request):
        from starlette.concurrency import iterate_in_threadpool

        from emotivoice_srv import SynthesisOptions
        from emotivoice_srv.audio.encode import to_int16

        body = await request.json()

        def chunks():
            eng = engine()
            for chunk in eng.stream(body["text"], SynthesisOptions(voice=body.get("voice", "en_female_1"))):
                yield to_int16(chunk.audio).tobytes()

        return StreamingResponse(iterate_in_threadpool(chunks()), media_type="audio/pcm")

    async def ok(request: Request):
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/v1/tts", tts, methods=["POST"]), Route("/readyz", ok), Route("/startupz", ok)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
