"""Recipe: train the shipped SynthHOI motion evaluator (openhoi/assets/evaluator/synthhoi/).

    python tools/train_evaluator_default.py                # ~8 minutes on one CPU thread
    python tools/train_evaluator_default.py --steps 50     # a quick check that it runs
    python tools/train_evaluator_default.py --resume       # continue a killed run from --work

Trains `openhoi/configs/train_evaluator.yaml` (a text–motion contrastive encoder pair, Guo et
al. style) on the train split of `outputs/synthhoi-default` (the SynthHOI set that
`tools/train_diffusion_default.py` synthesizes; only its stats.json may be written), with
a fixed seed, then prints the validation R-precision (top-1/2/3 in pools of 32; chance top-1
is 1/32 ≈ 0.03) and matching score that are stored in the evaluator's config.json.
Same seed, data and thread count → same weights. Checkpoints and log.jsonl go to --work
(outside the shipped folder).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "openhoi" / "assets" / "evaluator" / "synthhoi"
DEFAULT_STEPS = 1500
MAX_SHIPPED_MB = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "outputs" / "synthhoi-default")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "train-evaluator-default")
    parser.add_argument("--resume", action="store_true", help="continue the run in --work")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra train_evaluator.yaml overrides")
    args = parser.parse_args(argv)

    import torch

    from openhoi.config import compose_config
    from openhoi.eval.evaluator_training import EvaluatorTrainConfig, train_evaluator

    torch.set_num_threads(args.threads)
    overrides = [
        f"data={args.data}",
        f"out={args.out}",
        f"work={args.work}",
        f"steps={args.steps}",
        "dataset=synthhoi",
        "seed=0",
        "log_interval=100",
        "validation_interval=500",
        f"resume={str(args.resume).lower()}",
        "quiet=true",  # this script prints its own progress lines
        *args.overrides,
    ]
    config = compose_config("train_evaluator", EvaluatorTrainConfig, overrides)
    config.validate()

    def progress(step: int, record: dict) -> None:
        if args.quiet:
            return
        if "loss" in record:
            print(
                f"step {step}: loss {record['loss']:.4f}, {record['elapsed_s']:.0f} s", flush=True
            )
        else:
            print(
                f"step {step}: val top-1/2/3 {record['val_top_1']:.3f} / {record['val_top_2']:.3f}"
                f" / {record['val_top_3']:.3f}, matching score "
                f"{record['val_matching_score']:.3f}",
                flush=True,
            )

    start = time.perf_counter()
    report = train_evaluator(config, progress=progress)
    wall = time.perf_counter() - start
    size_mb = sum(f.stat().st_size for f in report.out.iterdir()) / 2**20
    val = report.validation
    print(
        f"evaluator: {report.out} ({size_mb:.2f} MB), trained {report.num_steps} steps "
        f"in {report.seconds:.0f} s (wall {wall:.0f} s) on {report.num_train_segments} "
        f"train segments"
    )
    if val:
        print(
            f"validation ({report.num_val_segments} segments, pools of {val['pool_size']}): "
            f"R-precision top-1 {val['top_1']:.3f}, top-2 {val['top_2']:.3f}, "
            f"top-3 {val['top_3']:.3f}; matching score {val['matching_score']:.3f}"
        )
    if size_mb > MAX_SHIPPED_MB:
        print(f"warning: {size_mb:.2f} MB exceeds the {MAX_SHIPPED_MB} MB budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
