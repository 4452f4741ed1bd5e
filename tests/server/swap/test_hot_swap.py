"""Hot swaps of a running server's model (real graphs, real server processes).

One server with admin keys takes the API swaps (broken bundles, 409, five swaps under load, rollback);
a second one watches a symlinked bundle path (and answers SIGHUP) with a fallback tier and an instant
rollback window; a third has a memory limit too small for a second version.
"""
from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import bundle_variants
import pytest
from prometheus_samples import scrape, value

from emotivoice_srv.bundle import read_manifest
from emotivoice_srv.bundle.identity import manifest_sha256, version_label

ADMIN = {"Authorization": "Bearer akey"}
USER = {"Authorization": "Bearer ukey"}
KEYS = ("--api-keys", "user:ukey", "--admin-keys", "ops:akey", "--provenance", "off")
STREAM_TEXT = "The first sentence is short. The second one is a little longer than that. And a third."
V2_SPEED = 1.1
"""The second version speaks the default voice 10 % faster: which version rendered a stream is heard in
its duration (a stream mixing versions would land between the two)."""


def label(bundle: Path) -> str:
    return version_label(read_manifest(bundle).version, manifest_sha256(bundle))


@pytest.fixture(scope="module")
def versions(bundle_dir, bundle_root) -> dict[str, Path]:
    src = Path(bundle_dir)
    return {"v1": src,
            "v2": bundle_variants.bumped(src, bundle_root / "swap-v2", "1.0.1-swaptest", {"en_female_1": V2_SPEED}),
            "badhash": bundle_variants.hash_mismatch(src, bundle_root / "swap-badhash"),
            "truncated": bundle_variants.truncated(src, bundle_root / "swap-truncated"),
            "silent": bundle_variants.silent(src, bundle_root / "swap-silent")}


@pytest.fixture(scope="module")
def swapper(start_server, versions):
    srv = start_server("--workers", "2", *KEYS)
    srv.wait_port()
    srv.wait_ready()
    return srv


def swap(srv, path: Path | str, role: str = "main", headers=ADMIN):
    with srv.client(headers=headers) as c:
        return c.post(f"/admin/models/{role}", json={"bundle": str(path)})


def rollback(srv, role: str = "main"):
    with srv.client(headers=ADMIN) as c:
        return c.post(f"/admin/models/{role}/rollback")


def tiers(srv) -> dict[str, dict]:
    with srv.client(headers=USER) as c:
        return {t["role"]: t for t in c.get("/v1/models").json()["tiers"]}


def serving(srv, role: str = "main") -> str:
    return tiers(srv)[role]["model_version"]


