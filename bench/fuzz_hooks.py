"""Schemathesis hooks for emotivoice-srv (loaded with ``SCHEMATHESIS_HOOKS=bench.fuzz_hooks``).

A schema can say that a part is WAV, FLAC, OGG or MP3 audio but not that it holds 3-30 s of one
person's speech, so the fuzzer's positive cases get real speech for the reference-audio media types:
the clips named (one path per line) in the file ``FUZZ_REFERENCE_LIST`` points at. Every other part
and field is generated from the schema alone.
"""
from __future__ import annotations

import os
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

from emotivoice_srv.server.forms import REFERENCE_MEDIA_TYPES, TEXT_PART

# Schemathesis 4.32.5 builds one multipart case from the registered media types and fills every other
# required part with "" (ignoring minLength/pattern), so the required text parts (a voice name, the
# text of an inline-clone request) get values of their own: printable text holding a letter or digit.
schemathesis.openapi.media_type(TEXT_PART, st.from_regex(r"\A[ -~]{0,20}[A-Za-z0-9][ -~]{0,20}\Z").map(str.encode))

_listing = os.environ.get("FUZZ_REFERENCE_LIST")
if _listing:
    _clips = [Path(line).read_bytes() for line in Path(_listing).read_text().split("\n") if line.strip()]
    for _media_type in REFERENCE_MEDIA_TYPES:
        schemathesis.openapi.media_type(_media_type, st.sampled_from(_clips))
