"""Reading Content Credentials back: who made a file, when, with which model, and can it be believed.

States: ``trusted`` (valid, signed by a certificate that chains to a given trust anchor), ``untrusted``
(valid and unaltered, but the signer is not in the trust list -- every development certificate),
``tampered`` (a hash or signature does not match: the bytes changed after signing), ``unsigned``
(no manifest found).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .claims import DIGITAL_SOURCE_TYPE, SYNTHESIS_LABEL
from .sealer import DETACHED_FORMAT

UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})
"""Failures that say only "the signer is not in the trust list"; every other failure means tampering."""
MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class Verdict:
    state: str
    """trusted | untrusted | tampered | unsigned"""
    failures: tuple[str, ...] = ()
    generator: str | None = None
    signer: str | None = None
    issuer: str | None = None
    synthetic: bool = False
    """The manifest says trainedAlgorithmicMedia."""
    synthesis: dict[str, Any] = field(default_factory=dict)
    """Our custom assertion (model, voice kind, emotion, request id, time), when present."""

    @property
    def valid(self) -> bool:
        return self.state in ("trusted", "untrusted")

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "failures": list(self.failures), "generator": self.generator,
                "signer": self.signer, "issuer": self.issuer, "synthetic": self.synthetic,
                "synthesis": self.synthesis}


def _context(trust_anchors: bytes | None):
    import c2pa

    if trust_anchors is None:
        return None
    return c2pa.Context.from_dict({"verify": {"verify_trust": True},
                                   "trust": {"trust_anchors": trust_anchors.decode()}})


def verify_bytes(data: bytes, media_type: str | None = None, *, manifest: bytes | None = None,
                 trust_anchors: bytes | None = None) -> Verdict:
    """Validate ``data`` (with its embedded manifest, or the detached ``manifest`` bound to it)."""
    import c2pa

    fmt = DETACHED_FORMAT if manifest is not None else media_type  # None: the container is detected
    try:
        reader = c2pa.Reader(fmt, io.BytesIO(data), manifest, context=_context(trust_anchors))
    except c2pa.C2paError as exc:
        kind = type(exc).__name__
        if "ManifestNotFound" in kind or "NotSupported" in kind:  # nothing to check, not a broken signature
            reason = str(exc) if manifest is not None or "NotSupported" not in kind else (
                "no container with an embedded manifest (pcm, ogg and opus bodies and streams have a detached "
                "one: fetch the response's Link URL)")
            return Verdict("unsigned", failures=(reason,))
        return Verdict("tampered", failures=(f"{kind}: {exc}",))
    with reader:
        state = reader.get_validation_state() or ""
        results = reader.get_validation_results() or {}
        active = reader.get_active_manifest() or {}
    failures = tuple(f["code"] for f in results.get("activeManifest", {}).get("failure", []))
    if state == "Trusted":
        verdict = "trusted"
    elif state in ("Valid", "Invalid") and set(failures) <= UNTRUSTED_CODES:
        verdict = "untrusted"
    else:
        verdict = "tampered"
    return _describe(verdict, failures, active)


def _describe(state: str, failures: tuple[str, ...], active: dict[str, Any]) -> Verdict:
    synthesis: dict[str, Any] = {}
    synthetic = False
    for assertion in active.get("assertions", []):
        label = assertion.get("label", "")
        if label == SYNTHESIS_LABEL:
            synthesis = assertion.get("data", {})
        elif label.startswith("c2pa.actions"):
            synthetic |= any(a.get("digitalSourceType") == DIGITAL_SOURCE_TYPE
                             for a in assertion.get("data", {}).get("actions", []))
    generators = active.get("claim_generator_info") or [{}]
    gen = generators[0]
    info = active.get("signature_info") or {}
    return Verdict(state, failures, generator=" ".join(filter(None, (gen.get("name"), gen.get("version")))) or None,
                   signer=info.get("common_name"), issuer=info.get("issuer"), synthetic=synthetic,
                   synthesis=synthesis)


def verify_file(path: Path, *, manifest: Path | None = None, trust_anchors: Path | None = None) -> Verdict:
    """A file on disk; its format from the extension (wav/flac/mp3 embedded, anything with ``manifest``)."""
    data = Path(path).read_bytes()
    media_type = MEDIA_TYPES.get(Path(path).suffix.lower().lstrip("."))
    return verify_bytes(data, media_type, manifest=Path(manifest).read_bytes() if manifest else None,
                        trust_anchors=Path(trust_anchors).read_bytes() if trust_anchors else None)


def summary(verdict: Verdict) -> str:
    """Human-readable lines for the CLI."""
    if verdict.state == "unsigned":
        return "no Content Credentials found (state: unsigned)"
    syn = verdict.synthesis
    model = syn.get("model", {})
    voice = syn.get("voice", {})
    lines = [
        f"state: {verdict.state}" + (f" ({', '.join(verdict.failures)})" if verdict.failures else ""),
        f"made by: {verdict.generator or 'unknown'}; signed by {verdict.signer or '?'} (issuer {verdict.issuer or '?'})"
        + ("; development certificate" if syn.get("signer") == "development" else ""),
        f"synthetic (trainedAlgorithmicMedia): {'yes' if verdict.synthetic else 'no'}",
    ]
    if syn:
        lines += [
            f"created: {syn.get('created', '?')}; request id: {syn.get('request_id', '?')}",
            f"model: {model.get('name', '?')} {model.get('version', '')} (manifest sha256 "
            f"{model.get('manifest_sha256_prefix', '?')}, tier {model.get('tier', '?')})",
            f"voice: {voice.get('kind', '?')}" + (f" ({voice['id']})" if voice.get("id") else ""),
            f"emotion: {json.dumps(syn.get('emotion', {}))}",
        ]
    return "\n".join(lines)
