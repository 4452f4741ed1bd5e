"""Signing: a C2PA manifest embedded in a file, or a detached one bound to a body's exact bytes.

wav, flac and mp3 carry the manifest inside the file (c2pa's format handlers add a chunk / metadata
block; the audio samples are untouched). Everything else -- raw pcm, ogg/opus, and any stream, whose
bytes are sent before the last ones exist -- gets a detached manifest whose data hash covers the whole
body, served by reference (``Link: <url>; rel="c2pa-manifest"``). Both run on worker threads; the
c2pa library is imported when the first sealer is made (start-up), never on the event loop.
"""
from __future__ import annotations

import io
import json
from typing import Any

from ..errors import EmotivoiceError
from .claims import SynthesisFacts, manifest_definition
from .identity import SigningIdentity

EMBEDDED = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg"}
"""Response formats whose files carry their manifest (C2PA format handlers exist for them)."""
DETACHED_FORMAT = "application/octet-stream"
"""Detached manifests hash the body as plain bytes (no container parsing: valid for any format)."""
MANIFEST_MEDIA_TYPE = "application/c2pa"


class ProvenanceError(EmotivoiceError):
    """Signing failed at run time; the response must not go out unmarked (500)."""

    code = "provenance_failed"


class Sealer:
    """Signs manifests with one identity (thread-safe: each call makes its own c2pa objects)."""

    def __init__(self, identity: SigningIdentity, version: str) -> None:
        import c2pa

        self._c2pa = c2pa
        self.identity = identity
        self.version = version
        self._info = c2pa.C2paSignerInfo(identity.alg.encode(), identity.chain_pem, identity.key_pem, None)

    def definition(self, facts: SynthesisFacts) -> dict[str, Any]:
        return manifest_definition(facts, version=self.version, development=self.identity.development)

    def _sign(self, facts: SynthesisFacts, body: bytes, media_type: str, *, embed: bool) -> tuple[bytes, bytes]:
        c2pa = self._c2pa
        try:
            builder = c2pa.Builder(json.dumps(self.definition(facts)))
            if not embed:
                builder.set_no_embed()
            out = io.BytesIO()
            manifest = builder.sign(c2pa.Signer.from_info(self._info), media_type, io.BytesIO(body), out)
        except Exception as exc:  # c2pa.C2paError and ctypes-level failures alike
            raise ProvenanceError(f"signing the {facts.format} response failed: {exc}") from exc
        return out.getvalue(), manifest

    def embed(self, body: bytes, facts: SynthesisFacts) -> bytes:
        """The file with its manifest inside (``facts.format`` must be in EMBEDDED)."""
        signed, _ = self._sign(facts, body, EMBEDDED[facts.format], embed=True)
        return signed

    def detached(self, body: bytes, facts: SynthesisFacts) -> bytes:
        """A manifest store (``application/c2pa``) whose hard binding is the hash of all of ``body``."""
        _, manifest = self._sign(facts, body, DETACHED_FORMAT, embed=False)
        if not manifest:
            raise ProvenanceError("the c2pa library returned no manifest bytes")
        return manifest

    def probe(self) -> None:
        """Sign a tiny body once (start-up): the library accepts this identity or we fail before serving."""
        from .claims import ModelFacts

        facts = SynthesisFacts(ModelFacts("probe", "0", "0" * 16, "main", "int8"), "built-in", "probe", {},
                               "startup-probe", "pcm", 24000, "probe")
        self.detached(b"\x00" * 64, facts)
