"""Tenancy: an enrolled voice belongs to the tenant whose API key made it. The table: the owner, another
tenant, an admin and a caller without a key, on GET, DELETE, the list, /v1/tts, /v1/audio/speech and
inline references; two tenants owning an "alice" each; keys resolved in constant time.

Other tenants get 404 ``unknown_voice`` — the answer for a voice that does not exist — never 403."""
from __future__ import annotations

import hmac

import pytest

from emotivoice_srv.server import tenancy
from emotivoice_srv.server.tenancy import KeyRing, Principal
from tests.server.test_voices_api import FAST_FIT, TEXT, assert_error, enroll, inline, tts, with_gain

KEYS = {"acme": "key-acme-123", "globex": "key-globex-456", "initech": "key-initech-789"}
ADMIN = "key-ops-000"
BARE = "barekey-abc"


# -- the key ring, without a server ----------------------------------------------------------------
def test_entries_name_their_tenant_and_a_bare_key_is_its_own_tenant():
    ring = KeyRing.parse(("acme:k1", "k2", "globex:k:with:colons"), ("ops:k3",))
    assert ring.identify("k1") == Principal("acme")
    bare = ring.identify("k2")
    assert bare.tenant.startswith("key-") and "k2" not in bare.tenant and not bare.admin
    assert ring.identify("k:with:colons") == Principal("globex"), "only the first ':' separates"
    assert ring.identify("k3") == Principal("ops", admin=True)
    assert ring.identify("acme:k1") is None and ring.identify("nope") is None
    assert not KeyRing.parse(()).enabled


@pytest.mark.parametrize("entries, fragment", [
    (("Acme Corp:k1",), "EMOTIVOICE_API_KEYS"),
    (("acme:",), "no key"),
    (("acme:k1", "globex:k1"), "tenants 'acme' and 'globex'"),
])
def test_bad_entries_are_refused_naming_the_setting(entries, fragment):
    with pytest.raises(ValueError) as info:
        KeyRing.parse(entries)
    assert fragment in str(info.value)


def test_a_key_is_compared_with_every_configured_key_whatever_matches(monkeypatch):
    """Constant time: the presented key's digest meets every key's digest through compare_digest,
    also when the first one matches, so timing cannot tell which key (or whether) it matched."""
    ring = KeyRing.parse(tuple(f"t{i}:key-{i}" for i in range(5)))
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(tenancy.hmac, "compare_digest", counting)
    for token in ("key-0", "key-4", "wrong", "k" * 500):
        calls.clear()
        ring.identify(token)
        assert len(calls) == 5 and set(calls) == {(32, 32)}, "fixed-size digests, every key, every time"


# -- the table, on a real server -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tenant_server(start_server):
    keys = ",".join([f"{t}:{k}" for t, k in KEYS.items()] + [BARE])
    srv = start_server("--workers", "2", "--no-warmup", *FAST_FIT, "--api-keys", keys,
                       "--admin-keys", f"ops:{ADMIN}")
    srv.wait_port()
    srv.wait_ready()
    return srv


def client_for(srv, key: str | None):
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return srv.client(headers=headers)


@pytest.fixture(scope="module")
def alices(tenant_server, reference_wav):
    """acme and globex each own an "alice", from different recordings."""
    out = {}
    for tenant, audio in (("acme", reference_wav), ("globex", with_gain(reference_wav, -6.0))):
        with client_for(tenant_server, KEYS[tenant]) as c:
            r = enroll(c, "Alice", audio)
            assert r.status_code == 201, r.text
            out[tenant] = r.json()
    return out


def ids(client) -> set[str]:
    r = client.get("/v1/voices")
    assert r.status_code == 200, r.text
    return {v["id"] for v in r.json()["data"]}


def test_two_tenants_each_own_an_alice(tenant_server, alices):
    assert alices["acme"]["id"] == alices["globex"]["id"] == "alice"
    with client_for(tenant_server, KEYS["acme"]) as acme, client_for(tenant_server, KEYS["globex"]) as globex:
        assert acme.get("/v1/voices/alice").json()["created"] == alices["acme"]["created"]
        assert globex.get("/v1/voices/alice").json()["created"] == alices["globex"]["created"]
        assert acme.get("/v1/voices/alice").json()["similarity"] == alices["acme"]["similarity"]
        assert "alice" in ids(acme) and "alice" in ids(globex)
        assert "en_female_1" in ids(acme), "built-in voices are everyone's"


def test_the_owner_uses_gets_and_lists_its_voice(tenant_server, alices):
    with client_for(tenant_server, KEYS["acme"]) as c:
        assert c.get("/v1/voices/alice").status_code == 200
        assert tts(c, "alice").status_code == 200
        assert c.post("/v1/audio/speech", json={"voice": "alice", "input": TEXT}).status_code == 200
        listed = [v for v in c.get("/v1/voices").json()["data"] if v["kind"] == "enrolled"]
        assert [v["id"] for v in listed] == ["alice"] and "owner" not in listed[0], "the single-tenant shape"


