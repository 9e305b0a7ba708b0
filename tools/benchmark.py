"""Benchmark the motion model on a test split: the script form of `openhoi eval motion`.

    python tools/benchmark.py --dataset synth --split unseen --limit 8 --repeats 2
    python tools/benchmark.py --dataset synth --split seen --repeats 20 --ablate \
        --out outputs/benchmark
    python tools/benchmark.py --dataset grab --data grab_prepared --split unseen \
        --checkpoint runs/motion_grab --evaluator runs/evaluator_grab
    python tools/benchmark.py --dataset h2o --data h2o_prepared --split all \
        --checkpoint runs/motion_grab --evaluator runs/evaluator_h2o

Same flags as `openhoi eval motion --help`; the protocol is `openhoi.benchmark`.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from openhoi.cli import main

    main(["eval", "motion", *sys.argv[1:]])
