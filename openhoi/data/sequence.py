"""`HOISequence`: the one value passed between pipeline stages.

A sequence is `T` frames of the 208-D layout in :mod:`openhoi.data.layout` (both
hands as MANO parameters plus the object's pose and articulation angle), the hand
shapes, which hands act in each frame, the frame rate, the object it refers to (an
`openhoi.objects.ObjectRef` string) and its sub-task segments (start frame, text,
optional per-point affordance mask).

It is immutable: arrays are stored read-only, and every operation (slicing,
concatenation, resampling) returns a new sequence. Construction validates shapes,
dtypes and finiteness, so a sequence that exists is a sequence that is well formed.
Files are plain `.npz` (no pickle) and written atomically.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openhoi._io import save_npz_atomic
from openhoi.data import layout
from openhoi.errors import InputError, MissingFileError

if TYPE_CHECKING:
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject, ObjectRef

__all__ = ["HAND_SIDES", "NUM_BETAS", "HOISequence"]

HAND_SIDES = ("left", "right")
NUM_BETAS = 10
DEFAULT_FPS = 30.0
# Bumped when the npz layout changes; `load` refuses files from a newer version.
FILE_FORMAT_VERSION = 1


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _as_float_array(name: str, value: object, shape: tuple[int | None, ...]) -> np.ndarray:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{name} must have shape {expected}, got {tuple(array.shape)}")
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise InputError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return array.astype(np.float32)


@dataclass(frozen=True, eq=False)
class HOISequence:
    """A hand–object interaction sequence in the 208-D frame layout.

    Attributes:
        frames: `(T, 208)` float32. Left hand 99, right hand 99, object 10 (see
            :mod:`openhoi.data.layout`); metres, radians, 6D rotations.
        betas: `(2, 10)` float32 MANO shape of the left (row 0) and right (row 1) hand.
        active_hands: `(T, 2)` bool, whether the left / right hand acts in each frame.
        fps: frames per second (30 in every shipped dataset).
        object_name: reference string of the object the frames' object pose refers to
            (`str(ObjectRef)`: "bottle", "bottle@1.2", "mesh:/abs/can.obj#sha256=..." or
            "stored:/abs/data/objects/milk#sha256=..."; files from before references may
            hold a bare built-in name or a mesh path, which still load); "" when unknown.
        segment_starts: `(S,)` int64 first frame of each sub-task segment; starts at 0,
            strictly increasing.
        texts: `S` sub-task descriptions, one per segment ("" when unknown).
        affordance: `(S, P)` float32 in [0, 1], per-point affordance mask of each segment on
            the object's 1024 condition points, or None.
    """

    frames: np.ndarray
    betas: np.ndarray | None = None
    active_hands: np.ndarray | None = None
    fps: float = DEFAULT_FPS
    object_name: str = ""
    segment_starts: np.ndarray | None = None
    texts: tuple[str, ...] = ("",)
    affordance: np.ndarray | None = None

    def __post_init__(self) -> None:
        frames = _as_float_array("frames", self.frames, (None, layout.FRAME_DIM))
        num_frames = frames.shape[0]
        if num_frames == 0:
            raise InputError("frames must hold at least one frame, got 0")
        betas = (
            np.zeros((len(HAND_SIDES), NUM_BETAS), np.float32)
            if self.betas is None
            else _as_float_array("betas", self.betas, (len(HAND_SIDES), NUM_BETAS))
        )
        if self.active_hands is None:
            active = np.ones((num_frames, len(HAND_SIDES)), bool)
        else:
            active = np.asarray(self.active_hands)
            if active.shape != (num_frames, len(HAND_SIDES)):
                raise InputError(
                    f"active_hands must have shape ({num_frames}, 2) to match frames, "
                    f"got {tuple(active.shape)}"
                )
            if active.dtype != bool:
                if not np.isin(active, (0, 1)).all():
                    raise InputError("active_hands must be booleans (or 0/1 values)")
                active = active.astype(bool)
        fps = float(self.fps)
        if not np.isfinite(fps) or fps <= 0:
            raise InputError(f"fps must be a positive number, got {self.fps!r}")
        starts = (
            np.zeros(1, np.int64)
            if self.segment_starts is None
            else np.asarray(self.segment_starts)
        )
        if starts.ndim != 1 or starts.size == 0 or not np.issubdtype(starts.dtype, np.integer):
            raise InputError(
                f"segment_starts must be a non-empty 1-D integer array, got {starts!r}"
            )
        starts = starts.astype(np.int64)
        if starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= num_frames:
            raise InputError(
                "segment_starts must start at 0, increase strictly and stay below the frame "
                f"count {num_frames}, got {starts.tolist()}"
            )
        texts = (self.texts,) if isinstance(self.texts, str) else tuple(self.texts)
        if len(texts) != starts.size or not all(isinstance(t, str) for t in texts):
            raise InputError(
                f"texts must be {starts.size} string(s), one per segment, got {len(texts)}"
            )
        affordance = None
        if self.affordance is not None:
            affordance = _as_float_array("affordance", self.affordance, (starts.size, None))
            if affordance.min() < 0 or affordance.max() > 1:
                raise InputError("affordance masks must lie in [0, 1]")
        if not isinstance(self.object_name, str):
            raise InputError(f"object_name must be a string, got {type(self.object_name).__name__}")
        set_field = functools.partial(object.__setattr__, self)
        set_field("frames", _readonly(frames))
        set_field("betas", _readonly(betas))
        set_field("active_hands", _readonly(active))
        set_field("fps", fps)
        set_field("segment_starts", _readonly(starts))
        set_field("texts", texts)
        set_field("affordance", None if affordance is None else _readonly(affordance))

    # ------------------------------------------------------------------ basics
    @property
    def num_frames(self) -> int:
        """Number of frames `T`."""
        return int(self.frames.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    @property
    def duration(self) -> float:
        """Length in seconds (`T / fps`)."""
        return self.num_frames / self.fps

    @property
    def num_segments(self) -> int:
        """Number of sub-task segments `S`."""
        return int(self.segment_starts.size)

    @property
    def segment_ranges(self) -> list[tuple[int, int]]:
        """`[start, end)` frame range of each segment."""
        ends = [*self.segment_starts[1:].tolist(), self.num_frames]
        return list(zip(self.segment_starts.tolist(), ends, strict=True))

    def replace(self, **changes: object) -> HOISequence:
        """A copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        return (
            f"HOISequence(num_frames={self.num_frames}, fps={self.fps:g}, "
            f"object={self.object_name!r}, segments={self.num_segments})"
        )

    # --------------------------------------------------------- frame blocks
    def hand_block(self, side: str) -> np.ndarray:
        """`(T, 99)` parameters of one hand: translation, global orient 6D, 15 × finger 6D."""
        return self.frames[:, layout.hand_slice(side)]

    def hand_translation(self, side: str) -> np.ndarray:
        """`(T, 3)` MANO `transl` of one hand, metres."""
        return self.hand_block(side)[:, layout.HAND_TRANSL]

    def hand_pose_6d(self, side: str) -> np.ndarray:
        """`(T, 16, 6)` global orient then 15 finger joints, 6D rotations."""
        block = self.hand_block(side)
        return block[:, layout.HAND_GLOBAL_ORIENT.start :].reshape(self.num_frames, 16, 6)

    def object_translation(self) -> np.ndarray:
        """`(T, 3)` object position (canonical origin in world), metres."""
        return self.frames[:, layout.OBJECT][:, layout.OBJECT_TRANSL]

    def object_rotation(self) -> np.ndarray:
        """`(T, 3, 3)` object rotation canonical → world."""
        import torch

        from openhoi.geometry import rotation_6d_to_matrix

        rot6d = torch.from_numpy(np.array(self.frames[:, layout.OBJECT][:, layout.OBJECT_ROTATION]))
        return rotation_6d_to_matrix(rot6d).numpy()

    def object_angle(self) -> np.ndarray:
        """`(T,)` articulation angle, radians (0 = rest / closed)."""
        return self.frames[:, layout.OBJECT][:, layout.OBJECT_ANGLE.start]

    def object_transforms(self) -> np.ndarray:
        """`(T, 4, 4)` rigid object transforms canonical → world."""
        transforms = np.tile(np.eye(4, dtype=np.float32), (self.num_frames, 1, 1))
        transforms[:, :3, :3] = self.object_rotation()
        transforms[:, :3, 3] = self.object_translation()
        return transforms

    # ------------------------------------------------------------- geometry
    def _hand_output(self, side: str, hand_model: HandModel | None):
        import torch

        model = hand_model if hand_model is not None else _default_hand_model(side)
        if model.side != side:
            raise InputError(f"hand_model is the {model.side} hand but side={side!r} was asked for")
        index = HAND_SIDES.index(side)
        with torch.no_grad():
            return model(
                torch.from_numpy(np.array(self.hand_pose_6d(side))),
                torch.from_numpy(np.array(self.hand_translation(side))),
                betas=torch.from_numpy(np.tile(self.betas[index], (self.num_frames, 1))),
            )

    def hand_vertices(self, side: str, hand_model: HandModel | None = None) -> np.ndarray:
        """`(T, V, 3)` world-frame vertices of one hand (default: the embedded hand asset)."""
        return self._hand_output(side, hand_model).vertices.numpy()

    def hand_joints(self, side: str, hand_model: HandModel | None = None) -> np.ndarray:
        """`(T, 21, 3)` world-frame keypoints of one hand (16 MANO joints, then 5 tips)."""
        return self._hand_output(side, hand_model).joints.numpy()

    def wrist_transforms(self, side: str, hand_model: HandModel | None = None) -> np.ndarray:
        """`(T, 4, 4)` float64 wrist frames: the global orientation at the wrist joint.

        MANO turns the hand about its rest wrist joint J0(β) and then adds `transl`, so the
        wrist sits at `transl + J0`; a rigid hand motion is a change of this frame.
        """
        import torch

        from openhoi.geometry import rotation_6d_to_matrix

        model = hand_model if hand_model is not None else _default_hand_model(side)
        betas = torch.from_numpy(np.array(self.betas[HAND_SIDES.index(side)][None]))
        wrist = model.rest_joints(betas.to(model.dtype))[0, 0].double().numpy()
        orient = torch.from_numpy(np.array(self.hand_pose_6d(side)[:, 0], np.float64))
        out = np.tile(np.eye(4), (self.num_frames, 1, 1))
        out[:, :3, :3] = rotation_6d_to_matrix(orient).numpy()
        out[:, :3, 3] = np.asarray(self.hand_translation(side), np.float64) + wrist
        return out

    @property
    def object_ref(self) -> ObjectRef:
        """`object_name` parsed as an `ObjectRef`; InputError when empty or not a reference."""
        from openhoi.objects import ObjectRef

        if not self.object_name:
            raise InputError("this sequence names no object (object_name is empty)")
        return ObjectRef.parse(self.object_name)

    def load_object(self) -> HOIObject:
        """The object `object_name` refers to (reference, built-in name or mesh path)."""
        from openhoi.objects import load_object

        if not self.object_name:
            raise InputError("this sequence names no object (object_name is empty)")
        return load_object(self.object_name)

    def object_vertices(self, obj: HOIObject | None = None) -> np.ndarray:
        """`(T, Vo, 3)` world-frame object vertices, articulation applied."""
        obj = self.load_object() if obj is None else obj
        canonical = np.asarray(obj.vertices_at(np.array(self.object_angle())), np.float32)
        rotation = self.object_rotation()
        return np.einsum("tij,tvj->tvi", rotation, canonical) + self.object_translation()[:, None]

    # ------------------------------------------------------ slicing & joining
    def __getitem__(self, index: slice) -> HOISequence:
        """Frames `index` (a slice with step 1) as a new sequence; segments are clipped."""
        if not isinstance(index, slice):
            raise TypeError(f"HOISequence supports slicing only, got {type(index).__name__}")
        start, stop, step = index.indices(self.num_frames)
        if step != 1:
            raise InputError("slice step must be 1; use resample() to change the frame rate")
        if stop <= start:
            raise InputError(f"slice {index} of a {self.num_frames}-frame sequence is empty")
        keep = [i for i, (s, e) in enumerate(self.segment_ranges) if s < stop and e > start]
        starts = np.maximum(self.segment_starts[keep] - start, 0)
        return self.replace(
            frames=self.frames[start:stop],
            active_hands=self.active_hands[start:stop],
            segment_starts=starts,
            texts=tuple(self.texts[i] for i in keep),
            affordance=None if self.affordance is None else self.affordance[keep],
        )

    @classmethod
    def concatenate(cls, sequences: Sequence[HOISequence]) -> HOISequence:
        """Join sequences in time; they must share fps, object and hand shapes."""
        if not sequences:
            raise InputError("concatenate needs at least one sequence")
        first = sequences[0]
        for k, other in enumerate(sequences[1:], start=1):
            if other.fps != first.fps:
                raise InputError(
                    f"sequence {k} has fps {other.fps:g}, sequence 0 has {first.fps:g}"
                )
            if not _same_object(other.object_name, first.object_name):
                raise InputError(
                    f"sequence {k} refers to object {other.object_name!r}, "
                    f"sequence 0 to {first.object_name!r}"
                )
            if not np.allclose(other.betas, first.betas):
                raise InputError(f"sequence {k} has different hand shapes (betas) from sequence 0")
        has_masks = [s.affordance is not None for s in sequences]
        if any(has_masks) and not all(has_masks):
            raise InputError("either all or none of the sequences must carry affordance masks")
        offsets = np.cumsum([0] + [s.num_frames for s in sequences[:-1]])
        return first.replace(
            frames=np.concatenate([s.frames for s in sequences]),
            active_hands=np.concatenate([s.active_hands for s in sequences]),
            segment_starts=np.concatenate(
                [s.segment_starts + off for s, off in zip(sequences, offsets, strict=True)]
            ),
            texts=tuple(t for s in sequences for t in s.texts),
            affordance=np.concatenate([s.affordance for s in sequences])
            if all(has_masks)
            else None,
        )

    def resample(self, fps: float) -> HOISequence:
        """The same motion at another frame rate.

        Translations and the articulation angle are interpolated linearly, rotations by
        slerp (re-encoded as 6D), the active-hand mask by nearest frame; the duration
        `(T - 1) / fps` is kept.
        """
        if not np.isfinite(fps) or fps <= 0:
            raise InputError(f"fps must be a positive number, got {fps!r}")
        num_out = max(1, round((self.num_frames - 1) * fps / self.fps) + 1)
        # Fractional source frame of each output frame.
        src = np.arange(num_out) * (self.fps / fps)
        src = np.clip(src, 0, self.num_frames - 1)
        low = np.floor(src).astype(np.int64)
        high = np.minimum(low + 1, self.num_frames - 1)
        frac = (src - low).astype(np.float32)
        frames = _interpolate_frames(self.frames, low, high, frac)
        nearest = np.rint(src).astype(np.int64)
        starts = np.unique(np.rint(self.segment_starts * fps / self.fps).astype(np.int64))
        if starts.size != self.num_segments or starts[-1] >= num_out:
            raise InputError(
                f"resampling to {fps:g} fps would merge sub-task segments; segments are too short"
            )
        return self.replace(
            frames=frames,
            active_hands=self.active_hands[nearest],
            fps=float(fps),
            segment_starts=starts,
        )

    # -------------------------------------------------------------- file I/O
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays written by `save` (plain dtypes only, loadable without pickle)."""
        arrays = {
            "format_version": np.array(FILE_FORMAT_VERSION, np.int64),
            "frames": self.frames,
            "betas": self.betas,
            "active_hands": self.active_hands,
            "fps": np.array(self.fps, np.float64),
            "object_name": np.array(self.object_name),
            "segment_starts": self.segment_starts,
            "texts": np.array(self.texts, dtype=np.str_),
        }
        if self.affordance is not None:
            arrays["affordance"] = self.affordance
        return arrays

    def save(self, path: str | os.PathLike) -> Path:
        """Write the sequence to a `.npz` file atomically; returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            raise InputError(f"sequence files end in .npz, got {str(path)!r}")
        save_npz_atomic(path, self.to_arrays())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> HOISequence:
        """Read a sequence written by `save` (never unpickles anything)."""
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"sequence file {str(path)!r} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except ValueError as exc:
            raise InputError(f"{str(path)!r} is not a plain-array HOISequence npz ({exc})") from exc
        except Exception as exc:
            raise InputError(f"cannot read {str(path)!r} as an npz file ({exc})") from exc
        return cls.from_arrays(arrays, where=repr(str(path)))

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], where: str = "arrays") -> HOISequence:
        """Inverse of `to_arrays` (also used for sequences stored inside episode shards).

        Raises:
            InputError: a required array is missing, the format is newer than this openhoi,
                or the content is invalid; messages start with `where`.
        """
        missing = {"frames", "fps"} - arrays.keys()
        if missing:
            raise InputError(f"{where} is not an HOISequence: missing {sorted(missing)}")
        version = int(arrays.get("format_version", FILE_FORMAT_VERSION))
        if version > FILE_FORMAT_VERSION:
            raise InputError(
                f"{where} has format version {version}; this openhoi reads up to "
                f"{FILE_FORMAT_VERSION}; upgrade openhoi"
            )
        try:
            return cls(
                frames=arrays["frames"],
                betas=arrays.get("betas"),
                active_hands=arrays.get("active_hands"),
                fps=float(arrays["fps"]),
                object_name=str(arrays.get("object_name", "")),
                segment_starts=arrays.get("segment_starts"),
                texts=tuple(str(t) for t in arrays.get("texts", np.array([""]))),
                affordance=arrays.get("affordance"),
            )
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from exc

    # ------------------------------------------------------------- exports
    # Thin conveniences for animation tools; the exporters live in `openhoi.export`
    # (imported here lazily, so data/ does not depend on export/ at import time).
    def to_glb(self, path: str | os.PathLike, obj: HOIObject | None = None) -> Path:
        """Write a glTF 2.0 binary: skinned hands, the object, their animation (y-up)."""
        from openhoi.export.gltf import write_glb

        return write_glb(path, self, obj=obj)

    def to_bvh(self, path: str | os.PathLike) -> Path:
        """Write the hand skeletons' animation as BVH."""
        from openhoi.export.bvh import write_bvh

        return write_bvh(path, self)

    def to_meshes(self, obj: HOIObject | None = None) -> dict[str, np.ndarray]:
        """Per-frame hand and object vertices and faces (metres, world frame, z up)."""
        from openhoi.export.meshes import to_meshes

        return to_meshes(self, obj=obj)

    # ---------------------------------------------------------- constructors
    @classmethod
    def from_parameters(
        cls,
        *,
        left_pose: np.ndarray | None = None,
        left_transl: np.ndarray | None = None,
        right_pose: np.ndarray | None = None,
        right_transl: np.ndarray | None = None,
        object_rotation: np.ndarray | None = None,
        object_transl: np.ndarray | None = None,
        object_angle: np.ndarray | None = None,
        num_frames: int | None = None,
        **fields: object,
    ) -> HOISequence:
        """Build a sequence from per-frame parameters in familiar forms.

        Args:
            left_pose, right_pose: `(T, 16, 3)` axis-angle or `(T, 16, 3, 3)` matrices, global
                orient first (MANO joint order). Missing → flat hand, identity orientation.
            left_transl, right_transl: `(T, 3)` MANO translations, metres. Missing → zeros.
            object_rotation: `(T, 3, 3)` matrices or `(T, 3)` axis-angle. Missing → identity.
            object_transl: `(T, 3)` metres. Missing → zeros.
            object_angle: `(T,)` articulation angle, radians. Missing → zeros.
            num_frames: `T`, needed only when no per-frame array is given.
            **fields: other `HOISequence` fields (betas, active_hands, fps, object_name, ...).
        """
        import torch

        from openhoi.geometry import axis_angle_to_matrix, matrix_to_rotation_6d

        given = [
            a
            for a in (
                left_pose,
                left_transl,
                right_pose,
                right_transl,
                object_rotation,
                object_transl,
            )
            if a is not None
        ]
        if num_frames is None:
            if not given:
                raise InputError("from_parameters needs num_frames or at least one per-frame array")
            num_frames = int(np.asarray(given[0]).shape[0])

        def rot6d(value: np.ndarray | None, name: str, joints: int | None) -> np.ndarray:
            lead = (num_frames,) if joints is None else (num_frames, joints)
            if value is None:
                matrices = np.broadcast_to(np.eye(3, dtype=np.float32), (*lead, 3, 3))
            else:
                value = np.asarray(value, np.float32)
                if value.shape == (*lead, 3):
                    matrices = axis_angle_to_matrix(torch.from_numpy(value)).numpy()
                elif value.shape == (*lead, 3, 3):
                    matrices = value
                else:
                    raise InputError(
                        f"{name} must have shape {(*lead, 3)} (axis-angle) or {(*lead, 3, 3)}, "
                        f"got {value.shape}"
                    )
            out = matrix_to_rotation_6d(torch.tensor(np.asarray(matrices, np.float32)))
            return out.numpy().reshape(num_frames, -1)

        def vector(value: np.ndarray | None, name: str, width: int) -> np.ndarray:
            if value is None:
                return np.zeros((num_frames, width), np.float32)
            value = np.asarray(value, np.float32)
            if width == 1 and value.shape == (num_frames,):
                value = value[:, None]
            if value.shape != (num_frames, width):
                raise InputError(
                    f"{name} must have shape ({num_frames}, {width}), got {value.shape}"
                )
            return value.astype(np.float32)

        frames = np.concatenate(
            [
                vector(left_transl, "left_transl", 3),
                rot6d(left_pose, "left_pose", 16),
                vector(right_transl, "right_transl", 3),
                rot6d(right_pose, "right_pose", 16),
                vector(object_transl, "object_transl", 3),
                rot6d(object_rotation, "object_rotation", None),
                vector(object_angle, "object_angle", 1),
            ],
            axis=1,
        )
        return cls(frames=frames, **fields)


