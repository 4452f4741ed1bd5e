"""The one error tree of emotivoice-srv.

Every error carries a stable machine-readable ``code`` and the HTTP status the server answers with,
so the API layer translates them in a single place into ``{"error": {"code", "message"}}``::

    EmotivoiceError (500)
    ├── InvalidInput (422)          bad text, options out of range, malformed emotion specs
    │   ├── TextEmpty               nothing speakable left after normalization
    │   └── TextTooLong             over the configured character limit
    ├── UnknownVoice (404)          the voice is not in the bundle (message names the allowed ones)
    ├── UnknownEmotion (422)        the emotion is not one of the seven (message names them)
    ├── BundleError (500)           a model bundle is missing, incomplete or fails verification
    └── SourceError (500)           an export source package is missing or corrupted
"""
from __future__ import annotations


class EmotivoiceError(Exception):
    """Base class: ``code`` names the failure, ``http_status`` is what an API answers."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInput(EmotivoiceError):
    code = "invalid_input"
    http_status = 422


class TextEmpty(InvalidInput):
    code = "text_empty"


class TextTooLong(InvalidInput):
    code = "text_too_long"
    http_status = 413


class UnknownVoice(EmotivoiceError):
    code = "unknown_voice"
    http_status = 404


class UnknownEmotion(InvalidInput):
    code = "unknown_emotion"


class BundleError(EmotivoiceError):
    code = "bundle_error"


class SourceError(EmotivoiceError):
    code = "source_error"
