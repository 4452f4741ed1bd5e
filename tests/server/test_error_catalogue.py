"""The error catalogue is complete: every code the package raises is registered once with its status,
the OpenAPI error responses are written from it, and docs/server.md's table lists every HTTP code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from emotivoice_srv.server.error_catalogue import ANY, BY_CODE, CODES, STARTUP, codes_for
from emotivoice_srv.server.openapi import errors

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"""(?:\bcode\s*=\s*|["']code["']\s*:\s*)["']([a-z][a-z0-9_]*)["']""")


def raised_codes() -> set[str]:
    found = set()
    for path in (ROOT / "emotivoice_srv").rglob("*.py"):
        found |= set(LITERAL.findall(path.read_text()))
    return found


def test_every_code_in_the_package_is_registered():
    missing = sorted(raised_codes() - set(BY_CODE))
    assert not missing, f"register these in server/error_catalogue.py: {missing}"


def test_the_scan_sees_codes_in_every_spelling():
    assert {"invalid_json", "voice_exists", "enrollment_failed", "unsupported_media_type"} <= raised_codes()


def test_each_code_is_registered_once_with_an_http_status():
    assert len(BY_CODE) == len(CODES)
    assert all(400 <= c.status <= 599 for c in CODES)


def test_the_registered_status_is_the_status_the_error_class_answers():
    from emotivoice_srv import errors
    from emotivoice_srv.cloning.store import StoreUnavailable

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.EmotivoiceError)]
    for cls in (*classes, StoreUnavailable):
        if cls.code in BY_CODE and cls.code not in ("internal_error",):
            assert BY_CODE[cls.code].status == cls.http_status, cls


def test_the_docs_table_lists_every_http_code_under_its_status():
    table = (ROOT / "docs" / "server.md").read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d{3}) \| (.*)$", table, re.M)}
    for entry in CODES:
        if STARTUP in entry.scopes:
            continue
        assert f"`{entry.code}`" in rows.get(entry.status, ""), f"docs/server.md: {entry.code} under {entry.status}"


def test_an_operation_lists_exactly_the_codes_of_its_scopes():
    json_errors = errors("json")
    assert set(json_errors) == {"400", "401", "408", "413", "415", "422", "429", "431", "503"}
    enum = json_errors["422"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"][
        "properties"]["code"]["enum"]
    assert enum == codes_for(("json",))[422] and "invalid_request" in enum
    assert "Retry-After" in json_errors["503"]["headers"]


@pytest.mark.parametrize("scopes", [(), ("read",)])
def test_open_operations_answer_no_catalogued_error_and_api_ones_the_any_codes(scopes):
    codes = {c for group in codes_for(scopes).values() for c in group}
    expected = {c.code for c in CODES if ANY in c.scopes} if scopes else set()
    assert codes == expected
