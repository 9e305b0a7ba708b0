"""Train the shipped default planner (tiny LLaMA + frozen MiniLM): coarse then fine stage.

    python tools/train_planner_default.py [--preset cpu|gpu] [--work-dir runs/planner_default]
        [--out openhoi/assets/planner] [--coarse-steps N] [--fine-steps N] [--device cuda]
        [--resume] [--data DIR] [--max-scene-objects N]
    python tools/train_planner_default.py --tune-masks CHECKPOINT [--mask-steps N] ...

`--preset cpu` is a reduced model that trains on a 2-core CPU in ~40 minutes (the shipped
planner); `--preset gpu` is the full configuration of configs/mllm/train.yaml (about 10
minutes on one H100).
Writes `<work-dir>/coarse/final`, `<work-dir>/fine/final`, then copies the fine checkpoint
in float16 to `--out` (the shipped asset, < 25 MB).

`--tune-masks CHECKPOINT` skips both stages and trains only the mask head of a finished
planner (its affordance decoder and the point encoder's per-point branch,
`trainable=mask_head`) on fine-stage scenes, writing `<work-dir>/masks/final` and the
float16 copy: every weight a plan depends on is untouched, so each plan it decodes is
bit-identical and only the masks change.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time

import torch

from openhoi.mllm.checkpoint import load_checkpoint, save_checkpoint
from openhoi.mllm.model import AffordanceDecoderConfig, PlannerModelConfig
from openhoi.mllm.point_encoder import PointEncoderConfig
from openhoi.mllm.training import PlannerTrainConfig, train_planner

PRESETS = {
    "cpu": dict(
        model=PlannerModelConfig(
            point_encoder=PointEncoderConfig(num_groups=16, group_size=32, hidden_size=96),
            decoder=AffordanceDecoderConfig(hidden_size=64, num_layers=2),
            max_objects=4,
        ),
        batch_size=8,
        max_scene_objects=2,
        coarse_steps=300,
        fine_steps=2400,
    ),
    "gpu": dict(
        model=PlannerModelConfig(),
        batch_size=32,
        max_scene_objects=3,
        coarse_steps=1500,
        fine_steps=3000,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--work-dir", default="runs/planner_default")
    parser.add_argument("--out", default="openhoi/assets/planner")
    parser.add_argument("--coarse-steps", type=int, default=None)
    parser.add_argument("--fine-steps", type=int, default=None)
    parser.add_argument("--device", default=None, help="cuda / cpu (default: cuda if available)")
    parser.add_argument(
        "--data", "--episodes-dir", default=None, help="prepared episodes folder (train split)"
    )
    parser.add_argument(
        "--max-scene-objects", type=int, default=None, help="objects per fine-stage scene, 1..N"
    )
    parser.add_argument("--tune-masks", default=None, metavar="CHECKPOINT")
    parser.add_argument("--mask-steps", type=int, default=100)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    preset = PRESETS[args.preset]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    common = dict(
        batch_size=preset["batch_size"],
        max_scene_objects=args.max_scene_objects or preset["max_scene_objects"],
        model=preset["model"],
        seed=args.seed,
        resume=args.resume,
        log_interval=25,
        device=device,
        checkpoint_interval=100,
        quiet=True,  # report() prints the progress lines
    )

    def warmup(steps: int) -> int:
        # The schedule these weights were trained with: warm-up over 2% of the steps.
        return max(1, int(steps * 0.02))

    def report(step: int, record: dict) -> None:
        print(
            f"step {step:5d}  loss {record['loss']:.3f}  task {record['task_loss']:.3f}  "
            f"aff {record['aff_loss']:.3f}  pointer {record['pointer_loss']:.3f}  "
            f"lr {record['lr']:.2e}  {record['elapsed_s']}s",
            flush=True,
        )

    def ship(final) -> None:
        model, backbone = load_checkpoint(final)
        save_checkpoint(model, backbone, args.out, weights_dtype="float16")

    started = time.time()
    if args.tune_masks:
        tuned = PlannerTrainConfig(
            stage="fine",
            out=f"{args.work_dir}/masks",
            init_from=args.tune_masks,
            steps=args.mask_steps,
            warmup_steps=warmup(args.mask_steps),
            learning_rate=5e-4,
            data=args.data,
            trainable="mask_head",
            **common,
        )
        ship(train_planner(tuned, progress=report))
        print(f"mask head tuned in {time.time() - started:.0f}s; shipped checkpoint: {args.out}")
        return 0
    coarse_steps = args.coarse_steps or preset["coarse_steps"]
    fine_steps = args.fine_steps or preset["fine_steps"]
    coarse = PlannerTrainConfig(
        stage="coarse",
        out=f"{args.work_dir}/coarse",
        steps=coarse_steps,
        warmup_steps=warmup(coarse_steps),
        learning_rate=1e-3,
        **common,
    )
    coarse_final = train_planner(coarse, progress=report)
    fine = PlannerTrainConfig(
        stage="fine",
        out=f"{args.work_dir}/fine",
        init_from=str(coarse_final),
        steps=fine_steps,
        warmup_steps=warmup(fine_steps),
        learning_rate=1e-3,
        data=args.data,
        **common,
    )
    ship(train_planner(fine, progress=report))
    print(f"trained in {time.time() - started:.0f}s; shipped checkpoint: {args.out}")
    print(f"fine config: {dataclasses.asdict(fine)['model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
