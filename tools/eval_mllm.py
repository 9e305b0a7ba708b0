"""Evaluate a planner checkpoint: the script form of `openhoi eval planner`.

    python tools/eval_mllm.py [--checkpoint DIR] [--split unseen|seen] [--phrasing held_out|train]
        [--num-scenes 60] [--num-coarse 60] [--seed 0] [--no-hand-cues] [--show-errors]
        [--out DIR]

Same flags as `openhoi eval planner --help`; the protocol is
`openhoi.benchmark.run_planner_eval`.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from openhoi.cli import main

    main(["eval", "planner", *sys.argv[1:]])
