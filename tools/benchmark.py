"""Benchmark the motion model on a test split (the script form of `openhoi eval motion`).

    python tools/benchmark.py --dataset synth --split unseen --limit 8 --repeats 2
    python tools/benchmark.py --dataset synth --split seen --repeats 20 --ablate \
        --out outputs/benchmark
    python tools/benchmark.py --dataset grab --data grab_prepared --split unseen \
        --checkpoint runs/motion_grab --evaluator runs/evaluator_grab
    # cross-dataset (the paper's Table A1): a GRAB-trained model on all of H2O
    python tools/benchmark.py --dataset h2o --data h2o_prepared --split all \
        --checkpoint runs/motion_grab --evaluator runs/evaluator_h2o

Without `--data`, `--dataset synth` scores the SynthHOI test set generated on first use
and cached (the test episodes of outputs/synthhoi-default; see `openhoi.synth.eval_split`).
Writes `<out>/benchmark_<dataset>_<split>.json` (settings, every repeat, summaries) and
`.md` (the tables), and prints the tables. The protocol, the metrics and the `--ablate`
rows are documented in `openhoi/benchmark.py`.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from openhoi.benchmark import ABLATION_VARIANTS, DATASETS, SPLITS, VARIANTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="synth")
    parser.add_argument(
        "--data", default=None, help="episode folder (default for synth: the cached test set)"
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
    parser.add_argument(
        "--sampler", choices=("ddim", "ddpm"), default=None, help="default: model's"
    )
    parser.add_argument("--steps", type=int, default=None, help="default: the model folder's")
    parser.add_argument("--guidance-scale", type=float, default=None, help="default: model's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:k]")
    parser.add_argument("--quiet", action="store_true", help="print the tables only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from openhoi.benchmark import (
        BenchmarkConfig,
        benchmark_markdown,
        parse_variants,
        run_benchmark,
        write_benchmark,
    )
    from openhoi.errors import OpenHOIError

    args = parse_args(argv)
    try:
        config = BenchmarkConfig(
            data=args.data,
            dataset=args.dataset,
            split=args.split,
            repeats=args.repeats,
            limit=args.limit,
            seed=args.seed,
            motion_path=args.checkpoint,
            evaluator_path=args.evaluator,
            variants=parse_variants(args.variants, ablate=args.ablate),
            device=args.device,
            generate={
                "sampler": args.sampler,
                "steps": args.steps,
                "guidance_scale": args.guidance_scale,
            },
        )
        log = (lambda _: None) if args.quiet else print
        results = run_benchmark(config, log=log, progress=not args.quiet)
    except OpenHOIError as exc:
        print(f"benchmark: error: {exc}", file=sys.stderr)
        return 2
    print(benchmark_markdown(results))
    json_path, md_path = write_benchmark(results, args.out)
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
