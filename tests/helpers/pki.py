"""A test certificate authority and a signing chain issued by it, made with the project's own generator
(tests install the CA as their trust anchor where they want "trusted")."""
from __future__ import annotations

import datetime as dt
from pathlib import Path


def make_ca() -> tuple[bytes, bytes]:
    from emotivoice_srv.provenance.identity import generate_ca

    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    return generate_ca("emotivoice tests", start, start + dt.timedelta(days=30))


def write_pki(directory: Path, ca: tuple[bytes, bytes] | None = None) -> tuple[Path, Path, Path]:
    """(chain.pem, key.pem, ca.pem) under ``directory``: a signing certificate issued by ``ca`` (new if None)."""
    from emotivoice_srv.provenance import generate_chain

    ca = ca or make_ca()
    chain, key = generate_chain("emotivoice tests", "emotivoice test signer", valid_days=10, ca=ca)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chain.pem").write_bytes(chain)
    (directory / "key.pem").write_bytes(key)
    (directory / "ca.pem").write_bytes(ca[0])
    return directory / "chain.pem", directory / "key.pem", directory / "ca.pem"
