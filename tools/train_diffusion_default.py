"""Recipe: train the shipped default motion-diffusion weights (openhoi/assets/motion/).

    python tools/train_diffusion_default.py                 # full recipe (GPU recommended)
    python tools/train_diffusion_default.py --smoke         # minutes on a CPU, to check it runs
    python tools/train_diffusion_default.py --skip-synth --data outputs/synthhoi-v2
        --finetune openhoi/assets/motion --out outputs/ft/model  # stage 2, ~75 min on 2 cores

1. Synthesize a SynthHOI set with a fixed seed (resumable: episodes already there are kept).
2. Train the `small` model config (`openhoi/configs/model/small.yaml`) in the
   object-centric representation (`openhoi/motion/representation.py`) with a fixed seed;
   checkpoints in --work (rerun with --resume after a kill). `--stop-at-step N
   --ship-stopped` ships the run at step N of its 8,000-step schedule (CPU time boxes).
3. Write the EMA weights, config.json, normalisation stats and metrics.json to --out.

Same seed, same data and same device → same weights. Multi-GPU: launch step 2 with
`accelerate launch -m openhoi.cli train motion data=... out=...`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "openhoi" / "assets" / "motion"
SHIPPED_FILES = ("config.json", "ema.safetensors", "normalisation.safetensors")
MAX_SHIPPED_MB = 20.0
TEXT_CACHE = "text_embeddings_minilm.safetensors"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "outputs" / "synthhoi-default")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "train-diffusion-default")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--num-episodes", type=int, default=1500)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny data and few steps (CPU check)")
    parser.add_argument("--resume", action="store_true", help="continue training from --work")
    parser.add_argument(
        "--skip-synth",
        action="store_true",
        help="train on --data as it is (a machine without warp cannot synthesize)",
    )
    parser.add_argument(
        "--stop-at-step",
        type=int,
        default=None,
        help="checkpoint and stop at this step (continue later with --resume)",
    )
    parser.add_argument(
        "--finetune",
        type=Path,
        default=None,
        help="start from this model folder's weights and normalisation (3,000 steps, LR 1e-4)",
    )
    parser.add_argument(
        "--ship-stopped",
        action="store_true",
        help="with --stop-at-step: ship the weights of the stopped run (LR not fully decayed)",
    )
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra train_diffusion.yaml overrides")
    args = parser.parse_args(argv)

    from openhoi.config import compose_config
    from openhoi.motion.config import TrainConfig
    from openhoi.motion.training import train_diffusion
    from openhoi.synth.generator import synthesize_dataset

    num_episodes = 24 if args.smoke else args.num_episodes
    recipe = [
        "model=small",
        "representation.kind=object_centric",
        "seed=0",
        f"data={args.data}",
        f"out={args.work}",
    ]
    if args.smoke:
        recipe += [
            "steps=30",
            "batch_size=8",
            "warmup_steps=5",
            "log_interval=5",
            "validation_interval=15",
            "checkpoint_interval=15",
            "num_validation_batches=1",
        ]
    elif args.finetune is not None:
        recipe += [
            f"init_from={args.finetune}",
            "steps=3000",
            "batch_size=64",
            "learning_rate=1e-4",
            "warmup_steps=100",
            "log_interval=50",
            "validation_interval=500",
            "checkpoint_interval=500",
        ]
    else:
        recipe += [
            "steps=8000",
            "batch_size=64",
            "learning_rate=3e-4",
            "warmup_steps=500",
            "log_interval=100",
            "validation_interval=1000",
            "checkpoint_interval=1000",
        ]
    config = compose_config("train_diffusion", TrainConfig, recipe + list(args.overrides))
    config.quiet = args.quiet
    config.validate()

    # 1. Data.
    started = time.perf_counter()
    if not args.skip_synth:
        synthesize_dataset(
            args.data,
            num_episodes,
            seed=args.data_seed,
            workers=args.workers,
            progress=not args.quiet,
        )
    data_seconds = time.perf_counter() - started
    if args.skip_synth:  # the folder as it is: count what it holds
        from openhoi.data.episodes import read_index

        num_episodes = sum(len(s["episode_ids"]) for s in read_index(args.data)["shards"])
    # Text embeddings computed once (here, where the MiniLM package is installed), so the
    # training machine needs no text encoder: the file travels with the data folder.
    cache = args.data / TEXT_CACHE
    if not cache.is_file():
        from openhoi.data.torch_dataset import SegmentDataset
        from openhoi.motion.text_encoder import load_text_encoder, write_text_embeddings

        dataset = SegmentDataset(args.data, split="all", max_frames=config.max_frames)
        texts = [dataset[i].text for i in range(len(dataset))]
        write_text_embeddings(texts, load_text_encoder(config.text_encoder), cache)
    config.text_embedding_cache = str(cache)

    # 2. Train.
    report = train_diffusion(
        config, args.data, args.work, resume=args.resume, stop_at_step=args.stop_at_step
    )
    if report.num_steps < config.steps and not args.ship_stopped:
        print(f"stopped at step {report.num_steps}/{config.steps}; continue with --resume")
        return 0

    # 3. Ship.
    checkpoint = report.checkpoint
    args.out.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_FILES:
        shutil.copyfile(checkpoint / name, args.out / name)
    # The shipped config names no machine-specific paths.
    payload = json.loads((checkpoint / "config.json").read_text())
    payload["train"].update(data=None, out=None, text_embedding_cache=None)
    (args.out / "config.json").write_text(json.dumps(payload, indent=2) + "\n")
    logged = _logged_curves(args.work)
    metrics = {
        "recipe": recipe + list(args.overrides),
        "num_episodes": num_episodes,
        "data_seed": args.data_seed,
        "steps": report.num_steps,
        "schedule_steps": config.steps,
        "train_seconds": round(report.seconds, 1),
        "seconds_per_step": round(report.seconds_per_step, 4),
        "data_seconds": round(data_seconds, 1),
        # A run resumed only to be shipped takes no step: its last loss is in the log.
        "final_train_loss": (
            report.losses[-1][1]
            if report.losses
            else (logged["train"][-1][1] if logged.get("train") else None)
        ),
        "final_terms": report.last_terms,
        # From the run's log, so a run resumed after a kill reports all of its steps.
        "validation_loss": logged.get("val") or report.validation,
        "loss_curve": logged.get("train") or report.losses,
    }
    if report.start_step:
        metrics["resumed_from_step"] = report.start_step
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    size_mb = sum((args.out / n).stat().st_size for n in SHIPPED_FILES) / 2**20
    print(
        json.dumps(
            {
                k: metrics[k]
                for k in (
                    "steps",
                    "train_seconds",
                    "seconds_per_step",
                    "final_train_loss",
                    "validation_loss",
                )
            },
            indent=2,
        )
    )
    print(f"wrote {args.out} ({size_mb:.2f} MB)")
    if size_mb > MAX_SHIPPED_MB:
        print(f"error: shipped weights are {size_mb:.1f} MB > {MAX_SHIPPED_MB} MB", file=sys.stderr)
        return 1
    return 0


def _logged_curves(work: Path) -> dict[str, list[list[float]]]:
    """{kind: [[step, total loss], ...]} of the run's log (latest entry per step and kind)."""
    from openhoi.training import LOG_FILE

    path = work / LOG_FILE
    if not path.is_file():
        return {}
    by_kind: dict[str, dict[int, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        by_kind.setdefault(entry.get("kind"), {})[int(entry["step"])] = float(entry["total"])
    return {kind: [[k, v] for k, v in sorted(steps.items())] for kind, steps in by_kind.items()}


if __name__ == "__main__":
    raise SystemExit(main())
