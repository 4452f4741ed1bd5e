"""A test certificate authority (installed as the trust anchor where a test wants "trusted") and a
signing chain issued by it, made with the project's own generator."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def test_ca() -> tuple[bytes, bytes]:
    from emotivoice_srv.provenance.identity import generate_ca

    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    return generate_ca("emotivoice tests", start, start + dt.timedelta(days=30))


@pytest.fixture(scope="session")
def ca_signed(test_ca, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(chain.pem, key.pem, ca.pem) files: a signing certificate issued by the test CA."""
    from emotivoice_srv.provenance import generate_chain

    chain, key = generate_chain("emotivoice tests", "emotivoice test signer", valid_days=10, ca=test_ca)
    d = tmp_path_factory.mktemp("pki")
    (d / "chain.pem").write_bytes(chain)
    (d / "key.pem").write_bytes(key)
    (d / "ca.pem").write_bytes(test_ca[0])
    return d / "chain.pem", d / "key.pem", d / "ca.pem"
