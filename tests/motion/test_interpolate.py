"""Start→target in-filling (`openhoi.infill`): exact endpoints, best-of-K, baseline, CLI errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from openhoi.data import layout

sys.path.insert(0, str(Path(__file__).resolve().parent))
from infill_fixtures import OBJECT, fast_config, shipped_infiller, toy_state


def _endpoints():
    start = toy_state([0.25, 0.0, 0.12], frames=3)  # its last frame is the start
    target = toy_state([0.09, 0.0, 0.07], turn=0.6, object_transl=[0.02, 0.01, 0.0])
    return start, target


def test_in_filled_sequence_starts_and_ends_at_the_endpoints():
    start, target = _endpoints()
    infiller = shipped_infiller()
    result = infiller.interpolate(OBJECT, start, target, 8, fast_config(candidates=2))
    frames = result.sequence.frames
    assert frames.shape == (8, layout.FRAME_DIM)
    np.testing.assert_allclose(frames[0], start.frames[-1], atol=1e-5)
    expected = np.array(target.frames[0])
    expected[layout.OBJECT] = start.frames[-1][layout.OBJECT]  # the object stays put
    np.testing.assert_allclose(frames[-1], expected, atol=1e-5)
    still = np.broadcast_to(frames[:1, layout.OBJECT], frames[:, layout.OBJECT].shape)
    np.testing.assert_allclose(frames[:, layout.OBJECT], still, atol=1e-6)
    assert result.hands == "right"
    # Best-of-K: both candidates scored, the best kept.
    assert len(result.choice.scores) == 2
    assert result.choice.scores[result.choice.index] == max(result.choice.scores)
    # The in-between frames come from the model, not a straight line.
    assert not np.allclose(frames[1:-1], frames[:1], atol=1e-3)


def test_target_object_pose_is_met_when_asked():
    start, target = _endpoints()
    result = shipped_infiller().interpolate(
        OBJECT, start, target, 6, fast_config(), use_target_object=True
    )
    np.testing.assert_allclose(result.sequence.frames[-1], target.frames[0], atol=1e-5)
    np.testing.assert_allclose(result.sequence.frames[0], start.frames[-1], atol=1e-5)


def test_linear_interpolation_baseline_is_linear_and_exact_at_the_ends():
    from openhoi.infill import linear_interpolation

    start, target = _endpoints()
    line = linear_interpolation(start, target, 5, use_target_object=True)
    np.testing.assert_allclose(line.frames[0], start.frames[-1], atol=1e-7)
    np.testing.assert_allclose(line.frames[-1], target.frames[0], atol=1e-7)
    transl = line.hand_translation("right")
    np.testing.assert_allclose(transl[2], (transl[0] + transl[-1]) / 2, atol=1e-6)


def test_interpolate_rejects_bad_inputs(tmp_path):
    from openhoi.errors import InputError

    start, target = _endpoints()
    infiller = shipped_infiller()
    with pytest.raises(InputError, match="frames must be 2"):
        infiller.interpolate(OBJECT, start, target, 1, fast_config())
    with pytest.raises(InputError, match="made for object 'mug'"):
        infiller.interpolate("bottle", start, target, 6, fast_config())


def _cli(*args: str):
    """`openhoi ...` in-process: (exit code, stderr)."""
    import contextlib
    import io

    from openhoi.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code, err.getvalue()


def test_cli_bad_inputs_exit_2_and_write_nothing(tmp_path):
    start, target = _endpoints()
    start.save(tmp_path / "start.npz")
    target.save(tmp_path / "target.npz")
    out = tmp_path / "out"
    common = ("--target", str(tmp_path / "target.npz"), "--out", str(out))
    cases = [
        (("--object", OBJECT, "--start", str(tmp_path / "missing.npz"), *common), "missing.npz"),
        (("--object", "bottle", "--start", str(tmp_path / "start.npz"), *common), "bottle"),
        (("--object", OBJECT, "--start", str(tmp_path / "start.npz"), "--frames", "1", *common),
         "--frames must be >= 2"),
        (("--object", "no_such_thing", "--start", str(tmp_path / "start.npz"), *common),
         "no_such_thing"),
    ]  # fmt: skip
    for args, expected in cases:
        code, err = _cli("interpolate", *args)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], err
        assert not out.exists()


def test_two_frames_are_just_the_endpoints():
    start, target = _endpoints()
    result = shipped_infiller().interpolate(OBJECT, start, target, 2, fast_config(report=True))
    np.testing.assert_allclose(result.sequence.frames[0], start.frames[-1], atol=1e-6)
    assert result.sequence.num_frames == 2 and result.physics is not None
