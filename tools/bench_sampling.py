"""Benchmark: the reference sampler (DDPM-1000, CFG as two separate passes) vs ours
(DDIM with few steps, CFG in one batched pass), same model, same prompts, one run.

Ours is what `MotionGenerator.sample` does by default: DDIM with eta = 1 (the default; 0
is deterministic DDIM), CFG's two halves in one forward pass, the condition's text and
point tokens encoded once per batch. The reference runs both passes at every step and
encodes the condition inside each of them.

    python tools/bench_sampling.py --data FOLDER [--model MODEL_DIR] [--num-prompts 8]

Prompts are real segments of the folder's val split (object, affordance mask, text, hands);
their ground-truth motion gives the quality reference. Prints sequences/s and latency per
batch for each method and device (CPU, and CUDA when present), quality side by side
(physics via `openhoi.eval.sequence_physics`, MPJPE to ground truth, FOL) and the ratios.
Writes a JSON report with --json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _prompts(data: Path, count: int, num_frames: int, split: str):
    from openhoi.data.torch_dataset import SegmentDataset
    from openhoi.motion.generator import MotionCondition

    dataset = SegmentDataset(data, split=split, max_frames=num_frames)
    conditions, truths = [], []
    for index in range(len(dataset)):
        sample = dataset[index]
        if len(sample.frames) < num_frames:
            continue
        active = sample.active_hands.numpy()
        hands = "both" if active.all() else ("left" if active[0] else "right")
        conditions.append(
            MotionCondition(sample.object_name, sample.affordance.numpy(), sample.text, hands)
        )
        truths.append(dataset.stats.denormalise(sample.frames.numpy()))
        if len(conditions) == count:
            break
    if not conditions:
        raise SystemExit(f"no val segment of {num_frames} frames in {data}")
    return conditions, truths


def _quality(sequences, conditions, truths) -> dict[str, float]:
    from openhoi.data import HOISequence
    from openhoi.eval import final_object_location_error, mpjpe_mm
    from openhoi.eval.physics import sequence_physics
    from openhoi.objects import load_object

    physics, errors, fol = [], [], []
    for seq, cond, truth in zip(sequences, conditions, truths, strict=True):
        obj = load_object(cond.object)
        physics.append(sequence_physics(seq, obj).summary())
        gt = HOISequence(frames=truth, active_hands=seq.active_hands, object_name=seq.object_name)
        sides = [s for k, s in enumerate(("left", "right")) if seq.active_hands[0, k]]
        pred_j = np.stack([seq.hand_joints(s) for s in sides], axis=1)
        true_j = np.stack([gt.hand_joints(s) for s in sides], axis=1)
        errors.append(mpjpe_mm(pred_j, true_j))
        fol.append(final_object_location_error(seq.object_translation(), gt.object_translation()))
    out = {"mpjpe_mm": float(np.mean(errors)), "fol_m": float(np.mean(fol))}
    for key in (
        "penetration_depth_max_mm",
        "penetration_depth_mean_mm",
        "intersection_volume_mean_cm3",
        "contact_ratio",
    ):
        out[key] = float(np.mean([p[key] for p in physics]))
    jerk = [np.abs(np.diff(s.frames, n=3, axis=0)).mean() for s in sequences]
    out["mean_abs_jerk"] = float(np.mean(jerk))
    return out


def _run(generator, conditions, num_frames, *, sampler, steps, batched, eta=1.0, repeats=1):
    import torch

    times = []
    for _ in range(repeats):
        if generator.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        sequences = generator.sample(
            conditions,
            num_frames,
            steps=steps,
            sampler=sampler,
            seed=0,
            use_batched_cfg=batched,
            eta=eta,
        )
        if generator.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    latency = min(times)
    return sequences, {"latency_s": latency, "sequences_per_s": len(conditions) / latency}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: shipped)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--num-prompts", type=int, default=8)
    parser.add_argument("--num-frames", type=int, default=60)
    parser.add_argument("--reference-steps", type=int, default=1000)
    parser.add_argument("--ddim-steps", type=int, default=50)
    parser.add_argument("--eta", type=float, default=None, help="DDIM eta (default: generator)")
    parser.add_argument("--devices", default="auto", help="cpu, cuda or auto (cpu + cuda if any)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from openhoi.motion.generator import load_generator

    # Default: the model folder's own eta (its "sampling" block).
    eta = args.eta if args.eta is not None else load_generator(args.model).resolve_sampling().eta
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if args.devices != "auto":
        devices = args.devices.split(",")
    conditions, truths = _prompts(args.data, args.num_prompts, args.num_frames, args.split)
    report = {
        "num_prompts": len(conditions),
        "num_frames": args.num_frames,
        "eta": eta,
        "devices": {},
    }
    for device in devices:
        generator = load_generator(args.model, device=device)
        generator.sample(conditions[:1], args.num_frames, steps=2)  # warm-up
        ref_seqs, ref = _run(
            generator,
            conditions,
            args.num_frames,
            sampler="ddpm",
            steps=args.reference_steps,
            batched=False,
        )
        ours_seqs, ours = _run(
            generator,
            conditions,
            args.num_frames,
            sampler="ddim",
            steps=args.ddim_steps,
            batched=True,
            eta=eta,
            repeats=2,
        )
        ref["quality"] = _quality(ref_seqs, conditions, truths)
        ours["quality"] = _quality(ours_seqs, conditions, truths)
        speedup = ref["latency_s"] / ours["latency_s"]
        report["devices"][device] = {
            f"reference_ddpm{args.reference_steps}_separate_cfg": ref,
            f"ours_ddim{args.ddim_steps}_eta{eta:g}_batched_cfg": ours,
            "speedup": speedup,
        }
        print(
            f"\n== {device}: {len(conditions)} prompts x {args.num_frames} frames; reference "
            f"DDPM-{args.reference_steps}, ours DDIM-{args.ddim_steps} eta={eta:g}"
        )
        print(f"{'':28s}{'reference':>14s}{'ours':>14s}{'ratio':>10s}")
        rows = [
            ("latency (s)", ref["latency_s"], ours["latency_s"]),
            ("sequences/s", ref["sequences_per_s"], ours["sequences_per_s"]),
        ]
        rows += [(k, ref["quality"][k], ours["quality"][k]) for k in ref["quality"]]
        for name, a, b in rows:
            ratio = b / a if a else float("nan")
            print(f"{name:28s}{a:14.4f}{b:14.4f}{ratio:10.3f}")
        print(f"speed-up (reference latency / ours): {speedup:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
