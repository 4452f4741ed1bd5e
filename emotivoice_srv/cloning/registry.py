"""Enrolled voices on disk: one JSON file per voice, written atomically, read back at start-up.

A voice file appears only by ``os.replace`` of a fully written and fsynced temporary file, so a crash
mid-enrollment leaves either no voice or a whole one (stray temporaries are removed at start-up).
File names come from the validated voice id, never from anything the client uploaded.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InsufficientStorage, InvalidInput, disk_full
from ..voice_recipe import VoiceRecipe

log = logging.getLogger("emotivoice_srv.cloning")

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 500
MAX_CONSENT_CHARS = 2000
MAX_SUBJECT_CHARS = 200


def voice_id_for(name: str) -> str:
    """A stable id from a display name: 'Alice Müller' -> 'alice_muller'."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a voice needs a non-empty name", code="invalid_name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"voice names are at most {MAX_NAME_CHARS} characters", code="invalid_name")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:64]
    if not ID_PATTERN.match(slug or ""):
        raise InvalidInput(f"cannot make a voice id from the name {name!r}; use letters or digits",
                           code="invalid_name")
    return slug


def check_description(description: str | None) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"description must be text of at most {MAX_DESCRIPTION_CHARS} characters",
                           code="invalid_description")
    return description


@dataclass(frozen=True)
class Consent:
    """What the enroller stated about the person whose voice this is, and who/when."""

    statement: str
    subject: str
    enrolled_by: str
    recorded: str

    def to_dict(self) -> dict[str, str]:
        return {"statement": self.statement, "subject": self.subject, "enrolled_by": self.enrolled_by,
                "recorded": self.recorded}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Consent:
        return cls(str(raw.get("statement", "")), str(raw.get("subject", "")), str(raw.get("enrolled_by", "")),
                   str(raw.get("recorded", "")))


def check_consent(statement: str | None, subject: str | None, *, enrolled_by: str, required: bool) -> Consent:
    """The consent part of an enrollment; 422 ``consent_required`` when required and missing."""
    statement = (statement or "").strip()
    subject = (subject or "").strip()
    if required and not statement:
        raise InvalidInput("this server requires a consent statement to enroll a voice: send 'consent' (what the "
                           "person whose voice this is agreed to) and, optionally, 'subject'", code="consent_required")
    if len(statement) > MAX_CONSENT_CHARS:
        raise InvalidInput(f"consent must be at most {MAX_CONSENT_CHARS} characters", code="invalid_consent")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidInput(f"subject must be at most {MAX_SUBJECT_CHARS} characters", code="invalid_consent")
    return Consent(statement, subject, enrolled_by, now_iso())


@dataclass(frozen=True)
class EnrolledVoice:
    id: str
    name: str
    description: str
    created: str
    recipe: VoiceRecipe
    audio_sha256: str
    speech_s: float
    similarity: float
    fit_version: str
    consent: Consent | None = None
    """Consent statement, subject, who enrolled the voice and when (None: enrolled before consent existed)."""

    @property
    def consent_statement(self) -> str:
        return self.consent.statement if self.consent is not None else ""

    @property
    def gender(self) -> str:
        return self.recipe.gender

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description, "created": self.created,
                "gender": self.gender, "recipe": self.recipe.to_dict(), "audio_sha256": self.audio_sha256,
                "speech_s": self.speech_s, "similarity": self.similarity, "fit_version": self.fit_version,
                **({"consent": self.consent.to_dict()} if self.consent is not None else {})}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EnrolledVoice:
        voice_id = str(raw["id"])
        if not ID_PATTERN.match(voice_id):
            raise ValueError(f"bad voice id {voice_id!r}")
        return cls(voice_id, str(raw["name"]), str(raw.get("description", "")), str(raw["created"]),
                   VoiceRecipe.from_dict(voice_id, str(raw["gender"]), raw["recipe"]), str(raw["audio_sha256"]),
                   float(raw["speech_s"]), float(raw["similarity"]), str(raw["fit_version"]),
                   Consent.from_dict(raw["consent"]) if isinstance(raw.get("consent"), dict) else None)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class VoiceRegistry:
    """The enrolled voices under ``directory``; thread-safe for one process (the server's)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._voices: dict[str, EnrolledVoice] = {}
        for stray in self.directory.glob(".*.tmp"):
            stray.unlink(missing_ok=True)  # left by a crash before the rename: never a voice
        for path in sorted(self.directory.glob("*.json")):
            try:
                voice = EnrolledVoice.from_dict(json.loads(path.read_text(encoding="utf-8")))
                if path.stem != voice.id:
                    raise ValueError("file name and id differ")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable voice file", extra={"path": str(path), "error": repr(exc)})
                continue
            self._voices[voice.id] = voice

    def __iter__(self):
        return iter(sorted(self._voices.values(), key=lambda v: v.id))

    def __contains__(self, voice_id: object) -> bool:
        return voice_id in self._voices

    def get(self, voice_id: str) -> EnrolledVoice | None:
        return self._voices.get(voice_id)

    def save(self, voice: EnrolledVoice) -> None:
        data = json.dumps(voice.to_dict(), indent=2, ensure_ascii=False).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{voice.id}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / f"{voice.id}.json")
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if disk_full(exc):
                raise InsufficientStorage(f"the voice {voice.id!r} cannot be saved: the file system under "
                                          f"{self.directory} is full; free space or grow the volume (synthesis "
                                          "with existing voices keeps working)") from exc
            raise
        self._voices[voice.id] = voice

    def delete(self, voice_id: str) -> bool:
        """Forget the voice: its record (recipe, consent, who enrolled it) is removed from disk. This is how a
        removal request is honoured (the fit cache keeps only numbers keyed by an audio hash, no name)."""
        voice = self._voices.pop(voice_id, None)
        (self.directory / f"{voice_id}.json").unlink(missing_ok=True)
        return voice is not None
