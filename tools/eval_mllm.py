"""Evaluate a planner checkpoint: affordance AUC/aIoU/SIM/MAE and plan accuracy.

    python tools/eval_mllm.py [--checkpoint DIR] [--split unseen|seen] [--phrasing held_out|train]
        [--num-scenes 60] [--num-coarse 60] [--seed 0] [--no-hand-cues] [--show-errors]
        [--json OUT.json]

`--split unseen` (default) scores SynthHOI's HELD_OUT_OBJECTS, never seen in training;
`--split seen` the training objects. Defaults to the shipped planner. `--no-hand-cues`
scores raw SynthHOI instructions, whose unnamed dominant hand is random (see
`openhoi.mllm.evaluation`). `--show-errors` lists every scene whose plan is not exactly
right: instruction, objects, target and generated (primitive, hands, object, affordance).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--split", choices=("unseen", "seen"), default="unseen")
    parser.add_argument("--phrasing", choices=("held_out", "train"), default="held_out")
    parser.add_argument("--num-scenes", type=int, default=60)
    parser.add_argument("--num-coarse", type=int, default=60)
    parser.add_argument("--max-scene-objects", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-hand-cues", action="store_true")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from openhoi.errors import OpenHOIError
    from openhoi.mllm import load_planner
    from openhoi.mllm.evaluation import evaluate_planner
    from openhoi.mllm.training import training_objects
    from openhoi.synth.tasks import HELD_OUT_OBJECTS

    objects = tuple(HELD_OUT_OBJECTS) if args.split == "unseen" else tuple(training_objects())
    try:  # a bad checkpoint or count: one line naming it, exit 2
        planner = load_planner(args.checkpoint, device=args.device)
        started = time.time()
        result = evaluate_planner(
            planner.model,
            objects=objects,
            phrasing=args.phrasing,
            num_scenes=args.num_scenes,
            num_coarse=args.num_coarse,
            max_scene_objects=args.max_scene_objects,
            seed=args.seed,
            hand_cues=not args.no_hand_cues,
        )
    except OpenHOIError as exc:
        parser.error(str(exc))
    data = result.as_dict()
    cues = "no hand cues" if args.no_hand_cues else "hand cues"
    print(f"split {args.split} objects {', '.join(objects)}; phrasing {args.phrasing}; {cues}")
    for name in ("plan_affordance", "coarse_affordance"):
        m = data[name]
        print(
            f"{name:18s} AUC {m['auc']:.3f}  aIoU {m['aiou']:.3f}  SIM {m['sim']:.3f}  "
            f"MAE {m['mae']:.3f}  (n={m['n']})"
        )
    fields = "  ".join(f"{k} {v:.3f}" for k, v in data["field_accuracy"].items())
    hand_named = data["hand_named_accuracy"]
    print(
        f"plans ({args.num_scenes} scenes): exact {data['exact_match']:.3f}  step "
        f"{data['step_accuracy']:.3f}  step w/o hand {data['step_accuracy_hand_free']:.3f}  "
        f"hand (named) {'n/a' if math.isnan(hand_named) else f'{hand_named:.3f}'}"
    )
    print(f"fields: {fields}; constrained retries {data['num_constrained']}")
    if args.show_errors:
        for error in data["errors"]:
            print(
                f"\n[{error['target_object']}] objects {error['objects']}: {error['instruction']}"
            )
            print(f"  want {[tuple(s) for s in error['want']]}")
            print(f"  got  {[tuple(s) for s in error['got']]}")
    print(f"evaluated in {time.time() - started:.0f}s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(data, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
