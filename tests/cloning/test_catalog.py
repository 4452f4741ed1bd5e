"""The in-process catalog of enrolled voices: every record kept, style tables built on first use and
kept for the most recently used voices only, records this bundle cannot render skipped, and changes
(local or from the store) reaching listeners."""
from __future__ import annotations

import numpy as np

from emotivoice_srv.cloning.catalog import VoiceCatalog
from emotivoice_srv.cloning.store import StoreConfig, open_store
from emotivoice_srv.voices import Voice
from tests.cloning.test_store import enrolled


def catalog_over(tmp_path, max_built: int = 2):
    store = open_store(StoreConfig(), tmp_path)
    builds: list[str] = []

    def build(e):
        builds.append(e.id)
        return Voice(e.id, e.recipe.gender, "en", "", np.full((4, 256), len(builds), np.float32), kind="enrolled")

    def describe(e):
        return Voice(e.id, e.recipe.gender, "en", "", None, kind="enrolled")

    usable = lambda e: not e.id.startswith("broken")  # noqa: E731 - a pack this bundle lacks
    return store, VoiceCatalog(store, build, describe, usable, max_built=max_built), builds


def test_tables_are_built_on_first_use_and_only_the_recent_ones_kept(tmp_path):
    store, catalog, builds = catalog_over(tmp_path)
    for voice_id in ("ann", "bob", "cy"):
        store.save("acme", enrolled(voice_id))
    catalog.load()
    assert len(catalog) == 3 and builds == [], "loading and listing build nothing"
    assert [e.id for _, e, v in catalog.items("acme")] == ["ann", "bob", "cy"]
    first = catalog.voice("acme", "ann")
    assert catalog.voice("acme", "ann") is first and builds == ["ann"], "a second lookup is a dict read"
    catalog.voice("acme", "bob")
    catalog.voice("acme", "ann")  # ann is now the most recent
    catalog.voice("acme", "cy")   # evicts bob, the least recent
    assert builds == ["ann", "bob", "cy"]
    assert catalog.voice("acme", "ann") is first
    catalog.voice("acme", "bob")
    assert builds == ["ann", "bob", "cy", "bob"], "bob was evicted and rebuilt"
    assert catalog.voice("globex", "ann") is None


def test_a_record_this_bundle_cannot_render_is_skipped(tmp_path):
    store, catalog, _ = catalog_over(tmp_path)
    store.save("acme", enrolled("broken_one"))
    store.save("acme", enrolled("fine"))
    catalog.load()
    assert catalog.get("acme", "broken_one") is None and catalog.get("acme", "fine") is not None
    assert catalog.put("acme", enrolled("broken_two")) is False


def test_changes_reach_listeners_and_drop_built_tables(tmp_path):
    store, catalog, builds = catalog_over(tmp_path)
    seen = []
    catalog.listeners.append(lambda t, v, e: seen.append((t, v, e is not None)))
    store.save("acme", enrolled("ann"))
    catalog.refresh("acme", "ann")  # as a change notice does
    before = catalog.voice("acme", "ann")
    catalog.put("acme", enrolled("ann", sha="ef" * 32))  # replaced: its table is rebuilt
    assert catalog.voice("acme", "ann") is not before
    store.delete("acme", "ann")
    catalog.refresh("acme", "ann")
    assert catalog.voice("acme", "ann") is None
    assert seen == [("acme", "ann", True), ("acme", "ann", True), ("acme", "ann", False)]
