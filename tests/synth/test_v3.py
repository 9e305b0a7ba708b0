"""SynthHOI v3: family tasks, the held-out family split, a small run that loads back."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from openhoi.data import load_episodes, read_index
from openhoi.data.episodes import load_episode_object
from openhoi.errors import InputError
from openhoi.objects.families import (
    CATEGORIES,
    FAMILIES,
    build_variant,
    family_of,
    parse_variant_name,
)
from openhoi.synth.generator import episode_choices, episode_split
from openhoi.synth.tasks import (
    KIND_STEPS,
    held_out_families,
    is_unseen_object,
    kinds_for,
    make_task,
)
from openhoi.synth.v3 import synthesize_v3, v3_config, v3_objects, variants_used


def test_held_out_families_are_fixed_in_the_committed_file():
    text = resources.files("openhoi.data").joinpath("splits/synthhoi_v3.json").read_text()
    listed = json.loads(text)["held_out_families"]
    assert tuple(listed) == held_out_families()
    assert 6 <= len(listed) <= 10 and len(set(listed)) == len(listed)
    assert set(listed) <= set(FAMILIES) and "bottle" not in listed
    assert {FAMILIES[name].category for name in listed} == set(CATEGORIES)
    # Every kind a held-out family offers is also offered by a training family.
    training_kinds = {k for n, f in FAMILIES.items() if n not in listed for k in f.kinds}
    assert {k for n in listed for k in FAMILIES[n].kinds} <= training_kinds


def test_held_out_families_never_reach_train_or_val():
    objects = v3_objects(4)
    splits: dict[str, set[str]] = {}
    for index in range(3000):
        name, _ = episode_choices(11, index, objects)
        split = episode_split(11, index, objects)
        splits.setdefault(split, set()).add(family_of(name).name)
    held_out = set(held_out_families())
    assert not (splits["train"] | splits["val"]) & held_out
    assert splits["test_unseen_objects"] == held_out
    assert is_unseen_object("mug-v003") and is_unseen_object("mug")  # v1 held-out too
    assert not is_unseen_object("bottle-v003") and not is_unseen_object("bottle")


def test_every_family_kind_has_its_regions():
    for name, spec in FAMILIES.items():
        assert spec.kinds, name
        for kind in spec.kinds:
            assert kind in KIND_STEPS, (name, kind)
            for step in KIND_STEPS[kind]:
                assert step.region in spec.regions, (name, kind, step.region)
        if any(k.startswith("twist") for k in spec.kinds):
            assert spec.is_articulated


@pytest.mark.parametrize("name", ["thermos", "tv_remote", "cooking_pot"])
def test_tasks_on_a_variant_use_its_family_kinds_and_words(name):
    obj = build_variant(name, 2)
    assert kinds_for(obj) == FAMILIES[name].kinds
    for kind in kinds_for(obj):
        task = make_task(obj, kind, "left", np.random.default_rng(0))
        words = name.replace("_", " ")
        assert words in task.instruction.lower() and "-v002" not in task.instruction
        assert all("-v0" not in step.text for step in task.plan)


def test_v3_config_turns_scales_off_and_keeps_the_rest():
    from openhoi.synth.generator import GeneratorConfig

    config = GeneratorConfig(max_segment_attempts=2, betas_std=0.3)
    v3 = v3_config(config)
    assert v3.scales == (1.0,) and v3.max_segment_attempts == 2 and v3.betas_std == 0.3
    assert v3.quality == config.quality


def test_variant_pool_and_bad_inputs():
    pool = v3_objects(3, ["ball", "mug"])
    assert pool == ("ball-v000", "ball-v001", "ball-v002", "mug-v000", "mug-v001", "mug-v002")
    assert len(v3_objects()) == 24 * len(FAMILIES)
    used = variants_used(0, range(50), pool)
    assert set(used) <= set(pool) and len(used) == len(set(used))
    with pytest.raises(InputError, match="unknown object family 'ducks'"):
        v3_objects(2, ["ducks"])
    with pytest.raises(InputError, match="variants_per_family"):
        v3_objects(0)


def test_a_small_v3_run_writes_episodes_that_load_back(tmp_path):
    out = tmp_path / "v3"
    report = synthesize_v3(
        out, 2, seed=3, progress=False, families=("toy_block", "ball"), variants_per_family=2
    )
    assert report.num_written >= 1
    index = read_index(out)
    assert index["info"]["version"] == 3
    assert index["info"]["held_out_families"] == list(held_out_families())
    episodes = load_episodes(out)
    for episode in episodes:
        assert family_of(episode.object) is not None
        assert (out / "objects" / episode.object / "object.json").is_file()
        stored = load_episode_object(out, episode.object)
        built = build_variant(*parse_variant_name(episode.object))
        np.testing.assert_allclose(stored.mesh.vertices, built.mesh.vertices, atol=1e-12)
        assert stored.articulation is None and stored.part_names == built.part_names
        assert episode.metadata["scale"] == 1.0
    splits = json.loads((out / "splits.json").read_text())
    assert splits["held_out_families"] == list(held_out_families())


def test_cli_rejects_an_unknown_version(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "openhoi.cli", "data", "synth", "--out", str(tmp_path / "x"),
         "--episodes", "2", "--version", "v2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--version must be v1 or v3" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()
