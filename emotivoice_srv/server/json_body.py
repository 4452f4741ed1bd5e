"""Request bodies -> JSON values, strictly: every malformed body is a 400/415 that says what is wrong.

RFC 8259 JSON in UTF-8 only: no byte-order marks or UTF-16, no duplicate keys (which one would win is
undefined), no unpaired surrogates (they are not characters, and no response could echo them), and at
most ``MAX_DEPTH`` levels of nesting (a 100,000-level body must not reach the parser's recursion
limit). NaN and Infinity, which Python's parser accepts, are left to field validation, which refuses
them naming the field and its range.
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import MalformedRequest, UnsupportedMediaType

MAX_DEPTH = 32
"""Default deepest nesting accepted (--max-json-depth; no request field nests more than 2 levels)."""
JSON_MEDIA_TYPES = ("application/json",)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedRequest(f"the request body repeats the key {key!r}; give each field once")
        out[key] = value
    return out


def _check_tree(value: Any, what: str, max_depth: int) -> None:
    """Depth and text checks, iteratively (the value may be as deep as the parser allowed)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise MalformedRequest(f"{what} holds an unpaired surrogate ({node[exc.start]!r} at position "
                                       f"{exc.start} of a string); send Unicode characters only") from None
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            raise MalformedRequest(f"{what} is nested more than {max_depth} levels deep (--max-json-depth)")
        items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        stack.extend((item, depth + 1) for item in items)


def loads(body: bytes, what: str = "the request body", max_depth: int = MAX_DEPTH) -> Any:
    """Bytes -> a JSON value, or MalformedRequest (400, ``invalid_json``) saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"{what} is not UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}); "
                               "JSON must be sent as UTF-8") from None
    if text.startswith("\ufeff"):
        raise MalformedRequest(f"{what} starts with a byte-order mark; send UTF-8 JSON without one")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedRequest(f"{what} is nested more than {max_depth} levels deep (--max-json-depth)") from None
    _check_tree(value, what, max_depth)
    return value


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def require_json(content_type: str | None, *, also: tuple[str, ...] = ()) -> None:
    """415 ``unsupported_media_type`` unless the body is declared JSON (or one of ``also``). A missing
    Content-Type is taken as JSON, as simple clients omit it."""
    if content_type is None:
        return
    kind = media_type(content_type)
    if kind in JSON_MEDIA_TYPES or kind.endswith("+json") or kind in also:
        return
    accepted = " or ".join((*JSON_MEDIA_TYPES, *also))
    raise UnsupportedMediaType(f"Content-Type {kind or content_type!r} is not accepted here; send {accepted} "
                               "(e.g. -H 'Content-Type: application/json')")
