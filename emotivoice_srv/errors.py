"""The one error tree of emotivoice-srv.

Every error carries a stable machine-readable ``code`` and the HTTP status the server answers with,
so the API layer translates them in a single place into ``{"error": {"code", "message"}}``::

    EmotivoiceError (500)
    ├── InvalidInput (422)          bad text, options out of range, malformed emotion specs
    │   ├── TextEmpty               nothing speakable left after normalization
    │   └── TextTooLong             over the configured character limit
    │   └── InvalidAudio            reference audio that cannot be a voice: unreadable, silent, noise,
    │                               too short or too long (``code`` says which)
    ├── UnknownVoice (404)          the voice is not in the bundle (message names the allowed ones)
    ├── VoiceConflict (409)         a voice name already taken, or a voice still being enrolled
    ├── UnknownEmotion (422)        the emotion is not one of the seven (message names them)
    ├── BundleError (500)           a model bundle is missing, incomplete or fails verification
    │   ├── BundleNotFound (404)    no stored bundle version matches the reference (bundle/store.py)
    │   ├── BundlePathForbidden (403)  a bundle path outside the allowed roots
    │   └── DeltaRejected (422)     a delta file that is truncated, corrupt, unsafe or builds wrong
    │       └── DeltaBaseMismatch (409)  a delta made for another base version (message names it)
    ├── SourceError (500)           an export source package is missing or corrupted
    └── (server only)
        ├── MalformedRequest (400)  the body is not JSON / not the declared content type
        ├── Unauthorized (401)      missing or wrong API key
        ├── NotFound (404)          no such route
        ├── BodyTooLarge (413)      the request body is over the configured limit
        ├── UnsupportedMediaType (415)  the body's Content-Type is not one the route reads
        ├── RenderTooLong (413)     a whole response would take longer than --max-render-seconds to render
        ├── BodyTimeout (408)       the request body did not arrive within --body-timeout
        ├── HeadersTooLarge (431)   the request's headers are over --max-header-bytes
        ├── InsufficientStorage (507) the disk under the cache directory is full
        ├── Overloaded (429)        workers and queue are full; carries ``retry_after`` seconds
        ├── Unavailable (503)       draining for shutdown (or not started)
        └── DeadlineExceeded (504)  the request's deadline passed before its audio was ready
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


class InvalidAudio(InvalidInput):
    code = "invalid_audio"


class VoiceConflict(EmotivoiceError):
    code = "voice_conflict"
    http_status = 409


class UnknownVoice(EmotivoiceError):
    code = "unknown_voice"
    http_status = 404


class UnknownEmotion(InvalidInput):
    code = "unknown_emotion"


class BundleError(EmotivoiceError):
    code = "bundle_error"


class BundleNotFound(BundleError):
    code = "bundle_not_found"
    http_status = 404


class BundlePathForbidden(BundleError):
    code = "bundle_path_forbidden"
    http_status = 403


class DeltaRejected(BundleError):
    """A bad delta; ``code`` says how: delta_truncated, delta_corrupt, delta_unsafe_path, delta_hash_mismatch."""

    code = "delta_invalid"
    http_status = 422


class DeltaBaseMismatch(DeltaRejected):
    code = "delta_base_mismatch"
    http_status = 409


class SourceError(EmotivoiceError):
    code = "source_error"


class MalformedRequest(EmotivoiceError):
    code = "invalid_json"
    http_status = 400


class Unauthorized(EmotivoiceError):
    code = "unauthorized"
    http_status = 401


class NotFound(EmotivoiceError):
    code = "not_found"
    http_status = 404


class BodyTooLarge(EmotivoiceError):
    code = "body_too_large"
    http_status = 413


class UnsupportedMediaType(EmotivoiceError):
    code = "unsupported_media_type"
    http_status = 415
class RenderTooLong(EmotivoiceError):
    code = "render_too_long"
    http_status = 413


class BodyTimeout(EmotivoiceError):
    code = "body_timeout"
    http_status = 408


class HeadersTooLarge(EmotivoiceError):
    code = "headers_too_large"
    http_status = 431


class InsufficientStorage(EmotivoiceError):
    code = "insufficient_storage"
    http_status = 507


def disk_full(exc: BaseException) -> bool:
    """Whether a storage error means the file system is out of space (or quota): ENOSPC/EDQUOT from a
    write, or SQLite's "database or disk is full" from the fit cache."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()


class _RetryLater(EmotivoiceError):
    """An error the client should retry; ``retry_after`` seconds go into the Retry-After header."""

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Overloaded(_RetryLater):
    code = "overloaded"
    http_status = 429


class Unavailable(_RetryLater):
    code = "unavailable"
    http_status = 503


class DeadlineExceeded(EmotivoiceError):
    code = "deadline_exceeded"
    http_status = 504
