"""`openhoi eval forecast`: hand forecasting on SynthHOI unseen objects (HandWorld's protocol).

Every sub-task segment of the test episodes with at least H + N frames gives one window:
the segment is cut at c = H + (T − H − N) // 2 (the middle of what can be cut); frames
[0, c) are the history, of which the model sees the last H, and frames [c, c + N) the
truth. The model draws K forecasts (`openhoi.infill.Infiller.forecast`, seeds as best-of-K
candidates); each row reports the mean over windows of the best-of-K mean and final
keypoint error in mm over the 12 keypoints (`openhoi.eval.forecast_metrics`), for K = 1
and the largest K, beside the copy-last and constant-velocity baselines (deterministic,
so one forecast each).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openhoi.errors import InputError

__all__ = [
    "ForecastEvalConfig",
    "forecast_markdown",
    "run_forecast_eval",
    "write_forecast_eval",
]


@dataclass(frozen=True)
class ForecastEvalConfig:
    """Settings of the forecasting evaluation.

    data: a SynthHOI episode folder (None: the cached SynthHOI test set of `split`).
    split: "unseen" (unseen objects), "seen" or "all".
    limit: only the first N episodes (None: all).
    history_frames: H, frames the model is conditioned on, >= 2.
    num_frames: N, frames forecast, >= 2.
    samples: the largest K (rows are K = 1 and K = samples), 1..16.
    steps: sampler steps (None: the model folder's); refine: DSG while sampling.
    """

    data: str | None = None
    split: str = "unseen"
    limit: int | None = None
    history_frames: int = 10
    num_frames: int = 30
    samples: int = 5
    seed: int = 0
    steps: int | None = None
    refine: bool = True
    motion_path: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        from openhoi.benchmark import SPLITS

        if self.split not in SPLITS:
            raise InputError(f"split must be one of {list(SPLITS)}, got {self.split!r}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be >= 1, got {self.limit}")
        if self.history_frames < 2:
            raise InputError(f"history_frames must be >= 2, got {self.history_frames}")
        if self.num_frames < 2:
            raise InputError(f"num_frames must be >= 2, got {self.num_frames}")
        if not 1 <= self.samples <= 16:
            raise InputError(f"samples must be 1..16, got {self.samples}")


def _episodes(config: ForecastEvalConfig, progress: bool):
    from openhoi.benchmark import SYNTH_SPLITS, select_episodes

    folder = config.data
    if folder is None:
        from openhoi.synth import EvalSplitSpec, eval_split_folder

        spec = EvalSplitSpec(test_set=SYNTH_SPLITS[config.split])
        folder = eval_split_folder(spec, config.limit, progress=progress)
    elif not Path(folder).is_dir():
        from openhoi.errors import MissingFileError

        raise MissingFileError(f"episode folder {str(folder)!r} does not exist")
    return select_episodes(folder, "synth", config.split, config.limit)


def run_forecast_eval(
    config: ForecastEvalConfig, *, log: Callable[[str], None] = print, progress: bool = False
) -> dict[str, Any]:
    """Score the model and the baselines; returns the JSON-ready results (rows + settings)."""
    from openhoi.eval.forecast_metrics import (
        best_of_k,
        constant_velocity_forecast,
        copy_last_forecast,
        forecast_errors,
        forecast_keypoints,
    )
    from openhoi.generate_config import GenerateConfig
    from openhoi.infill import Infiller

    episodes = _episodes(config, progress)
    infiller = Infiller.from_pretrained(config.motion_path, device=config.device)
    hands = infiller.hands
    settings = GenerateConfig.from_options(
        seed=config.seed, candidates=config.samples, steps=config.steps, refine=config.refine
    )
    least = config.history_frames + config.num_frames
    names = ("model", "constant_velocity", "copy_last")
    errors: dict[str, list] = {name: [] for name in names}
    windows, seconds = [], 0.0
    for episode in episodes:
        for index, segment in enumerate(episode.segments):
            if segment.num_frames < least:
                continue
            cut = config.history_frames + (segment.num_frames - least) // 2
            history = segment[:cut]
            truth = forecast_keypoints(segment[cut : cut + config.num_frames], hands)
            past = forecast_keypoints(history, hands)
            clock = time.perf_counter()
            result = infiller.forecast(
                history, config.num_frames, settings, history_frames=config.history_frames
            )
            seconds += time.perf_counter() - clock
            predicted = np.stack([forecast_keypoints(s[1:], hands) for s in result.samples])
            errors["model"].append(forecast_errors(predicted, truth))
            errors["constant_velocity"].append(
                forecast_errors(constant_velocity_forecast(past, config.num_frames), truth)
            )
            errors["copy_last"].append(
                forecast_errors(copy_last_forecast(past, config.num_frames), truth)
            )
            windows.append({"episode": episode.episode_id, "segment": index, "cut": cut})
            log(f"{episode.episode_id} segment {index}: cut at {cut}")
    if not windows:
        raise InputError(
            f"no test segment has {least} frames (history {config.history_frames} + forecast "
            f"{config.num_frames}); lower --history-frames or --frames"
        )
    rows = []
    ks = sorted({1, config.samples})
    for k in ks:
        best = np.array([best_of_k(e, k) for e in errors["model"]])
        rows.append(_row(f"model (K={k})", k, best))
    for name in names[1:]:
        best = np.array([best_of_k(e, 1) for e in errors[name]])
        for k in ks:
            rows.append(_row(name.replace("_", " "), k, best))
    return {
        "config": dataclasses.asdict(config),
        "provenance": dict(infiller.provenance),  # version, motion id, hand (and the model's)
        "num_windows": len(windows),
        "windows": windows,
        "rows": rows,
        "seconds_per_window": seconds / len(windows),
    }


def _row(name: str, k: int, best: np.ndarray) -> dict[str, Any]:
    return {
        "method": name,
        "k": k,
        "mean_mm": float(best[:, 0].mean()),
        "final_mm": float(best[:, 1].mean()),
    }


def forecast_markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    from openhoi.provenance import hand_clause

    config = results["config"]
    lines = [
        f"Forecasting on SynthHOI {config['split']}: {results['num_windows']} windows, history "
        f"{config['history_frames']} frames, forecast {config['num_frames']} frames"
        f"{hand_clause(results.get('provenance'))}; "
        "best-of-K keypoint error (12 keypoints: wrists + fingertips), mm",
        "",
        "| method | K | mean mm | final mm |",
        "|---|---|---|---|",
    ]
    for row in results["rows"]:
        lines.append(
            f"| {row['method']} | {row['k']} | {row['mean_mm']:.1f} | {row['final_mm']:.1f} |"
        )
    lines.append("")
    lines.append(f"Model time per window (K = {config['samples']}): "
                 f"{results['seconds_per_window']:.1f} s")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_forecast_eval(results: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """forecast.json and forecast.md in `out` (created); returns both paths."""
    from openhoi._io import save_json_atomic

    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write to output folder {str(folder)!r} ({exc.strerror})") from exc
    json_path, md_path = folder / "forecast.json", folder / "forecast.md"
    save_json_atomic(json_path, json.loads(json.dumps(results)))
    md_path.write_text(forecast_markdown(results))
    return json_path, md_path
