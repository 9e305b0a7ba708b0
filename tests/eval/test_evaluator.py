"""The motion evaluator: training on a tiny SynthHOI folder, the loss, save/load, features,
R-precision, the shipped SynthHOI checkpoint and the `openhoi train evaluator` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from openhoi.data import load_episodes
from openhoi.errors import InputError, MissingFileError
from openhoi.eval import fid
from openhoi.eval.evaluator import (
    EvaluatorConfig,
    MotionEvaluator,
    load_evaluator,
    r_precision,
    save_evaluator,
)
from openhoi.eval.evaluator_training import (
    EvaluatorTrainConfig,
    contrastive_loss,
    train_evaluator,
)
from openhoi.synth import synthesize_dataset

# The motion tests' deterministic fake sentence encoder (a hash of the text → unit vector).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "motion"))
from motion_fakes import TEXT_DIM, HashTextEncoder


def tiny_config() -> EvaluatorConfig:
    return EvaluatorConfig(
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        ff_size=32,
        dropout=0.0,
        embedding_dim=8,
        text_dim=TEXT_DIM,
    )


@pytest.fixture(scope="module")
def episode_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    synthesize_dataset(folder, 3, seed=1, objects=["cup"], progress=False)
    return folder


@pytest.fixture(scope="module")
def segments(episode_folder):
    return [s for e in load_episodes(episode_folder) for s in e.segments]


@pytest.fixture(scope="module")
def trained(episode_folder, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("evaluator") / "tiny"
    config = EvaluatorTrainConfig(
        data=str(episode_folder),
        out=str(out),
        model=tiny_config(),
        batch_size=8,
        steps=30,
        learning_rate=3e-3,
        warmup_steps=0,
        log_interval=1,
        validation_interval=30,
    )
    return train_evaluator(config, text_encoder=HashTextEncoder())


def test_training_lowers_the_loss_and_saves_metrics(trained):
    losses = [loss for _, loss in trained.losses]
    assert len(losses) == 30 and np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    payload = json.loads((trained.out / "config.json").read_text())
    assert payload["dataset"] == "synthhoi"
    assert payload["model"]["hidden_size"] == 16
    assert len(payload["normalisation"]["mean"]) == 208
    for key in ("top_1", "top_2", "top_3", "matching_score"):
        assert 0.0 <= payload["validation"][key] <= 2.0
    assert payload["validation"] == trained.validation


def test_training_is_deterministic(episode_folder, tmp_path):
    config = EvaluatorTrainConfig(
        data=str(episode_folder),
        out=str(tmp_path / "again"),
        model=tiny_config(),
        batch_size=8,
        steps=3,
        learning_rate=3e-3,
        log_interval=1,
    )
    first = train_evaluator(config, text_encoder=HashTextEncoder())
    config.out = str(tmp_path / "again2")
    second = train_evaluator(config, text_encoder=HashTextEncoder())
    assert first.losses == second.losses


class _Killed(Exception):
    pass


def test_a_killed_run_resumes_exactly(episode_folder, tmp_path):
    from safetensors.torch import load_file

    def config(name: str, **changes) -> EvaluatorTrainConfig:
        return EvaluatorTrainConfig(
            data=str(episode_folder), out=str(tmp_path / name), model=tiny_config(),
            batch_size=4, steps=4, learning_rate=3e-3, warmup_steps=1, log_interval=1,
            validation_interval=100, checkpoint_interval=2, quiet=True, **changes,
        )  # fmt: skip

    full = train_evaluator(config("full"), text_encoder=HashTextEncoder())

    def kill_at_step_3(step: int, record: dict) -> None:
        if step == 3:  # after the step-2 checkpoint, before the step-3 one
            raise _Killed

    with pytest.raises(_Killed):
        train_evaluator(config("split"), text_encoder=HashTextEncoder(), progress=kill_at_step_3)
    assert not (tmp_path / "split").exists()
    resumed = train_evaluator(config("split", resume=True), text_encoder=HashTextEncoder())
    assert resumed.start_step == 2 and [s for s, _ in resumed.losses] == [3, 4]
    assert resumed.losses == full.losses[2:]
    a = load_file(str(full.out / "model.safetensors"))
    b = load_file(str(resumed.out / "model.safetensors"))
    assert all(torch.equal(a[key], b[key]) for key in a)
    # The run folder beside the evaluator holds the log (one record per step) and checkpoint.
    work = tmp_path / "split.train"
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "train"] == [1, 2, 3, 4]
    assert (work / "checkpoint" / "train_state.pt").is_file()
    assert sorted(p.name for p in full.out.iterdir()) == ["config.json", "model.safetensors"]


def test_folder_without_splits_trains_on_everything(episode_folder, tmp_path):
    import shutil

    folder = tmp_path / "prepared"
    shutil.copytree(episode_folder, folder)
    (folder / "splits.json").unlink()
    (folder / "stats.json").unlink(missing_ok=True)
    config = EvaluatorTrainConfig(
        data=str(folder), out=str(tmp_path / "out"), model=tiny_config(), steps=2
    )
    report = train_evaluator(config, text_encoder=HashTextEncoder())
    assert report.validation == {} and report.num_val_segments == 0
    assert load_evaluator(report.out).validation == {}


def test_save_load_round_trip_gives_identical_features(trained, segments, tmp_path):
    model = load_evaluator(trained.out)
    features = model.motion_features(segments)
    assert features.shape == (len(segments), 8) and features.dtype == np.float32
    np.testing.assert_array_equal(features, model.motion_features(segments))  # deterministic
    save_evaluator(model, tmp_path / "copy")
    again = load_evaluator(tmp_path / "copy")
    np.testing.assert_array_equal(again.motion_features(segments), features)
    texts = [s.texts[0] for s in segments]
    np.testing.assert_array_equal(
        again.text_features(texts, HashTextEncoder()), model.text_features(texts, HashTextEncoder())
    )
    assert again.validation == model.validation and again.dataset == "synthhoi"
    # A freshly built model (own stats) survives the round trip exactly too.
    fresh = MotionEvaluator(tiny_config(), np.full(208, 0.5), np.full(208, 2.0), dataset="x")
    save_evaluator(fresh, tmp_path / "fresh")
    loaded = load_evaluator(tmp_path / "fresh")
    torch.testing.assert_close(loaded.std, fresh.std)
    np.testing.assert_array_equal(
        loaded.motion_features(segments), fresh.eval().motion_features(segments)
    )


def test_frames_path_matches_sequences_path(trained, segments):
    model = load_evaluator(trained.out)
    lengths = np.array([s.num_frames for s in segments])
    frames = np.zeros((len(segments), lengths.max(), 208), np.float32)
    for k, s in enumerate(segments):
        frames[k, : lengths[k]] = s.frames
    np.testing.assert_allclose(
        model.motion_features_from_frames(frames, lengths),
        model.motion_features(segments),
        atol=1e-5,
    )
    # Padding content after a sequence's end does not matter.
    frames[0, lengths[0] :] = 7.0
    np.testing.assert_allclose(
        model.motion_features_from_frames(frames, lengths)[0],
        model.motion_features(segments[:1])[0],
        atol=1e-5,
    )


def test_identical_texts_are_not_negatives():
    torch.manual_seed(0)
    motion, text = torch.randn(4, 8), torch.randn(4, 8)
    same = torch.zeros(4, dtype=torch.long)
    assert contrastive_loss(motion, text, same, 0.1).item() == 0.0  # nothing to contrast
    distinct = torch.arange(4)
    plain = contrastive_loss(motion, text, distinct, 0.1)
    logits = (
        torch.nn.functional.normalize(motion, dim=-1)
        @ torch.nn.functional.normalize(text, dim=-1).T
        / 0.1
    )
    clip = 0.5 * (
        torch.nn.functional.cross_entropy(logits, distinct)
        + torch.nn.functional.cross_entropy(logits.T, distinct)
    )
    torch.testing.assert_close(plain, clip)
    # Samples 0 and 1 share a text: removing each from the other's negatives lowers the loss.
    paired = contrastive_loss(motion, text, torch.tensor([0, 0, 1, 2]), 0.1)
    assert torch.isfinite(paired) and paired < plain


def test_r_precision_definitions():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(64, 8))
    perfect = r_precision(text + 1e-3 * rng.normal(size=text.shape), text)
    assert perfect["top_1"] == 1.0 and perfect["num_pools"] == 2 and perfect["pool_size"] == 32
    assert perfect["matching_score"] < 1e-2
    shuffled = r_precision(rng.normal(size=(64, 8)), text, num_repeats=20)
    assert shuffled["top_1"] < 0.2 and shuffled["top_1"] <= shuffled["top_2"] <= shuffled["top_3"]
    # A motion retrieving another motion's identical text counts as a hit.
    same_text = np.repeat(text[:1], 4, axis=0)
    motion = np.repeat(text[:1], 4, axis=0) + 1e-3 * rng.normal(size=(4, 8))
    assert r_precision(motion, same_text, top_k=1, pool_size=4)["top_1"] == 1.0
    with pytest.raises(InputError, match="pool_size"):
        r_precision(text[:10], text[:10])


def test_bad_inputs_are_clear_errors(trained, segments, tmp_path):
    with pytest.raises(MissingFileError, match="nowhere"):
        load_evaluator(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    save_evaluator(load_evaluator(trained.out), broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="corrupted"):
        load_evaluator(broken)
    model = load_evaluator(trained.out)
    from openhoi import HOISequence

    too_long = HOISequence(frames=np.zeros((151, 208), np.float32))
    with pytest.raises(InputError, match="at most 150"):
        model.motion_features([too_long])
    with pytest.raises(InputError, match="batch_size"):
        EvaluatorTrainConfig(batch_size=1)
    with pytest.raises(InputError, match="divisible"):
        EvaluatorConfig(hidden_size=10, num_heads=4)


def test_shipped_evaluator_features_and_fid(segments):
    model = load_evaluator()
    assert model.dataset == "synthhoi"
    assert model.validation["top_1"] > 0.2  # chance is 1/32
    features = model.motion_features(segments)
    assert features.shape == (len(segments), model.config.embedding_dim)
    assert np.isfinite(features).all()
    assert fid(features, features) == pytest.approx(0.0, abs=1e-6)
    assert fid(features, features[::-1]) == pytest.approx(0.0, abs=1e-6)


def test_cli_missing_data_folder_is_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openhoi.cli",
            "train",
            "evaluator",
            f"data={tmp_path / 'missing'}",
            f"out={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "missing" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_evaluator_records_the_hand_of_its_data(trained, episode_folder):
    from openhoi.provenance import dataset_hand, model_folder_hand

    hand = model_folder_hand(trained.out)
    assert hand.asset == "openhoi-hand-v1" and not hand.is_assumed
    assert hand == dataset_hand(episode_folder)
