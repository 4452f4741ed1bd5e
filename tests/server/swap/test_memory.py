"""The swap memory guard: sizes parsed strictly, the need estimated from a manifest, the limit checked."""
from __future__ import annotations

import pytest

from emotivoice_srv.bundle import read_manifest
from emotivoice_srv.server.swap import memory
from emotivoice_srv.settings import parse_bytes


@pytest.mark.parametrize("raw, expected", [
    ("auto", -1), ("off", None), ("0", None), ("512M", 512 << 20), ("2G", 2 << 30), ("1.5GiB", int(1.5 * (1 << 30))),
    ("1000000", 1_000_000)])
def test_sizes_parse_with_units(raw, expected):
    assert parse_bytes(raw) == expected


@pytest.mark.parametrize("raw", ["lots", "-1G", "G"])
def test_a_malformed_size_is_an_error(raw):
    with pytest.raises(ValueError):
        parse_bytes(raw)


def test_the_need_grows_with_the_graphs_and_a_second_session_set(bundle_dir):
    manifest = read_manifest(bundle_dir)
    graphs = sum(g.bytes for g in manifest.graphs if g.precision == "int8")
    one, two = memory.estimate_need(graphs, 0, 1), memory.estimate_need(graphs, 0, 2)
    assert graphs < one < two and one == int(graphs * memory.FIRST_SET_FACTOR)


def test_over_the_limit_says_why_and_names_the_setting():
    mib = memory.MIB
    assert memory.over_limit(500 * mib, 200 * mib, 1000 * mib) is None
    assert memory.over_limit(500 * mib, 200 * mib, None) is None
    reason = memory.over_limit(900 * mib, 200 * mib, 1000 * mib)
    assert "--swap-memory-limit" in reason and "1000 MiB" in reason and "untouched" in reason


def test_auto_takes_the_cgroup_limit_else_the_machine_memory():
    limit = memory.resolve_limit(-1)
    assert limit == (memory.cgroup_limit() or memory.machine_memory())
    assert limit > memory.process_rss() > 0
    assert memory.resolve_limit(None) is None and memory.resolve_limit(123) == 123
