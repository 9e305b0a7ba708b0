"""Hand identity: asset id + file hash, legacy records, the once-only mismatch warning."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import shutil
from pathlib import Path

import pytest

from openhoi.errors import InputError
from openhoi.hand import HandModel, hand_identity, load_mano_file, read_hand_record
from openhoi.hand import identity as identity_module
from openhoi.hand.constants import HAND_META_FILE, MANO_DIR_ENV_VAR, MANO_FILE_NAMES
from openhoi.provenance import check_generation_hand, check_training_hand

V1_FOLDER = Path(identity_module.__file__).parent.parent / "assets" / "hand"
# The committed v1 asset's hash. The shipped motion model and evaluator record it: if the
# v1 files change, those records no longer name the hand they were trained with.
V1_SHA256 = "a8f5f9e32e068a03392168a34ff4f5a3d20260fd09feaaecb73283b52fa14974"


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.delenv(MANO_DIR_ENV_VAR, raising=False)
    monkeypatch.setattr(identity_module, "_WARNED", set())


def _other_hand(folder: Path) -> Path:
    """The v1 pickles with 8 % longer hands: real MANO-format files of another hand."""
    folder.mkdir()
    for name in MANO_FILE_NAMES.values():
        arrays = load_mano_file(V1_FOLDER / name)
        arrays["v_template"] = arrays["v_template"] * 1.08
        with open(folder / name, "wb") as handle:
            pickle.dump(arrays, handle, protocol=2)
    return folder


def test_v1_identity_is_stable_and_hashes_the_committed_files():
    expected = hashlib.sha256()
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl", HAND_META_FILE):
        data = (V1_FOLDER / name).read_bytes()
        expected.update(f"{name}\0{len(data)}\0".encode() + data)
    identity = hand_identity()
    assert identity.asset == "openhoi-hand-v1"
    assert identity.sha256 == expected.hexdigest() == V1_SHA256
    hands = {side: HandModel(side) for side in ("left", "right")}
    assert hand_identity(hands) == identity == hand_identity(hands["left"])
    assert hand_identity(str(V1_FOLDER)) == identity
    assert identity.describe() == f"embedded openhoi-hand-v1 (sha256 {V1_SHA256[:8]}…)"
    assert identity.to_record() == {"asset": "openhoi-hand-v1", "sha256": V1_SHA256}


def test_copied_and_modified_mano_files_are_another_hand(tmp_path):
    other = hand_identity(_other_hand(tmp_path / "mano"))
    assert other.asset == "mano-files"
    assert other.sha256 != V1_SHA256 and len(other.sha256) == 64
    assert other.describe().startswith(f"MANO files at {(tmp_path / 'mano').resolve()} (sha256 ")
    assert not other.matches(hand_identity())
    # An exact copy of the v1 files is the v1 hand, wherever it lies.
    copy = tmp_path / "copy"
    shutil.copytree(V1_FOLDER, copy)
    assert hand_identity(copy).asset == "openhoi-hand-v1"
    assert hand_identity(copy).sha256 == V1_SHA256
    # hand_meta.json names an embedded asset; editing a file re-hashes (no stale cache).
    meta = json.loads((copy / HAND_META_FILE).read_text())
    (copy / HAND_META_FILE).write_text(json.dumps({**meta, "asset_id": "openhoi-hand-v9"}))
    renamed = hand_identity(copy)
    assert renamed.asset == "openhoi-hand-v9" and renamed.sha256 != V1_SHA256
    assert renamed.selector() == "embedded:v9"
    with pytest.raises(InputError, match="neither MANO_RIGHT.pkl nor MANO_LEFT.pkl"):
        hand_identity(tmp_path)


def test_legacy_records_read_as_assumed_v1():
    legacy = read_hand_record(None)
    assert legacy.asset == "openhoi-hand-v1" and legacy.is_assumed and legacy.sha256 is None
    assert legacy.describe() == "openhoi-hand-v1 (assumed; recorded before hand provenance)"
    assert legacy.to_record() == {
        "asset": "openhoi-hand-v1",
        "sha256": None,
        "assumed": True,
        "note": "assumed; recorded before hand provenance",
    }
    assert read_hand_record(legacy.to_record()) == legacy
    assert legacy.matches(hand_identity())
    recorded = read_hand_record({"asset": "mano-files", "sha256": "ab" * 32})
    assert not legacy.matches(recorded) and not recorded.is_assumed
    with pytest.raises(InputError, match="config.json: the hand record must be"):
        read_hand_record({"sha256": 3}, "config.json")


def test_generating_with_another_hand_warns_once(tmp_path, caplog):
    mano = _other_hand(tmp_path / "mano")
    trained = read_hand_record({"asset": "openhoi-hand-v1", "sha256": V1_SHA256})
    with caplog.at_level(logging.WARNING, logger="openhoi.hand.identity"):
        assert not check_generation_hand(trained, None)  # the same hand: silent
        assert not check_generation_hand(read_hand_record(None), None)  # legacy v1 too
        assert caplog.records == []
        for _ in range(3):  # e.g. one load per prompt batch
            assert check_generation_hand(trained, str(mano))
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith(
        "the motion model was trained with openhoi-hand-v1; you are generating with "
        f"MANO files at {mano.resolve()} (sha256 "
    )
    assert "grasps were learned for another hand" in message
    assert "--mano-dir embedded:v1" in message


def test_training_with_another_hand_than_the_data_warns(tmp_path, caplog, monkeypatch):
    data_hand = hand_identity()
    with caplog.at_level(logging.WARNING, logger="openhoi.hand.identity"):
        check_training_hand(data_hand, "DATA")
        assert caplog.records == []
        monkeypatch.setenv(MANO_DIR_ENV_VAR, str(_other_hand(tmp_path / "mano")))
        assert check_training_hand(data_hand, "DATA").asset == "mano-files"
        check_training_hand(data_hand, "DATA")
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith("the dataset DATA was made with openhoi-hand-v1; you are training")
    assert f"{MANO_DIR_ENV_VAR}=embedded:v1" in message
