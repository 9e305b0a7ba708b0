"""H2O (Kwon et al., ICCV 2021) reader.

Layout (`root` is the H2O folder)::

    root/subject<k>/<background>/<take>/cam4/hand_pose_mano/NNNNNN.txt
                                              obj_pose_rt/NNNNNN.txt
                                              cam_pose/NNNNNN.txt
                                              action_label/NNNNNN.txt
    root/object/<object>/<object>.obj          object meshes (metres)

Per frame (sources: Text2HOI `preprocess/preprocessing_h2o.py`, `lib/utils/proc_h2o.py`,
`constants/h2o_constants.py`):
- `hand_pose_mano`: 124 numbers; left = valid flag [0], translation [1:4], 48-D axis-angle
  pose [4:52] (global orient then 15 joints, MANO flat_hand_mean=True), betas [52:62];
  right = flag [62], translation [63:66], pose [66:114], betas [114:124]. Camera frame.
- `obj_pose_rt`: object class index (1 book, 2 espresso, 3 lotion, 4 spray, 5 milk,
  6 cocoa, 7 chips, 8 cappuccino) then a row-major 4×4 mesh → camera transform.
- `cam_pose`: row-major 4×4 camera → world transform (Text2HOI multiplies it on the left).
- `action_label`: one integer, 0 = background, 1…36 as in :data:`H2O_ACTIONS`.
Frames are 30 fps. Hands move to the world frame with the MANO root-joint correction
(:func:`~openhoi.data.transforms.transform_mano_rigidly`); the rest wrist joint comes
from the hand model for the frame's betas, so without real MANO files it is the embedded
hand's (approximate, recorded). Segments are the runs of one non-zero action label; a hand
acts in a segment when one of its keypoints comes within 2 cm of the object.
The egocentric camera `cam4` is read by default; the other cameras see the same motion.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from openhoi.data.episodes import Episode
from openhoi.data.readers._common import (
    MIN_SEGMENT_FRAMES,
    TARGET_FPS,
    DatasetReader,
    build_episode,
    build_object,
    hand_object_contact,
    hands_choice,
    load_mesh,
    load_split,
    pose_to_canonical,
    segment_specs,
    split_tags,
)
from openhoi.data.sequence import HOISequence
from openhoi.data.transforms import transform_mano_rigidly
from openhoi.errors import InputError, MissingFileError

__all__ = ["H2O_ACTIONS", "H2O_OBJECTS", "H2OReader"]

#: Object class index → name (index 0 unused).
H2O_OBJECTS = ("", "book", "espresso", "lotion", "spray", "milk", "cocoa", "chips", "cappuccino")
#: Action label → (verb, object); label 0 is background.
H2O_ACTIONS: tuple[tuple[str, str], ...] = (
    ("background", ""),
    *[("grab", o) for o in H2O_OBJECTS[1:]],
    *[("place", o) for o in H2O_OBJECTS[1:]],
    ("open", "lotion"), ("open", "milk"), ("open", "chips"),
    ("close", "lotion"), ("close", "milk"), ("close", "chips"),
    ("pour", "milk"),
    ("take out", "espresso"), ("take out", "cocoa"), ("take out", "chips"),
    ("take out", "cappuccino"),
    ("put in", "espresso"), ("put in", "cocoa"), ("put in", "cappuccino"),
    ("apply", "lotion"), ("apply", "spray"),
    ("read", "book"), ("read", "espresso"),
    ("spray", "spray"), ("squeeze", "lotion"),
)  # fmt: skip
FOLDERS = ("hand_pose_mano", "obj_pose_rt", "cam_pose", "action_label")
HAND_VALUES = 124
# Offsets of one hand in a hand_pose_mano row: flag, translation, pose, betas.
HAND_BLOCKS = {"left": 0, "right": 62}
_SUBJECT_DIR = re.compile(r"^subject\d+$")


def _matrices(axis_angle: np.ndarray) -> np.ndarray:
    import torch

    from openhoi.geometry import axis_angle_to_matrix

    return axis_angle_to_matrix(torch.from_numpy(np.asarray(axis_angle, np.float64))).numpy()


def _read_numbers(path: Path, count: int, what: str) -> np.ndarray:
    if not path.is_file():
        raise MissingFileError(f"H2O {what} file {str(path)!r} does not exist")
    try:
        values = np.array(path.read_text(encoding="utf-8").split(), dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"H2O {what} file {str(path)!r} holds non-numeric text ({exc})") from exc
    if values.size != count or not np.isfinite(values).all():
        raise InputError(
            f"H2O {what} file {str(path)!r} must hold {count} finite numbers, got {values.size}"
        )
    return values


class H2OReader(DatasetReader):
    """Reads H2O per-frame text files into episodes (see the module docstring)."""

    name = "h2o"
    camera: str = "cam4"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._split = load_split("h2o")

    def mano_notes(self) -> list[str]:
        """What is approximate without MANO files."""
        notes = super().mano_notes()
        if not self.hands.is_real:
            notes.append(
                "H2O hands are moved from camera to world frame about the rest wrist joint of "
                "the embedded hand, not MANO's (world hand translations are approximate)"
            )
        return notes

    def sequence_keys(self) -> list[str]:
        """`subject<k>/<background>/<take>/cam4` of every take with hand poses."""
        subjects = [p for p in self.root.iterdir() if p.is_dir() and _SUBJECT_DIR.match(p.name)]
        keys = sorted(
            str(path.parent.relative_to(self.root))
            for subject in subjects
            for path in subject.glob(f"*/*/{self.camera}/hand_pose_mano")
            if path.is_dir()
        )
        if not keys:
            raise MissingFileError(
                f"{str(self.root)!r} is not an H2O folder: no subject*/<background>/<take>/"
                f"{self.camera}/hand_pose_mano folders"
            )
        return keys

    def _load_object(self, name: str):
        folder = self.root / "object" / name
        path = folder / f"{name}.obj"
        if not path.is_file() and folder.is_dir():
            candidates = sorted(folder.glob("*.obj"))
            path = candidates[0] if candidates else path
        mesh = load_mesh(path, "H2O object mesh")
        return build_object(name, [("body", mesh)], source=str(path), description=f"H2O {name}")

    def read_sequence(self, key: str) -> list[Episode]:
        """The episode of one H2O take: one segment per run of a non-zero action label."""
        folder = self.root / key
        frame_names = sorted(p.name for p in (folder / "hand_pose_mano").glob("*.txt"))
        if not frame_names:
            raise MissingFileError(f"{str(folder / 'hand_pose_mano')!r} holds no frame files")
        num_frames = len(frame_names)
        hand_rows = np.zeros((num_frames, HAND_VALUES))
        object_rows = np.zeros((num_frames, 17))
        cameras = np.zeros((num_frames, 4, 4))
        labels = np.zeros(num_frames, np.int64)
        for t, frame in enumerate(frame_names):
            hand_rows[t] = _read_numbers(
                folder / "hand_pose_mano" / frame, HAND_VALUES, "hand pose"
            )
            object_rows[t] = _read_numbers(folder / "obj_pose_rt" / frame, 17, "object pose")
            cameras[t] = _read_numbers(folder / "cam_pose" / frame, 16, "camera pose").reshape(4, 4)
            label = _read_numbers(folder / "action_label" / frame, 1, "action label")[0]
            if label != int(label) or not 0 <= label < len(H2O_ACTIONS):
                raise InputError(
                    f"H2O action label file {str(folder / 'action_label' / frame)!r} must hold an "
                    f"integer 0..{len(H2O_ACTIONS) - 1}, got {label:g}"
                )
            labels[t] = int(label)
        class_ids = object_rows[:, 0].round().astype(int)
        valid_class = class_ids[(class_ids >= 1) & (class_ids < len(H2O_OBJECTS))]
        if valid_class.size == 0:
            raise InputError(
                f"{str(folder / 'obj_pose_rt')!r}: no frame names an object class 1..8"
            )
        object_name = H2O_OBJECTS[np.bincount(valid_class).argmax()]

        # 1. Camera → world for hands (root-joint correction) and object.
        rotation_cam, translation_cam = cameras[:, :3, :3], cameras[:, :3, 3]
        poses, transls, betas, valid = {}, {}, {}, {}
        for side, base in HAND_BLOCKS.items():
            flag = hand_rows[:, base] > 0.5
            transl = hand_rows[:, base + 1 : base + 4]
            pose = hand_rows[:, base + 4 : base + 52].reshape(num_frames, 16, 3)
            frame_betas = hand_rows[:, base + 52 : base + 62]
            wrist = self.hands.rest_wrist(side, frame_betas)
            orient, transl_world = transform_mano_rigidly(
                rotation_cam, translation_cam, _matrices(pose[:, 0]), transl, wrist
            )
            matrices = _matrices(pose)
            matrices[:, 0] = orient
            poses[side], transls[side], valid[side] = matrices, transl_world, flag
            betas[side] = frame_betas[flag].mean(axis=0) if flag.any() else np.zeros(10)
        object_world = cameras @ object_rows[:, 1:].reshape(num_frames, 4, 4)
        obj = self.load_object(object_name)
        sequence = HOISequence.from_parameters(
            left_pose=poses["left"],
            left_transl=transls["left"],
            right_pose=poses["right"],
            right_transl=transls["right"],
            object_rotation=object_world[:, :3, :3],
            object_transl=pose_to_canonical(
                object_world[:, :3, :3], object_world[:, :3, 3], obj.canonical_offset
            ),
            betas=np.stack([self._betas(betas["left"]), self._betas(betas["right"])]),
            fps=TARGET_FPS,
            object_name=object_name,
        )
        # 2. Segments: runs of one non-zero label; acting hands from keypoint contact.
        specs = []
        frame_ids = np.arange(num_frames)
        change = np.flatnonzero(np.diff(labels)) + 1
        for start, stop in zip(np.r_[0, change], np.r_[change, num_frames], strict=True):
            label = int(labels[start])
            if label == 0 or stop - start < MIN_SEGMENT_FRAMES:
                continue
            piece = sequence[int(start) : int(stop)]
            touch = hand_object_contact(piece, obj, self.hands, keypoints_only=True).keypoints
            acts = touch.any(axis=2).any(axis=0) & np.array(
                [valid["left"][start:stop].any(), valid["right"][start:stop].any()]
            )
            if not acts.any():
                continue
            verb = H2O_ACTIONS[label][0]
            specs += segment_specs(
                sequence, int(start), int(stop), verb, hands_choice(*map(bool, acts)), frame_ids
            )
        if not specs:
            return []
        subject = key.split("/", 1)[0]
        metadata = {
            "subject": subject,
            "sequence": key,
            "source_fps": TARGET_FPS,
            "camera": self.camera,
            **split_tags(self._split, object_name, subject),
        }
        episode_id = "h2o_" + key.replace("/", "_")
        return [
            build_episode(
                source=self.name,
                episode_id=episode_id,
                object_name=object_name,
                segments=specs,
                metadata=metadata,
            )
        ]
