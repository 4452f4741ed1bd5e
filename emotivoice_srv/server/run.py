"""`emotivoice-srv serve`: load the first tier, then open the port; drain on SIGTERM.

Order: the first tier's engine (fallback if configured, else main) starts loading on a thread at
once, while this thread imports the web stack (session creation releases the GIL, so the two
overlap) -> app -> uvicorn binds the socket -> warm-up (and main, behind a fallback) and the
provenance identity in the background -> /readyz 200. On the first SIGTERM/SIGINT /readyz turns 503 at once, new requests get
503, and the process exits when the in-flight ones are done (or the grace period ends); a second
signal exits at once.
"""
from __future__ import annotations

import argparse
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from ..errors import EmotivoiceError
from .config import ServerConfig
from .lifecycle import Lifecycle
from .tiers import TierPolicy, Tiers, TierSlot, TierState

log = logging.getLogger("emotivoice_srv.server")


def serve(args: argparse.Namespace, started_at: float | None = None) -> int:
    """Load the first tier (fallback if configured, else main), open the port; main follows if needed."""
    from ..loading import (cache_dir, deferred_provenance, fallback_args, has_fallback, load_cloner, load_engine, main_bundle_name,
                       open_voice_store)
    from ..errors import InvalidInput
    from ..settings import bundle_store as open_bundle_store
    from ..settings import cloning_config
    from .tenancy import KeyRing

    lifecycle = Lifecycle(started_at=started_at or time.monotonic())
    config = ServerConfig.from_args(args)
    try:
        KeyRing.parse(config.api_keys, config.admin_keys)  # a bad key entry fails here, naming the setting
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    policy = TierPolicy(hold_for_main_s=config.hold_for_main_s, ready_on_fallback=config.ready_on_fallback)
    main = TierSlot("main")
    fallback = TierSlot("fallback") if has_fallback(args) else None

    def load_first():
        """The fallback's engine, or main's when there is no fallback or the fallback cannot load (a
        broken or missing fallback is a failed tier shown in /v1/models, never a failed start). The voice
        store opens first: an unreachable or misconfigured one fails the start, naming the setting."""
        store = open_voice_store(args)
        if fallback is not None:
            try:
                engine = load_engine(fallback_args(args))
                return engine, load_cloner(args, engine, publish=False, store=store)
            except EmotivoiceError as exc:
                fallback.fail(exc)
        if config.main_start_delay_s:
            time.sleep(config.main_start_delay_s)
        engine = load_engine(args)
        return engine, load_cloner(args, engine, publish=False, store=store)

    with ThreadPoolExecutor(1, thread_name_prefix="load") as loader:
        loading = loader.submit(load_first)
        import uvicorn  # the web stack imports while the sessions are created

        from .app import create_app
        from .draining import DrainingServer

        provenance = deferred_provenance(args)  # its identity loads once the port is open (cold start)
        first, (cloner, cloning_error) = loading.result()
    first_slot = fallback if fallback is not None and fallback.state is TierState.LOADING else main
    first_slot.move(TierState.WARMING, engine=first)
    del first, loading  # the tier holds the engine: a hot swap's unload must free it (server/swap/)
    tiers = Tiers(main, fallback, policy)
    load_main = (lambda: load_engine(args)) if first_slot is fallback else None
    lifecycle.loaded(round(time.monotonic() - lifecycle.started_at, 3))
    app = create_app(tiers, config, lifecycle, cloner=cloner, cloning_config=cloning_config(args),
                     cloning_error=cloning_error, load_main=load_main, main_name=main_bundle_name(args),
                     provenance=provenance, bundle_store=lambda: open_bundle_store(args, cache_dir(args)))
    uv_config = uvicorn.Config(app, host=config.host, port=config.port, log_config=None, access_log=False,
                               lifespan="on", timeout_graceful_shutdown=config.drain_grace_s,
                               timeout_keep_alive=5,
                               # the parser's hard bound; up to it, the middleware answers 431 in JSON
                               h11_max_incomplete_event_size=2 * config.abuse.max_header_bytes)
    server = DrainingServer(uv_config, app.state.ctx)
    if provenance is not None:  # a bad certificate stops the server (exit 2), naming the setting
        server.on_listening.append(lambda: provenance.start(on_failure=lambda exc: server.stop()))
    server.run()
    if provenance is not None and provenance.error is not None:
        raise provenance.error
    return 0
