"""GRAB (Taheri et al., ECCV 2020) reader.

Layout of the release, as GRAB's own tools take it (`root` is the release folder)::

    root/grab/s1 … s10/<object>_<intent>_<n>.npz
    root/tools/object_meshes/contact_meshes/<object>.ply
    root/tools/subject_meshes/{male,female}/s<k>_{lhand,rhand}.ply

`root` may also be the folder holding the subject folders (`root/s1 …`, with `tools/` in
it or beside it, i.e. the release's `grab/` folder).

Each `.npz` holds 0-d object arrays (pickled dicts, read with the restricted unpickler of
:mod:`openhoi.data._safe_arrays`): `obj_name`, `motion_intent`, `framerate` (120),
`contact` {"object": (T, Vo) int body-part id touching each object vertex, 0 = none},
`lhand` / `rhand` {"params": {"global_orient" (T, 3), "fullpose" (T, 45), "transl" (T, 3)},
"vtemp": subject hand template path}, `object` {"params": {"global_orient", "transl"},
"object_mesh": path}. Paths are relative to the release folder.

Conventions (sources: GRAB's `tools/objectmodel.py`, `tools/utils.py`,
`examples/render_grab.py`; Text2HOI's `preprocess/preprocessing_grab.py`):
- World frame z-up, metres (GRAB's renderer puts the camera 1.5 m up the z axis), so no
  axis change is needed.
- Object vertices are posed as `v @ R + t` with R = Rodrigues(global_orient), i.e. the
  rotation applied to column vectors is Rᵀ; we store Rᵀ.
- Hands use MANO with flat_hand_mean=True and a per-subject template mesh (`vtemp`)
  instead of betas. With real MANO files betas are fitted to the template in closed form
  (least squares on the shape basis); without them betas stay zero (recorded).
- Contact ids (GRAB `contact_ids`): 21 L_Hand, 26–40 left fingers, 22 R_Hand, 41–55 right
  fingers. A hand acts in a segment when it touches the object in any of its frames.
- 120 fps → 30 fps by taking every 4th frame, then crop to the first…last frame in which
  anything touches the object, then cut into ≤150-frame segments.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from openhoi.data._safe_arrays import load_npz_safe, unwrap_object
from openhoi.data.episodes import Episode
from openhoi.data.readers._common import (
    TARGET_FPS,
    DatasetReader,
    build_episode,
    build_object,
    hands_choice,
    load_mesh,
    load_split,
    pose_to_canonical,
    segment_specs,
    split_range,
    split_tags,
)
from openhoi.data.sequence import HOISequence
from openhoi.errors import InputError, MissingFileError

__all__ = ["GRABReader"]

GRAB_FPS = 120.0
LEFT_HAND_CONTACT_IDS = frozenset([21, *range(26, 41)])
RIGHT_HAND_CONTACT_IDS = frozenset([22, *range(41, 56)])
_SUBJECT_DIR = re.compile(r"^s\d+$")
_MESH_FOLDER = Path("tools/object_meshes/contact_meshes")


def _axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    import torch

    from openhoi.geometry import axis_angle_to_matrix

    return axis_angle_to_matrix(torch.from_numpy(np.asarray(axis_angle, np.float64))).numpy()


def _field(container: object, key: str, where: str) -> object:
    if not isinstance(container, dict) or key not in container:
        raise InputError(f"{where} lacks the field {key!r} expected in a GRAB sequence file")
    return unwrap_object(container[key])


def _array(container: object, key: str, shape: tuple[int | None, ...], where: str) -> np.ndarray:
    value = np.asarray(_field(container, key, where))
    if value.ndim != len(shape) or any(
        s is not None and s != v for s, v in zip(shape, value.shape, strict=True)
    ):
        want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{where}: {key!r} must have shape {want}, got {value.shape}")
    if not np.issubdtype(value.dtype, np.number):
        raise InputError(f"{where}: {key!r} must be numeric, got dtype {value.dtype}")
    return value


class GRABReader(DatasetReader):
    """Reads GRAB `.npz` sequences into episodes (see the module docstring)."""

    name = "grab"
    source_fps = GRAB_FPS

    def __post_init__(self) -> None:
        super().__post_init__()
        # The release root holds `grab/s1 …`; from here on `root` is the subject folder.
        if not self._subjects(self.root) and self._subjects(self.root / "grab"):
            self.root = self.root / "grab"
        self._split = load_split("grab")
        self._betas_cache: dict[str, np.ndarray] = {}

    def mano_notes(self) -> list[str]:
        """What is approximate without MANO files."""
        notes = super().mano_notes()
        if not self.hands.is_real and self.keep_betas:
            notes.append(
                "GRAB hand shapes come as subject template meshes; fitting betas to them needs "
                "the real MANO shape basis, so betas are zero"
            )
        return notes

    @staticmethod
    def _subjects(folder: Path) -> list[Path]:
        """The subject folders `sN` in `folder`, by number (none if it is not a folder)."""
        if not folder.is_dir():
            return []
        return sorted(
            (p for p in folder.iterdir() if p.is_dir() and _SUBJECT_DIR.match(p.name)),
            key=lambda p: int(p.name[1:]),
        )

    def sequence_keys(self) -> list[str]:
        """`sN/<name>` of every `.npz` under the subject folders."""
        subjects = self._subjects(self.root)
        keys = [f"{s.name}/{f.stem}" for s in subjects for f in sorted(s.glob("*.npz"))]
        if not keys:
            raise MissingFileError(
                f"{str(self.root)!r} is not a GRAB folder: no subject folders s1..s10 with .npz "
                "sequence files (pass the release folder holding grab/s1 … and tools/, or its "
                "grab/ folder)"
            )
        return keys

    def _release_path(self, relative: str) -> Path | None:
        for base in (self.root, self.root.parent):
            candidate = base / relative
            if candidate.is_file():
                return candidate
        return None

    def _load_object(self, name: str):
        path = self._release_path(str(_MESH_FOLDER / f"{name}.ply"))
        if path is None:
            raise MissingFileError(
                f"GRAB object mesh {str(self.root / _MESH_FOLDER / (name + '.ply'))!r} does not "
                "exist (looked in the dataset folder and its parent)"
            )
        mesh = load_mesh(path, "GRAB object mesh")
        return build_object(name, [("body", mesh)], source=str(path), description=f"GRAB {name}")

    def _subject_betas(self, side: str, vtemp: object, where: str) -> np.ndarray:
        if not (self.keep_betas and self.hands.is_real) or not isinstance(vtemp, str):
            return np.zeros(10, np.float32)
        if vtemp not in self._betas_cache:
            path = self._release_path(vtemp)
            if path is None:
                raise MissingFileError(
                    f"{where}: subject hand template {vtemp!r} not found under "
                    f"{str(self.root)!r} or its parent"
                )
            mesh = load_mesh(path, "GRAB subject hand template")
            self._betas_cache[vtemp] = self.hands.fit_betas(side, np.asarray(mesh.vertices))
        return self._betas_cache[vtemp]

    def read_sequence(self, key: str) -> list[Episode]:
        """The episode of one GRAB sequence file (one action, cut into ≤150-frame segments)."""
        subject, stem = key.split("/", 1)
        path = self.root / subject / f"{stem}.npz"
        where = repr(str(path))
        data = {k: unwrap_object(v) for k, v in load_npz_safe(path).items()}
        object_name = str(_field(data, "obj_name", where))
        intent = str(_field(data, "motion_intent", where))
        fps = float(data.get("framerate", GRAB_FPS))
        contact = _array(_field(data, "contact", where), "object", (None, None), where + " contact")
        num_frames = contact.shape[0]

        hands = {}
        for side, field_name in (("left", "lhand"), ("right", "rhand")):
            record = _field(data, field_name, where)
            params = _field(record, "params", f"{where} {field_name}")
            sub = f"{where} {field_name}.params"
            orient = _array(params, "global_orient", (num_frames, 3), sub)
            finger = _array(params, "fullpose", (num_frames, 45), sub)
            transl = _array(params, "transl", (num_frames, 3), sub)
            pose = np.concatenate([orient[:, None], finger.reshape(num_frames, 15, 3)], axis=1)
            vtemp = record.get("vtemp") if isinstance(record, dict) else None
            betas = self._subject_betas(side, unwrap_object(vtemp), where)
            hands[side] = (pose, transl, betas)
        object_params = _field(_field(data, "object", where), "params", f"{where} object")
        obj_orient = _array(object_params, "global_orient", (num_frames, 3), f"{where} object")
        obj_transl = _array(object_params, "transl", (num_frames, 3), f"{where} object")

        # 1. Every k-th frame (120 → 30 fps), exactly as released (no interpolation).
        stride = round(fps / TARGET_FPS)
        if stride < 1 or abs(fps / TARGET_FPS - stride) > 1e-6:
            raise InputError(f"{where}: framerate {fps:g} is not a multiple of {TARGET_FPS:g}")
        keep = np.arange(0, num_frames, stride)
        # 2. Crop to the interaction: first..last frame in which anything touches the object.
        touching = np.flatnonzero((contact[keep] != 0).any(axis=1))
        if touching.size == 0:
            return []
        keep = keep[touching[0] : touching[-1] + 1]
        left_touch = np.isin(contact[keep], list(LEFT_HAND_CONTACT_IDS)).any(axis=1)
        right_touch = np.isin(contact[keep], list(RIGHT_HAND_CONTACT_IDS)).any(axis=1)
        if not (left_touch.any() or right_touch.any()):
            return []

        obj = self.load_object(object_name)
        rotation = np.swapaxes(_axis_angle_to_matrix(obj_orient[keep]), 1, 2)  # (v @ R) = Rᵀ v
        sequence = HOISequence.from_parameters(
            left_pose=hands["left"][0][keep],
            left_transl=hands["left"][1][keep],
            right_pose=hands["right"][0][keep],
            right_transl=hands["right"][1][keep],
            object_rotation=rotation,
            object_transl=pose_to_canonical(rotation, obj_transl[keep], obj.canonical_offset),
            betas=np.stack([self._betas(hands["left"][2]), self._betas(hands["right"][2])]),
            fps=TARGET_FPS,
            object_name=object_name,
        )
        # 3. Segments of ≤150 frames; a hand acts in a segment when it touches the object.
        specs = []
        for start, stop in split_range(0, sequence.num_frames):
            side = hands_choice(
                bool(left_touch[start:stop].any()), bool(right_touch[start:stop].any())
            )
            if not (left_touch[start:stop].any() or right_touch[start:stop].any()):
                side = hands_choice(bool(left_touch.any()), bool(right_touch.any()))
            specs += segment_specs(sequence, start, stop, intent, side, keep)
        metadata = {
            "subject": subject,
            "sequence": stem,
            "source_file": f"{subject}/{stem}.npz",
            "source_fps": fps,
            "motion_intent": intent,
            **split_tags(self._split, object_name, subject),
        }
        return [
            build_episode(
                source=self.name,
                episode_id=f"grab_{subject}_{stem}",
                object_name=object_name,
                segments=specs,
                metadata=metadata,
            )
        ]
