"""Content Credentials (C2PA) for synthesized audio: sign, serve detached manifests, verify.

identity (certificate + key, or a generated development chain) -> claims (what a manifest says) ->
sealer (embedded in wav/flac/mp3, detached for everything else) -> store (detached manifests by id)
-> service (the server's glue); verify reads any of them back. See docs/provenance.md.
"""
from __future__ import annotations

from .claims import DIGITAL_SOURCE_TYPE, SYNTHESIS_LABEL, ModelFacts, SynthesisFacts, emotion_settings
from .identity import ProvenanceConfigError, SigningIdentity, check_identity, generate_chain, load_identity
from .sealer import EMBEDDED, MANIFEST_MEDIA_TYPE, ProvenanceError, Sealer
from .service import Provenance, ProvenanceConfig
from .store import ManifestStore
from .verify import Verdict, summary, verify_bytes, verify_file

__all__ = [
    "DIGITAL_SOURCE_TYPE", "EMBEDDED", "MANIFEST_MEDIA_TYPE", "SYNTHESIS_LABEL", "ManifestStore", "ModelFacts",
    "Provenance", "ProvenanceConfig", "ProvenanceConfigError", "ProvenanceError", "Sealer", "SigningIdentity",
    "SynthesisFacts", "Verdict", "check_identity", "emotion_settings", "generate_chain", "load_identity",
    "summary", "verify_bytes", "verify_file",
]
