"""Benchmark start→target in-filling against linear / slerp interpolation of the same ends.

    python tools/bench_interpolate.py                       # 4 SynthHOI unseen episodes
    python tools/bench_interpolate.py --limit 8 --frames 40 --candidates 1,4 --steps 30

Per episode (the SynthHOI unseen-object test set, made and cached on first use, as
`openhoi eval motion` does): the start is frame 0 of its first sub-task segment, the
target frame `--frames` − 1 of it (hands and object pose, `use_target_object`), and each
method makes `--frames` frames between them:

- `model K=k`: `openhoi.infill.Infiller.interpolate` (both ends in-filled at every step, DSG,
  best-of-k by the candidate score, the contact stage);
- `linear/slerp`: `openhoi.infill.linear_interpolation` (linear in time, slerp rotations);
- `ground truth`: the segment's own frames over the same span, for scale.

Columns (means over episodes; `openhoi.eval.sequence_physics` with the acting hands and the
segment's affordance region, and `frame_motion_statistics` of the acting hands' 21
keypoints): penetration mean / max (mm), contact ratio, holding ratio, mean keypoint jerk
(m/s³, smoothness; lower is smoother) and wall time per sequence (s).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from openhoi.benchmark import SYNTH_SPLITS, select_episodes
from openhoi.eval.motion_metrics import frame_motion_statistics
from openhoi.generate_config import GenerateConfig
from openhoi.infill import Infiller, linear_interpolation

COLUMNS = (
    ("penetration_depth_mean_mm", "pen mean mm", "{:.2f}"),
    ("penetration_depth_max_mm", "pen max mm", "{:.2f}"),
    ("contact_ratio", "contact", "{:.2f}"),
    ("holding_ratio", "holding", "{:.2f}"),
    ("jerk_m_s3", "jerk m/s³", "{:.1f}"),
    ("seconds", "s / seq", "{:.2f}"),
)


def measure(infiller: Infiller, sequence, obj, hands: str, affordance) -> dict[str, float]:
    """Physics summary numbers and the acting hands' mean keypoint jerk."""
    summary = infiller.score(sequence, obj, hands, affordance).summary()
    sides = ("left", "right") if hands == "both" else (hands,)
    joints = np.stack([sequence.hand_joints(s, infiller.hands[s]) for s in sides], axis=1)
    jerk = frame_motion_statistics(joints, sequence.fps).mean_jerk_m_s3
    return {key: summary.get(key) for key, _, _ in COLUMNS[:4]} | {"jerk_m_s3": jerk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=4, help="Unseen-object episodes.")
    parser.add_argument("--frames", type=int, default=40, help="Frames per in-fill, ends included.")
    parser.add_argument("--candidates", default="1,4", help="Comma list of K for the model rows.")
    parser.add_argument("--steps", type=int, default=None, help="Sampler steps (default: model's).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="Also write the rows to this JSON file.")
    args = parser.parse_args()

    from openhoi.synth import EvalSplitSpec, eval_split_folder

    folder = eval_split_folder(EvalSplitSpec(test_set=SYNTH_SPLITS["unseen"]), args.limit)
    episodes = select_episodes(folder, "synth", "unseen", args.limit)
    infiller = Infiller.from_pretrained(device=args.device)
    ks = [int(k) for k in args.candidates.split(",")]
    rows: dict[str, list[dict[str, float]]] = {}
    for episode in episodes:
        segment = episode.segments[0]
        frames = min(args.frames, segment.num_frames)
        start, target = segment[:1], segment[frames - 1 : frames]
        obj = segment.load_object()
        for k in ks:
            config = GenerateConfig.from_options(seed=args.seed, candidates=k, steps=args.steps)
            clock = time.perf_counter()
            result = infiller.interpolate(obj, start, target, frames, config,
                                          use_target_object=True)  # fmt: skip
            seconds = time.perf_counter() - clock
            numbers = measure(infiller, result.sequence, obj, result.hands, result.affordance)
            rows.setdefault(f"model K={k}", []).append({**numbers, "seconds": seconds})
            hands, affordance = result.hands, result.affordance
        clock = time.perf_counter()
        line = linear_interpolation(start, target, frames, use_target_object=True)
        seconds = time.perf_counter() - clock
        numbers = measure(infiller, line, obj, hands, affordance)
        rows.setdefault("linear/slerp", []).append({**numbers, "seconds": seconds})
        truth = measure(infiller, segment[:frames], obj, hands, affordance)
        rows.setdefault("ground truth", []).append({**truth, "seconds": float("nan")})
        print(f"{episode.episode_id} ({segment.texts[0]!r}): {frames} frames", flush=True)

    table = {name: _means(entries) for name, entries in rows.items()}
    print(f"\n{len(episodes)} SynthHOI unseen-object episodes, {args.frames} frames, "
          f"steps {args.steps or 'model default'}, device {args.device}\n")  # fmt: skip
    print("| method | " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, values in table.items():
        cells = [_cell(values[key], fmt) for key, _, fmt in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "rows": table}, handle, indent=2)


def _cell(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or not np.isfinite(value) else fmt.format(value)


def _means(entries: list[dict[str, float]]) -> dict[str, float | None]:
    out = {}
    for key, _, _ in COLUMNS:
        values = [e[key] for e in entries if e[key] is not None]
        out[key] = float(np.mean(values)) if values else None
    return out


if __name__ == "__main__":
    main()