def say(srv, text: str = "Hello there.") -> str:
    """One short request; the version that rendered it."""
    with srv.client(headers=USER) as c:
        r = c.post("/v1/tts", json={"text": text, "voice": "en_male_1"})
    assert r.status_code == 200, r.text
    return r.headers["x-model-version"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# -- the API server ----------------------------------------------------------------------------------
def test_every_audio_response_and_the_model_list_name_the_version(swapper, versions):
    v1 = label(versions["v1"])
    assert say(swapper) == v1
    with swapper.client(headers=USER) as c:
        models = c.get("/v1/models").json()
        with c.stream("POST", "/v1/tts", json={"text": "One. Two.", "voice": "en_male_1", "stream": True,
                                                "format": "pcm"}) as r:
            r.read()
    assert r.headers["x-model-version"] == v1
    assert models["data"][0]["model_version"] == v1 == models["tiers"][0]["model_version"]
    version, digest = v1.split("+")
    assert version == read_manifest(versions["v1"]).version and len(digest) == 12


def test_the_admin_api_takes_admin_keys_only(swapper, versions):
    for headers, status in (({}, 401), (USER, 403)):
        with swapper.client(headers=headers) as c:
            answers = [c.get("/admin/models"), c.post("/admin/models/main", json={"bundle": str(versions["v2"])}),
                       c.post("/admin/models/main/rollback")]
        for r in answers:
            assert r.status_code == status, r.text
            assert r.json()["error"]["code"] == ("unauthorized" if status == 401 else "admin_only")
    with swapper.client(headers=ADMIN) as c:
        listing = c.get("/admin/models").json()
    assert listing["tiers"][0]["model_version"] == label(versions["v1"])
    assert str(Path(versions["v1"]).parent.resolve()) in listing["bundle_roots"]
    assert listing["stored_versions"] == []


def test_bad_swap_requests_are_clear_4xx_and_touch_nothing(swapper, versions, tmp_path):
    before = serving(swapper)
    root = Path(versions["v1"]).parent
    up = f"{root}/.."  # outside-path-ok: a traversal attack the server must refuse
    cases = [(tmp_path, 403, "bundle_path_forbidden"),
             (f"{up}/{tmp_path.name}", 403, "bundle_path_forbidden"),
             ("relative/bundle", 422, "invalid_request"),
             (root / "no-such-bundle", 422, "swap_verify_failed"),
             ("no-such-stored-version", 404, "bundle_not_found")]
    for path, status, code in cases:
        r = swap(swapper, path)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    with swapper.client(headers=ADMIN) as c:
        assert c.post("/admin/models/main", json={"path": "x"}).status_code == 422
        assert c.post("/admin/models/main", content=b"{").json()["error"]["code"] == "invalid_json"
        assert c.post("/admin/models/gpu", json={"bundle": str(versions["v2"])}).status_code == 404
        no_fallback = c.post("/admin/models/fallback", json={"bundle": str(versions["v2"])})
        assert no_fallback.status_code == 409 and no_fallback.json()["error"]["code"] == "no_fallback_tier"
        no_previous = c.post("/admin/models/main/rollback")
        assert no_previous.status_code == 409 and no_previous.json()["error"]["code"] == "no_previous_version"
    assert serving(swapper) == before == say(swapper)


@pytest.mark.parametrize("variant, code, result, words", [
    ("badhash", "swap_verify_failed", "failed_verify", "sha256 mismatch"),
    ("truncated", "swap_load_failed", "failed_load", "cannot load graph"),
    ("silent", "swap_canary_failed", "failed_canary", "silent"),
])
def test_a_broken_bundle_is_refused_at_its_step_and_the_old_version_keeps_serving(
        swapper, versions, variant, code, result, words):
    before = serving(swapper)
    with swapper.client(headers=USER) as c:
        failed_before = value(scrape(c), "emotivoice_model_swaps_total", role="main", result=result)
    r = swap(swapper, versions[variant])
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"]["code"] == code and words in body["error"]["message"]
    assert f"still serving {before}" in body["error"]["message"]
    assert body["swap"]["result"] == result and body["swap"]["to_version"] == label(versions[variant])
    assert say(swapper) == before == serving(swapper)
    last = tiers(swapper)["main"]["last_swap"]
    assert last["result"] == result and words in last["reason"]
    with swapper.client(headers=USER) as c:
        assert value(scrape(c), "emotivoice_model_swaps_total", role="main", result=result) == failed_before + 1
    assert f'"result": "{result}"' in swapper.log()


def test_a_second_swap_while_one_runs_gets_409(swapper, versions):
    target = "v2" if serving(swapper) == label(versions["v1"]) else "v1"
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(swap, swapper, versions[target])
        deadline = time.monotonic() + 60
        while "swap" not in tiers(swapper)["main"] and time.monotonic() < deadline:
            time.sleep(0.02)
        second = swap(swapper, versions["v1" if target == "v2" else "v2"])
        assert second.status_code == 409 and second.json()["error"]["code"] == "swap_in_progress"
        assert first.result().status_code == 200
    assert serving(swapper) == label(versions[target])


@dataclass
class Answer:
    status: int
    version: str | None
    stream: bool
    seconds: float
    error: str | None = None


def _load(srv, stop: threading.Event, answers: list[Answer]) -> None:
    """One client sending requests back to back the whole time, a short one and a streamed one in turn."""
    stream = True
    with srv.client(headers=USER) as c:
        while not stop.is_set():
            stream = not stream
            try:
                if stream:
                    with c.stream("POST", "/v1/tts", json={"text": STREAM_TEXT, "voice": "en_female_1",
                                                           "stream": True, "format": "pcm"}) as r:
                        body = r.read()
                else:
                    r = c.post("/v1/tts", json={"text": "Hello there.", "voice": "en_male_1", "format": "pcm"})
                    body = r.content
                answers.append(Answer(r.status_code, r.headers.get("x-model-version"), stream, len(body) / 2 / 24000))
            except Exception as exc:  # noqa: BLE001 - a failed request is what this test counts
                answers.append(Answer(0, None, stream, 0.0, f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_five_swaps_under_load_lose_no_request_and_leak_no_memory(swapper, versions):
    labels = {label(versions["v1"]): "v1", label(versions["v2"]): "v2"}
    stop, answers = threading.Event(), []
    client = threading.Thread(target=_load, args=(swapper, stop, answers))
    client.start()
    records, rss = [], []
    try:
        time.sleep(1.0)
        for _ in range(5):
            target = "v2" if labels[serving(swapper)] == "v1" else "v1"
            r = swap(swapper, versions[target])
            assert r.status_code == 200, r.text
            records.append(r.json())
            rss.append(rss_mib(swapper.proc.pid))
            time.sleep(0.5)
    finally:
        stop.set()
        client.join(120)
    assert [rec["result"] for rec in records] == ["switched"] * 5
    assert all(rec["drained"] and rec["previous"] == "unloaded" for rec in records), records
    failed = [a for a in answers if a.status != 200]
    assert not failed, failed[:5]
    assert {a.version for a in answers} == set(labels)
    # a stream renders on one version: its duration is that version's, never in between
    by_version = {v: [a.seconds for a in answers if a.stream and a.version == v] for v in labels}
    assert all(len(d) >= 2 for d in by_version.values()), {v: len(d) for v, d in by_version.items()}
    medians = {labels[v]: statistics.median(d) for v, d in by_version.items()}
    assert medians["v2"] < medians["v1"] * 0.95
    for v, durations in by_version.items():
        assert max(abs(d / medians[labels[v]] - 1) for d in durations) < 0.02, (labels[v], durations)
    assert rss[-1] <= rss[0] * 1.10, rss


def test_rollback_returns_to_the_previous_version_and_back(swapper, versions):
    before = serving(swapper)
    r = rollback(swapper)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["kind"] == "rollback" and record["result"] == "switched" and record["from_version"] == before
    assert "loading" in record["seconds"]  # not kept loaded on this server: reloaded and checked again
    assert say(swapper) == record["to_version"] == serving(swapper) != before
    again = rollback(swapper).json()
    assert again["result"] == "switched" and again["to_version"] == before == say(swapper)


def test_swapping_to_the_version_serving_now_changes_nothing(swapper, versions):
    current = serving(swapper)
    path = next(p for p in (versions["v1"], versions["v2"]) if label(p) == current)
    r = swap(swapper, path)
    assert r.status_code == 200 and r.json()["result"] == "unchanged"
    assert serving(swapper) == current


def test_a_delta_uploaded_into_the_store_is_swapped_to_by_its_version(swapper, versions, bundle_root):
    from emotivoice_srv.bundle.delta import write_delta
    from emotivoice_srv.bundle.store import BundleStore

    store = BundleStore(swapper.log_path.parent / f"cache-{swapper.port}" / "store")
    store.add(versions["v1"])  # the base the delta names
    v3 = bundle_variants.bumped(versions["v1"], bundle_root / "swap-v3", "1.0.2-stored")
    delta = bundle_root / "swap-v3.evdelta"
    write_delta(versions["v1"], v3, delta)
    with swapper.client(headers=ADMIN) as c:
        bad = c.post("/admin/bundles", content=b"not a delta")
        assert bad.status_code == 422 and bad.json()["error"]["code"].startswith("delta_")
        up = c.post("/admin/bundles", content=delta.read_bytes())
        assert up.status_code == 201, up.text
        stored = up.json()["version"]
        assert stored["version"] == "1.0.2-stored" and stored["manifest_sha256"] == manifest_sha256(v3)
        r = c.post("/admin/models/main", json={"bundle": "1.0.2-stored"})
        assert r.status_code == 200, r.text
        assert r.json()["to_version"] == label(v3) and r.json()["store_active"] == stored["id"]
        listing = c.get("/admin/models").json()
    assert say(swapper) == label(v3)
    assert [v["id"] for v in listing["stored_versions"] if v["active"]] == [stored["id"]]


# -- watch, SIGHUP, fallback tier, instant rollback -------------------------------------------------
def _point(link: Path, target: Path) -> None:
    """Move a symlink atomically (what a deploy does: ln -s new tmp && mv -T tmp current)."""
    tmp = link.with_name(link.name + ".tmp")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def _wait_for(srv, want: dict[str, str], timeout: float = 90.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = tiers(srv)
        if all(now[role].get("model_version") == v and "swap" not in now[role] for role, v in want.items()):
            return now
        time.sleep(0.1)
    raise AssertionError(f"tiers never served {want}: {tiers(srv)}\n{srv.log()[-3000:]}")


@pytest.fixture(scope="module")
def watched(start_server, versions, bundle_root):
    link = bundle_root / "swap-current"
    _point(link, versions["v1"])
    srv = start_server("--bundle", str(link), "--fallback-bundle", "main", "--watch-bundle", "0.2",
                       "--swap-keep-previous", "300", "--workers", "1", *KEYS)
    srv.wait_port()
    srv.wait_ready()
    return srv, link


@pytest.mark.slow
def test_the_watch_swaps_main_and_fallback_when_the_symlink_moves(watched, versions):
    srv, link = watched
    v1, v2 = label(versions["v1"]), label(versions["v2"])
    assert serving(srv, "main") == v1 == serving(srv, "fallback")
    _point(link, versions["v2"])
    now = _wait_for(srv, {"main": v2, "fallback": v2})
    assert {now[r]["last_swap"]["trigger"] for r in ("main", "fallback")} == {"watch"}
    assert now["main"]["previous_version"] == {"version": v1, "loaded": True}
    assert say(srv) == v2


@pytest.mark.slow
def test_a_rollback_to_a_version_kept_loaded_is_instant_and_the_watch_leaves_it(watched, versions):
    srv, _ = watched
    v1 = label(versions["v1"])
    r = rollback(srv)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["to_version"] == v1 and "loading" not in record["seconds"] and "canary" not in record["seconds"]
    time.sleep(1.0)  # five polls of an unchanged symlink: no swap back
    assert serving(srv) == v1 == say(srv)


@pytest.mark.slow
def test_sighup_rereads_the_configured_bundle_path(watched, versions):
    srv, _ = watched
    v2 = label(versions["v2"])
    srv.proc.send_signal(signal.SIGHUP)
    now = _wait_for(srv, {"main": v2})
    assert now["main"]["last_swap"]["trigger"] == "sighup" and srv.proc.poll() is None


# -- the memory guard -------------------------------------------------------------------------------
def test_a_swap_that_would_cross_the_memory_limit_is_refused_with_507(start_server, versions):
    srv = start_server("--swap-memory-limit", "100M", *KEYS)
    srv.wait_port()
    srv.wait_ready()
    try:
        before = serving(srv)
        r = swap(srv, versions["v2"])
        assert r.status_code == 507, r.text
        error = r.json()["error"]
        assert error["code"] == "swap_memory_limit" and "--swap-memory-limit" in error["message"]
        assert r.json()["swap"]["result"] == "refused_memory"
        assert "loading" not in r.json()["swap"]["seconds"]
        assert say(srv) == before == serving(srv)
    finally:
        srv.stop()
