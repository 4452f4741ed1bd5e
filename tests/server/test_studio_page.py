"""The studio page over plain HTTP: what is served, with which headers, how small, and that it can be
turned off. What the page does in a browser: test_studio_browser.py."""
from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from emotivoice_srv.server.studio import STATIC_DIR

REPO = Path(__file__).resolve().parents[2]
PAGE_BUDGET_BYTES = 64 * 1024
"""HTML + CSS + JavaScript + icon, uncompressed (40 KiB when written)."""


class PageScan(HTMLParser):
    """The page's scripts, styles, inline handlers and the local files it references."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.external: list[str] = []
        self.local: set[str] = set()
        self.inline_code: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on"):
                self.inline_code.append(f"{tag} {name}")
        if "style" in attrs:
            self.inline_code.append(f"{tag} style")
        if tag == "style":
            self.inline_code.append("<style>")
        url = attrs.get("src") or (attrs.get("href") if tag == "link" else None)
        if url:
            (self.local.add(url) if url.startswith("/") and not url.startswith("//") else self.external.append(url))
        self._in_script = tag == "script" and not attrs.get("src")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        self._in_script = False


def module_imports(js: str) -> set[str]:
    return set(re.findall(r"""^import .* from "\./([\w.-]+)";""", js, flags=re.M))


def test_the_page_is_served_with_a_strict_content_security_policy_and_no_inline_code(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "media-src", "connect-src", "img-src"):
        assert csp[directive] == "'self'", directive  # no 'unsafe-inline', no other origin
    assert csp["frame-ancestors"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    scan = PageScan()
    scan.feed(r.text)
    assert scan.inline_scripts == 0 and scan.inline_code == [] and scan.external == []
    assert {"/studio/studio.js", "/studio/studio.css", "/studio/icon.svg"} <= scan.local


def test_every_file_the_page_loads_is_served_from_the_package_and_the_page_stays_small(client):
    scan = PageScan()
    scan.feed(client.get("/").text)
    wanted, served = set(scan.local), {}
    while wanted:
        path = wanted.pop()
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in r.headers
        served[path] = r.content
        if path.endswith(".js"):
            assert r.headers["content-type"].startswith("text/javascript")
            wanted |= {f"/studio/{name}" for name in module_imports(r.text)} - set(served)
    assert {"/studio/api.js", "/studio/audio.js"} <= set(served)
    weight = len(client.get("/").content) + sum(map(len, served.values()))
    assert weight <= PAGE_BUDGET_BYTES, weight
    assert client.get("/studio/nothing.js").status_code == 404
    assert client.get("/studio/index.html").status_code == 404  # the page lives at / only
    icon = client.get("/favicon.ico")  # what browsers ask for on any page of the origin
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"


def test_the_page_config_tells_the_limits_without_a_key(client):
    config = client.get("/studio/config.json").json()
    assert config["max_text_chars"] == 10_000 and config["auth"] is False
    assert config["emotions"][:2] == ["neutral", "happy"] and len(config["emotions"]) == 7
    assert "wav" in config["formats"] and config["sample_rate"] == 24000
    assert config["reference"] == {"min_s": 3.0, "max_s": 30.0, "max_bytes": 20 * 1024 * 1024}


def test_ui_off_removes_the_page_for_api_only_deployments(start_server):
    srv = start_server(env={"EMOTIVOICE_UI": "off"})
    srv.wait_port()
    with srv.client() as c:
        for path in ("/", "/studio/studio.js", "/studio/config.json", "/favicon.ico"):
            r = c.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
        assert c.get("/v1/voices").status_code == 200


def test_with_api_keys_the_page_loads_without_one_and_the_api_still_asks(start_server):
    srv = start_server("--ui", "on", "--api-keys", "k1")
    srv.wait_port()
    with srv.client() as c:
        for path in ("/", "/studio/studio.js", "/favicon.ico"):
            assert c.get(path).status_code == 200, path
        assert c.get("/studio/config.json").json()["auth"] is True
        assert c.get("/v1/voices").status_code == 401
        assert c.get("/v1/voices", headers={"Authorization": "Bearer k1"}).status_code == 200


def test_the_ui_setting_reads_on_or_off_from_flag_and_environment(monkeypatch):
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.server.config import ServerConfig

    assert ServerConfig.from_args(build_parser().parse_args(["serve"])).ui is True
    assert ServerConfig.from_args(build_parser().parse_args(["serve", "--ui", "off"])).ui is False
    monkeypatch.setenv("EMOTIVOICE_UI", "off")
    assert ServerConfig.from_args(build_parser().parse_args(["serve"])).ui is False
    monkeypatch.setenv("EMOTIVOICE_UI", "maybe")
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["serve"])
    assert exit_info.value.code == 2


def test_a_wheel_carries_every_studio_file():
    """package-data decides what a wheel install serves; every file of the page must match it."""
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["emotivoice_srv"]
    files = [p.relative_to(STATIC_DIR.parent).as_posix() for p in STATIC_DIR.iterdir()]
    assert "studio/index.html" in files
    for name in files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), name
