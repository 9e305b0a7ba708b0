"""Benchmark the preview renderer: the old one (320×240, flat shading) against today's.

    python tools/bench_preview.py                        # a synthetic 60-frame mug grasp
    python tools/bench_preview.py --sequence run/sequence.npz --frames 120
    python tools/bench_preview.py --old-ref e2982c7      # which git revision is "old"

"Old" is `openhoi/render/preview.py` as of `--old-ref` (read with `git show` and loaded as a
module beside today's code, so both use the same rasteriser and the same scene meshes);
"new" is the working tree's. Both draw the same frames with the software backend, in the
same process, old first then new, each after one warm-up frame. The figure of merit is
seconds per pixel: the new preview draws 1280×720 (12× the pixels) plus a side-view inset,
a table with a soft shadow, per-pixel shading and contact colours, so it must be at least as
fast per pixel as the old one was. The contact distances (one signed-distance query per hand
vertex and frame) are part of the new time. Wall time and this process's CPU time are both
printed: on a shared machine the CPU time is the steadier of the two.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The last revision with the 320×240 flat-shaded preview (before issue 30).
DEFAULT_OLD_REF = "e2982c7"


def load_old_preview(ref: str):
    """`openhoi/render/preview.py` at git revision `ref`, imported as its own module."""
    source = subprocess.run(
        ["git", "show", f"{ref}:openhoi/render/preview.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="openhoi-bench-preview-"))
    path = folder / "preview_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("openhoi.render._preview_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def synthetic_sequence(num_frames: int):
    """The right hand reaches for a mug, closes on it and lifts it (deterministic)."""
    from openhoi import HOISequence

    ramp = np.clip(np.linspace(-0.3, 1.3, num_frames), 0.0, 1.0)[:, None]
    lift = np.clip(np.linspace(-1.0, 1.0, num_frames), 0.0, 1.0)[:, None]
    right = np.array([0.25, -0.10, 0.14]) + ramp * np.array([-0.22, 0.08, -0.05])
    return HOISequence.from_parameters(
        right_transl=right + lift * np.array([0.0, 0.0, 0.12]),
        left_transl=np.tile([-0.35, -0.2, 0.05], (num_frames, 1)),
        object_transl=lift * np.array([0.0, 0.0, 0.12]),
        active_hands=np.tile([False, True], (num_frames, 1)),
        object_name="mug",
        segment_starts=np.array([0, num_frames // 2]),
        texts=("grab the mug", "lift the mug"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequence", help="a sequence.npz (default: a synthetic mug grasp)")
    parser.add_argument("--frames", type=int, default=60, help="frames to draw (from 0)")
    parser.add_argument("--old-ref", default=DEFAULT_OLD_REF, help="git revision of 'old'")
    args = parser.parse_args()

    from openhoi import HOISequence
    from openhoi.render import preview as new

    old = load_old_preview(args.old_ref)
    sequence = HOISequence.load(args.sequence) if args.sequence else synthetic_sequence(args.frames)
    sequence = sequence[: min(args.frames, sequence.num_frames)]
    old_size, new_size = (320, 240), new.DEFAULT_SIZE
    # Warm-up: imports, the distance kernels, caches.
    old.render_frames(sequence[:1], size=old_size, backend="software")
    new.render_frames(sequence[:1], size=new_size, backend="software")
    timings = {}
    for name, module, size in (("old", old, old_size), ("new", new, new_size)):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in module.iter_frames(sequence, size=size, backend="software"):
            pass
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu)
    frames = sequence.num_frames
    pixels = {
        "old": old_size[0] * old_size[1] * frames,
        "new": new_size[0] * new_size[1] * frames,
    }
    print(f"frames: {frames} ({'synthetic mug grasp' if not args.sequence else args.sequence})")
    for name, size in (("old", old_size), ("new", new_size)):
        wall, cpu = timings[name]
        print(
            f"{name} {size[0]}x{size[1]}: wall {wall:.2f} s ({1000 * wall / frames:.1f} ms/frame, "
            f"{1e9 * wall / pixels[name]:.1f} ns/pixel), CPU {cpu:.2f} s "
            f"({1e9 * cpu / pixels[name]:.1f} ns/pixel)"
        )
    for label, index in (("wall", 0), ("CPU", 1)):
        ratio = (timings["new"][index] / pixels["new"]) / (timings["old"][index] / pixels["old"])
        print(f"per-pixel {label} time new/old: {ratio:.2f} "
              f"({'faster' if ratio < 1 else 'slower'} per pixel)")  # fmt: skip


if __name__ == "__main__":
    main()
