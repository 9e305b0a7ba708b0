"""The hand rig shared by the glTF and BVH exporters: rest skeleton + per-frame joint rotations.

MANO skinning (smplx `lbs`) with shape `betas` and pose rotations `R_j` is

    v_shaped = v_template + shapedirs · betas                (V, 3) rest mesh
    J        = J_regressor · v_shaped                        (16, 3) rest joints
    G_0      = [R_0 | J_0],  G_j = G_parent(j) · [R_j | J_j − J_parent(j)]
    v        = Σ_j w_vj · G_j · [I | −J_j] · v_shaped + transl

which is exactly a skeleton whose joints have rest translations `J_j − J_parent(j)` (wrist:
`J_0 + transl`, animated), local rotations `R_j` and inverse bind matrices `[I | −J_j]`.
MANO's pose-corrective blend shapes (`posedirs`) have no counterpart in a skeleton; they are
zero for the embedded hand v1, up to 6.5 mm for v2 and a few millimetres for the official MANO
files.

Coordinate conversion: openhoi's world is z up, glTF and BVH are y up. `Z_UP_TO_Y_UP` maps
(x, y, z) → (x, z, −y) (a proper rotation, so triangle winding is kept); rotations are
conjugated, `R' = C · R · Cᵀ`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError

__all__ = ["Z_UP_TO_Y_UP", "HandRig", "hand_rig", "resolve_hand_models", "to_y_up"]

# (x, y, z) z-up → (x, z, −y) y-up, as a matrix acting on column vectors.
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def to_y_up(points: np.ndarray) -> np.ndarray:
    """`(..., 3)` z-up points → y-up points."""
    return np.asarray(points, np.float64) @ Z_UP_TO_Y_UP.T


def rotations_to_y_up(rotations: np.ndarray) -> np.ndarray:
    """`(..., 3, 3)` z-up rotation matrices → the same rotations in the y-up frame."""
    return Z_UP_TO_Y_UP @ np.asarray(rotations, np.float64) @ Z_UP_TO_Y_UP.T


@dataclass(frozen=True)
class HandRig:
    """One hand of a sequence as a skinned skeleton, z-up world frame, metres.

    Attributes:
        side: "left" or "right".
        rest_vertices: `(V, 3)` shaped rest mesh (`v_shaped`).
        faces: `(F, 3)` int64 triangles.
        weights: `(V, 16)` MANO skinning weights.
        parents: 16 parent joint ids, −1 for the wrist.
        rest_joints: `(16, 3)` rest joint positions `J`.
        tip_positions: `(5, 3)` rest fingertip vertices (index, middle, pinky, ring, thumb).
        rotations: `(T, 16, 3, 3)` local joint rotations `R_j` (joint 0: global orient).
        transl: `(T, 3)` MANO translation; the wrist sits at `J_0 + transl`.
    """

    side: str
    rest_vertices: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    parents: tuple[int, ...]
    rest_joints: np.ndarray
    tip_positions: np.ndarray
    rotations: np.ndarray
    transl: np.ndarray

    @property
    def rest_offsets(self) -> np.ndarray:
        """`(16, 3)` joint translation relative to its parent (wrist: `J_0`)."""
        offsets = self.rest_joints.copy()
        for joint, parent in enumerate(self.parents):
            if parent >= 0:
                offsets[joint] = self.rest_joints[joint] - self.rest_joints[parent]
        return offsets

    def world_transforms(self) -> np.ndarray:
        """`(T, 16, 4, 4)` posed joint transforms `G_j` including `transl`."""
        num_frames = self.rotations.shape[0]
        offsets = self.rest_offsets
        local = np.tile(np.eye(4), (num_frames, len(self.parents), 1, 1))
        local[:, :, :3, :3] = self.rotations
        local[:, :, :3, 3] = offsets
        local[:, 0, :3, 3] += self.transl
        world = np.empty_like(local)
        for joint, parent in enumerate(self.parents):
            world[:, joint] = local[:, joint] if parent < 0 else world[:, parent] @ local[:, joint]
        return world


def resolve_hand_models(hands: Mapping[str, object] | None) -> dict[str, object]:
    """`{"left": HandModel, "right": HandModel}`, defaulting to the embedded hand asset."""
    from openhoi.hand import HandModel

    hands = dict(hands or {})
    unknown = set(hands) - {"left", "right"}
    if unknown:
        raise InputError(f"hands keys must be 'left' and/or 'right', got {sorted(unknown)}")
    out = {}
    for side in ("left", "right"):
        model = hands.get(side)
        if model is None:
            model = _default_hand(side)
        if not isinstance(model, HandModel) or model.side != side:
            raise InputError(f"hands[{side!r}] must be the {side} HandModel, got {model!r}")
        out[side] = model
    return out


@functools.lru_cache(maxsize=2)
def _default_hand(side: str):
    """The embedded hand asset (or `OPENHOI_MANO_DIR`'s files), built once per side."""
    from openhoi.hand import HandModel

    return HandModel(side)


def hand_rig(sequence, side: str, hand_model) -> HandRig:
    """The skeleton, skin and per-frame rotations of hand `side` of `sequence`."""
    import torch

    from openhoi.geometry import rotation_6d_to_matrix

    index = ("left", "right").index(side)
    mano = hand_model.mano
    with torch.no_grad():
        betas = torch.from_numpy(np.array(sequence.betas[index : index + 1])).to(hand_model.dtype)
        shaped = mano.v_template + torch.einsum("bl,vcl->bvc", betas, mano.shapedirs)
        joints = hand_model.rest_joints(betas)[0]
        rotations = rotation_6d_to_matrix(torch.from_numpy(np.array(sequence.hand_pose_6d(side))))
    rest_vertices = shaped[0].double().numpy()
    return HandRig(
        side=side,
        rest_vertices=rest_vertices,
        faces=hand_model.faces,
        weights=mano.lbs_weights.double().numpy(),
        parents=tuple(int(p) for p in hand_model.parents),
        rest_joints=joints.double().numpy(),
        tip_positions=rest_vertices[hand_model.tip_vertex_ids],
        rotations=rotations.double().numpy(),
        transl=np.asarray(sequence.hand_translation(side), np.float64),
    )
