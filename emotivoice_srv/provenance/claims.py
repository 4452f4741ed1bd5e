"""What a manifest says about one synthesized response (pure: facts in, C2PA manifest definition out).

The manifest states that the audio was created by this server with a trained model
(IPTC digital source type ``trainedAlgorithmicMedia``), which model bundle (name, version, hash prefix),
which kind of voice (built-in or cloned -- never the reference audio, never a cloned voice's id or
name), the emotion settings, the request id and the time. The details sit in one custom assertion,
``SYNTHESIS_LABEL``; ``emotivoice-srv verify`` reads them back.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

GENERATOR = "emotivoice-srv"
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
SYNTHESIS_LABEL = "org.emotivoice.synthesis"
"""The custom assertion with the synthesis details (reverse-domain label, as C2PA asks of custom ones)."""
VOICE_KINDS = ("built-in", "cloned")


@dataclass(frozen=True)
class ModelFacts:
    name: str
    version: str
    manifest_sha256_prefix: str
    """First 16 hex digits of the bundle's manifest.json sha256 (which names every weight file's hash)."""
    tier: str
    precision: str


@dataclass(frozen=True)
class SynthesisFacts:
    """Everything a response's manifest records; built on the event loop, signed on a worker."""

    model: ModelFacts
    voice_kind: str
    """'built-in' or 'cloned' (enrolled voices and inline references)."""
    voice_id: str | None
    """The id of a built-in voice; None for a cloned one (an id can name a person)."""
    emotion: Mapping[str, Any]
    request_id: str
    format: str
    sample_rate: int
    route: str
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"))
    consent_recorded: bool | None = None
    """For an enrolled voice: whether a consent statement was recorded at enrollment (None: built-in)."""

    def __post_init__(self) -> None:
        if self.voice_kind not in VOICE_KINDS:
            raise ValueError(f"voice_kind must be one of {VOICE_KINDS}, not {self.voice_kind!r}")


def emotion_settings(options: Any) -> dict[str, Any]:
    """The emotion controls of a request (SynthesisOptions) as plain JSON values, defaults left out."""
    out: dict[str, Any] = {}
    emotion = options.emotion
    if isinstance(emotion, Mapping):
        out["emotion_mix"] = {str(k): float(v) for k, v in emotion.items()}
    elif emotion:
        out["emotion"] = str(emotion)
    for key, default in (("intensity", None), ("prompt", None), ("speed", 1.0), ("pitch", 0.0), ("energy", 0.0)):
        value = getattr(options, key, default)
        if value is not None and value != default:
            out[key] = value
    return out


def manifest_definition(facts: SynthesisFacts, *, version: str, development: bool) -> dict[str, Any]:
    """The C2PA manifest definition (c2pa.Builder's JSON) for one response."""
    agent = {"name": GENERATOR, "version": version}
    synthesis = {
        "synthetic": True,
        "generator": agent,
        "model": asdict(facts.model),
        "voice": {"kind": facts.voice_kind, **({"id": facts.voice_id} if facts.voice_id else {}),
                  **({"consent_recorded": facts.consent_recorded} if facts.consent_recorded is not None else {})},
        "emotion": dict(facts.emotion),
        "request_id": facts.request_id,
        "created": facts.created,
        "route": facts.route,
        "audio": {"format": facts.format, "sample_rate": facts.sample_rate},
        "signer": "development" if development else "configured",
    }
    return {
        "claim_generator_info": [agent],
        "title": f"synthetic speech {facts.request_id}.{facts.format}",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE, "when": facts.created,
                "softwareAgent": agent,
                "description": "speech synthesized from text by a neural text-to-speech model",
            }]}},
            {"label": SYNTHESIS_LABEL, "data": synthesis},
        ],
    }
