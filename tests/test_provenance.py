"""Hand provenance in what openhoi writes: datasets, checkpoints, models, outputs, tables."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from openhoi.data.episodes import INDEX_FILE, read_index
from openhoi.errors import InputError
from openhoi.hand import HandIdentity
from openhoi.hand import identity as identity_module
from openhoi.hand.constants import MANO_DIR_ENV_VAR
from openhoi.provenance import (
    dataset_hand,
    dataset_hand_info,
    describe_models,
    folder_id,
    model_folder_hand,
)

# The motion tests' tiny config and deterministic fake sentence encoder.
sys.path.insert(0, str(Path(__file__).resolve().parent / "motion"))
from motion_fakes import HashTextEncoder, tiny_train_config

V1_SHA256 = "a8f5f9e32e068a03392168a34ff4f5a3d20260fd09feaaecb73283b52fa14974"
V1_RECORD = {"asset": "openhoi-hand-v1", "sha256": V1_SHA256}
ASSETS = Path(identity_module.__file__).parent.parent / "assets"
RESULTS = Path(__file__).parent.parent / "docs" / "results"


@pytest.fixture(autouse=True)
def _default_hand(monkeypatch):
    monkeypatch.delenv(MANO_DIR_ENV_VAR, raising=False)
    monkeypatch.setattr(identity_module, "_WARNED", set())


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory):
    from openhoi.synth import synthesize_dataset

    folder = tmp_path_factory.mktemp("synth")
    synthesize_dataset(folder, 2, seed=1, objects=["cup"], progress=False)
    return folder


def _drop_hand_record(folder: Path) -> None:
    """Make `folder` look written before hand provenance."""
    index = json.loads((folder / INDEX_FILE).read_text())
    del index["info"]["hand"]
    (folder / INDEX_FILE).write_text(json.dumps(index))


def test_a_synth_dataset_records_its_hand(synth_folder, tmp_path):
    assert read_index(synth_folder)["info"]["hand"] == V1_RECORD
    assert dataset_hand(synth_folder) == HandIdentity(**V1_RECORD)
    # Resuming with the same hand keeps the info; another hand is refused before writing.
    assert dataset_hand_info(synth_folder, None) == {"hand": V1_RECORD}
    other = tmp_path / "mano"
    other.mkdir()
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl"):
        (other / name).write_bytes((ASSETS / "hand" / name).read_bytes() + b"\0")
    with pytest.raises(InputError, match="holds episodes made with embedded openhoi-hand-v1"):
        dataset_hand_info(synth_folder, str(other))


def test_a_dataset_from_before_provenance_reads_as_assumed_v1(synth_folder, tmp_path):
    import shutil

    legacy = tmp_path / "legacy"
    shutil.copytree(synth_folder, legacy)
    _drop_hand_record(legacy)
    hand = dataset_hand(legacy)
    assert hand.is_assumed and hand.asset == "openhoi-hand-v1"
    # A legacy folder resumes with the v1 hand without a record being added to its info.
    assert dataset_hand_info(legacy, None) == {}


def test_a_training_checkpoint_records_the_hand_of_its_data(synth_folder, tmp_path, caplog):
    from openhoi.motion.training import train_diffusion

    config = tiny_train_config(steps=2, checkpoint_interval=2, validation_interval=2)
    with caplog.at_level(logging.WARNING, logger="openhoi.hand.identity"):
        report = train_diffusion(config, synth_folder, tmp_path / "run",
                                 text_encoder=HashTextEncoder())  # fmt: skip
    assert caplog.records == []  # trained with the data's hand
    saved = json.loads((report.checkpoint / "config.json").read_text())
    assert saved["hand"] == V1_RECORD
    assert model_folder_hand(report.checkpoint).sha256 == V1_SHA256


def test_the_shipped_models_record_hand_v1_beside_unchanged_weights():
    # folder_id hashes the weights only: recording the hand kept the ids results cite.
    weight_ids = {
        ASSETS / "motion": "88371d66c39f0e71904b3cd7325f02e8b12bb9bd8f7a3bcaa87e081c2b3e32dc",
        ASSETS / "evaluator" / "synthhoi": (
            "4bc32cd422aa67f94c5f3cacf6f34a9435137851d896e047b3dea1fffdbb7420"
        ),
    }
    for folder, weight_id in weight_ids.items():
        hand = model_folder_hand(folder)
        assert (hand.asset, hand.sha256, hand.is_assumed) == ("openhoi-hand-v1", V1_SHA256, False)
        assert folder_id(folder) == f"sha256:{weight_id}"


def test_a_model_folder_without_a_record_reads_as_assumed_v1(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"format": "openhoi-motion"}))
    assert model_folder_hand(tmp_path).is_assumed


def test_an_output_config_records_the_hand(tmp_path):
    from openhoi.export.run_folder import run_config
    from openhoi.hand import HandModel

    hands = {side: HandModel(side) for side in ("left", "right")}
    provenance = describe_models(None, None, hands, "cpu")
    result = SimpleNamespace(
        plan=SimpleNamespace(instruction="pick up the mug"),
        config=SimpleNamespace(to_dict=lambda: {}),
        provenance=provenance,
    )
    config = json.loads(json.dumps(run_config(result, ["mug"])))
    assert config["hand"] == V1_RECORD
    assert config["hand_model"] == f"embedded openhoi-hand-v1 (sha256 {V1_SHA256[:8]}…)"
    assert config["motion"]["hand"] == V1_RECORD


def test_result_tables_state_the_hand_and_old_results_render_as_before():
    from openhoi.benchmark import benchmark_markdown

    results = json.loads((RESULTS / "contact_unseen_2026-12-07.json").read_text())
    before = benchmark_markdown(results)
    assert "hand" not in results["settings"]["provenance"]
    recorded = json.loads(json.dumps(results))
    recorded["settings"]["provenance"]["hand"] = V1_RECORD
    text = benchmark_markdown(recorded)
    assert f", hand embedded openhoi-hand-v1 (sha256 {V1_SHA256[:8]}…). Mean" in text
    assert text.replace(f", hand embedded openhoi-hand-v1 (sha256 {V1_SHA256[:8]}…)", "") == before
    recorded["settings"]["provenance"]["hand"] = {"asset": "mano-files", "sha256": "cd" * 32}
    recorded["settings"]["provenance"]["motion"]["hand"] = V1_RECORD
    assert (
        ", hand MANO files (sha256 cdcdcdcd…) (the motion model was trained with embedded "
        "openhoi-hand-v1" in benchmark_markdown(recorded)
    )


def test_generating_with_another_hand_is_recorded_and_warned_once(tmp_path, caplog):
    from openhoi.provenance import hand_clause

    other = tmp_path / "mano"
    other.mkdir()
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl"):
        (other / name).write_bytes((ASSETS / "hand" / name).read_bytes() + b"\0")
    # hand_identity reads only the files a loaded hand came from.
    hands = {
        side: SimpleNamespace(source=other / f"MANO_{side.upper()}.pkl", is_default_asset=False)
        for side in ("left", "right")
    }
    with caplog.at_level(logging.WARNING, logger="openhoi.hand.identity"):
        first = describe_models(None, None, hands, "cpu")
        describe_models(None, None, hands, "cpu")  # a second load in the same process
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith(
        "the motion model was trained with openhoi-hand-v1; you are generating with MANO "
        f"files at {other.resolve()}"
    )
    assert first["hand"]["asset"] == "mano-files" and first["motion"]["hand"] == V1_RECORD
    assert hand_clause(first).endswith("(the motion model was trained with embedded "
                                       f"openhoi-hand-v1 (sha256 {V1_SHA256[:8]}…))")  # fmt: skip


def test_a_prepared_dataset_records_the_hand_that_converted_it(tmp_path):
    from openhoi.data.prepare import prepare_dataset

    sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
    from fixtures_h2o import write_h2o_dataset

    out = tmp_path / "prepared"
    prepare_dataset("h2o", write_h2o_dataset(tmp_path / "raw").root, out, progress=False)
    assert read_index(out)["info"]["hand"] == V1_RECORD


def test_a_simulator_check_records_the_hand(synth_folder, tmp_path):
    pytest.importorskip("mujoco")
    from openhoi.data import load_episodes
    from openhoi.refine.simulate import check_run

    episode = next(iter(load_episodes(synth_folder)))
    episode.segments[0].save(tmp_path / "sequence.npz")
    check_run(tmp_path)
    provenance = json.loads((tmp_path / "check.json").read_text())["provenance"]
    assert provenance["hand"] == V1_RECORD
    assert provenance["hand_model"] == f"embedded openhoi-hand-v1 (sha256 {V1_SHA256[:8]}…)"
