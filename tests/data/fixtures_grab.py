"""Write a tiny GRAB release in the exact on-disk format (`s1/<obj>_<intent>_1.npz` + meshes).

The right hand holds a 5 cm box in every contact frame; the left hand stays 40 cm away.
Arrays are pickled dicts inside 0-d object arrays, as GRAB ships them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

GRAB_FPS = 120
RIGHT_INDEX1_CONTACT_ID = 41


@dataclass
class GrabFixture:
    root: Path
    path: Path
    object_name: str
    num_frames: int
    contact_frames: tuple[int, int]  # first, last 120-fps frame with contact (inclusive)
    object_orient: np.ndarray
    object_transl: np.ndarray
    right_pose: np.ndarray  # (T, 16, 3) axis-angle
    mesh_vertices: np.ndarray


def _axis_angles(rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    return rng.normal(scale=scale, size=(count, 3))


def write_grab_dataset(
    root: Path,
    *,
    num_frames: int = 160,
    contact_frames: tuple[int, int] = (8, 151),
    object_name: str = "mug",
    intent: str = "lift",
    seed: int = 0,
) -> GrabFixture:
    """Write `root/grab/s1/<object>_<intent>_1.npz` and `root/tools/...` meshes."""
    rng = np.random.default_rng(seed)
    grab = root / "grab"
    (grab / "s1").mkdir(parents=True, exist_ok=True)
    mesh_dir = root / "tools" / "object_meshes" / "contact_meshes"
    mesh_dir.mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box(extents=(0.05, 0.05, 0.05))
    box.export(mesh_dir / f"{object_name}.ply")

    t = np.arange(num_frames)
    right_transl = np.stack([0.3 + 0.001 * t, 0.1 + 0 * t, 0.9 + 0.0005 * t], axis=1)
    left_transl = right_transl + np.array([-0.4, 0.0, 0.0])
    right_pose = np.concatenate(
        [
            _axis_angles(rng, num_frames, 0.3)[:, None],
            rng.normal(scale=0.1, size=(num_frames, 15, 3)),
        ],
        axis=1,
    )
    left_pose = np.concatenate(
        [
            _axis_angles(rng, num_frames, 0.3)[:, None],
            rng.normal(scale=0.1, size=(num_frames, 15, 3)),
        ],
        axis=1,
    )
    object_orient = _axis_angles(rng, num_frames, 0.2)
    # The box sits in the palm region of the (embedded) right hand at zero offset.
    object_transl = right_transl + np.array([0.0, 0.0, 0.013]) + 0.0001 * t[:, None]
    contact = np.zeros((num_frames, len(box.vertices)), np.int32)
    first, last = contact_frames
    contact[first : last + 1, :3] = RIGHT_INDEX1_CONTACT_ID

    def hand(pose: np.ndarray, transl: np.ndarray, side: str) -> np.ndarray:
        params = {
            "global_orient": pose[:, 0].astype(np.float32),
            "fullpose": pose[:, 1:].reshape(num_frames, 45).astype(np.float32),
            "transl": transl.astype(np.float32),
            "hand_pose": np.zeros((num_frames, 24), np.float32),
        }
        return np.array(
            {"params": params, "vtemp": f"tools/subject_meshes/male/s1_{side}.ply"}, dtype=object
        )

    path = grab / "s1" / f"{object_name}_{intent}_1.npz"
    np.savez(
        path,
        gender=np.array("male"),
        sbj_id=np.array("s1"),
        obj_name=np.array(object_name),
        motion_intent=np.array(intent),
        framerate=np.array(float(GRAB_FPS)),
        n_frames=np.array(num_frames),
        n_comps=np.array(24),
        lhand=hand(left_pose, left_transl, "lhand"),
        rhand=hand(right_pose, right_transl, "rhand"),
        object=np.array(
            {
                "params": {
                    "global_orient": object_orient.astype(np.float32),
                    "transl": object_transl.astype(np.float32),
                },
                "object_mesh": f"tools/object_meshes/contact_meshes/{object_name}.ply",
            },
            dtype=object,
        ),
        contact=np.array(
            {"object": contact, "body": np.zeros((num_frames, 4), np.int32)}, dtype=object
        ),
    )
    return GrabFixture(
        root=grab,
        path=path,
        object_name=object_name,
        num_frames=num_frames,
        contact_frames=contact_frames,
        object_orient=object_orient.astype(np.float32),
        object_transl=object_transl.astype(np.float32),
        right_pose=right_pose.astype(np.float32),
        mesh_vertices=np.asarray(box.vertices),
    )


class _Exploit:
    """Pickles as a call to os.system (the payload a malicious npz would carry)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def write_malicious_npz(path: Path, marker: Path) -> None:
    """A GRAB-looking npz whose `lhand` payload calls os.system when unpickled."""
    np.savez(
        path,
        obj_name=np.array("mug"),
        motion_intent=np.array("lift"),
        lhand=np.array({"params": _Exploit(marker)}, dtype=object),
    )
