"""Benchmark SynthHOI generation: episodes per minute and rejection rates.

    python tools/bench_synth.py --episodes 40 --workers 2 --seed 0

Episodes follow the normal kind mix (2–4 segments each), so the script also reports
segments per minute and the mean number of segments per episode.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objects", nargs="*", default=None)
    args = parser.parse_args()

    from openhoi.data import load_episodes
    from openhoi.synth import synthesize_dataset

    with tempfile.TemporaryDirectory() as folder:
        report = synthesize_dataset(
            Path(folder), args.episodes, seed=args.seed, objects=args.objects,
            workers=args.workers, progress=False,
        )  # fmt: skip
        lengths = [len(e.segments) for e in load_episodes(folder)]
    result = {
        "episodes": report.num_written,
        "workers": args.workers,
        "seconds": round(report.seconds, 1),
        "episodes_per_minute": round(report.episodes_per_minute, 1),
        "segments_per_minute": round(60 * sum(lengths) / max(report.seconds, 1e-9), 1),
        "mean_segments_per_episode": round(sum(lengths) / max(len(lengths), 1), 2),
        "segment_rejection_rate": round(report.segment_rejection_rate, 4),
        "rejection_by_primitive": report.rejection_by_primitive,
        "rejection_reasons": report.rejection_reasons,
        "episodes_restarted": report.episodes_restarted,
        "episodes_failed": report.episodes_failed,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
