"""Write a tiny ARCTIC `data/` folder in the exact on-disk format.

`raw_seqs/s01/box_grab_01.{mano,object}.npy`, `meta/object_vtemplates/box/{mesh.obj,
parts.json}` (millimetres; label 0 = top part) and `description/s01/box_grab_01/
description.txt` (Text2HOI format, 1-based inclusive frame ranges).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh


@dataclass
class ArcticFixture:
    root: Path
    num_frames: int
    object_params: np.ndarray  # (T, 7): angle, axis-angle, translation in mm
    right_rot: np.ndarray
    right_pose: np.ndarray  # (T, 45)
    mesh_vertices_mm: np.ndarray
    top_vertex: np.ndarray  # (V,) bool


def write_arctic_dataset(
    root: Path,
    *,
    num_frames: int = 60,
    descriptions: str = "1-20 grasp both _\n21-60 open, both _\n",
    seed: int = 0,
) -> ArcticFixture:
    rng = np.random.default_rng(seed)
    data = root / "arctic_data" / "data"
    raw = data / "raw_seqs" / "s01"
    raw.mkdir(parents=True)
    template = data / "meta" / "object_vtemplates" / "box"
    template.mkdir(parents=True)
    bottom = trimesh.creation.box(extents=(80.0, 60.0, 40.0))
    top = trimesh.creation.box(extents=(80.0, 60.0, 10.0))
    top.apply_translation((0.0, 0.0, 30.0))
    mesh = trimesh.util.concatenate([top, bottom])
    mesh.export(template / "mesh.obj")
    top_vertex = np.zeros(len(mesh.vertices), bool)
    top_vertex[: len(top.vertices)] = True
    labels = np.where(top_vertex, 0, 1).tolist()
    (template / "parts.json").write_text(str(labels))

    t = np.arange(num_frames)
    object_params = np.zeros((num_frames, 7))
    object_params[:, 0] = np.linspace(0.0, 1.2, num_frames)
    object_params[:, 1:4] = rng.normal(scale=0.2, size=(num_frames, 3))
    object_params[:, 4:7] = np.stack([100.0 + t, -50.0 + 2 * t, 800.0 + 0 * t], axis=1)

    def hand(offset: float) -> dict[str, np.ndarray]:
        return {
            "rot": rng.normal(scale=0.3, size=(num_frames, 3)),
            "pose": rng.normal(scale=0.1, size=(num_frames, 45)),
            "trans": np.stack([0.1 + offset + 0 * t, -0.05 + 0.002 * t, 0.8 + 0 * t], axis=1),
            "shape": np.tile(rng.normal(scale=0.5, size=10), (num_frames, 1)),
            "fitting_err": np.zeros(num_frames),
        }

    left, right = hand(-0.04), hand(0.04)
    np.save(raw / "box_grab_01.mano.npy", {"left": left, "right": right}, allow_pickle=True)
    np.save(raw / "box_grab_01.object.npy", object_params)
    description = data / "description" / "s01" / "box_grab_01"
    description.mkdir(parents=True)
    (description / "description.txt").write_text(descriptions)
    return ArcticFixture(
        root=data,
        num_frames=num_frames,
        object_params=object_params,
        right_rot=right["rot"],
        right_pose=right["pose"],
        mesh_vertices_mm=np.asarray(mesh.vertices),
        top_vertex=top_vertex,
    )
