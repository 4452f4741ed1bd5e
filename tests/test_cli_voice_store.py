"""The CLI against a shared voice store (a real redis-server), and bad store or key configuration
refused by `serve` before it loads anything, with a message that names the setting (exit 2)."""
from __future__ import annotations

import json
import time

import pytest
from redis_server import RedisServer, free_port

from tests.test_cli_enroll import FAST_FIT, cli


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("cli-redis"), password="pw-cli").start()
    yield server
    server.stop()


def test_enroll_and_voices_take_the_voice_store_and_a_tenant(bundle_dir, reference_wav, redis_server, tmp_path):
    ref = tmp_path / "ref.wav"
    ref.write_bytes(reference_wav)
    common = ("--bundle", str(bundle_dir), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu",
              "--voice-store", redis_server.url_without_password, "--voice-store-password", "pw-cli")
    run = cli("enroll", str(ref), "--name", "Store Bob", "--tenant", "acme", *common, *FAST_FIT)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["id"] == "store_bob"
    import redis

    records = redis.Redis.from_url(redis_server.url).smembers("emotivoice:voices")
    assert records == {b"acme/store_bob"}, "the record is in Redis, not in the cache directory"
    assert not (tmp_path / "cache" / "voices" / "store_bob.json").exists()

    acme = cli("voices", "--tenant", "acme", *common)
    assert acme.returncode == 0, acme.stderr
    assert any(line.split("\t")[:1] == ["store_bob"] and "\tenrolled\t" in line for line in acme.stdout.splitlines())
    others = cli("voices", *common)
    assert others.returncode == 0 and "store_bob" not in others.stdout, "the default tenant does not see it"


@pytest.mark.parametrize("args, fragments", [
    (("--voice-store", "memcached://localhost:11211"), ("EMOTIVOICE_VOICE_STORE", "expected 'local' or redis://")),
    (("--voice-store", f"redis://127.0.0.1:{free_port()}/0"), ("EMOTIVOICE_VOICE_STORE", "cannot reach")),
    (("--voice-store", "WRONG_PASSWORD"), ("EMOTIVOICE_VOICE_STORE", "password")),
    (("--api-keys", "Acme Corp:k1"), ("EMOTIVOICE_API_KEYS",)),
], ids=["unparsable_url", "unreachable_host", "wrong_password", "bad_key_entry"])
def test_serve_refuses_bad_configuration_at_once(bundle_dir, redis_server, tmp_path, args, fragments):
    if args[1] == "WRONG_PASSWORD":
        args = ("--voice-store", redis_server.url.replace("pw-cli", "nope"))
    t0 = time.monotonic()
    run = cli("serve", "--bundle", str(bundle_dir), "--cache-dir", str(tmp_path), "--port", "0",
              "--fallback-bundle", "none", *args)
    assert run.returncode == 2, run.stderr
    assert time.monotonic() - t0 < 30
    for fragment in fragments:
        assert fragment in run.stderr, run.stderr
    assert "nope" not in run.stderr and "Traceback" not in run.stderr