@pytest.mark.parametrize("key", [KEYS["initech"], BARE], ids=["other_tenant", "bare_key_tenant"])
def test_another_tenant_gets_404_everywhere_and_learns_nothing(tenant_server, alices, key):
    """Every answer about acme's alice is the answer about a voice that never existed."""
    def answers(c, voice_id: str) -> list[tuple[int, str]]:
        out = []
        for r in (c.get(f"/v1/voices/{voice_id}"), c.delete(f"/v1/voices/{voice_id}"), tts(c, voice_id),
                  c.post("/v1/audio/speech", json={"voice": voice_id, "input": TEXT})):
            error = assert_error(r, 404, "unknown_voice")
            out.append((r.status_code, error["message"].replace(voice_id, "<id>")))
        return out

    with client_for(tenant_server, key) as c:
        for target in ("alice", "acme:alice"):
            assert answers(c, target) == answers(c, "never_enrolled")
        assert not {"alice", "acme:alice", "globex:alice"} & ids(c)
    with client_for(tenant_server, KEYS["acme"]) as owner:
        assert owner.get("/v1/voices/alice").status_code == 200, "the DELETE above removed nothing"


def test_an_admin_sees_uses_and_manages_every_tenants_voices(tenant_server, alices, reference_wav):
    with client_for(tenant_server, ADMIN) as admin:
        listed = {v["id"]: v for v in admin.get("/v1/voices").json()["data"]}
        assert listed["acme:alice"]["owner"] == "acme" and listed["globex:alice"]["owner"] == "globex"
        assert admin.get("/v1/voices/globex:alice").json()["created"] == alices["globex"]["created"]
        assert tts(admin, "acme:alice").status_code == 200
        assert admin.post("/v1/audio/speech", json={"voice": "globex:alice", "input": TEXT}).status_code == 200
        assert_error(admin.get("/v1/voices/alice"), 404, "unknown_voice")  # the admin's own tenant has none
        assert admin.delete("/v1/voices/globex:alice").status_code == 204
    with client_for(tenant_server, KEYS["globex"]) as globex:
        assert_error(globex.get("/v1/voices/alice"), 404, "unknown_voice")
        assert enroll(globex, "Alice", with_gain(reference_wav, -6.0)).status_code == 201, "cached fit: re-enrolled"
    with client_for(tenant_server, KEYS["acme"]) as acme:
        assert acme.get("/v1/voices/alice").status_code == 200, "acme's alice untouched"


def test_without_a_key_nothing_about_voices_is_answered(tenant_server, alices, reference_wav):
    with client_for(tenant_server, None) as c:
        for r in (c.get("/v1/voices"), c.get("/v1/voices/alice"), c.delete("/v1/voices/alice"), tts(c, "alice"),
                  c.post("/v1/audio/speech", json={"voice": "alice", "input": TEXT}), inline(c, reference_wav),
                  enroll(c, "Mallory", reference_wav)):
            assert_error(r, 401, "unauthorized")


def test_inline_references_work_for_every_tenant_and_enroll_nothing(tenant_server, alices, reference_wav):
    for key in (KEYS["initech"], ADMIN):
        with client_for(tenant_server, key) as c:
            before = ids(c)
            r = inline(c, reference_wav)  # acme's fit is in the shared, content-addressed cache
            assert r.status_code == 200, r.text
            assert ids(c) == before


def audio_voice_ids(client) -> set[str]:
    """/v1/audio/voices as Open WebUI reads it: {voice["id"]: voice["name"]} over body["voices"]."""
    r = client.get("/v1/audio/voices")
    assert r.status_code == 200, r.text
    return set({v["id"]: v["name"] for v in r.json().get("voices", [])})


def test_the_openai_voice_list_follows_the_same_tenancy(tenant_server, alices):
    """GET /v1/audio/voices is /v1/voices for OpenAI-compatible clients: the same voices per caller."""
    with client_for(tenant_server, KEYS["acme"]) as acme, client_for(tenant_server, KEYS["initech"]) as initech, \
            client_for(tenant_server, ADMIN) as admin, client_for(tenant_server, None) as anonymous:
        assert "alice" in audio_voice_ids(acme) and "en_female_1" in audio_voice_ids(acme)
        assert not {"alice", "acme:alice", "globex:alice"} & audio_voice_ids(initech)
        assert {"acme:alice", "globex:alice"} <= audio_voice_ids(admin)
        for c in (acme, initech, admin):
            ready = {v["id"] for v in c.get("/v1/voices").json()["data"] if v["status"] == "ready"}
            assert audio_voice_ids(c) == ready
        assert anonymous.get("/v1/audio/voices").status_code == 401
        assert anonymous.get("/v1/audio/models").status_code == 401
