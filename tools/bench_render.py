"""Benchmark condition renders: today's `render_conditions` vs the `render_pack` writer.

    python tools/bench_render.py                                  # synthetic laptop clip
    python tools/bench_render.py --sequence run/sequence.npz --start 100

Both run in this process on the same 49 frames (`--clip`) at 720×480 (`--size`) from the
same kind of camera: `render_conditions` writes depth / masks / keypoints npz + camera.json;
`render_pack --pack all` writes every file of every pack (19 per clip: mp4s, per-frame PNGs,
npz, actions, boxes, ...). The pack is timed twice: "cold" is the first call in the process
(object loading, Warp's first distance query), "warm" a second call. Also printed: the
rasteriser alone, per frame, on the clip's full scene. Set the thread count with
OMP_NUM_THREADS / `taskset -c 0,1` to pin the "2 CPU cores" of the issue.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from openhoi import HOISequence
from openhoi.render import PackConfig, parse_size, render_conditions, render_pack
from openhoi.render._raster import rasterize
from openhoi.render._scene import scene_meshes
from openhoi.render.camera import auto_camera


def synthetic_clip(num_frames: int) -> HOISequence:
    """Both hands sliding in towards the laptop while its lid opens (as in tests/render)."""
    ramp = np.linspace(0.0, 1.0, num_frames)[:, None]
    return HOISequence.from_parameters(
        left_transl=np.array([-0.25, 0.0, 0.08]) + ramp * np.array([0.08, 0.0, 0.0]),
        right_transl=np.array([0.15, 0.0, 0.08]) - ramp * np.array([0.08, 0.0, 0.0]),
        object_angle=np.linspace(0.0, 1.5, num_frames),
        object_name="laptop",
        segment_starts=np.array([0, num_frames // 2]),
        texts=("open the laptop lid", "hold the laptop"),
    )


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), user + system."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequence", help="A sequence.npz (default: a synthetic laptop clip).")
    parser.add_argument("--start", type=int, default=0, help="First frame of the clip.")
    parser.add_argument("--clip", type=int, default=49, help="Frames in the clip.")
    parser.add_argument("--size", default="720x480", help="WIDTHxHEIGHT.")
    parser.add_argument("--camera", default="third", help="third, orbit or ego.")
    args = parser.parse_args()
    size = parse_size(args.size)
    if args.sequence:
        sequence = HOISequence.load(args.sequence)[args.start : args.start + args.clip]
        source = f"{args.sequence} frames {args.start}..{args.start + sequence.num_frames - 1}"
    else:
        sequence = synthetic_clip(args.clip)
        source = "synthetic laptop clip"
    print(f"{source}: {sequence.num_frames} frames at {size[0]}x{size[1]}")
    config = PackConfig(pack="all", size=size, clip=sequence.num_frames, camera=args.camera)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cold = _timed(lambda: render_pack(sequence, root / "pack_cold", config=config))
        cpu_start = _cpu_seconds()
        warm = _timed(lambda: render_pack(sequence, root / "pack_warm", config=config))
        warm_cpu = _cpu_seconds() - cpu_start
        conditions = _timed(lambda: render_conditions(sequence, root / "conditions", size=size))
        files = sum(1 for p in (root / "pack_warm").rglob("*") if p.is_file())
    scene = scene_meshes(sequence)
    camera = auto_camera(scene.framing_points(sequence.active_hands), size)
    per_frame = []
    for frame in range(sequence.num_frames):
        uv, depth = camera.project(scene.vertices[frame])
        start = time.perf_counter()
        rasterize(uv, depth, scene.faces, *size)
        per_frame.append(time.perf_counter() - start)
    rate = sequence.num_frames / conditions
    print(
        f"render_conditions (depth/masks/keypoints npz): {conditions:6.2f} s ({rate:.1f} frames/s)"
    )
    print(f"render_pack --pack all, cold ({files} files):      {cold:6.2f} s")
    print(
        f"render_pack --pack all, warm:                  {warm:6.2f} s "
        f"({warm_cpu:.2f} CPU s with ffmpeg; load average {os.getloadavg()[0]:.1f})"
    )
    print(f"pack (warm) / conditions time ratio:           {warm / conditions:6.2f}")
    print(
        f"rasterize, whole scene ({len(scene.faces)} triangles): "
        f"{1000 * statistics.median(per_frame):.1f} ms/frame (median)"
    )


if __name__ == "__main__":
    main()
