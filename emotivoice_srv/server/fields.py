"""Declared request fields: one table both validates a body and writes its JSON Schema.

A ``Field`` states a JSON type and every constraint the server enforces on it (enum, range, length,
pattern, allowed keys of a mix); a ``Rule`` states a constraint between fields (two that exclude each
other, or a value that narrows another field's choices). ``validate`` checks exactly these and
``object_schema`` writes exactly these, so the published schema and the server cannot disagree.

``null`` counts as absent for every optional field (OpenAI clients send it), and the schema says so.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput

_JSON_TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,), "object": (dict,)}
_ARTICLE = {"integer": "an integer", "object": "an object"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    """JSON type: string, number, integer, boolean, object (a mix of ``keys`` -> number)."""
    description: str
    required: bool = False
    default: Any = None
    enum: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    """object fields: the bounds apply to each value of the mix."""
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    """A regular expression the value must contain a match of (JSON Schema ``pattern``: unanchored)."""
    pattern_hint: str = ""
    """What the pattern means, in words, for the error message."""
    keys: tuple[str, ...] | None = None
    """object fields: the allowed keys."""
    min_keys: int | None = None
    code: str = "invalid_request"
    """Error code when the value is outside ``enum`` / ``pattern`` / ``keys``."""
    range_code: str = "invalid_request"
    """Error code when a number is outside its range."""
    missing_code: str = "invalid_request"
    """Error code when a required field is absent."""
    length_code: str = "invalid_request"
    """Error code when a string is outside its length bounds (``too_long`` overrides it above)."""
    unit: str = ""
    too_long: Callable[[str], Exception] | None = None
    """The error for a string over ``max_length`` (default: 422 invalid_request)."""

    def schema(self) -> dict:
        kind: Any = self.type if self.required else [self.type, "null"]
        out: dict[str, Any] = {"type": kind, "description": self.description}
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        if self.type == "object":
            out["additionalProperties"] = {"type": "number", **{k: v for k, v in bounds.items() if v is not None}}
            if self.keys is not None:
                out["propertyNames"] = {"enum": list(self.keys)}
            if self.min_keys is not None:
                out["minProperties"] = self.min_keys
        else:
            out.update((k, v) for k, v in bounds.items() if v is not None)
        for key, value in (("default", self.default), ("minLength", self.min_length),
                           ("maxLength", self.max_length), ("pattern", self.pattern)):
            if value is not None:
                out[key] = value
        if self.enum is not None:
            out["enum"] = list(self.enum) if self.required else [*self.enum, None]
        return out

    def expects(self) -> str:
        """The accepted values in words, for error messages."""
        what = _ARTICLE.get(self.type, f"a {self.type}")
        if self.type == "number":
            what = "a finite number"
        if self.enum is not None:
            return f"one of {', '.join(map(str, self.enum))}"
        lo = self.minimum
        if self.type == "object":
            keys = f" of {'/'.join(self.keys)}" if self.keys else ""
            return f"an object mapping names{keys} to numbers{_range_words(self)}"
        if lo is not None and self.maximum is not None:
            return f"{what} in [{lo}, {self.maximum}]{self.unit}"
        if lo is not None:
            return f"{what} >= {lo}{self.unit}"
        if self.type == "string" and self.max_length is not None:
            return f"{what} of {self.min_length or 0}-{self.max_length} characters"
        return what


def _range_words(f: Field) -> str:
    if f.minimum is not None:
        return f" >= {f.minimum}" + (f" and <= {f.maximum}" if f.maximum is not None else "")
    return ""


@dataclass(frozen=True)
class Rule:
    """A constraint between two fields. Without ``values``: ``field`` and ``other`` exclude each other.
    With ``values``: when ``field`` is one of ``when`` (or matches ``when_pattern``), ``other`` must be
    one of ``values`` (or absent: its default must then be one of them)."""

    field: str
    other: str
    message: str
    code: str = "invalid_request"
    when: tuple | None = None
    when_pattern: str | None = None
    values: tuple | None = None

    def _applies(self, value: Any) -> bool:
        if value is None:
            return False
        if self.when is not None:
            return value in self.when
        if self.when_pattern is not None:
            return isinstance(value, str) and _compiled(self.when_pattern).search(value) is not None
        return True

    def check(self, body: Mapping[str, Any]) -> None:
        if not self._applies(body.get(self.field)):
            return
        other = body.get(self.other)
        if other is None:
            return
        if self.values is None or other not in self.values:
            raise InvalidInput(self.message, code=self.code)

    def schema(self) -> dict:
        present = {"not": {"type": "null"}}
        cond: dict[str, Any] = {}
        if self.when is not None:
            cond = {"enum": list(self.when)}
        elif self.when_pattern is not None:
            cond = {"type": "string", "pattern": self.when_pattern}
        condition = {"required": [self.field], "properties": {self.field: {**present, **cond}}}
        allowed = {"enum": [*self.values, None]} if self.values is not None else {"type": "null"}
        return {"if": condition, "then": {"properties": {self.other: allowed}}}


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A schema pattern as JSON Schema (ECMA-262) reads it: a closing ``$`` is the end of the string
    (Python's also matches before a final newline)."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern)


def _type_ok(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    if kind in ("number", "integer") and isinstance(value, float) and not math.isfinite(value):
        return False
    if kind == "integer" and isinstance(value, float):  # JSON Schema: 78.0 is an integer
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[kind])


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{json.dumps(value)} (not a JSON number)"
    text = json.dumps(value, ensure_ascii=True, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_number(f: Field, value: float, where: str) -> None:
    if (f.minimum is not None and value < f.minimum) or (f.maximum is not None and value > f.maximum):
        raise InvalidInput(f"{where} must be {f.expects() if f.type != 'object' else 'a number' + _range_words(f)}, "
                           f"got {_show(value)}", code=f.range_code)


def _check_value(f: Field, value: Any) -> None:
    if f.type == "object":
        if not isinstance(value, dict) or (f.min_keys is not None and len(value) < f.min_keys):
            raise InvalidInput(f"field {f.name!r} must be {f.expects()}, got {_show(value)}", code="invalid_request")
        for key, weight in value.items():
            if f.keys is not None and key not in f.keys:
                raise InvalidInput(f"{f.name} key {key!r} is not allowed; choose from {', '.join(f.keys)}",
                                   code=f.code)
            if not _type_ok(weight, "number"):
                raise InvalidInput(f"field {f.name!r} must be {f.expects()}, got {_show(weight)} for {key!r}",
                                   code="invalid_request")
            _check_number(f, weight, f"{f.name}[{key!r}]")
        return
    if not _type_ok(value, f.type):
        raise InvalidInput(f"field {f.name!r} must be {f.expects()}, got {_show(value)}", code="invalid_request")
    if f.enum is not None and value not in f.enum:
        raise InvalidInput(f"{f.name} {value!r} is not allowed; choose from {', '.join(map(str, f.enum))}",
                           code=f.code)
    if f.type in ("number", "integer"):
        _check_number(f, value, f.name)
    if f.type == "string":
        if f.max_length is not None and len(value) > f.max_length and f.too_long is not None:
            raise f.too_long(f"field {f.name!r} has {len(value)} characters; the limit is {f.max_length}")
        if f.pattern is not None and _compiled(f.pattern).search(value) is None:
            shown = f"{f.name} {_show(value)} is not allowed" if value.strip() else f"field {f.name!r} is blank"
            raise InvalidInput(f"{shown}: {f.pattern_hint or 'must match ' + f.pattern}", code=f.code)
        if (f.min_length is not None and len(value) < f.min_length) or \
                (f.max_length is not None and len(value) > f.max_length):
            raise InvalidInput(f"field {f.name!r} must be {f.expects()}, got {len(value)} characters",
                               code=f.length_code)


def validate(body: Any, fields: tuple[Field, ...], rules: tuple[Rule, ...] = ()) -> dict[str, Any]:
    """Check a decoded JSON body against ``fields`` and ``rules``; return every field (defaults filled
    in). Unknown fields are an error, so a typo is not silently ignored."""
    if not isinstance(body, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(body), "a number")
        raise InvalidInput(f"the request body must be a JSON object with the fields "
                           f"{', '.join(f.name for f in fields)}; got {kind}", code="invalid_request")
    known = {f.name: f for f in fields}
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(known)}",
                           code="invalid_request")
    out: dict[str, Any] = {}
    for f in fields:
        value = body.get(f.name)
        if value is None:
            if f.required:
                raise InvalidInput(f"field {f.name!r} is required ({f.expects()})", code=f.missing_code)
            out[f.name] = f.default
            continue
        _check_value(f, value)
        out[f.name] = int(value) if f.type == "integer" else value
    for rule in rules:
        rule.check(body)
    return out


def object_schema(fields: tuple[Field, ...], rules: tuple[Rule, ...] = ()) -> dict:
    out = {"type": "object", "additionalProperties": False,
           "required": [f.name for f in fields if f.required],
           "properties": {f.name: f.schema() for f in fields}}
    if rules:
        out["allOf"] = [r.schema() for r in rules]
    return out


def form_to_body(form: Mapping[str, str], fields: tuple[Field, ...], max_depth: int = 32) -> dict[str, Any]:
    """Multipart text fields -> the JSON body they stand for (numbers, booleans and mixes parsed by
    each field's declared type), so form requests go through the same validation as JSON ones."""
    from ..settings import parse_bool
    from .json_body import loads

    kinds = {f.name: f.type for f in fields}
    body: dict[str, Any] = {}
    for name, raw in form.items():
        kind = kinds.get(name, "string")
        try:
            if kind == "number":
                body[name] = float(raw)
            elif kind == "integer":
                body[name] = int(raw)
            elif kind == "boolean":
                body[name] = parse_bool(raw)
            elif kind == "object":
                body[name] = loads(raw.encode(), what=f"form field {name!r}", max_depth=max_depth)
            else:
                body[name] = raw
        except ValueError:
            raise InvalidInput(f"form field {name!r} must be {_ARTICLE.get(kind, 'a ' + kind)}, got {raw[:40]!r}",
                               code="invalid_request") from None
    return body
