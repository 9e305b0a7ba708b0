"""Write a tiny H2O take in the exact on-disk format (per-frame text files).

`subject1/h1/0/cam4/{hand_pose_mano,obj_pose_rt,cam_pose,action_label}/NNNNNN.txt` and
`object/book/book.obj`. Hand and object poses are in the camera frame; `cam_pose` maps
camera → world. Labels: 0 (background) ×4, 1 "grab book" ×20, 9 "place book" ×20, 0 ×4.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

LABELS = [0] * 4 + [1] * 20 + [9] * 20 + [0] * 4


@dataclass
class H2OFixture:
    root: Path
    take: Path
    hand_rows: np.ndarray  # (T, 124)
    object_rt: np.ndarray  # (T, 4, 4) mesh → camera
    cam_pose: np.ndarray  # (T, 4, 4) camera → world
    labels: list[int]


def _rigid(rng: np.random.Generator, translation_scale: float) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_rotvec(rng.normal(scale=0.5, size=3)).as_matrix()
    matrix[:3, 3] = rng.normal(scale=translation_scale, size=3)
    return matrix


def write_h2o_dataset(root: Path, *, seed: int = 0, labels: list[int] | None = None) -> H2OFixture:
    rng = np.random.default_rng(seed)
    labels = LABELS if labels is None else labels
    num_frames = len(labels)
    take = root / "subject1" / "h1" / "0" / "cam4"
    for folder in ("hand_pose_mano", "obj_pose_rt", "cam_pose", "action_label"):
        (take / folder).mkdir(parents=True)
    (root / "object" / "book").mkdir(parents=True)
    trimesh.creation.box(extents=(0.06, 0.06, 0.06)).export(root / "object" / "book" / "book.obj")

    camera = _rigid(rng, 0.5)
    hand_rows = np.zeros((num_frames, 124))
    object_rt = np.zeros((num_frames, 4, 4))
    cam_pose = np.zeros((num_frames, 4, 4))
    betas = {"left": rng.normal(scale=0.5, size=10), "right": rng.normal(scale=0.5, size=10)}
    for t in range(num_frames):
        for side, base, x in (("left", 0, -0.05), ("right", 62, 0.05)):
            hand_rows[t, base] = 1.0
            hand_rows[t, base + 1 : base + 4] = [x + 0.001 * t, 0.0, 0.5]
            hand_rows[t, base + 4 : base + 52] = rng.normal(scale=0.2, size=48)
            hand_rows[t, base + 52 : base + 62] = betas[side]
        object_rt[t] = np.eye(4)
        object_rt[t, :3, :3] = Rotation.from_rotvec([0.0, 0.0, 0.01 * t]).as_matrix()
        object_rt[t, :3, 3] = [0.0 + 0.001 * t, 0.0, 0.513]
        cam_pose[t] = camera
        name = f"{t:06d}.txt"
        (take / "hand_pose_mano" / name).write_text(" ".join(f"{v:.8f}" for v in hand_rows[t]))
        (take / "obj_pose_rt" / name).write_text(
            " ".join(["1"] + [f"{v:.8f}" for v in object_rt[t].reshape(-1)])
        )
        (take / "cam_pose" / name).write_text(" ".join(f"{v:.8f}" for v in cam_pose[t].reshape(-1)))
        (take / "action_label" / name).write_text(str(labels[t]))
    return H2OFixture(root, take, hand_rows, object_rt, cam_pose, list(labels))
