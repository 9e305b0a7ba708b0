"""Benchmark: seconds per motion-diffusion training step, the old setting vs the current one.

    python tools/bench_training.py --data outputs/synthhoi-v2 [--steps 12] [--batch-size 64]

Same data, model config (`small`), seed and device, one run. Three settings:

- reference: dropout on the attention probabilities (0.1, as `nn.TransformerEncoderLayer`
  applies it) and uniformly random batches — the training loop before the change;
- fused attention: `attention_dropout=0` (PyTorch keeps its fused attention kernel);
- + length buckets: also batches of segments of similar length (`bucket_by_length`).

Object point clouds are sampled before timing (they are cached per object during a real
run too). Prints s/step for each setting and the ratios to the reference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

SETTINGS = {
    "reference": {"model.attention_dropout": 0.1, "bucket_by_length": False},
    "fused attention": {"model.attention_dropout": 0.0, "bucket_by_length": False},
    "+ length buckets": {"model.attention_dropout": 0.0, "bucket_by_length": True},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="episode folder")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per setting")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    import torch

    from openhoi.config import compose_config
    from openhoi.data.torch_dataset import SegmentDataset, collate_segments
    from openhoi.motion.config import TrainConfig
    from openhoi.motion.text_encoder import PrecomputedTextEncoder, load_text_encoder
    from openhoi.motion.training import _dataset_stats, train_on_datasets

    train_set = SegmentDataset(args.data, split="train")
    for name in {item[4] for item in train_set._items}:
        train_set._object_points(name)  # FPS once per object, outside the timing
    mean, std = _dataset_stats(train_set)
    cache = args.data / "text_embeddings_minilm.safetensors"
    encoder = (
        PrecomputedTextEncoder(str(cache), fallback=lambda: load_text_encoder("minilm"))
        if cache.is_file()
        else load_text_encoder("minilm")
    )
    print(f"{len(train_set)} segments, batch {args.batch_size}, {torch.get_num_threads()} threads")

    timings = {}
    for label, changes in SETTINGS.items():
        overrides = [
            "model=small",
            "seed=0",
            f"batch_size={args.batch_size}",
            f"steps={args.steps + 1}",
            "warmup_steps=1",
            f"log_interval={args.steps + 1}",
            "validation_interval=100000",
            "checkpoint_interval=100000",
            *(f"{key}={value}" for key, value in changes.items()),
        ]
        config = compose_config("train_diffusion", TrainConfig, overrides)
        config.quiet = True
        with tempfile.TemporaryDirectory() as out:
            # One untimed step (allocator warm-up), then the timed ones from a resume.
            train_on_datasets(config, train_set, None, collate_segments, mean, std, out,
                              stop_at_step=1, text_encoder=encoder)  # fmt: skip
            started = time.perf_counter()
            train_on_datasets(config, train_set, None, collate_segments, mean, std, out,
                              resume=True, text_encoder=encoder)  # fmt: skip
            timings[label] = (time.perf_counter() - started) / args.steps
        print(f"{label:>18}: {timings[label]:.2f} s/step")
    base = timings["reference"]
    for label, seconds in timings.items():
        print(f"{label:>18}: {base / seconds:.2f}x faster than the reference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
