"""Time `openhoi generate` per stage, against the reference configuration, in one run.

    python tools/bench_generate.py                      # CPU, shipped weights
    python tools/bench_generate.py --device cuda
    python tools/bench_generate.py --skip-reference     # ours only (the reference is slow)

Ours: DDIM (30 steps) with classifier-free guidance in one batched forward pass and DSG
refinement on. Reference: ancestral DDPM over all 1000 steps with CFG as two separate
passes (the paper's sampler run the way public code runs it), refinement on. Both use the
same prompt, objects, seed and device; the script prints per-stage seconds, the total
after model load, the cold total (load included) and the physics of each result, so speed
is never reported without quality beside it.
"""

from __future__ import annotations

import argparse
import json
import time

PROMPT = "I'm thirsty, grab the bottle and take a sip"
OBJECTS = ["bottle"]


def _run(pipeline, config, label: str) -> dict:
    clock = time.perf_counter()
    result = pipeline(PROMPT, OBJECTS, config)
    total = time.perf_counter() - clock
    row = {
        "config": label,
        "seconds_after_load": round(total, 2),
        **{k: round(v, 2) for k, v in result.report["timings"].items()},
        "num_frames": result.sequence.num_frames,
        "num_subtasks": len(result.plan.subtasks),
        **{
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in result.report["physics"].items()
        },
    }
    print(json.dumps(row))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    import torch

    from openhoi.api import GenerateConfig, Pipeline

    torch.set_num_threads(max(1, torch.get_num_threads()))
    ours = GenerateConfig(device=args.device, seed=args.seed)
    clock = time.perf_counter()
    pipeline = Pipeline.from_config(ours)
    load = time.perf_counter() - clock
    print(json.dumps({"device": args.device, "model_load_s": round(load, 2)}))
    row = _run(pipeline, ours, "ours: DDIM-30, batched CFG, DSG")
    print(
        f"ours: {row['seconds_after_load']:.1f} s after load, "
        f"{row['seconds_after_load'] + load:.1f} s cold"
    )
    if not args.skip_reference:
        reference = GenerateConfig(device=args.device, seed=args.seed, sampler="ddpm", steps=1000)
        # The reference runs CFG as two passes: swap the generator's batched call.
        generator = pipeline.generator
        original = generator.sample

        def separate(*a, **k):
            k["use_batched_cfg"] = False
            return original(*a, **k)

        generator.sample = separate
        try:
            ref = _run(pipeline, reference, "reference: DDPM-1000, separate CFG passes, DSG")
        finally:
            generator.sample = original
        print(
            f"speed-up (after load): {ref['seconds_after_load'] / row['seconds_after_load']:.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
