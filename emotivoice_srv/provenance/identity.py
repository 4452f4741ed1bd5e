"""The signing identity: a certificate chain + private key, checked once at start.

Either the operator's files (``--provenance-cert`` / ``--provenance-key``) or a development identity
generated once into ``<cache-dir>/provenance/`` (a two-level EC P-256 chain: a local CA and a signing
certificate). C2PA validators reject a self-signed end-entity certificate, hence the small CA; the
development CA is trusted by nobody, so its files read back as "untrusted", which is the point.

Every problem (unreadable file, key not matching the certificate, expired or not yet valid, a key type
C2PA cannot sign with) raises ``ProvenanceConfigError`` naming the setting, before the port opens.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput

log = logging.getLogger("emotivoice_srv.provenance")

CERT_SETTING = "--provenance-cert (EMOTIVOICE_PROVENANCE_CERT)"
KEY_SETTING = "--provenance-key (EMOTIVOICE_PROVENANCE_KEY)"
DEV_ORGANIZATION = "emotivoice-srv development certificate (not trusted)"
"""The organization of the development certificates: validators show it as the signer."""
DEV_VALID_DAYS = 3650
DEV_DIR = "provenance/development"


class ProvenanceConfigError(InvalidInput):
    """The signing identity cannot be used; the message names the setting to fix."""

    code = "provenance_config"


@dataclass(frozen=True)
class SigningIdentity:
    chain_pem: bytes
    """End-entity certificate first, then its issuers (PEM)."""
    key_pem: bytes
    alg: str
    """C2PA signing algorithm: es256/es384/es512, ps256, ed25519."""
    subject: str
    issuer: str
    not_after: dt.datetime
    development: bool
    """A generated development identity (its manifests say so)."""
    source: str
    """Where it came from (file paths), for the startup log."""


def _x509():
    from cryptography import x509

    return x509


def _alg_for(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in algs:
            return algs[key.curve.name]
        raise ProvenanceConfigError(f"{KEY_SETTING}: EC curve {key.curve.name} cannot sign C2PA manifests "
                                    "(use P-256, P-384 or P-521)")
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ProvenanceConfigError(f"{KEY_SETTING}: unsupported key type {type(key).__name__} "
                                "(use EC P-256/384/521, RSA or Ed25519)")


def _read(path: Path, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ProvenanceConfigError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None


def _public_der(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_identity(chain_pem: bytes, key_pem: bytes, *, development: bool, source: str,
                   now: dt.datetime | None = None) -> SigningIdentity:
    """Parse and check a chain + key; raises ProvenanceConfigError naming the setting at fault."""
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization

    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise ProvenanceConfigError(f"{CERT_SETTING}: not a PEM certificate chain ({exc})") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ProvenanceConfigError(f"{KEY_SETTING}: not an unencrypted PEM private key ({exc})") from None
    leaf = certs[0]
    if _public_der(leaf.public_key()) != _public_der(key.public_key()):
        raise ProvenanceConfigError(f"{KEY_SETTING} does not match the certificate in {CERT_SETTING} "
                                    f"({leaf.subject.rfc4514_string()})")
    now = now or dt.datetime.now(dt.timezone.utc)
    for cert in certs:
        if cert.not_valid_after_utc <= now:
            raise ProvenanceConfigError(f"{CERT_SETTING}: certificate {cert.subject.rfc4514_string()} expired on "
                                        f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
        if cert.not_valid_before_utc > now:
            raise ProvenanceConfigError(f"{CERT_SETTING}: certificate {cert.subject.rfc4514_string()} is not valid "
                                        f"before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    return SigningIdentity(chain_pem=chain_pem, key_pem=key_pem, alg=_alg_for(key),
                           subject=leaf.subject.rfc4514_string(), issuer=leaf.issuer.rfc4514_string(),
                           not_after=leaf.not_valid_after_utc, development=development, source=source)


def load_identity(cert: Path | None, key: Path | None, cache_dir: Path) -> SigningIdentity:
    """The operator's identity when both files are given, else the development one (made on first use)."""
    if (cert is None) != (key is None):
        missing = KEY_SETTING if key is None else CERT_SETTING
        raise ProvenanceConfigError(f"{missing} is required when the other of --provenance-cert/--provenance-key "
                                    "is given")
    if cert is not None and key is not None:
        return check_identity(_read(cert, CERT_SETTING), _read(key, KEY_SETTING), development=False,
                              source=f"{cert} + {key}")
    return development_identity(Path(cache_dir) / DEV_DIR)


def development_identity(directory: Path) -> SigningIdentity:
    """The development chain under ``directory``, generated once. The pair is written into a fresh
    folder that is renamed into place, so replicas sharing a cache volume never mix one's key with
    another's certificate: the first rename wins and the others read its pair."""
    chain_path, key_path = directory / "dev-chain.pem", directory / "dev-key.pem"
    if not (chain_path.is_file() and key_path.is_file()):
        chain_pem, key_pem = generate_chain(DEV_ORGANIZATION, "emotivoice-srv development signer")
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".dev-", dir=directory.parent))
        _write(staging / key_path.name, key_pem, 0o600)
        _write(staging / chain_path.name, chain_pem, 0o644)
        try:
            os.rename(staging, directory)
            log.info("generated a development signing certificate", extra={"path": str(chain_path)})
        except OSError:  # another process won the race (or a partial folder is there): use what is there
            shutil.rmtree(staging, ignore_errors=True)
    setting = f"the development certificate in {directory} (delete the folder to regenerate it)"
    try:
        return check_identity(_read(chain_path, setting), _read(key_path, setting), development=True,
                              source=str(chain_path))
    except ProvenanceConfigError as exc:
        raise ProvenanceConfigError(f"{setting}: {exc.message}") from None


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def generate_chain(organization: str, common_name: str, *, valid_days: int = DEV_VALID_DAYS,
                   ca: tuple[bytes, bytes] | None = None,
                   not_before: dt.datetime | None = None) -> tuple[bytes, bytes]:
    """(chain PEM = signing cert + CA cert, signing key PEM): EC P-256, the extensions C2PA validators
    require of a signing certificate (digitalSignature, emailProtection EKU, key identifiers).
    ``ca`` = (CA cert PEM, CA key PEM) signs with an existing CA (tests install it as a trust anchor)."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    start = not_before or (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
    end = start + dt.timedelta(days=valid_days)
    if ca is None:
        ca_cert_pem, ca_key_pem = generate_ca(organization, start, end)
    else:
        ca_cert_pem, ca_key_pem = ca
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(min(end, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signer=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert_pem
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return chain, key_pem


def _key_usage(*, signer: bool):
    """digitalSignature for a signing certificate; keyCertSign + cRLSign for a CA."""
    x509 = _x509()
    return x509.KeyUsage(digital_signature=signer, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signer, crl_sign=not signer,
                         encipher_only=False, decipher_only=False)


def generate_ca(organization: str, start: dt.datetime, end: dt.datetime) -> tuple[bytes, bytes]:
    """(CA cert PEM, CA key PEM): a self-signed EC P-256 CA allowed to sign end-entity certificates."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signer=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
