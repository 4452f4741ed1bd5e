"""Content Credentials in Kubernetes: the signing certificate and key come from a Secret mounted
read-only and named to the server by its settings; without one the server's development certificate
is used (in the cache volume); marking can be turned off and consent required."""
from __future__ import annotations


def server_container(objects) -> dict:
    return objects.only("Deployment")["spec"]["template"]["spec"]["containers"][0]


def test_defaults_mark_with_the_development_certificate(default_objects):
    env = default_objects.env()
    assert env["EMOTIVOICE_PROVENANCE"] == "on" and env["EMOTIVOICE_REQUIRE_CONSENT"] == "false"
    assert "EMOTIVOICE_PROVENANCE_CERT" not in env and "EMOTIVOICE_PROVENANCE_KEY" not in env
    mounts = {m["name"] for m in server_container(default_objects)["volumeMounts"]}
    assert "provenance" not in mounts


def test_a_signing_secret_is_mounted_read_only_and_named_to_the_server(render):
    objects = render({"provenance": {"existingSecret": "c2pa-signer", "requireConsent": True}})
    env = objects.env()
    assert env["EMOTIVOICE_PROVENANCE_CERT"] == "/etc/emotivoice/provenance/tls.crt"
    assert env["EMOTIVOICE_PROVENANCE_KEY"] == "/etc/emotivoice/provenance/tls.key"
    assert env["EMOTIVOICE_REQUIRE_CONSENT"] == "true"
    mount = next(m for m in server_container(objects)["volumeMounts"] if m["name"] == "provenance")
    assert mount["readOnly"] and mount["mountPath"] == "/etc/emotivoice/provenance"
    volumes = objects.only("Deployment")["spec"]["template"]["spec"]["volumes"]
    secret = next(v for v in volumes if v["name"] == "provenance")["secret"]
    assert secret["secretName"] == "c2pa-signer" and secret["defaultMode"] == 0o440
    assert {i["key"] for i in secret["items"]} == {"tls.crt", "tls.key"}


def test_marking_can_be_turned_off(render):
    env = render({"provenance": {"enabled": False, "existingSecret": "ignored"}}).env()
    assert env["EMOTIVOICE_PROVENANCE"] == "off" and "EMOTIVOICE_PROVENANCE_CERT" not in env
