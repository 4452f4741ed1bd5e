"""Prometheus metrics, one registry per app (tests and embedders can run several apps)."""
from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they double the output and nobody graphs them
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("emotivoice_requests", "HTTP requests by route and status",
                                ("method", "route", "status"), registry=r)
        self.latency = Histogram("emotivoice_request_duration_seconds", "Time to the last response byte",
                                 ("route",), buckets=LATENCY_BUCKETS, registry=r)
        self.ttfa = Histogram("emotivoice_time_to_first_audio_seconds",
                              "Request start to the first audio byte sent", ("route", "stream"),
                              buckets=LATENCY_BUCKETS, registry=r)
        self.audio_seconds = Counter("emotivoice_audio_seconds", "Seconds of audio produced", ("tier",), registry=r)
        self.rtf = Histogram("emotivoice_real_time_factor", "Synthesis seconds per audio second", ("tier",),
                             buckets=RTF_BUCKETS, registry=r)
        self.tier_requests = Counter("emotivoice_tier_requests", "Synthesis requests by the tier that served them",
                                     ("tier",), registry=r)
        self.rejected = Counter("emotivoice_rejected_requests", "Requests refused before synthesis",
                                ("reason",), registry=r)
        self.cancelled = Counter("emotivoice_cancelled_syntheses",
                                 "Syntheses abandoned: reason (client_disconnected|deadline), stage (queued|running)",
                                 ("reason", "stage"), registry=r)
        self.queue_depth = Gauge("emotivoice_queue_depth", "Admitted requests waiting for a worker", registry=r)
        self.inflight = Gauge("emotivoice_inflight_syntheses", "Syntheses running on workers", registry=r)
        self.http_inflight = Gauge("emotivoice_inflight_requests", "HTTP requests being handled", registry=r)
        self.load_seconds = Gauge("emotivoice_model_load_seconds", "Model load time by step", ("tier", "step"),
                                  registry=r)
        self.warmup_seconds = Gauge("emotivoice_model_warmup_seconds", "Warm-up synthesis time", ("tier",),
                                    registry=r)
        self.tier_ready = Gauge("emotivoice_model_ready", "1 when the tier is loaded and warmed", ("tier",),
                                registry=r)
        self.tier_state = Gauge("emotivoice_model_tier_state", "1 for the state each tier is in now",
                                ("tier", "state"), registry=r)
        self.cache = Counter("emotivoice_cache_requests", "Cache lookups by cache and result (hit|miss)",
                             ("cache", "result"), registry=r)
        self.voice_fits = Counter("emotivoice_voice_fits", "Voice fits computed from reference audio (model work), "
                                  "by result (ok|failed); cache hits do not count", ("result",), registry=r)
        self.enroll_seconds = Histogram("emotivoice_enroll_duration_seconds",
                                        "POST /v1/voices to the saved voice (cache hits included)",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.enrolled_voices = Gauge("emotivoice_enrolled_voices", "Enrolled (cloned) voices saved", registry=r)
        self.voice_store_errors = Counter("emotivoice_voice_store_errors",
                                          "Voice store calls that failed (store unreachable, timed out or erroring), "
                                          "by operation", ("operation",), registry=r)
        self.signatures = Counter("emotivoice_provenance_signatures", "C2PA manifests signed for responses, by "
                                  "kind (embedded|detached) and result (ok|failed)", ("kind", "result"), registry=r)
        self.sign_seconds = Histogram("emotivoice_provenance_sign_seconds", "Time to sign one response's manifest",
                                      buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5), registry=r)
        self.routed = Counter("emotivoice_routed_requests", "Syntheses by where they went (main|fallback|upstream|"
                              "rejected) and why (default|requested|latency_budget|overload|long_text|...)",
                              ("route", "reason"), registry=r)
        self.pool_admitted = Gauge("emotivoice_pool_admitted", "Admitted jobs (running + queued) per pool",
                                   ("pool",), registry=r)
        self.upstream_requests = Counter("emotivoice_upstream_requests", "Requests forwarded upstream by result "
                                         "(ok|client_error|unreachable|slow|server_error|overloaded|breaker_open)",
                                         ("result",), registry=r)
        self.upstream_breaker = Gauge("emotivoice_upstream_breaker_state", "1 for the upstream circuit breaker's "
                                      "state (closed|open)", ("state",), registry=r)
        self.upstream_probes = Counter("emotivoice_upstream_probes", "Probes of an unavailable upstream by result",
                                       ("result",), registry=r)
        self.model_swaps = Counter("emotivoice_model_swaps", "Hot swaps of a tier's model version by result "
                                   "(switched|unchanged|failed_verify|failed_load|failed_warmup|failed_canary|"
                                   "refused_memory|refused_busy)", ("role", "result"), registry=r)
        self.swap_seconds = Gauge("emotivoice_model_swap_seconds", "The last swap's seconds per step (to_switched: "
                                  "request to the new version serving)", ("role", "step"), registry=r)
        self.model_version = Gauge("emotivoice_model_version_info", "1 for the model version (bundle version + "
                                   "manifest hash) each tier serves", ("tier", "version"), registry=r)
        self.loop_lag = Gauge("emotivoice_event_loop_lag_seconds", "Last measured event-loop delay", registry=r)

    def bind_pool(self, pool) -> None:
        """Queue depth and in-flight come straight from the pool at scrape time."""
        self.queue_depth.set_function(lambda: pool.queued)
        self.inflight.set_function(lambda: pool.running)
        self.pool_admitted.labels("main").set_function(lambda: pool.busy)

    def bind_fast_pool(self, pool) -> None:
        self.pool_admitted.labels("fast").set_function(lambda: pool.busy)

    def render(self) -> bytes:
        return generate_latest(self.registry)
