"""Benchmark the signed-distance kernels: Warp vs the PyTorch brute force vs trimesh.

    python tools/bench_distance.py                 # CPU
    python tools/bench_distance.py --device cuda   # Warp and the torch reference on the GPU

Workload: 2 hands × 778 vertices × 150 frames (233,400 points) near a ~10k-face capsule,
with a different object pose per frame. The brute force and trimesh run on a subset of the
points (they are slow) and are reported as points per second. Also times the backward pass
and `physics_report` on 150 frames with a capsule standing in for each hand.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import trimesh

from openhoi.geometry.distance import distance_mesh, signed_distance
from openhoi.geometry.distance_reference import signed_distance_reference
from openhoi.geometry.metrics import physics_report
from openhoi.geometry.rotations import axis_angle_to_matrix

NUM_FRAMES = 150
NUM_HAND_VERTICES = 778
NUM_HANDS = 2


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device: torch.device, repeats: int) -> float:
    """Median wall time of `fn()` in seconds."""
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_scene(device: torch.device, seed: int = 0):
    """Object mesh, canonical + world query points `(T, N, 3)` and per-frame poses."""
    # ~10k-face capsule, squashed into a bottle-like ellipsoidal shape (metres).
    mesh = trimesh.creation.capsule(height=0.12, radius=0.035, count=[72, 72])
    mesh.apply_scale([1.0, 0.8, 1.0])
    rng = np.random.default_rng(seed)
    num = NUM_HANDS * NUM_HAND_VERTICES
    canonical = []
    for _ in range(NUM_FRAMES):
        surface, face = trimesh.sample.sample_surface(mesh, num, seed=int(rng.integers(1 << 31)))
        # Offsets along the normal from −5 mm (inside) to +3 cm (hovering fingers).
        offset = rng.uniform(-0.005, 0.03, size=(num, 1))
        canonical.append(surface + offset * mesh.face_normals[face])
    canonical = torch.tensor(np.stack(canonical), dtype=torch.float32, device=device)
    gen = torch.Generator().manual_seed(seed)
    rotation = axis_angle_to_matrix(torch.randn(NUM_FRAMES, 3, generator=gen)).to(device)
    translation = (torch.randn(NUM_FRAMES, 3, generator=gen) * 0.3).to(device)
    world = torch.einsum("bij,bnj->bni", rotation, canonical) + translation[:, None]
    return mesh, canonical, world, rotation, translation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:k]")
    parser.add_argument(
        "--reference-points",
        type=int,
        default=4000,
        help="points timed with the brute force and trimesh",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)

    mesh, canonical, world, rotation, translation = make_scene(device)
    num_points = world.shape[0] * world.shape[1]
    print(
        f"device={device}  mesh faces={len(mesh.faces)}  points={num_points} "
        f"({NUM_FRAMES} frames × {NUM_HANDS}×{NUM_HAND_VERTICES})  torch threads="
        f"{torch.get_num_threads()}"
    )

    # 1. Warp: build the BVH and compile once, then time forward and forward+backward.
    start = time.perf_counter()
    distance_mesh(mesh)
    signed_distance(world[:1], mesh, rotation=rotation[:1], translation=translation[:1])
    _sync(device)
    print(f"first call (kernel load/compile + BVH build): {time.perf_counter() - start:.2f} s")

    def warp_forward():
        return signed_distance(world, mesh, rotation=rotation, translation=translation)

    def warp_backward():
        query = world.detach().requires_grad_(True)
        out = signed_distance(query, mesh, rotation=rotation, translation=translation)
        out.sdf.sum().backward()

    t_warp = _time(warp_forward, device, args.repeats)
    t_warp_bw = _time(warp_backward, device, args.repeats)
    warp_rate = num_points / t_warp
    print(f"warp forward          : {t_warp * 1e3:8.1f} ms  {warp_rate / 1e6:8.3f} M points/s")
    print(
        f"warp forward+backward : {t_warp_bw * 1e3:8.1f} ms  "
        f"{num_points / t_warp_bw / 1e6:8.3f} M points/s"
    )

    # 2. PyTorch brute force on a subset (canonical frame, same points).
    subset = canonical.reshape(-1, 3)[: args.reference_points]
    vertices = torch.tensor(mesh.vertices, dtype=torch.float32, device=device)
    faces = torch.tensor(mesh.faces, device=device)
    t_ref = _time(lambda: signed_distance_reference(subset, vertices, faces), device, 1)
    ref_rate = len(subset) / t_ref
    reference = signed_distance_reference(subset, vertices, faces)
    warp_subset = signed_distance(subset, mesh)
    max_err = (warp_subset.sdf - reference.sdf).abs().max().item()
    print(
        f"torch brute force     : {t_ref * 1e3:8.1f} ms for {len(subset)} points  "
        f"{ref_rate / 1e6:8.4f} M points/s   (max |Δsdf| vs warp {max_err:.2e} m)"
    )

    # 3. trimesh (CPU only, positive inside → flipped).
    points_np = subset.cpu().numpy().astype(np.float64)
    t_tm = _time(lambda: trimesh.proximity.signed_distance(mesh, points_np), torch.device("cpu"), 1)
    tm_rate = len(subset) / t_tm
    print(
        f"trimesh               : {t_tm * 1e3:8.1f} ms for {len(subset)} points  "
        f"{tm_rate / 1e6:8.4f} M points/s"
    )
    print(f"speed-up warp / torch brute force = {warp_rate / ref_rate:8.1f}×")
    print(f"speed-up warp / trimesh           = {warp_rate / tm_rate:8.1f}×")

    # 4. physics_report on 150 frames: capsule stand-ins (~778 vertices) as both hands,
    #    pressed ~3 mm into the object, frames posed like the object.
    hand = trimesh.creation.capsule(height=0.08, radius=0.01, count=[28, 28])
    hand_faces = torch.tensor(hand.faces)
    transforms = torch.eye(4, device=device).repeat(NUM_FRAMES, 1, 1)
    transforms[:, :3, :3] = rotation
    transforms[:, :3, 3] = translation
    hands = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        local = torch.tensor(hand.vertices, dtype=torch.float32, device=device)
        local = local + torch.tensor([sign * (0.035 + 0.01 - 0.003), 0.0, 0.0], device=device)
        hands[side] = torch.einsum("bij,vj->bvi", rotation, local) + translation[:, None]
    start = time.perf_counter()
    report = physics_report(hands, hand_faces, [mesh], [transforms])
    _sync(device)
    t_metrics = time.perf_counter() - start
    summary = {k: (round(v, 3) if v is not None else v) for k, v in report.summary().items()}
    print(
        f"physics_report, {NUM_FRAMES} frames, 2 hands × {len(hand.vertices)} vertices: "
        f"{t_metrics:.2f} s  {summary}"
    )


if __name__ == "__main__":
    main()
