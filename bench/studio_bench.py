"""The web studio in a real headless Chromium: page weight, time to interactive, and time to first audio
through the page, each against a baseline measured in the same run.

- weight: the bytes of every file the page loads (HTML, CSS, JavaScript, icon), as served (uncompressed).
- time to interactive: navigation start -> the page has its config and the voice list and has wired its
  controls (``window.studio.interactive``), in a fresh browser context each round; baseline: navigating
  to ``/livez`` (one small JSON answer, the same server and browser overhead).
- first audio: Speak clicked -> first samples queued on the page's audio graph, for a short sentence;
  baseline: the same request's first PCM byte read by an HTTP client (httpx, streaming). Rounds are
  interleaved so the machine's drift hits both alike.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
SHORT = "Hello there, this is the studio speaking."


SIZES_JS = """() => Object.fromEntries([...performance.getEntriesByType('navigation'),
                                        ...performance.getEntriesByType('resource')]
                                       .map(e => [e.name, e.decodedBodySize]))"""
"""URL -> bytes of every file the page loaded, from the browser's own resource timing."""


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def _api_first_byte_ms(url: str, body: dict) -> float:
    import httpx

    t0 = time.perf_counter()
    with httpx.Client(timeout=120) as c, c.stream("POST", url + "/v1/tts", json=body) as r:
        seen = 0
        for chunk in r.iter_raw():
            seen += len(chunk)
            if seen > 44:  # past the WAV header: the first samples
                return (time.perf_counter() - t0) * 1000
    raise RuntimeError("the stream ended before any audio")


def run(rounds: int = 10) -> dict:
    from playwright.sync_api import sync_playwright

    from export import build_bundle

    from .procs import free_port, launch, serve_argv, stop, wait_200, wait_port

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
        port = free_port()
        server = launch(serve_argv(bundle, port, "--fallback-bundle", "none", "--cache-dir", tmp), port)
        try:
            wait_port(server)
            wait_200(server, "/readyz", "ready")
            return _measure(server.url, rounds, sync_playwright)
        finally:
            stop(server)


def _measure(url: str, rounds: int, sync_playwright) -> dict:
    body = {"text": SHORT, "voice": "en_female_1", "emotion": "happy", "intensity": 0.8, "speed": 1.0,
            "pitch": 0.0, "format": "wav", "stream": True}
    tti, baseline_nav, page_ttfa, page_response, api_ttfa = [], [], [], [], []
    weight: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for i in range(rounds + 1):  # round 0 warms the browser and the server's first request paths
            context = browser.new_context()
            page = context.new_page()
            page.goto(url + "/livez")
            nav = page.evaluate("() => performance.getEntriesByType('navigation')[0].responseEnd")
            page.goto(url + "/")
            page.wait_for_function("() => window.studio && window.studio.interactive")
            interactive = page.evaluate("() => window.studio.interactive")
            sizes = page.evaluate(SIZES_JS)
            page.fill("#text", SHORT)
            api_first = i % 2 == 1  # alternate the order: neither side always meets a busier machine
            api = _api_first_byte_ms(url, body) if api_first else 0.0
            page.click("#speak")
            page.wait_for_function("() => window.studio.speak && window.studio.speak.done", timeout=120_000)
            speak = page.evaluate("() => window.studio.speak")
            if not api_first:
                api = _api_first_byte_ms(url, body)
            context.close()
            if i == 0:
                continue
            weight = {path.removeprefix(url): size for path, size in sizes.items()
                      if path.removeprefix(url) == "/" or path.removeprefix(url).startswith("/studio/")
                      and not path.endswith("/config.json")}
            baseline_nav.append(nav)
            tti.append(interactive)
            page_ttfa.append(speak["ttfaMs"])
            page_response.append(speak["responseAt"] - speak["clickedAt"])
            api_ttfa.append(api)
        browser.close()
    return {
        "rounds": rounds,
        "page_weight_bytes": dict(sorted(weight.items())),
        "page_weight_total_bytes": sum(weight.values()),
        "time_to_interactive_ms": {"p50": _median(tti), "min": round(min(tti), 1), "max": round(max(tti), 1)},
        "baseline_livez_navigation_ms": {"p50": _median(baseline_nav)},
        "tti_over_livez": round(statistics.median(tti) / statistics.median(baseline_nav), 2),
        "first_audio_page_ms": {"p50": _median(page_ttfa)},
        "first_bytes_page_ms": {"p50": _median(page_response)},
        "first_audio_api_client_ms": {"p50": _median(api_ttfa)},
        "page_over_api_first_audio": round(statistics.median(page_ttfa) / statistics.median(api_ttfa), 2),
        "text": SHORT,
    }


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    rows = "\n".join(f"| `{path}` | {size:,} |" for path, size in r["page_weight_bytes"].items())
    return f"""# Web studio in headless Chromium ({report['date']})

Machine: {m.get('cpu', '?')}, {m['cores']} cores{', ' + m['note'] if m.get('note') else ''}. `python -m bench studio`, {r['rounds']} rounds
(fresh browser context each, after one warm-up round).

| file | bytes |
| --- | --- |
{rows}
| **total** | **{r['page_weight_total_bytes']:,}** |

| what | p50 | baseline (same run) | ratio |
| --- | --- | --- | --- |
| time to interactive (navigation -> config + voices loaded, controls wired) | {r['time_to_interactive_ms']['p50']} ms | navigating to `/livez`: {r['baseline_livez_navigation_ms']['p50']} ms | {r['tti_over_livez']} |
| first audio: Speak clicked -> first samples on the page's audio graph ("{r['text']}") | {r['first_audio_page_ms']['p50']} ms (response with the first bytes at {r['first_bytes_page_ms']['p50']} ms) | first PCM byte to an HTTP client: {r['first_audio_api_client_ms']['p50']} ms | {r['page_over_api_first_audio']} |
"""
