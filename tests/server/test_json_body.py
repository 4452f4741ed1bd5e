"""Strict JSON bodies: each malformed body is a MalformedRequest (400) or UnsupportedMediaType (415)
whose message says what is wrong; none reaches a RecursionError or an encoding error later."""
from __future__ import annotations

import math

import pytest

from emotivoice_srv.errors import MalformedRequest, UnsupportedMediaType
from emotivoice_srv.server.json_body import MAX_DEPTH, loads, require_json


def refused(body: bytes, **kwargs) -> str:
    with pytest.raises(MalformedRequest) as info:
        loads(body, **kwargs)
    assert info.value.http_status == 400 and info.value.code == "invalid_json"
    return info.value.message


@pytest.mark.parametrize("body, words", [
    (b"[" * 100_000 + b"]" * 100_000, ["nested", str(MAX_DEPTH)]),
    (b'{"a": ' * 200 + b"1" + b"}" * 200, ["nested", str(MAX_DEPTH)]),
    (b'{"voice": "a", "voice": "b"}', ["repeats", "'voice'"]),
    (b'{"outer": {"k": 1, "k": 2}}', ["repeats", "'k'"]),
    (b"\xef\xbb\xbf{}", ["byte-order mark"]),
    ("{}".encode("utf-16"), ["not UTF-8", "0xff"]),
    (b'{"text": "\xff"}', ["not UTF-8", "offset 10"]),
    (b'{"text": "\\ud800"}', ["unpaired surrogate"]),
    (b'{"\\udfff": 1}', ["unpaired surrogate"]),
    (b'{"text": "hi",}', ["not valid JSON"]),
    (b"", ["not valid JSON"]),
])
def test_malformed_bodies_say_what_is_wrong(body, words):
    message = refused(body)
    for word in words:
        assert word in message, (word, message)


def test_the_depth_limit_is_a_setting():
    nested = b'{"a": ' * 5 + b"1" + b"}" * 5
    assert loads(nested, max_depth=5)["a"]["a"]["a"]["a"]["a"] == 1
    assert "more than 4 levels" in refused(nested, max_depth=4)


def test_valid_json_is_read_as_is_and_non_finite_numbers_are_left_to_field_validation():
    assert loads('{"text": "h\\u00e9 \\ud83d\\ude00", "n": [1, 2.5]}'.encode()) == {"text": "hé 😀", "n": [1, 2.5]}
    assert math.isnan(loads(b'{"speed": NaN}')["speed"])


@pytest.mark.parametrize("content_type", [None, "application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json"])
def test_json_media_types_are_read(content_type):
    require_json(content_type)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "audio/wav"])
def test_other_media_types_are_415_naming_what_to_send(content_type):
    with pytest.raises(UnsupportedMediaType) as info:
        require_json(content_type)
    assert info.value.http_status == 415 and info.value.code == "unsupported_media_type"
    assert "application/json" in info.value.message


def test_the_depth_limit_is_a_flag_and_an_environment_variable(monkeypatch):
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.server.config import ServerConfig

    assert ServerConfig.from_args(build_parser().parse_args(["serve"])).max_json_depth == MAX_DEPTH
    assert ServerConfig.from_args(build_parser().parse_args(["serve", "--max-json-depth", "5"])).max_json_depth == 5
    monkeypatch.setenv("EMOTIVOICE_MAX_JSON_DEPTH", "7")
    assert ServerConfig.from_args(build_parser().parse_args(["serve"])).max_json_depth == 7
