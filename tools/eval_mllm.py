"""Evaluate a planner checkpoint (the script form of `openhoi eval planner`).

    python tools/eval_mllm.py [--checkpoint DIR] [--split unseen|seen] [--phrasing held_out|train]
        [--num-scenes 60] [--num-coarse 60] [--seed 0] [--no-hand-cues] [--show-errors]
        [--json OUT.json]

Affordance AUC/aIoU/SIM/MAE and plan accuracy. `--split unseen` (default) scores
SynthHOI's HELD_OUT_OBJECTS, never seen in training; `--split seen` the training objects.
Defaults to the shipped planner. `--no-hand-cues` scores raw SynthHOI instructions, whose
unnamed dominant hand is random (see `openhoi.mllm.evaluation`). `--show-errors` lists
every scene whose plan is not exactly right: instruction, objects, target and generated
(primitive, hands, object, affordance). The protocol is `openhoi.benchmark.run_planner_eval`.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    import torch

    from openhoi.benchmark import PHRASINGS, PLANNER_SPLITS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--split", choices=PLANNER_SPLITS, default="unseen")
    parser.add_argument("--phrasing", choices=PHRASINGS, default="held_out")
    parser.add_argument("--num-scenes", type=int, default=60)
    parser.add_argument("--num-coarse", type=int, default=60)
    parser.add_argument("--max-scene-objects", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-hand-cues", action="store_true")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from openhoi._io import save_json_atomic
    from openhoi.benchmark import (
        PlannerEvalConfig,
        finite_or_none,
        planner_report,
        run_planner_eval,
    )
    from openhoi.errors import OpenHOIError

    try:  # a bad checkpoint or count: one line naming it, exit 2
        results = run_planner_eval(
            PlannerEvalConfig(
                checkpoint=args.checkpoint,
                split=args.split,
                phrasing=args.phrasing,
                num_scenes=args.num_scenes,
                num_coarse=args.num_coarse,
                max_scene_objects=args.max_scene_objects,
                seed=args.seed,
                device=args.device,
                hand_cues=not args.no_hand_cues,
            )
        )
    except OpenHOIError as exc:
        parser.error(str(exc))
    print(planner_report(results, show_errors=args.show_errors), end="")
    if args.json:
        save_json_atomic(args.json, finite_or_none(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
