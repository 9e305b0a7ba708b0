"""Forecasting (`openhoi.infill.Infiller.forecast`) and its metrics and baselines."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from openhoi.eval.forecast_metrics import (
    best_of_k,
    constant_velocity_forecast,
    copy_last_forecast,
    forecast_errors,
    forecast_keypoints,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from infill_fixtures import fast_config, shipped_infiller, straight_line


def test_forecast_continues_from_the_history_last_frame_exactly():
    history = straight_line(12)
    result = shipped_infiller().forecast(history, 4, fast_config(candidates=3), history_frames=5)
    assert len(result.samples) == 3
    for sample in result.samples:
        assert sample.num_frames == 5  # the history's last frame + 4 forecast frames
        np.testing.assert_allclose(sample.frames[0], history.frames[-1], atol=1e-5)
        assert sample.object_name == history.object_name
    assert result.text == history.texts[0]
    # Different seeds, different futures.
    assert not np.allclose(result.samples[0].frames[1:], result.samples[1].frames[1:], atol=1e-4)


def test_forecast_rejects_short_history_and_missing_text():
    from openhoi.errors import InputError

    infiller = shipped_infiller()
    with pytest.raises(InputError, match="history has 3 frames"):
        infiller.forecast(straight_line(3), 4, fast_config(), history_frames=5)
    with pytest.raises(InputError, match="--instruction"):
        infiller.forecast(straight_line(6).replace(texts=("",)), 4, fast_config(), history_frames=5)
    with pytest.raises(InputError, match="frames must be 2"):
        infiller.forecast(straight_line(6), 1, fast_config(), history_frames=5)


def test_constant_velocity_is_exact_on_a_straight_line_and_copy_last_is_not():
    keypoints = forecast_keypoints(straight_line(20))  # (20, 12, 3)
    history, future = keypoints[:12], keypoints[12:]
    moving = forecast_errors(constant_velocity_forecast(history, 8), future)
    # Exact up to float32 keypoints (errors in mm; 1e-3 mm = 1 µm).
    np.testing.assert_allclose(moving.mean_mm, 0.0, atol=1e-3)
    np.testing.assert_allclose(moving.final_mm, 0.0, atol=1e-3)
    held = forecast_errors(copy_last_forecast(history, 8), future)
    # The right hand moves |(4, -2, 1)| mm per frame, 6 of 12 keypoints: n·4.58/2 mm at frame n.
    step_mm = np.linalg.norm([4.0, -2.0, 1.0])
    np.testing.assert_allclose(held.final_mm, 8 * step_mm / 2, rtol=1e-5)
    np.testing.assert_allclose(held.mean_mm, 4.5 * step_mm / 2, rtol=1e-5)


def test_best_of_k_on_a_toy_case():
    truth = np.zeros((4, 12, 3))
    offsets = np.array([0.05, 0.02, 0.08, 0.01, 0.03])  # metres, forecast k is off by this
    forecasts = np.zeros((5, 4, 12, 3))
    forecasts[..., 0] = offsets[:, None, None]
    errors = forecast_errors(forecasts, truth)
    np.testing.assert_allclose(errors.mean_mm, offsets * 1000)
    k1, k5 = best_of_k(errors, 1), best_of_k(errors, 5)
    assert k1 == pytest.approx((50.0, 50.0)) and k5 == pytest.approx((10.0, 10.0))
    assert k5[0] <= k1[0] and k5[1] <= k1[1]
    with pytest.raises(Exception, match="k must be 1..5"):
        best_of_k(errors, 6)


def test_model_best_of_5_is_no_worse_than_best_of_1():
    history = straight_line(16)
    truth = forecast_keypoints(straight_line(20)[16:])
    result = shipped_infiller().forecast(history, 4, fast_config(candidates=5), history_frames=5)
    predicted = np.stack([forecast_keypoints(s[1:]) for s in result.samples])
    errors = forecast_errors(predicted, truth)
    assert best_of_k(errors, 5)[0] <= best_of_k(errors, 1)[0]


def test_cli_bad_inputs_exit_2_and_write_nothing(tmp_path):
    import contextlib
    import io

    from openhoi.cli import main

    straight_line(6).save(tmp_path / "history.npz")
    out = tmp_path / "out"
    history = str(tmp_path / "history.npz")
    cases = [
        (("--history", str(tmp_path / "missing.npz")), "missing.npz"),
        (("--history", history, "--history-frames", "10"), "needs at least 10"),
        (("--history", history, "--frames", "1"), "--frames must be >= 2"),
        (("--history", history, "--history-frames", "5", "--object", "bottle"), "bottle"),
    ]
    for args, expected in cases:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
            main(["forecast", *args, "--out", str(out)])
        assert exit_info.value.code == 2, err.getvalue()
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], err.getvalue()
        assert not out.exists()


@pytest.mark.slow
def test_eval_forecast_writes_its_table(tmp_path):
    """`openhoi eval forecast` on one SynthHOI unseen episode (made and cached on first use)."""
    import json

    from openhoi.benchmark_forecast import (
        ForecastEvalConfig,
        run_forecast_eval,
        write_forecast_eval,
    )

    config = ForecastEvalConfig(limit=1, num_frames=8, history_frames=5, samples=2, steps=2,
                                refine=False)  # fmt: skip
    results = run_forecast_eval(config, log=lambda _: None)
    json_path, md_path = write_forecast_eval(results, tmp_path)
    rows = {(r["method"], r["k"]): r for r in json.loads(json_path.read_text())["rows"]}
    assert rows[("model (K=2)", 2)]["mean_mm"] <= rows[("model (K=1)", 1)]["mean_mm"]
    assert {"constant velocity", "copy last"} <= {method for method, _ in rows}
    assert "| model (K=1) | 1 |" in md_path.read_text()
    # The hand it ran with is recorded and stated.
    assert json.loads(json_path.read_text())["provenance"]["hand"]["asset"] == "openhoi-hand-v1"
    assert ", hand embedded openhoi-hand-v1 (sha256 " in md_path.read_text()
