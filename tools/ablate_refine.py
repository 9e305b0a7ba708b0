"""Ablation of the training-free physical refinement (issue 6, "Measured, not assumed").

For the first `--limit` episodes of a SynthHOI split, every sub-task segment is generated
from its ground-truth conditions (object, the segment's own affordance mask, sub-task text,
hands, the ground-truth length), the segments are composed into one episode, and the result
is measured, once per variant:

    full            penetration + affordance losses in DSG; bridges from the unconditional
                    model under the transition (+ penetration) loss (as `openhoi generate`)
    no_penetration  as full without the penetration loss (segments and bridges)
    no_affordance   as full without the affordance loss
    no_transition   as full, bridges by plain minimum-jerk interpolation
    no_guidance     refinement off: plain DDIM (eta = 0), bridges by interpolation

Before the timed variants of each episode, one untimed 2-step pass of `full` warms up
kernels and per-object caches, so wall times compare the variants, not the set-up.

Metrics per episode: penetration depth mean/max (mm), intersection volume (cm³), contact
ratio and affordance-contact ratio (`sequence_physics` on the acting hands, affordance
region = union of the ground-truth segment masks); maximum / mean joint jerk at segment
boundaries (`boundary_jerk` on the 21 keypoints of the active hands) and the largest joint
step across a boundary, against the ground truth's own frame-to-frame motion
(`frame_motion_statistics`); MPJPE (mm) and FOL (m) of each generated segment against its
ground-truth segment, both in the canonical frame (object starts at the origin); wall time
of generation + composition. Table: mean ± 95% interval over episodes.

    python tools/ablate_refine.py --data outputs/synthhoi-default \
        --split test_unseen_objects --limit 8 --steps 30 --out outputs/ablate-refine
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

SIDES = ("left", "right")
VARIANTS = ("full", "no_penetration", "no_affordance", "no_transition", "no_guidance")

# (key, column header, format) of the Markdown table.
COLUMNS = (
    ("penetration_depth_mean_mm", "pen. mean (mm)", "{:.2f}"),
    ("penetration_depth_max_mm", "pen. max (mm)", "{:.2f}"),
    ("intersection_volume_mean_cm3", "IV (cm³)", "{:.2f}"),
    ("contact_ratio", "contact", "{:.2f}"),
    ("affordance_contact_ratio", "aff. contact", "{:.2f}"),
    ("boundary_jerk_max_m_s3", "bnd jerk max (m/s³)", "{:.0f}"),
    ("boundary_jerk_mean_m_s3", "bnd jerk mean (m/s³)", "{:.0f}"),
    ("boundary_step_max_mm", "bnd step max (mm)", "{:.1f}"),
    ("mpjpe_mm", "MPJPE (mm)", "{:.1f}"),
    ("fol_m", "FOL (m)", "{:.3f}"),
    ("time_s", "time (s)", "{:.1f}"),
)
# The ground truth's own motion, the scale the boundary numbers are compared with.
GT_COLUMNS = (
    ("gt_mean_step_mm", "GT mean step (mm)", "{:.2f}"),
    ("gt_p95_step_mm", "GT p95 step (mm)", "{:.2f}"),
    ("gt_mean_jerk_m_s3", "GT mean jerk (m/s³)", "{:.0f}"),
    ("gt_p95_jerk_m_s3", "GT p95 jerk (m/s³)", "{:.0f}"),
    ("gt_boundary_jerk_max_m_s3", "GT bnd jerk max (m/s³)", "{:.0f}"),
)


# Each variant as `openhoi.benchmark.Variant`: GenerateConfig fields it changes.
VARIANT_CHANGES = {
    "full": {"bridge": "model"},
    "no_penetration": {"bridge": "model", "penetration_weight": 0.0},
    "no_affordance": {"bridge": "model", "affordance_weight": 0.0},
    "no_transition": {"bridge": "interpolation"},
    "no_guidance": {"refine": False, "bridge": "interpolation"},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="SynthHOI folder (with splits.json)")
    parser.add_argument("--split", default="test_unseen_objects")
    parser.add_argument("--limit", type=int, default=8, help="first N episodes of the split")
    parser.add_argument("--steps", type=int, default=30, help="DDIM steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/ablate-refine", help="JSON + Markdown folder")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:k]")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma list out of {','.join(VARIANTS)}"
    )
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------------------
# Generation and measurement (openhoi.benchmark and openhoi.eval.episode_metrics)


def run_variant(pipeline, base_config, obj, episode, name: str, seed: int):
    """Generated canonical segments and the composed episode; wall time of both."""
    from openhoi.benchmark import generate_episode

    config = base_config.with_options(**VARIANT_CHANGES[name])
    return generate_episode(pipeline, config, obj, episode, seed)


def ground_truth_motion(episode, hands) -> dict[str, float]:
    """Frame-to-frame motion of the ground-truth episode (segments back to back)."""
    from openhoi.eval import boundary_jerk, frame_motion_statistics
    from openhoi.eval.episode_metrics import active_sides, keypoints

    sides = sorted({s for seg in episode.segments for s in active_sides(seg)}, key=SIDES.index)
    positions = np.concatenate([keypoints(seg, sides, hands) for seg in episode.segments])
    fps = float(episode.segments[0].fps)
    stats = frame_motion_statistics(positions, fps)
    starts = np.cumsum([seg.num_frames for seg in episode.segments])[:-1]
    gt_jerk = boundary_jerk(positions, [int(b) for b in starts], fps) if len(starts) else None
    return {
        "gt_mean_step_mm": stats.mean_step_m * 1000.0,
        "gt_p95_step_mm": stats.p95_step_m * 1000.0,
        "gt_mean_jerk_m_s3": stats.mean_jerk_m_s3,
        "gt_p95_jerk_m_s3": stats.p95_jerk_m_s3,
        "gt_boundary_jerk_max_m_s3": gt_jerk.max_jerk_m_s3 if gt_jerk else float("nan"),
    }


def measure(pipeline, obj, episode, segments, sequence) -> dict[str, float | None]:
    from openhoi.eval import boundary_jerk
    from openhoi.eval.episode_metrics import (
        active_sides,
        episode_physics,
        keypoints,
        segment_accuracy,
    )

    hands = pipeline.hands
    sides = active_sides(sequence) or list(SIDES)
    positions = keypoints(sequence, sides, hands)
    boundaries = [start for start, _ in sequence.segment_ranges[1:]]
    # A one-segment episode has no boundary: its boundary columns are NaN.
    jerk = boundary_jerk(positions, boundaries, float(sequence.fps)) if boundaries else None
    steps = [np.linalg.norm(positions[b] - positions[b - 1], axis=-1).max() for b in boundaries]
    mpjpe, _, fol = segment_accuracy(episode, segments, hands)
    return {
        **episode_physics(sequence, obj, episode, hands),
        "boundary_jerk_max_m_s3": jerk.max_jerk_m_s3 if jerk else float("nan"),
        "boundary_jerk_mean_m_s3": jerk.mean_jerk_m_s3 if jerk else float("nan"),
        "boundary_step_max_mm": float(max(steps)) * 1000.0 if steps else float("nan"),
        "mpjpe_mm": float(np.mean(mpjpe)),
        "fol_m": float(np.mean(fol)),
    }


# ----------------------------------------------------------------------------------------
# Summary


def interval(values) -> tuple[float, float, int] | None:
    from openhoi.eval import mean_confidence_interval

    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not kept:
        return None
    mean, half = mean_confidence_interval(np.asarray(kept))
    return mean, half, len(kept)


def cell(stats, fmt: str) -> str:
    if stats is None:
        return "n/a"
    mean, half, _ = stats
    return fmt.format(mean) + (" ± " + fmt.format(half) if math.isfinite(half) else "")


def summarise(rows: list[dict], variants: list[str]) -> dict:
    summary: dict[str, dict] = {}
    for name in variants:
        mine = [r for r in rows if r["variant"] == name]
        summary[name] = {key: interval([r.get(key) for r in mine]) for key, _, _ in COLUMNS}
    base = summary.get("no_guidance", {}).get("time_s")
    for name in variants:
        own = summary[name]["time_s"]
        summary[name]["overhead_x"] = own[0] / base[0] if base and own else None
    gt_rows = {r["episode"]: r for r in rows}
    summary["ground_truth"] = {
        key: interval([r.get(key) for r in gt_rows.values()]) for key, _, _ in GT_COLUMNS
    }
    return summary


def markdown(summary: dict, variants: list[str], args, num_episodes: int) -> str:
    lines = [
        f"Refinement ablation: `{args.split}` of `{args.data}`, {num_episodes} episodes, "
        f"DDIM {args.steps} steps, seed {args.seed}; mean ± 95% interval over episodes.",
        "",
        "| variant | " + " | ".join(h for _, h, _ in COLUMNS) + " | overhead vs no_guidance |",
        "|---" * (len(COLUMNS) + 2) + "|",
    ]
    for name in variants:
        stats = summary[name]
        overhead = stats["overhead_x"]
        lines.append(
            f"| {name} | "
            + " | ".join(cell(stats[key], fmt) for key, _, fmt in COLUMNS)
            + f" | {'n/a' if overhead is None else f'{overhead:.2f}×'} |"
        )
    gt = summary["ground_truth"]
    lines += [
        "",
        "Ground truth's own motion (same episodes, active hands, 21 keypoints):",
        "",
        "| " + " | ".join(h for _, h, _ in GT_COLUMNS) + " |",
        "|---" * len(GT_COLUMNS) + "|",
        "| " + " | ".join(cell(gt[key], fmt) for key, _, fmt in GT_COLUMNS) + " |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from openhoi.api import GenerateConfig, Pipeline
    from openhoi.benchmark import load_in_order
    from openhoi.data.torch_dataset import split_episode_ids
    from openhoi.objects import load_object

    args = parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANT_CHANGES]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    data = Path(args.data)
    episodes = load_in_order(data, split_episode_ids(data, args.split)[: args.limit])

    config = GenerateConfig.from_options(steps=args.steps, seed=args.seed)
    pipeline = Pipeline.from_pretrained(device=args.device)
    rows: list[dict] = []
    for number, episode in enumerate(episodes, 1):
        obj = load_object(episode.object)
        gt_motion = ground_truth_motion(episode, pipeline.hands)
        # Untimed warm-up (kernel compilation, per-object distance structures), so that
        # the first variant of an episode does not pay the one-off set-up costs.
        run_variant(pipeline, config.with_options(steps=2), obj, episode, "full", args.seed)
        for name in variants:
            segments, sequence, seconds = run_variant(
                pipeline, config, obj, episode, name, args.seed
            )
            row = {
                "episode": episode.episode_id,
                "object": episode.object,
                "variant": name,
                "num_subtasks": len(episode.plan),
                "num_frames": sequence.num_frames,
                "time_s": seconds,
                **measure(pipeline, obj, episode, segments, sequence),
                **gt_motion,
            }
            rows.append(row)
            print(
                f"[{number}/{len(episodes)}] {episode.episode_id} ({episode.object}, "
                f"{len(episode.plan)} sub-tasks) {name}: {seconds:.1f}s, "
                f"pen {row['penetration_depth_mean_mm']:.2f} mm, "
                f"bnd jerk {row['boundary_jerk_max_m_s3']:.0f} m/s³",
                flush=True,
            )

    summary = summarise(rows, variants)
    table = markdown(summary, variants, args, len(episodes))
    print()
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items()}
    serialisable = {
        key: {
            metric: (None if s is None else {"mean": s[0], "ci95": s[1], "n": s[2]})
            if isinstance(s, tuple) or s is None
            else s
            for metric, s in value.items()
        }
        for key, value in summary.items()
    }
    (out / "ablate_refine.json").write_text(
        json.dumps(
            {"settings": settings, "episodes": rows, "summary": serialisable},
            indent=2,
            default=float,
        )
    )
    (out / "ablate_refine.md").write_text(table)
    print(f"wrote {out / 'ablate_refine.json'} and {out / 'ablate_refine.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
