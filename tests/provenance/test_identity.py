"""The signing identity: a development chain made once and reused; an operator's files checked at start,
every problem named by its setting."""
from __future__ import annotations

import datetime as dt
import stat

import pytest

from emotivoice_srv.provenance import ProvenanceConfigError, check_identity, generate_chain, load_identity
from emotivoice_srv.provenance.identity import CERT_SETTING, KEY_SETTING, DEV_ORGANIZATION


def test_development_identity_is_generated_once_and_reused(tmp_path):
    first = load_identity(None, None, tmp_path)
    second = load_identity(None, None, tmp_path)
    assert first.development and second.development
    assert first.chain_pem == second.chain_pem and first.key_pem == second.key_pem
    assert DEV_ORGANIZATION in first.issuer and first.alg == "es256"
    key_file = tmp_path / "provenance" / "development" / "dev-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_configured_identity_is_not_development(ca_signed):
    chain, key, _ = ca_signed
    identity = load_identity(chain, key, chain.parent)
    assert not identity.development and "emotivoice test signer" in identity.subject


def test_unreadable_certificate_names_the_setting(tmp_path, ca_signed):
    _, key, _ = ca_signed
    with pytest.raises(ProvenanceConfigError, match="--provenance-cert") as err:
        load_identity(tmp_path / "missing.pem", key, tmp_path)
    assert "missing.pem" in err.value.message


def test_a_key_that_does_not_match_the_certificate_is_refused(ca_signed, test_ca):
    chain, _, _ = ca_signed
    _, other_key = generate_chain("x", "y", ca=test_ca)
    with pytest.raises(ProvenanceConfigError, match="does not match") as err:
        check_identity(chain.read_bytes(), other_key, development=False, source="t")
    assert KEY_SETTING in err.value.message and CERT_SETTING in err.value.message


def test_an_expired_certificate_is_refused(test_ca):
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    chain, key = generate_chain("x", "old signer", valid_days=1, ca=test_ca, not_before=start)
    with pytest.raises(ProvenanceConfigError, match="expired") as err:
        check_identity(chain, key, development=False, source="t")
    assert CERT_SETTING in err.value.message


def test_garbage_and_half_configurations_are_refused(tmp_path, ca_signed):
    chain, key, _ = ca_signed
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ProvenanceConfigError, match="--provenance-cert"):
        load_identity(junk, key, tmp_path)
    with pytest.raises(ProvenanceConfigError, match="--provenance-key"):
        load_identity(chain, junk, tmp_path)
    with pytest.raises(ProvenanceConfigError, match="--provenance-key"):
        load_identity(chain, None, tmp_path)


def test_processes_sharing_a_cache_agree_on_one_development_pair(tmp_path):
    """Replicas on one volume race to create the pair; every one of them ends up with the same, matching one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        identities = list(pool.map(lambda _: load_identity(None, None, tmp_path), range(8)))
    assert len({i.chain_pem for i in identities}) == 1
    assert not list((tmp_path / "provenance").glob(".dev-*"))


def test_a_certificate_c2pa_refuses_fails_at_start_naming_the_setting(tmp_path):
    """A self-signed signing certificate passes the file checks, but C2PA will not sign with it: the start-up
    probe signature turns that into a configuration error, not a failed first request."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from emotivoice_srv.provenance import Provenance, ProvenanceConfig

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    config = ProvenanceConfig(cert=tmp_path / "c.pem", key=tmp_path / "k.pem")
    with pytest.raises(ProvenanceConfigError, match="--provenance-cert") as err:
        Provenance.start(config, tmp_path, "0")
    assert "refuses" in err.value.message
