"""The MANO hand layer: `smplx.MANO` buffers + our pose handling, tips and joint limits.

`HandModel` runs the same code for the official MANO files and for the embedded default
asset (a procedurally built hand in the exact MANO file format, see
`tools/build_hand_asset.py`). smplx's `MANO.forward` always converts axis-angle itself, so
the forward pass converts every pose representation to rotation matrices here and calls
`smplx.lbs.lbs(..., pose2rot=False)` with the module's buffers; 6D gradients stay exact.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.lbs import batch_rigid_transform, lbs, vertices2joints
from torch import Tensor, nn

from openhoi.errors import InputError, MissingFileError
from openhoi.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rotation_6d,
    rotation_6d_to_matrix,
)
from openhoi.hand.constants import (
    DEFAULT_EMBEDDED_ASSET,
    EMBEDDED_ASSETS,
    EMBEDDED_PREFIX,
    HAND_META_FILE,
    LEFT_SHAPEDIRS_FIX_THRESHOLD,
    MANO_DIR_ENV_VAR,
    MANO_FILE_NAMES,
    MANO_NUM_VERTICES,
    MANO_TIP_VERTEX_IDS,
    NUM_BETAS,
    NUM_JOINTS,
    PARENTS,
    SIDES,
    ZONE_NAMES,
)
from openhoi.hand.limits import (
    anatomical_angles,
    anatomical_frames,
    angles_to_axis_angle,
    default_joint_limits,
    limit_violation,
)
from openhoi.hand.mano_file import load_mano_file
from openhoi.hand.regions import contact_zones, fingertip_vertex_ids

__all__ = ["HandModel", "HandOutput", "embedded_asset_name", "mirror_pose"]

logger = logging.getLogger(__name__)

_ASSET_PACKAGE = "openhoi.assets"


@dataclass(frozen=True)
class HandOutput:
    """Posed hand.

    vertices: (B, V, 3) mesh vertices, metres, world frame.
    joints: (B, 21, 3) 16 MANO joints then 5 fingertips (index, middle, pinky, ring, thumb).
    """

    vertices: Tensor
    joints: Tensor


def mirror_pose(pose_axis_angle: Tensor) -> Tensor:
    """Mirror (..., 3) axis-angle rotations across the x = 0 plane: (x, y, z) → (x, -y, -z).

    Turns a right-hand pose into the left-hand pose whose mesh is the mirror image (and
    back). Translations mirror as (x, y, z) → (-x, y, z).
    """
    if pose_axis_angle.shape[-1] != 3:
        raise InputError(
            f"mirror_pose expects axis-angle (..., 3), got shape {tuple(pose_axis_angle.shape)}"
        )
    flip = torch.tensor(
        [1.0, -1.0, -1.0], dtype=pose_axis_angle.dtype, device=pose_axis_angle.device
    )
    return pose_axis_angle * flip


def embedded_asset_name(mano_dir: str | os.PathLike | None) -> str | None:
    """The embedded asset a mano_dir value selects ("v1", "v2"), or None for a folder.

    `"embedded:v2"` selects the v2 asset; any other value is a folder path. None (no
    selection) is the default embedded asset.

    Raises:
        InputError: the value starts with "embedded:" but names no embedded asset.
    """
    if mano_dir is None:
        return DEFAULT_EMBEDDED_ASSET
    text = os.fspath(mano_dir)
    if not isinstance(text, str) or not text.startswith(EMBEDDED_PREFIX):
        return None
    name = text[len(EMBEDDED_PREFIX) :]
    if name not in EMBEDDED_ASSETS:
        known = ", ".join(EMBEDDED_PREFIX + key for key in EMBEDDED_ASSETS)
        raise InputError(
            f"mano_dir {text!r} names no embedded hand asset; use one of {known}, "
            "or a folder with the official MANO_RIGHT.pkl / MANO_LEFT.pkl"
        )
    return name


@dataclass(frozen=True)
class _HandSource:
    """Where a hand comes from: a MANO folder, or an embedded asset name (folder None)."""

    folder: Path | None
    embedded: str | None
    origin: str


def _resolve_mano_dir(mano_dir: str | os.PathLike | None) -> _HandSource:
    """The MANO folder or embedded asset to load, and a note on where the choice came from."""
    origin = "argument mano_dir"
    if mano_dir is None:
        mano_dir = os.environ.get(MANO_DIR_ENV_VAR) or None
        origin = f"environment variable {MANO_DIR_ENV_VAR}"
    if mano_dir is None:
        return _HandSource(None, DEFAULT_EMBEDDED_ASSET, "embedded default asset")
    try:
        name = embedded_asset_name(mano_dir)
    except InputError as error:
        raise InputError(f"{error} (from {origin})") from None
    if name is not None:
        return _HandSource(None, name, f"embedded asset {EMBEDDED_PREFIX}{name} ({origin})")
    return _HandSource(Path(mano_dir), None, origin)


def _mano_path(folder: Path, side: str, origin: str) -> Path:
    if not folder.is_dir():
        raise MissingFileError(
            f"MANO folder {folder} (from {origin}) does not exist; it must contain "
            f"{MANO_FILE_NAMES[side]} (download it from https://mano.is.tue.mpg.de)"
        )
    path = folder / MANO_FILE_NAMES[side]
    if not path.is_file():
        raise MissingFileError(
            f"MANO folder {folder} (from {origin}) has no {MANO_FILE_NAMES[side]}; "
            "put the official MANO model files there"
        )
    return path


class HandModel(nn.Module):
    """A MANO hand (right or left): pose + translation + shape → vertices and 21 keypoints.

    Args:
        side: "right" or "left".
        mano_dir: folder holding `MANO_RIGHT.pkl` / `MANO_LEFT.pkl`, or `"embedded:v1"` /
            `"embedded:v2"` for an embedded asset. Defaults to the environment variable
            `OPENHOI_MANO_DIR` (same forms), else the embedded default asset (v1).
        dtype: floating dtype of the buffers.

    Raises:
        InputError: unknown side, an unknown "embedded:" name, or a bad MANO file.
        MissingFileError: `mano_dir` does not exist or lacks the file for `side`.
        UnsafeFileError: the MANO file asks for code outside the loader's allow-list.
    """

    def __init__(
        self,
        side: str = "right",
        mano_dir: str | os.PathLike | None = None,
        *,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if side not in SIDES:
            raise InputError(f"side must be one of {SIDES}, got {side!r}")
        self._side = side
        source = _resolve_mano_dir(mano_dir)
        self._embedded = source.embedded
        folder = source.folder
        if folder is None:
            asset_folder = EMBEDDED_ASSETS[source.embedded][0]
            with importlib.resources.as_file(
                importlib.resources.files(_ASSET_PACKAGE).joinpath(asset_folder)
            ) as asset_dir:
                folder = Path(asset_dir)
                arrays, meta = self._load(folder, side, source.origin)
        else:
            arrays, meta = self._load(folder, side, source.origin)
        self._source = folder / MANO_FILE_NAMES[side]

        # smplx prints a warning about 10 shape coefficients to stdout; keep stdout clean.
        with contextlib.redirect_stdout(io.StringIO()):
            self.mano = smplx.MANO(
                model_path=str(folder),
                is_rhand=side == "right",
                data_struct=smplx.utils.Struct(**arrays),
                use_pca=False,
                flat_hand_mean=True,
                num_betas=NUM_BETAS,
                dtype=dtype,
                create_global_orient=False,
                create_hand_pose=False,
                create_betas=False,
                create_transl=False,
            )
        self._faces = np.asarray(arrays["f"], dtype=np.int64)
        self._num_vertices = int(arrays["v_template"].shape[0])

        rest_joints = arrays["J_regressor"] @ arrays["v_template"]
        if meta is not None:
            tips = np.asarray(meta["tip_vertex_ids"], dtype=np.int64)
            zones = {name: np.asarray(meta["contact_zones"][name], dtype=np.int64)
                     for name in ZONE_NAMES}  # fmt: skip
        else:
            if self._num_vertices == MANO_NUM_VERTICES:
                tips = np.asarray(MANO_TIP_VERTEX_IDS, dtype=np.int64)
            else:
                tips = fingertip_vertex_ids(arrays["v_template"], arrays["weights"], rest_joints)
            zones = contact_zones(
                arrays["v_template"], self._faces, arrays["weights"], rest_joints, side
            )
        self._tip_vertex_ids = tips
        self._contact_zones = zones
        self.register_buffer("tip_ids", torch.as_tensor(tips, dtype=torch.long), persistent=False)

        frames = anatomical_frames(rest_joints, arrays["v_template"][tips], side)
        limits = default_joint_limits()
        self.register_buffer("limit_frames", torch.as_tensor(frames, dtype=dtype), persistent=False)
        self.register_buffer(
            "limit_lower", torch.as_tensor(limits.lower, dtype=dtype), persistent=False
        )
        self.register_buffer(
            "limit_upper", torch.as_tensor(limits.upper, dtype=dtype), persistent=False
        )

    @staticmethod
    def _load(folder: Path, side: str, origin: str) -> tuple[dict[str, np.ndarray], dict | None]:
        arrays = load_mano_file(_mano_path(folder, side, origin))
        other = folder / MANO_FILE_NAMES["right"]
        if side == "left" and other.is_file():
            right = load_mano_file(other)
            if right["shapedirs"].shape == arrays["shapedirs"].shape:
                gap = np.abs(arrays["shapedirs"][:, 0, :] - right["shapedirs"][:, 0, :]).sum()
                if gap < LEFT_SHAPEDIRS_FIX_THRESHOLD:
                    logger.info(
                        "%s: left-hand shapedirs[:, 0, :] equal the right hand's (known MANO "
                        "bug); negating them",
                        folder / MANO_FILE_NAMES[side],
                    )
                    arrays["shapedirs"] = arrays["shapedirs"].copy()
                    arrays["shapedirs"][:, 0, :] *= -1
        meta = None
        meta_path = folder / HAND_META_FILE
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))[side]
            except (ValueError, KeyError) as error:
                raise InputError(
                    f"{meta_path}: cannot read the {side}-hand entry: {error}"
                ) from error
        return arrays, meta

    # ---- properties -------------------------------------------------------------------

    @property
    def side(self) -> str:
        """ "right" or "left"."""
        return self._side

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangle vertex ids (outward, counter-clockwise)."""
        return self._faces.copy()

    @property
    def num_vertices(self) -> int:
        """V, the number of mesh vertices (778 for MANO and the embedded asset)."""
        return self._num_vertices

    @property
    def tip_vertex_ids(self) -> np.ndarray:
        """(5,) int64 fingertip vertex ids, finger order index, middle, pinky, ring, thumb."""
        return self._tip_vertex_ids.copy()

    @property
    def contact_zones(self) -> dict[str, np.ndarray]:
        """Zone name (fingers then "palm") → int64 ids of its palmar-side vertices."""
        return {name: ids.copy() for name, ids in self._contact_zones.items()}

    @property
    def parents(self) -> tuple[int, ...]:
        """Parent joint of each of the 16 joints (-1 for the wrist)."""
        return PARENTS

    @property
    def source(self) -> Path:
        """The MANO-format file this hand was loaded from."""
        return self._source

    @property
    def is_default_asset(self) -> bool:
        """True when an embedded procedural hand (any version) is used instead of MANO files."""
        return self._embedded is not None

    @property
    def asset_id(self) -> str | None:
        """Id of the embedded asset in use ("openhoi-hand-v1", "openhoi-hand-v2"), None for
        MANO files."""
        return None if self._embedded is None else EMBEDDED_ASSETS[self._embedded][1]

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the model's buffers."""
        return self.mano.v_template.dtype

    # ---- input checks -----------------------------------------------------------------

    def _rotation_matrices(self, pose: Tensor, name: str = "pose") -> Tensor:
        """(B, 16, 3 | 6 | 3x3) → (B, 16, 3, 3) rotation matrices."""
        if not torch.is_tensor(pose):
            raise InputError(f"{name} must be a torch.Tensor, got {type(pose).__name__}")
        shape = tuple(pose.shape)
        expected = "(B, 16, 3) axis-angle, (B, 16, 6) 6D or (B, 16, 3, 3) matrices"
        if pose.ndim == 4 and shape[1:] == (NUM_JOINTS, 3, 3):
            return pose.to(self.dtype).contiguous()
        if pose.ndim == 3 and shape[1] == NUM_JOINTS and shape[2] == 3:
            return axis_angle_to_matrix(pose.to(self.dtype))
        if pose.ndim == 3 and shape[1] == NUM_JOINTS and shape[2] == 6:
            return rotation_6d_to_matrix(pose.to(self.dtype))
        raise InputError(f"{name} must have shape {expected}, got {shape}")

    def _betas(self, betas: Tensor | None, batch: int) -> Tensor:
        if betas is None:
            return self.mano.v_template.new_zeros(batch, NUM_BETAS)
        if not torch.is_tensor(betas) or tuple(betas.shape) != (batch, NUM_BETAS):
            got = tuple(betas.shape) if torch.is_tensor(betas) else type(betas).__name__
            raise InputError(f"betas must have shape ({batch}, {NUM_BETAS}), got {got}")
        return betas.to(self.dtype)

    # ---- forward ----------------------------------------------------------------------

    def forward(self, pose: Tensor, transl: Tensor, betas: Tensor | None = None) -> HandOutput:
        """Pose the hand.

        Args:
            pose: (B, 16, 3) axis-angle (radians), (B, 16, 6) 6D (first two matrix rows) or
                (B, 16, 3, 3) rotation matrices; joint 0 is the global orientation (about
                the wrist joint), then the 15 finger joints in MANO order.
            transl: (B, 3) translation, metres (added after the rotation, as in smplx).
            betas: (B, 10) shape coefficients, or None for the mean shape.

        Returns:
            HandOutput with vertices (B, V, 3) and joints (B, 21, 3).

        Raises:
            InputError: a tensor has the wrong shape.
        """
        rot_mats = self._rotation_matrices(pose)
        batch = rot_mats.shape[0]
        if not torch.is_tensor(transl) or tuple(transl.shape) != (batch, 3):
            got = tuple(transl.shape) if torch.is_tensor(transl) else type(transl).__name__
            raise InputError(f"transl must have shape ({batch}, 3), got {got}")
        betas = self._betas(betas, batch)
        mano = self.mano
        vertices, joints = lbs(
            betas,
            rot_mats,
            mano.v_template,
            mano.shapedirs,
            mano.posedirs,
            mano.J_regressor,
            mano.parents,
            mano.lbs_weights,
            pose2rot=False,
        )
        offset = transl.to(self.dtype)[:, None, :]
        vertices = vertices + offset
        keypoints = torch.cat([joints + offset, vertices[:, self.tip_ids]], dim=1)
        return HandOutput(vertices=vertices, joints=keypoints)

    def keypoints(self, pose: Tensor, transl: Tensor, betas: Tensor | None = None) -> Tensor:
        """The 21 keypoints of `forward` without skinning the whole mesh: `(B, 21, 3)`.

        Forward kinematics for the 16 joints and linear blend skinning of the five
        fingertip vertices only (with their shape and pose blend shapes), so the result
        equals `forward(...).joints` to float rounding at a fraction of the cost; the
        training loss and the keypoint-only guidance terms use it.
        """
        rot_mats = self._rotation_matrices(pose)
        batch = rot_mats.shape[0]
        if not torch.is_tensor(transl) or tuple(transl.shape) != (batch, 3):
            got = tuple(transl.shape) if torch.is_tensor(transl) else type(transl).__name__
            raise InputError(f"transl must have shape ({batch}, 3), got {got}")
        betas = self._betas(betas, batch)
        mano, tips = self.mano, self.tip_ids
        regressed_shapedirs = torch.einsum("jv,vcl->jcl", mano.J_regressor, mano.shapedirs)
        rest = mano.J_regressor @ mano.v_template
        joints_rest = rest + torch.einsum("bl,jcl->bjc", betas, regressed_shapedirs)
        tips_rest = mano.v_template[tips] + torch.einsum("bl,vcl->bvc", betas, mano.shapedirs[tips])
        identity = torch.eye(3, dtype=rot_mats.dtype, device=rot_mats.device)
        pose_feature = (rot_mats[:, 1:] - identity).reshape(batch, -1)
        tip_posedirs = mano.posedirs.reshape(pose_feature.shape[1], -1, 3)[:, tips]
        tips_posed = tips_rest + torch.einsum("bp,pvc->bvc", pose_feature, tip_posedirs)
        joints, transforms = batch_rigid_transform(rot_mats, joints_rest, mano.parents)
        skinning = torch.einsum("vj,bjmn->bvmn", mano.lbs_weights[tips], transforms)
        tips_world = (
            torch.einsum("bvmn,bvn->bvm", skinning[..., :3, :3], tips_posed) + skinning[..., :3, 3]
        )
        offset = transl.to(self.dtype)[:, None, :]
        return torch.cat([joints, tips_world], dim=1) + offset

    def rest_joints(self, betas: Tensor | None = None) -> Tensor:
        """(B, 16, 3) joints of the unposed hand for `betas` (B, 10); B = 1 when None."""
        if betas is not None and (not torch.is_tensor(betas) or betas.ndim != 2):
            got = tuple(betas.shape) if torch.is_tensor(betas) else type(betas).__name__
            raise InputError(f"betas must have shape (B, {NUM_BETAS}), got {got}")
        batch = 1 if betas is None else betas.shape[0]
        betas = self._betas(betas, batch)
        shaped = self.mano.v_template + torch.einsum("bl,vcl->bvc", betas, self.mano.shapedirs)
        return vertices2joints(self.mano.J_regressor, shaped)

    # ---- joint limits -----------------------------------------------------------------

    def _finger_axis_angle(self, pose: Tensor) -> Tensor:
        """(B, 15, 3) finger-joint axis-angle from any accepted pose representation."""
        if torch.is_tensor(pose) and pose.ndim == 3 and tuple(pose.shape[1:]) == (NUM_JOINTS, 3):
            return pose[:, 1:].to(self.dtype)
        return matrix_to_axis_angle(self._rotation_matrices(pose)[:, 1:])

    def anatomical_angles(self, pose: Tensor) -> Tensor:
        """(B, 15, 3) (flexion, abduction, twist) radians of the finger joints of `pose`."""
        return anatomical_angles(self._finger_axis_angle(pose), self.limit_frames)

    def pose_from_anatomical_angles(self, angles: Tensor) -> Tensor:
        """(B, 15, 3) anatomical angles (radians) → (B, 16, 3) axis-angle, identity global."""
        if not torch.is_tensor(angles) or angles.ndim != 3 or tuple(angles.shape[1:]) != (15, 3):
            got = tuple(angles.shape) if torch.is_tensor(angles) else type(angles).__name__
            raise InputError(f"angles must have shape (B, 15, 3), got {got}")
        fingers = angles_to_axis_angle(angles.to(self.dtype), self.limit_frames)
        return torch.cat([fingers.new_zeros(fingers.shape[0], 1, 3), fingers], dim=1)

    def joint_limit_violation(self, pose: Tensor) -> Tensor:
        """(B,) differentiable penalty: squared excess over the joint limits, radians².

        Zero inside the limits. `pose` is any representation `forward` accepts; the global
        orientation (joint 0) is not limited.
        """
        angles = self.anatomical_angles(pose)
        return limit_violation(angles, self.limit_lower, self.limit_upper)

    def clamp_to_limits(self, pose: Tensor) -> Tensor:
        """`pose` with every finger joint clamped into its limits, in the input's form.

        Returns the same representation and shape as `pose`; joint 0 is unchanged.
        """
        angles = self.anatomical_angles(pose)
        clamped = torch.maximum(torch.minimum(angles, self.limit_upper), self.limit_lower)
        fingers = angles_to_axis_angle(clamped, self.limit_frames)
        root = pose[:, :1].to(self.dtype)
        if pose.ndim == 4:
            return torch.cat([root, axis_angle_to_matrix(fingers)], dim=1)
        if pose.shape[-1] == 6:
            fingers = matrix_to_rotation_6d(axis_angle_to_matrix(fingers))
        return torch.cat([root, fingers], dim=1)

    def extra_repr(self) -> str:
        source = str(self._source) if self.asset_id is None else f"embedded {self.asset_id}"
        return f"side={self._side!r}, num_vertices={self._num_vertices}, source={source}"
