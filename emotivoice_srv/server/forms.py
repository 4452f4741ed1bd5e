"""The multipart forms, declared once (server/fields.py): enrollment, inline cloning on /v1/tts and
verification. Text parts are validated by the same tables that write their schema; file parts are
named with the media types the server reads (any part Content-Type is accepted: browsers and curl
label files loosely, and the bytes are decoded by content)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cloning.registry import MAX_CONSENT_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_SUBJECT_CHARS
from ..errors import InvalidInput, MalformedRequest
from .fields import Field, object_schema, validate

REFERENCE_MEDIA_TYPES = ("audio/wav", "audio/flac", "audio/ogg", "audio/mpeg", "application/octet-stream")
"""How a reference-audio part may be labelled (WAV, FLAC, OGG/Vorbis or MP3 inside)."""
TEXT_PART = "text/plain"
"""The media type of a text part (OpenAPI's default for a string part, stated for the required ones)."""
VERIFY_MEDIA_TYPES = ("audio/wav", "audio/flac", "audio/mpeg", "audio/mp4", "audio/ogg", "application/octet-stream")


def consent_fields(require_consent: bool) -> tuple[Field, ...]:
    return (
        Field("consent", "string", "Consent statement of the person whose voice this is"
              + (" (required on this server)." if require_consent else " (required with --require-consent)."),
              required=require_consent, max_length=MAX_CONSENT_CHARS, length_code="invalid_consent",
              pattern="[A-Za-z0-9]" if require_consent else None,
              pattern_hint="a consent statement needs words", code="consent_required",
              missing_code="consent_required"),
        Field("subject", "string", "Who the voice belongs to (free text).", max_length=MAX_SUBJECT_CHARS,
              length_code="invalid_consent"),
    )


def enroll_fields(require_consent: bool) -> tuple[Field, ...]:
    return (
        Field("name", "string", "Display name; the voice id is derived from it ('Alice Müller' -> alice_muller).",
              required=True, max_length=MAX_NAME_CHARS, pattern="[A-Za-z0-9]",
              pattern_hint="a voice name needs a letter A-Z or a digit (the id is made of them)", code="invalid_name",
              missing_code="invalid_name", length_code="invalid_name"),
        Field("description", "string", "Free text shown in the voice list.", max_length=MAX_DESCRIPTION_CHARS,
              length_code="invalid_description"),
        *consent_fields(require_consent),
    )


def check_form(texts: Mapping[str, str], files: Mapping[str, bytes], fields: tuple[Field, ...],
               file_parts: Mapping[str, bool], *, texts_checked_elsewhere: bool = False) -> dict[str, Any]:
    """Validate a form's text parts with ``fields`` and its file parts by name (``file_parts``: name ->
    required); unknown parts of either kind are an error. ``texts_checked_elsewhere``: only the file
    parts here (inline cloning's text parts are a synthesis body, validated as one)."""
    stray = sorted(set(files) - set(file_parts)) + sorted(set(texts) & set(file_parts))
    if stray:
        raise InvalidInput(f"unknown part(s) {', '.join(map(repr, stray))}: the file parts are "
                           f"{', '.join(file_parts)}; the text fields {', '.join(f.name for f in fields) or 'none'}",
                           code="invalid_request")
    for name, required in file_parts.items():
        if required and name not in files:
            raise MalformedRequest(f"the form needs a {name!r} file part", code="missing_file")
    return {} if texts_checked_elsewhere else validate(dict(texts), fields)


def form_schema(fields: tuple[Field, ...], files: Mapping[str, tuple[str, bool]], media_types: tuple[str, ...],
                *, decoded: bool = True) -> dict:
    """The multipart/form-data media type object: text parts from ``fields`` (plain text, never null),
    file parts (name -> (description, required)) with their accepted media types. ``decoded``: the
    server decodes the bytes as audio (``format: binary``: not every byte string is accepted); else
    any bytes are (``contentMediaType`` only)."""
    schema = object_schema(fields)
    schema["properties"] = {f.name: form_text_schema(f) for f in fields}
    for name, (description, required) in files.items():
        kind = {"format": "binary"} if decoded else {"contentMediaType": "application/octet-stream"}
        schema["properties"][name] = {"type": "string", **kind, "description": description}
        if required:
            schema["required"].append(name)
    encoding = {f.name: {"contentType": TEXT_PART} for f in fields if f.required}
    encoding.update((name, {"contentType": ", ".join(media_types)}) for name in files)
    return {"schema": schema, "encoding": encoding}


def form_text_schema(f: Field) -> dict:
    """A form part is text: present or not, never null."""
    out = f.schema()
    if isinstance(out["type"], list):
        out["type"] = f.type
    if "enum" in out:
        out["enum"] = [v for v in out["enum"] if v is not None]
    return out
