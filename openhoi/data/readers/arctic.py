"""ARCTIC (Fan et al., CVPR 2023) reader.

Layout (`root` is ARCTIC's `data/` folder, or `arctic_data/data`)::

    root/raw_seqs/sXX/<object>_<intent>_<nn>.mano.npy     dict: left/right → rot (T, 3),
                                                           pose (T, 45), shape (T, 10) or (10,),
                                                           trans (T, 3)  (metres, world)
    root/raw_seqs/sXX/<object>_<intent>_<nn>.object.npy   (T, 7): angle (rad), axis-angle
                                                           rotation, translation in mm
    root/meta/object_vtemplates/<object>/mesh.obj         millimetres (also meta/object_vtemp)
    root/meta/object_vtemplates/<object>/parts.json       one 0/1 label per mesh vertex
    root/description/sXX/<sequence>/description.txt       optional text annotation (Text2HOI):
                                                           lines "start-end action hand _",
                                                           frames 1-based and inclusive

Conventions (sources: ARCTIC `common/object_tensors.py`, `common/body_models.py`,
`src/arctic/processing.py`, `docs/data/data_doc.md`; Text2HOI
`preprocess/preprocessing_arctic.py`):
- Hands: MANO with flat_hand_mean=False (`build_mano_aa(..., flat_hand=False)`), so our
  flat-relative finger pose is `pose + hands_mean`, which needs the real MANO files. Without
  them the reader refuses, unless `assume_flat_mean=True` keeps the poses unchanged.
- Object: x_world = R(aa) · x + trans / 1000, after the articulation turns the *top* part
  about the axis (0, 0, −1) through the template origin by `angle` (`z_axis = [0, 0, -1]`).
  `parts.json` label 0 is the top (moving) part and 1 the bottom: ARCTIC's code adds 1 and
  treats id 1 as top, and Text2HOI's comment reads "0: top, 1: bottom" (the data doc says
  the opposite; we follow the code that renders the dataset).
- Frame rate 30 fps (raw_seqs are synchronised with the 30 fps image streams).
- World frame: the MoCap (Vicon) frame, metres, kept as is.
- Without a `description/` folder each sequence becomes one segment whose verb is the
  intent in its name ("grab" / "use") and whose hands come from contact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from openhoi.data._safe_arrays import load_npy_safe, unwrap_object
from openhoi.data.episodes import Episode
from openhoi.data.readers._common import (
    MIN_SEGMENT_FRAMES,
    TARGET_FPS,
    DatasetReader,
    SegmentSpec,
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
from openhoi.errors import InputError, MissingFileError

__all__ = ["ARCTIC_ARTICULATION_AXIS", "ARCTICReader"]

#: The top part turns about this axis (template frame) by the articulation angle.
ARCTIC_ARTICULATION_AXIS = np.array([0.0, 0.0, -1.0])
#: ARCTIC object templates and translations are in millimetres.
MM_TO_M = 1e-3
TOP_LABEL = 0
_DESCRIPTION_LINE = re.compile(r"^(\d+)-(\d+)\s+(\S+)\s+(left|right|both)(\s+\S+)?\s*$")
_SUBJECT_DIR = re.compile(r"^s\d+$")


def _axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    import torch

    from openhoi.geometry import axis_angle_to_matrix

    return axis_angle_to_matrix(torch.from_numpy(np.asarray(axis_angle, np.float64))).numpy()


class ARCTICReader(DatasetReader):
    """Reads ARCTIC `raw_seqs` into episodes (see the module docstring)."""

    name = "arctic"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._split = load_split("arctic")
        if not self.hands.is_real and not self.assume_flat_mean:
            raise InputError(
                "ARCTIC hand poses use MANO's flat_hand_mean=False: converting them to openhoi's "
                "flat-relative poses adds MANO's hands_mean, which is only in the official MANO "
                "files. Pass mano_dir (--mano-dir) with MANO_LEFT.pkl/MANO_RIGHT.pkl, or "
                "assume_flat_mean=True (--assume-flat-mean) to keep the poses unchanged "
                "(fingers then sit off by MANO's mean pose)"
            )

    def mano_notes(self) -> list[str]:
        """What is approximate without MANO files."""
        notes = super().mano_notes()
        if not self.hands.is_real:
            notes.append(
                "ARCTIC finger poses are kept without MANO's hands_mean (assume_flat_mean): "
                "they are relative to MANO's mean hand, not the flat hand"
            )
        return notes

    # ------------------------------------------------------------------ layout
    @property
    def _raw(self) -> Path:
        return self.root / "raw_seqs"

    def _template_folder(self, name: str) -> Path:
        for folder in ("object_vtemplates", "object_vtemp"):
            candidate = self.root / "meta" / folder / name
            if candidate.is_dir():
                return candidate
        return self.root / "meta" / "object_vtemplates" / name

    def sequence_keys(self) -> list[str]:
        """`sXX/<sequence>` of every `*.mano.npy` under `raw_seqs/`."""
        if not self._raw.is_dir():
            raise MissingFileError(
                f"{str(self.root)!r} is not an ARCTIC data folder: {str(self._raw)!r} is missing"
            )
        keys = []
        for subject in sorted(p for p in self._raw.iterdir() if _SUBJECT_DIR.match(p.name)):
            for path in sorted(subject.glob("*.mano.npy")):
                keys.append(f"{subject.name}/{path.name[: -len('.mano.npy')]}")
        if not keys:
            raise MissingFileError(f"{str(self._raw)!r} holds no sXX/*.mano.npy sequence files")
        return keys

    def _load_object(self, name: str):
        folder = self._template_folder(name)
        mesh = load_mesh(folder / "mesh.obj", "ARCTIC object template")
        parts_path = folder / "parts.json"
        if not parts_path.is_file():
            raise MissingFileError(f"ARCTIC part labels {str(parts_path)!r} do not exist")
        try:
            labels = np.asarray(json.loads(parts_path.read_text(encoding="utf-8")), dtype=np.int64)
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            raise InputError(
                f"{str(parts_path)!r} is not a JSON list of 0/1 labels ({exc})"
            ) from exc
        if labels.shape != (len(mesh.vertices),) or not np.isin(labels, (0, 1)).all():
            raise InputError(
                f"{str(parts_path)!r} must hold one 0/1 label per vertex of mesh.obj "
                f"({len(mesh.vertices)}), got shape {labels.shape}"
            )
        parts = []
        faces = np.asarray(mesh.faces)
        # A face goes to the part most of its vertices belong to; each part gets its own
        # copy of its vertices, so the moving part shares none with the fixed one.
        face_top = (labels[faces] == TOP_LABEL).sum(axis=1) >= 2
        import trimesh

        for part_name, selected in (("top", face_top), ("bottom", ~face_top)):
            part_faces = faces[selected]
            used, inverse = np.unique(part_faces.reshape(-1), return_inverse=True)
            parts.append(
                (
                    part_name,
                    trimesh.Trimesh(mesh.vertices[used], inverse.reshape(-1, 3), process=False),
                )
            )
        parts = [(n, m) for n, m in parts if len(m.faces)]
        articulation = None
        if any(n == "top" for n, _ in parts) and len(parts) == 2:
            articulation = ("top", ARCTIC_ARTICULATION_AXIS, np.zeros(3), (-np.pi, np.pi))
        return build_object(
            name,
            parts,
            scale=MM_TO_M,
            articulation=articulation,
            source=str(folder / "mesh.obj"),
            description=f"ARCTIC {name} (articulated: top part)",
        )

    def _descriptions(self, subject: str, sequence: str) -> list[tuple[int, int, str, str]] | None:
        folder = self.root / "description"
        if not folder.is_dir():
            return None
        path = folder / subject / sequence / "description.txt"
        if not path.is_file():
            raise MissingFileError(
                f"ARCTIC description file {str(path)!r} does not exist (the description/ folder "
                "is present, so every sequence needs one)"
            )
        lines = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            match = _DESCRIPTION_LINE.match(line.strip())
            if (
                match is None
                or int(match.group(1)) > int(match.group(2))
                or int(match.group(1)) < 1
            ):
                raise InputError(
                    f"{str(path)!r} line {number}: expected 'start-end action hand _' with "
                    f"1-based start <= end and hand left|right|both, got {line.strip()!r}"
                )
            start, end = int(match.group(1)) - 1, int(match.group(2))  # → [start, end)
            lines.append((start, end, match.group(3).rstrip(","), match.group(4)))
        return lines

    # -------------------------------------------------------------------- read
    def read_sequence(self, key: str) -> list[Episode]:
        """The episodes of one ARCTIC sequence: non-overlapping described actions in order."""
        subject, sequence_name = key.split("/", 1)
        mano_path = self._raw / subject / f"{sequence_name}.mano.npy"
        object_path = self._raw / subject / f"{sequence_name}.object.npy"
        if not object_path.is_file():
            raise MissingFileError(f"ARCTIC object pose file {str(object_path)!r} does not exist")
        mano = unwrap_object(load_npy_safe(mano_path))
        object_params = np.asarray(load_npy_safe(object_path))
        where = repr(str(mano_path))
        if not isinstance(mano, dict):
            raise InputError(
                f"{where} must hold a dict with 'left' and 'right', got {type(mano).__name__}"
            )
        if object_params.ndim != 2 or object_params.shape[1] != 7:
            raise InputError(
                f"{str(object_path)!r} must have shape (T, 7) (angle, axis-angle, mm translation), "
                f"got {object_params.shape}"
            )
        num_frames = object_params.shape[0]
        poses, transls, betas = {}, {}, {}
        for side in ("left", "right"):
            params = mano.get(side)
            if not isinstance(params, dict):
                raise InputError(f"{where} lacks the {side!r} hand dict")
            fields = {}
            for name, width in (("rot", 3), ("pose", 45), ("trans", 3)):
                value = np.asarray(unwrap_object(params.get(name)) if name in params else None)
                if value.shape != (num_frames, width):
                    raise InputError(
                        f"{where}: {side}.{name} must have shape ({num_frames}, {width}) to match "
                        f"the object file, got {value.shape}"
                    )
                fields[name] = value.astype(np.float64)
            shape = np.asarray(params.get("shape"), dtype=np.float64)
            if shape.shape not in ((10,), (num_frames, 10)):
                raise InputError(
                    f"{where}: {side}.shape must be (10,) or (T, 10), got {shape.shape}"
                )
            finger = fields["pose"]
            if self.hands.is_real:
                finger = finger + self.hands.hands_mean(side)[None]
            poses[side] = np.concatenate(
                [fields["rot"][:, None], finger.reshape(num_frames, 15, 3)], axis=1
            )
            transls[side] = fields["trans"]
            betas[side] = shape.reshape(-1, 10).mean(axis=0)

        object_name = sequence_name.split("_")[0]
        obj = self.load_object(object_name)
        rotation = _axis_angle_to_matrix(object_params[:, 1:4])
        sequence = HOISequence.from_parameters(
            left_pose=poses["left"],
            left_transl=transls["left"],
            right_pose=poses["right"],
            right_transl=transls["right"],
            object_rotation=rotation,
            object_transl=pose_to_canonical(
                rotation, object_params[:, 4:7] * MM_TO_M, obj.canonical_offset
            ),
            object_angle=object_params[:, 0],
            betas=np.stack([self._betas(betas["left"]), self._betas(betas["right"])]),
            fps=TARGET_FPS,
            object_name=object_name,
        )
        frame_ids = np.arange(num_frames)
        metadata = {"subject": subject, "sequence": sequence_name, "source_fps": TARGET_FPS,
                    "source_file": f"raw_seqs/{subject}/{sequence_name}.mano.npy",
                    **split_tags(self._split, object_name, subject)}  # fmt: skip
        described = self._descriptions(subject, sequence_name)
        if described is None:
            contact = hand_object_contact(sequence, obj, self.hands, keypoints_only=True)
            touch = contact.keypoints.any(axis=2).any(axis=0)
            verb = sequence_name.split("_")[1] if "_" in sequence_name else "use"
            specs = segment_specs(
                sequence,
                0,
                num_frames,
                verb,
                hands_choice(bool(touch[0]), bool(touch[1])),
                frame_ids,
            )
            episode_id = f"arctic_{subject}_{sequence_name}"
            return [
                build_episode(
                    source=self.name,
                    episode_id=episode_id,
                    object_name=object_name,
                    segments=specs,
                    metadata=metadata,
                )
            ]
        episodes = []
        for index, chain in enumerate(_non_overlapping_chains(described, num_frames)):
            specs: list[SegmentSpec] = []
            for start, end, verb, hands in chain:
                specs += segment_specs(sequence, start, end, verb, hands, frame_ids)
            episodes.append(
                build_episode(
                    source=self.name,
                    episode_id=f"arctic_{subject}_{sequence_name}_{index}",
                    object_name=object_name,
                    segments=specs,
                    metadata=metadata,
                )
            )
        return episodes


def _non_overlapping_chains(
    lines: list[tuple[int, int, str, str]], num_frames: int
) -> list[list[tuple[int, int, str, str]]]:
    """Group described actions into time-ordered chains of non-overlapping ones.

    Descriptions of different hands may overlap in time; an episode is a sequence of
    sub-tasks, so each chain takes, greedily in start order, every action that starts after
    the previous one ended; the rest form further chains.
    """
    remaining = sorted(
        (max(0, s), min(e, num_frames), verb, hands)
        for s, e, verb, hands in lines
        if min(e, num_frames) - max(0, s) >= MIN_SEGMENT_FRAMES
    )
    chains = []
    while remaining:
        chain, rest, end = [], [], -1
        for item in remaining:
            if item[0] >= end:
                chain.append(item)
                end = item[1]
            else:
                rest.append(item)
        chains.append(chain)
        remaining = rest
    return chains
