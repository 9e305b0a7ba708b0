"""Time `openhoi generate` per stage, against the reference configuration, in one run.

    python tools/bench_generate.py                      # CPU, shipped weights
    python tools/bench_generate.py --device cuda
    python tools/bench_generate.py --skip-reference     # ours only (the reference is slow)
    python tools/bench_generate.py --prompts 64 --device cuda   # batch: sequential vs batched
    python tools/bench_generate.py --candidates 4       # best-of-4 vs K = 1, interleaved

With `--candidates K`: after one untimed warm-up run, `--repeats` pairs of runs of the
bottle prompt, K = 1 then K (same seed), in one process; printed per run: seconds per
stage and physics; then the median seconds of each and the ratio K / 1 (target ≤ 2).

Ours: DDIM (30 steps) with classifier-free guidance in one batched forward pass and DSG
refinement on. Reference: ancestral DDPM over all 1000 steps with CFG as two separate
passes (the paper's sampler run the way public code runs it), refinement on. Both use the
same prompt, objects, seed and device; the script prints per-stage seconds, the total
after model load, the cold total (load included) and the physics of each result, so speed
is never reported without quality beside it.

With `--prompts N`: N prompts (variants of a few instructions over bottle, mug, knife and
box) generated once prompt by prompt (`Pipeline.__call__`, one sampler call per segment)
and once batched (`Pipeline.generate_many`, segments of all prompts in shared sampler
calls), after one untimed warm-up segment. Printed per mode: prompts/s, seconds per stage
(summed over prompts), the mean physics, and where the motion stage spends its time:
inside the denoiser's forward and backward passes (module hooks, synchronised on CUDA),
inside the DSG losses' forward evaluation, and the rest (Python, sampler arithmetic,
noise, the losses' backward). Then the speed-ups and the largest frame difference
between the two modes (per-segment seeds: it should be ~0).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

PROMPT = "I'm thirsty, grab the bottle and take a sip"
OBJECTS = ["bottle"]
# --prompts N cycles through these.
BATCH_PROMPTS = (
    ("I'm thirsty, grab the bottle and take a sip", ["bottle"]),
    ("pick up the mug and put it down again", ["mug"]),
    ("cut the bread with the knife", ["knife"]),
    ("open the box", ["box"]),
    ("pour water from the bottle", ["bottle"]),
    ("lift the mug with the left hand", ["mug"]),
    ("hand the knife over to the other hand", ["knife"]),
    ("push the box across the table", ["box"]),
)
_STAGES = ("plan_s", "motion_s", "compose_s", "contact_s", "report_s")
_PHYSICS = ("penetration_depth_max_mm", "penetration_depth_mean_mm", "contact_ratio")


def _run(pipeline, config, label: str) -> dict:
    clock = time.perf_counter()
    result = pipeline(PROMPT, OBJECTS, config)
    total = time.perf_counter() - clock
    row = {
        "config": label,
        "seconds_after_load": round(total, 2),
        **{k: round(v, 2) for k, v in result.timings.items()},
        "num_frames": result.sequence.num_frames,
        "num_subtasks": len(result.plan.subtasks),
        **{
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in result.physics.summary().items()
        },
    }
    print(json.dumps(row))
    return row


class _MotionTimer:
    """Seconds inside the denoiser's forward / backward and the DSG losses' forward."""

    def __init__(self, model, device: str) -> None:
        import torch

        self.model = model
        self.sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        self.seconds = {"denoiser_forward_s": 0.0, "denoiser_backward_s": 0.0, "dsg_loss_s": 0.0}

    def _timed(self, key: str):
        started = []

        def start(*_):
            self.sync()
            started.append(time.perf_counter())

        def stop(*_):
            self.sync()
            self.seconds[key] += time.perf_counter() - started.pop()

        return start, stop

    @contextlib.contextmanager
    def active(self):
        from openhoi.refine import DSGGuidance

        forward = self._timed("denoiser_forward_s")
        backward = self._timed("denoiser_backward_s")
        handles = [
            self.model.register_forward_pre_hook(forward[0]),
            self.model.register_forward_hook(forward[1]),
            self.model.register_full_backward_pre_hook(backward[0]),
            self.model.register_full_backward_hook(backward[1]),
        ]
        loss_start, loss_stop = self._timed("dsg_loss_s")
        original = DSGGuidance.loss

        def timed_loss(guidance, x0_physical):
            loss_start()
            value = original(guidance, x0_physical)
            loss_stop()
            return value

        DSGGuidance.loss = timed_loss
        try:
            yield self
        finally:
            DSGGuidance.loss = original
            for handle in handles:
                handle.remove()


def _run_batch(pipeline, config, requests, mode: str, batch_size: int) -> tuple[dict, list]:
    """Generate `requests` sequentially or batched; one JSON row with times and physics."""
    import numpy as np

    timer = _MotionTimer(pipeline.generator.model, config.device)
    with timer.active():
        clock = time.perf_counter()
        if mode == "batched":
            results = pipeline.generate_many(requests, config, batch_size=batch_size)
        else:
            results = [pipeline(text, objects, config) for text, objects in requests]
        total = time.perf_counter() - clock
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        raise SystemExit(f"{mode}: {len(failed)} prompts failed, first: {failed[0]}")
    stages = {k: sum(r.timings.get(k, 0.0) for r in results) for k in _STAGES}
    motion = stages["motion_s"]
    inside = timer.seconds["denoiser_forward_s"] + timer.seconds["denoiser_backward_s"]
    row = {
        "mode": mode,
        "prompts": len(requests),
        "segments": sum(len(r.subtask_frames) for r in results),
        "seconds": round(total, 2),
        "prompts_per_s": round(len(requests) / total, 4),
        **{k: round(v, 2) for k, v in stages.items()},
        **{k: round(v, 2) for k, v in timer.seconds.items()},
        "denoiser_share_of_motion": round(inside / motion, 3),
        "dsg_loss_share_of_motion": round(timer.seconds["dsg_loss_s"] / motion, 3),
        "other_share_of_motion": round(1 - (inside + timer.seconds["dsg_loss_s"]) / motion, 3),
        "denoiser_share_of_total": round(inside / total, 3),
        **{
            f"mean_{k}": round(float(np.mean([r.physics.summary()[k] for r in results])), 3)
            for k in _PHYSICS
        },
    }
    print(json.dumps(row))
    return row, results


def _compare_batch(pipeline, config, num_prompts: int, batch_size: int) -> None:
    """Sequential vs batched generation of `num_prompts` prompts, in one run."""
    from dataclasses import replace

    import numpy as np

    from openhoi.motion import MotionCondition
    from openhoi.objects import load_object

    requests = [BATCH_PROMPTS[k % len(BATCH_PROMPTS)] for k in range(num_prompts)]
    # Warm-up (untimed): one short guided segment loads kernels and caches.
    mug = load_object("mug")
    condition = MotionCondition(object=mug, affordance=np.ones(1024, np.float32), text="grasp")
    pipeline.generate_segment(mug, condition, 16, replace(config, steps=2), seed=0)
    sequential, seq_results = _run_batch(pipeline, config, requests, "sequential", batch_size)
    batched, batch_results = _run_batch(pipeline, config, requests, "batched", batch_size)
    difference = max(
        float(np.abs(a.sequence.frames - b.sequence.frames).max())
        for a, b in zip(seq_results, batch_results, strict=True)
    )
    print(
        json.dumps(
            {
                "speed_up_total": round(sequential["seconds"] / batched["seconds"], 2),
                "speed_up_motion": round(sequential["motion_s"] / batched["motion_s"], 2),
                "max_frame_difference": difference,
            }
        )
    )


def _compare_candidates(pipeline, seed: int, candidates: int, repeats: int) -> None:
    """K = 1 against K = `candidates`, interleaved, after a warm-up; medians and ratio."""
    import statistics

    from openhoi.api import GenerateConfig

    single = GenerateConfig.from_options(seed=seed)
    several = GenerateConfig.from_options(seed=seed, candidates=candidates)
    pipeline(PROMPT, OBJECTS, single)  # warm-up: imports, caches, thread pools
    times: dict[int, list[float]] = {1: [], candidates: []}
    for _ in range(repeats):
        for k, config in ((1, single), (candidates, several)):
            times[k].append(_run(pipeline, config, f"K = {k}")["seconds_after_load"])
    one, many = statistics.median(times[1]), statistics.median(times[candidates])
    print(
        json.dumps(
            {
                "median_s_k1": round(one, 2),
                f"median_s_k{candidates}": round(many, 2),
                "ratio": round(many / one, 2),
                "runs": {str(k): v for k, v in times.items()},
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--prompts", type=int, default=0, help="N > 0: sequential vs batched, N prompts"
    )
    parser.add_argument("--steps", type=int, default=30, help="DDIM steps (--prompts mode)")
    parser.add_argument("--batch-size", type=int, default=64, help="segments per sampler call")
    parser.add_argument(
        "--candidates", type=int, default=0, help="K > 1: best-of-K against K = 1"
    )
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (--candidates)")
    args = parser.parse_args()

    import torch

    from openhoi.api import GenerateConfig, Pipeline

    torch.set_num_threads(max(1, torch.get_num_threads()))
    ours = GenerateConfig(seed=args.seed)
    clock = time.perf_counter()
    pipeline = Pipeline.from_pretrained(device=args.device)
    load = time.perf_counter() - clock
    print(json.dumps({"device": args.device, "model_load_s": round(load, 2)}))
    if args.candidates > 1:
        _compare_candidates(pipeline, args.seed, args.candidates, args.repeats)
        return 0
    if args.prompts > 0:
        config = GenerateConfig.from_options(seed=args.seed, steps=args.steps)
        _compare_batch(pipeline, config, args.prompts, args.batch_size)
        return 0
    row = _run(pipeline, ours, "ours: DDIM-30, batched CFG, DSG")
    print(
        f"ours: {row['seconds_after_load']:.1f} s after load, "
        f"{row['seconds_after_load'] + load:.1f} s cold"
    )
    if not args.skip_reference:
        reference = GenerateConfig.from_options(seed=args.seed, sampler="ddpm", steps=1000)
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
