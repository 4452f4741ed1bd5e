"""The registry of enrolled voices: one JSON file per voice, written atomically, read back at start-up;
broken or stray files never become voices and never stop the others from loading."""
from __future__ import annotations

import json

import pytest

from emotivoice_srv.cloning.registry import EnrolledVoice, VoiceRegistry, voice_id_for
from emotivoice_srv.errors import InvalidInput
from emotivoice_srv.voice_recipe import VoiceRecipe


def enrolled(voice_id: str = "alice", gender: str = "female", offset: bool = True) -> EnrolledVoice:
    recipe = VoiceRecipe(voice_id, gender, {"jf_alpha": 0.5, "jf_gongitsune": 0.5}, {"jf_gongitsune": 1.0},
                         speed=0.85, pitch=-1.5,
                         timbre_offset=tuple(i / 1000 for i in range(-64, 64)) if offset else ())
    return EnrolledVoice(voice_id, voice_id.title(), "a test voice", "2024-01-02T03:04:05Z", recipe,
                         "ab" * 32, 7.95, 0.8123, "1")


# -- ids ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("Alice Müller", "alice_muller"),
    ("bob", "bob"),
    ("  Dr. Who?  ", "dr_who"),
    ("Zoë-2", "zoe_2"),
    ("a" * 64, "a" * 64),
])
def test_voice_id_is_a_lowercase_ascii_slug_of_the_name(name, expected):
    assert voice_id_for(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "!!!", "東京", "a" * 65, None, 42, b"bob"])
def test_voice_id_refuses_names_that_give_no_valid_id(name):
    with pytest.raises(InvalidInput) as info:
        voice_id_for(name)
    assert info.value.code == "invalid_name"
    assert info.value.http_status == 422


# -- persistence --------------------------------------------------------------------------------
def test_a_saved_voice_is_loaded_by_a_new_registry_with_every_field(tmp_path):
    voice = enrolled()
    VoiceRegistry(tmp_path).save(voice)
    assert (tmp_path / "alice.json").is_file()

    again = VoiceRegistry(tmp_path).get("alice")
    assert again == voice
    assert again.recipe.timbre_offset == voice.recipe.timbre_offset and len(again.recipe.timbre_offset) == 128
    assert again.gender == "female"


def test_saving_leaves_no_temporary_files(tmp_path):
    registry = VoiceRegistry(tmp_path)
    registry.save(enrolled("alice"))
    registry.save(enrolled("alice", offset=False))  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.json"]
    assert VoiceRegistry(tmp_path).get("alice").recipe.timbre_offset == ()


def test_voices_iterate_in_id_order_and_support_membership(tmp_path):
    registry = VoiceRegistry(tmp_path)
    for voice_id in ("carol", "alice", "bob"):
        registry.save(enrolled(voice_id))
    assert [v.id for v in registry] == ["alice", "bob", "carol"]
    assert "bob" in registry and "dave" not in registry
    assert registry.get("dave") is None


def test_a_stray_temporary_from_a_crash_is_removed_at_start_up_and_never_becomes_a_voice(tmp_path):
    stray = tmp_path / ".alice.k3j9x2.tmp"
    stray.write_text(json.dumps(enrolled("alice").to_dict()), encoding="utf-8")  # whole, but never renamed
    registry = VoiceRegistry(tmp_path)
    assert not stray.exists()
    assert "alice" not in registry and list(registry) == []


def test_a_corrupt_voice_file_is_skipped_and_the_others_still_load(tmp_path):
    VoiceRegistry(tmp_path).save(enrolled("alice"))
    (tmp_path / "broken.json").write_text("{not json at all", encoding="utf-8")
    (tmp_path / "partial.json").write_text(json.dumps({"id": "partial", "name": "Partial"}), encoding="utf-8")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    bad_offset = enrolled("short").to_dict()
    bad_offset["recipe"]["timbre_offset"] = [0.1, 0.2]
    (tmp_path / "short.json").write_text(json.dumps(bad_offset), encoding="utf-8")

    registry = VoiceRegistry(tmp_path)
    assert [v.id for v in registry] == ["alice"]


def test_a_file_whose_name_differs_from_its_id_is_skipped(tmp_path):
    (tmp_path / "mallory.json").write_text(json.dumps(enrolled("alice").to_dict()), encoding="utf-8")
    registry = VoiceRegistry(tmp_path)
    assert list(registry) == []


def test_a_file_with_an_invalid_id_is_skipped(tmp_path):
    raw = enrolled("alice").to_dict()
    raw["id"] = "../etc/passwd"  # outside-path-ok: the traversal the registry must refuse
    (tmp_path / "alice.json").write_text(json.dumps(raw), encoding="utf-8")
    assert list(VoiceRegistry(tmp_path)) == []


def test_delete_removes_the_voice_and_its_file(tmp_path):
    registry = VoiceRegistry(tmp_path)
    registry.save(enrolled("alice"))
    registry.save(enrolled("bob", gender="male"))

    assert registry.delete("alice") is True
    assert "alice" not in registry and not (tmp_path / "alice.json").exists()
    assert registry.delete("alice") is False
    assert [v.id for v in VoiceRegistry(tmp_path)] == ["bob"]
