"""Training losses of the HOI diffusion model (paper Eq. 6).

    L = w_x0 · L_hoi_diff + w_dist · L_hoi_distance + w_orient · L_hoi_orient

- L_hoi_diff: masked L2 between x̂_0 and x_0 (normalised frames), Eq. 21.
- L_hoi_distance: hand-object distance maps D[j, p] = ‖joint_j − point_p‖ for the 21 hand
  keypoints (MANO layer, differentiable) and the object's condition points posed by the
  frame's object pose; |D_pred − D_gt| weighted by exp(−D_gt / σ) so errors near contact
  count most. Only acting hands; a random subset of frames and a fixed subset of points
  keep it cheap on CPU. Articulation is ignored (points move with the object body).
- L_hoi_orient: ‖R_obj⁻¹ R_hand (pred) − R_obj⁻¹ R_hand (gt)‖²_F of each acting hand's
  global orientation relative to the object, on every real frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from openhoi.data import layout
from openhoi.geometry import rotation_6d_to_matrix
from openhoi.motion.config import LossConfig
from openhoi.motion.representation import FrameCodec

__all__ = ["DiffusionLoss", "LossOutput", "masked_l2"]

SIDES = ("left", "right")
FAR_RATIO = 30.0  # d / σ beyond which a pair's weight exp(-d/σ) < 1e-13 counts as zero


@dataclass(frozen=True)
class LossOutput:
    """Scalar losses (0-d tensors); `total` is the weighted sum that is optimised."""

    total: Tensor
    x0: Tensor
    distance: Tensor
    orientation: Tensor

    def as_floats(self) -> dict[str, float]:
        """The terms as Python floats (for logs)."""
        return {
            k: float(getattr(self, k).detach()) for k in ("total", "x0", "distance", "orientation")
        }


def masked_l2(x0_pred: Tensor, x0: Tensor, frame_mask: Tensor) -> Tensor:
    """Mean squared error over real frames and features: x (B, T, D), frame_mask (B, T)."""
    mask = frame_mask.to(x0.dtype)[..., None]
    return ((x0_pred - x0) ** 2 * mask).sum() / (mask.sum() * x0.shape[-1]).clamp_min(1.0)


def _hand_rotation(frames: Tensor, side: str) -> Tensor:
    block = frames[..., layout.hand_slice(side)]
    return rotation_6d_to_matrix(block[..., layout.HAND_GLOBAL_ORIENT])


def _object_pose(frames: Tensor) -> tuple[Tensor, Tensor]:
    block = frames[..., layout.OBJECT]
    return rotation_6d_to_matrix(block[..., layout.OBJECT_ROTATION]), block[
        ..., layout.OBJECT_TRANSL
    ]


class DiffusionLoss(nn.Module):
    """The three training terms; holds the (frozen) left and right hand layers.

    `mean`, `std` normalise the model's frames; `codec` turns them into world frames for
    the geometric terms (the identity for world-frame models).
    """

    def __init__(
        self, config: LossConfig, mean: Tensor, std: Tensor, codec: FrameCodec | None = None
    ) -> None:
        super().__init__()
        from openhoi.hand import HandModel

        self.config = config
        self.codec = codec or FrameCodec()
        self.hands = nn.ModuleDict({side: HandModel(side) for side in SIDES})
        self.hands.requires_grad_(False)
        self.register_buffer("mean", mean.float().clone(), persistent=False)
        self.register_buffer("std", std.float().clone(), persistent=False)

    def forward(
        self,
        x0_pred: Tensor,
        x0: Tensor,
        frame_mask: Tensor,
        active_hands: Tensor,
        object_points: Tensor,
        generator: torch.Generator | None = None,
        anchor: Tensor | None = None,
    ) -> LossOutput:
        """Losses of a batch.

        Args:
            x0_pred, x0: `(B, T, 208)` predicted and true normalised (model) frames.
            frame_mask: `(B, T)` bool real frames.
            active_hands: `(B, 2)` bool left / right hand acts.
            object_points: `(B, P, 6)` canonical points + normals (metres).
            generator: picks the frames of the geometric terms (CPU generator).
            anchor: `(B, 3)` affordance anchors; needed when the codec is not the identity.
        """
        cfg = self.config
        l2 = masked_l2(x0_pred.float(), x0.float(), frame_mask)
        zero = l2.new_zeros(())
        if cfg.distance_weight == 0 and cfg.orientation_weight == 0:
            return LossOutput(total=cfg.x0_weight * l2, x0=l2, distance=zero, orientation=zero)
        device_type = x0.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            pred = x0_pred.float() * self.std + self.mean
            true = x0.float() * self.std + self.mean
            if not self.codec.is_identity:
                if anchor is None:
                    raise ValueError("an object-centric DiffusionLoss needs the anchors")
                pred = self.codec.decode(pred, anchor, active_hands)
                true = self.codec.decode(true, anchor, active_hands)
            orientation = self._orientation(pred, true, frame_mask, active_hands)
            distance = (
                self._distance(pred, true, frame_mask, active_hands, object_points, generator)
                if cfg.distance_weight > 0
                else zero
            )
        total = (
            cfg.x0_weight * l2
            + cfg.distance_weight * distance
            + cfg.orientation_weight * orientation
        )
        return LossOutput(total=total, x0=l2, distance=distance, orientation=orientation)

    def _orientation(
        self, pred: Tensor, true: Tensor, frame_mask: Tensor, active: Tensor
    ) -> Tensor:
        obj_pred, _ = _object_pose(pred)
        obj_true, _ = _object_pose(true)
        total, count = pred.new_zeros(()), pred.new_zeros(())
        for k, side in enumerate(SIDES):
            rel_pred = obj_pred.transpose(-1, -2) @ _hand_rotation(pred, side)
            rel_true = obj_true.transpose(-1, -2) @ _hand_rotation(true, side)
            error = ((rel_pred - rel_true) ** 2).sum(dim=(-1, -2))  # (B, T)
            weight = frame_mask.float() * active[:, k : k + 1].float()
            total = total + (error * weight).sum()
            count = count + weight.sum()
        return total / count.clamp_min(1.0)

    def _distance(
        self,
        pred: Tensor,
        true: Tensor,
        frame_mask: Tensor,
        active: Tensor,
        object_points: Tensor,
        generator: torch.Generator | None,
    ) -> Tensor:
        cfg = self.config
        batch, num_frames, _ = pred.shape
        # 1. A random subset of real frames per sequence: (B, F) indices.
        scores = torch.rand((batch, num_frames), generator=generator).to(pred.device)
        scores = scores.masked_fill(~frame_mask.bool(), -1.0)
        num_pick = min(cfg.num_geometry_frames, num_frames)
        picked = scores.topk(num_pick, dim=1).indices  # (B, F)
        picked_valid = torch.gather(frame_mask.bool(), 1, picked).float()  # (B, F)
        gather = picked[..., None].expand(-1, -1, pred.shape[-1])
        pred_f, true_f = torch.gather(pred, 1, gather), torch.gather(true, 1, gather)
        # 2. A fixed, evenly strided subset of the object points (canonical frame).
        step = max(1, object_points.shape[1] // cfg.num_geometry_points)
        points = object_points[:, ::step, :3].float()  # (B, P', 3)
        total, count = pred.new_zeros(()), pred.new_zeros(())
        for k, side in enumerate(SIDES):
            weight = picked_valid * active[:, k : k + 1].float()  # (B, F)
            if not bool(weight.any()):
                continue
            d_pred = self._distance_map(pred_f, points, side)
            with torch.no_grad():
                d_true = self._distance_map(true_f, points, side)
            # Far pairs get weight 0 instead of a denormal exp(-d/σ) (denormals are slow on CPU).
            ratio = d_true / cfg.distance_sigma_m
            near = torch.where(ratio < FAR_RATIO, torch.exp(-ratio.clamp(max=FAR_RATIO)), 0.0)
            error = (near * (d_pred - d_true).abs()).mean(dim=(-1, -2))  # (B, F)
            total = total + (error * weight).sum()
            count = count + weight.sum()
        return total / count.clamp_min(1.0)

    def _distance_map(self, frames: Tensor, points: Tensor, side: str) -> Tensor:
        """(B, F, 208) physical frames, (B, P', 3) canonical points → (B, F, 21, P') metres."""
        batch, num_frames, _ = frames.shape
        block = frames[..., layout.hand_slice(side)].reshape(batch * num_frames, layout.HAND_DIM)
        pose = torch.cat(
            [block[:, layout.HAND_GLOBAL_ORIENT], block[:, layout.HAND_FINGERS]], dim=1
        ).reshape(batch * num_frames, 1 + layout.NUM_FINGER_JOINTS, layout.ROT6D_DIM)
        joints = self.hands[side].keypoints(pose, block[:, layout.HAND_TRANSL])  # (BF, 21, 3)
        rotation, translation = _object_pose(frames)  # (B, F, 3, 3), (B, F, 3)
        world = torch.einsum("bfij,bpj->bfpi", rotation, points) + translation[:, :, None]
        world = world.reshape(batch * num_frames, -1, 3)
        return torch.cdist(joints, world).reshape(batch, num_frames, joints.shape[1], -1)