def _same_object(a: str, b: str) -> bool:
    """Whether two `object_name`s refer to the same object (equal references)."""
    if a == b:
        return True
    from openhoi.objects import ObjectRef

    try:
        return ObjectRef.parse(a) == ObjectRef.parse(b)
    except InputError:
        return False


def _interpolate_frames(
    frames: np.ndarray, low: np.ndarray, high: np.ndarray, frac: np.ndarray
) -> np.ndarray:
    """Blend frames `low` and `high` by `frac`: linear for vectors, slerp for 6D rotations."""
    import torch
    from scipy.spatial.transform import Rotation

    from openhoi.geometry import matrix_to_rotation_6d, rotation_6d_to_matrix

    a, b = frames[low], frames[high]
    out = a + (b - a) * frac[:, None]  # linear everywhere, then overwrite rotations
    rot_columns = []
    for block in (layout.LEFT_HAND, layout.RIGHT_HAND):
        start = block.start + layout.HAND_GLOBAL_ORIENT.start
        rot_columns += [slice(start + 6 * j, start + 6 * (j + 1)) for j in range(16)]
    rot_columns.append(
        slice(
            layout.OBJECT.start + layout.OBJECT_ROTATION.start,
            layout.OBJECT.start + layout.OBJECT_ROTATION.stop,
        )
    )
    index = np.concatenate([np.arange(c.start, c.stop) for c in rot_columns]).reshape(-1, 6)
    mat_a = rotation_6d_to_matrix(torch.from_numpy(np.ascontiguousarray(a[:, index]))).numpy()
    mat_b = rotation_6d_to_matrix(torch.from_numpy(np.ascontiguousarray(b[:, index]))).numpy()
    quat_a = Rotation.from_matrix(mat_a.reshape(-1, 3, 3)).as_quat()
    quat_b = Rotation.from_matrix(mat_b.reshape(-1, 3, 3)).as_quat()
    t = np.repeat(frac, index.shape[0]).astype(np.float64)
    blended = _slerp(quat_a, quat_b, t)
    mats = Rotation.from_quat(blended).as_matrix().reshape(mat_a.shape).astype(np.float32)
    out[:, index] = matrix_to_rotation_6d(torch.from_numpy(mats)).numpy()
    return out.astype(np.float32)


def _slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Row-wise quaternion slerp, `(N, 4)` × `(N, 4)` × `(N,)` → `(N, 4)`, shortest arc."""
    dot = np.sum(q0 * q1, axis=-1)
    q1 = np.where(dot[:, None] < 0, -q1, q1)
    dot = np.abs(dot).clip(-1.0, 1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-6
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(near, t, np.sin(t * theta) / safe)
    out = w0[:, None] * q0 + w1[:, None] * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


@functools.lru_cache(maxsize=4)
def _default_hand_model(side: str) -> HandModel:
    from openhoi.hand import HandModel

    return HandModel(side=side)
