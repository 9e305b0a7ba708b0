"""Benchmark the motion model on a test split: the numbers of the paper's tables, rerunnable.

    python tools/benchmark.py --dataset synth --data outputs/synthhoi-default --split unseen
    python tools/benchmark.py --dataset synth --data outputs/synthhoi-default --split seen \
        --repeats 20 --ablate --out outputs/benchmark
    python tools/benchmark.py --dataset grab --data grab_prepared --split unseen \
        --checkpoint runs/motion_grab --evaluator runs/evaluator_grab
    # cross-dataset (the paper's Table A1): a GRAB-trained model on all of H2O
    python tools/benchmark.py --dataset h2o --data h2o_prepared --split all \
        --checkpoint runs/motion_grab --evaluator runs/evaluator_h2o

Every prompt of the split (one sub-task segment: object, ground-truth affordance mask,
sub-task text, hands, length) is sampled `--repeats` times with different seeds, the
segments of each episode are composed as `openhoi generate` composes them, and every
metric of `openhoi.eval` is computed per repeat: MPJPE, FOL, FID / Diversity / MModality /
R-precision on the motion evaluator's features, raw-parameter FID, penetration, contact,
affordance contact, SmoothRate. Writes `<out>/benchmark_<dataset>_<split>.json` (settings,
every repeat, summaries) and `.md` (the tables), and prints the tables. `--ablate` adds the
paper's Table 4 rows (w/o affordance, w/o CFG, w/o l_penetration, w/o l_aff) and the
w/o-in-between row of its Tables A6/A7. The protocol is documented in
`openhoi/eval/benchmark.py`.

Without `--checkpoint` the shipped motion weights are used; without `--evaluator` the
shipped SynthHOI evaluator on `--dataset synth` (other datasets need one trained on them:
`openhoi train evaluator data=DIR out=DIR`; without it the evaluator columns stay empty).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from openhoi.eval.benchmark import ABLATION_VARIANTS, DATASETS, SPLITS, VARIANTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="synth")
    parser.add_argument(
        "--data",
        default=None,
        help="episode folder (default for synth: outputs/synthhoi-default)",
    )
    parser.add_argument("--split", choices=SPLITS, default="unseen")
    parser.add_argument("--checkpoint", default=None, help="motion model folder (default: shipped)")
    parser.add_argument("--evaluator", default=None, help="motion evaluator folder")
    parser.add_argument("--repeats", type=int, default=20, help="samplings with seeds seed..")
    parser.add_argument("--limit", type=int, default=None, help="first N test episodes")
    parser.add_argument("--out", default="outputs/benchmark", help="JSON + Markdown folder")
    parser.add_argument("--ablate", action="store_true", help=f"add {list(ABLATION_VARIANTS)}")
    parser.add_argument(
        "--variants", default=None, help=f"comma list out of {list(VARIANTS)} (overrides --ablate)"
    )
    parser.add_argument("--sampler", choices=("ddim", "ddpm"), default="ddim")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance-scale", type=float, default=2.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:k]")
    parser.add_argument("--quiet", action="store_true", help="print the tables only")
    return parser.parse_args(argv)


def finite_or_none(value):
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python numbers."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def main(argv: list[str] | None = None) -> int:
    from openhoi._io import atomic_open, save_json_atomic
    from openhoi.errors import OpenHOIError
    from openhoi.eval.benchmark import (
        ABLATION_VARIANTS,
        BenchmarkConfig,
        benchmark_markdown,
        run_benchmark,
    )

    args = parse_args(argv)
    if args.variants:
        variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    else:
        variants = ("full", *ABLATION_VARIANTS) if args.ablate else ("full",)
    data = args.data or ("outputs/synthhoi-default" if args.dataset == "synth" else None)
    try:
        if data is None:
            raise OpenHOIError(f"--data is required for --dataset {args.dataset}")
        config = BenchmarkConfig(
            data=data,
            dataset=args.dataset,
            split=args.split,
            repeats=args.repeats,
            limit=args.limit,
            seed=args.seed,
            motion_path=args.checkpoint,
            evaluator_path=args.evaluator,
            variants=variants,
            generate={
                "sampler": args.sampler,
                "steps": args.steps,
                "guidance_scale": args.guidance_scale,
                "device": args.device,
            },
        )
        results = run_benchmark(config, log=(lambda _: None) if args.quiet else print)
    except OpenHOIError as exc:
        print(f"benchmark: error: {exc}", file=sys.stderr)
        return 2
    table = benchmark_markdown(results)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"benchmark_{args.dataset}_{args.split}"
    save_json_atomic(stem.with_suffix(".json"), finite_or_none(results))
    with atomic_open(stem.with_suffix(".md")) as handle:
        handle.write(table.encode("utf-8"))
    print(f"wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
