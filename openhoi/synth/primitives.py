"""SynthHOI sub-task primitives: one builder per primitive id of `openhoi.data.PRIMITIVES`.

A builder takes the current `WorldState` (object pose and angle, both hands, which hand
holds what) and a `SegmentRequest` (acting hands, touched region, speed), and returns a
`SegmentTrack`: world-frame arrays for ≤150 frames plus the state at its end. The
generator canonicalises each track into an `HOISequence` and checks it with the quality
gate; a builder never checks physics itself.

Physics by construction:
- A holding hand is fixed in the frame of the part it holds (object body, or the moving
  part for open/close/twist/press of an articulated part), so the object (or the part's
  articulation) follows the hand rigidly; `held` marks those frames.
- A free object rests: constant pose, its lowest point on z = 0.
- Timing is minimum-jerk (quintic) for positions and angles, slerp for orientations;
  `speed` scales every duration.

Frames: world z up; the person sits at −y, looking along +y (hands rest at −y).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from openhoi.data.sequence import HAND_SIDES
from openhoi.errors import InputError
from openhoi.geometry import signed_distance_parts
from openhoi.synth.grasp import GraspFailure, _HandFrame, synthesize_grasp
from openhoi.synth.motion import blend_poses, minimum_jerk, rest_transl_away
from openhoi.vocab import MAX_SEGMENT_FRAMES, PRIMITIVES

__all__ = [
    "BUILDERS",
    "MAX_SEGMENT_FRAMES",
    "Attachment",
    "HandState",
    "SegmentRequest",
    "SegmentTrack",
    "WorldState",
    "build_segment",
    "initial_state",
]

# Where the mouth is, relative to the person (world frame), metres.
_MOUTH = np.array([0.0, -0.32, 0.42])
# Pre-grasp standoff along the surface normal, metres.
_STANDOFF_M = 0.09
# Vertical room kept between a twisting hand and a hand holding the body below it: the
# quality gate's 5 mm hand gap plus a margin for the reach.
_HAND_GAP_M = 0.006
# Largest hinge range an `open` samples from (0.8 of it, ~100 degrees, at most), radians.
_MAX_HINGE_RANGE = 2.2


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def _rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(np.array(rotvec, np.float64)).as_matrix()


def _matrix_to_rotvec(matrix: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(np.array(matrix, np.float64)).as_rotvec()


@dataclass(frozen=True)
class Attachment:
    """A hand fixed in the frame of the object body (`part` None) or of a moving part.

    `orient` `(3,)` axis-angle and `transl` `(3,)` are MANO global orient and translation in
    that frame; `fingers` `(15, 3)` the finger pose; `mask` `(1024,)` the touched region.
    """

    part: str | None
    orient: np.ndarray
    transl: np.ndarray
    fingers: np.ndarray
    open_fingers: np.ndarray
    mask: np.ndarray
    # (3,) the direction the hand arrived from (Grasp.normal), in the same frame
    normal: np.ndarray
    grasp_type: str = "power"


@dataclass(frozen=True)
class HandState:
    """A hand's world pose: `(16, 3)` axis-angle (global orient first), `(3,)` transl."""

    pose: np.ndarray
    transl: np.ndarray


@dataclass(frozen=True)
class WorldState:
    """Everything a builder needs to continue an episode.

    Attributes:
        rotation: `(3, 3)` object body rotation; transl: `(3,)` translation (canonical
            frame origin, whose z = 0 plane is the object's bottom).
        angle: articulation angle, radians.
        hands: side → HandState. attached: side → Attachment for holding hands.
        betas: `(2, 10)` hand shapes (left, right). rest_wrists: side → `(3,)` rest J0.
    """

    rotation: np.ndarray
    transl: np.ndarray
    angle: float
    hands: dict[str, HandState]
    attached: dict[str, Attachment]
    betas: np.ndarray
    rest_wrists: dict[str, np.ndarray]

    @property
    def is_resting(self) -> bool:
        """Whether the object stands upright on the table (yaw-only rotation, z = 0)."""
        return bool(abs(self.transl[2]) < 1e-6 and abs(self.rotation[2, 2] - 1.0) < 1e-6)


@dataclass(frozen=True)
class SegmentRequest:
    """What a segment should do: primitive, acting hands, touched region, speed factor."""

    primitive: str
    hands: str  # "left" | "right" | "both"
    affordance: str
    part: str | None
    grasp_types: tuple[str, ...]
    speed: float = 1.0
    max_height_m: float | None = None  # grasp only region points this low (object frame)


@dataclass(frozen=True)
class SegmentTrack:
    """World-frame arrays of one segment (T frames) and the state after it.

    Attributes:
        poses: side → `(T, 16, 3)` axis-angle; transls: side → `(T, 3)`.
        rotation: `(T, 3, 3)`, transl: `(T, 3)`, angle: `(T,)` object.
        active: `(T, 2)` bool acting hands; held: `(T, 2)` bool hands holding the object.
        mask: `(1024,)` touched-region mask. end: the state after the last frame.
    """

    poses: dict[str, np.ndarray]
    transls: dict[str, np.ndarray]
    rotation: np.ndarray
    transl: np.ndarray
    angle: np.ndarray
    active: np.ndarray
    held: np.ndarray
    mask: np.ndarray
    end: WorldState


class _Context:
    """Per-episode helpers shared by builders: object, hand models and frames."""

    def __init__(self, obj, hands: dict, rng: np.random.Generator) -> None:
        self.obj = obj
        self.hands = hands
        self.rng = rng
        self._frames: dict[str, _HandFrame] = {}

    def frame(self, side: str, betas: np.ndarray) -> _HandFrame:
        if side not in self._frames:
            self._frames[side] = _HandFrame(self.hands[side], torch.as_tensor(betas).float())
        return self._frames[side]


# ------------------------------------------------------------------------- pose helpers


def _part_matrix(obj, part: str | None, angles: np.ndarray) -> np.ndarray:
    """`(T, 4, 4)` canonical transform of `part` (identity for the body) at `angles`."""
    angles = np.asarray(angles, np.float64)
    if part is None:
        return np.repeat(np.eye(4)[None], len(angles), axis=0)
    return np.asarray(obj.part_transform(part, angles), np.float64).reshape(-1, 4, 4)


def _frame_world(obj, state_rot, state_transl, part, angles):
    """`(T, 3, 3)` rotation and `(T, 3)` translation of a part frame in the world."""
    part_t = _part_matrix(obj, part, angles)
    rot = np.einsum("tij,tjk->tik", state_rot, part_t[:, :3, :3])
    transl = np.einsum("tij,tj->ti", state_rot, part_t[:, :3, 3]) + state_transl
    return rot, transl


def _mano_in(orient, transl, wrist, rot, shift):
    """MANO params `(T,3)` transformed by `x → rot x + shift` per frame (root correction)."""
    orient = np.asarray(orient, np.float64).reshape(-1, 3)
    transl = np.asarray(transl, np.float64).reshape(-1, 3)
    n = max(len(orient), len(rot))
    orient = np.broadcast_to(orient, (n, 3))
    transl = np.broadcast_to(transl, (n, 3))
    rot = np.broadcast_to(rot, (n, 3, 3))
    shift = np.broadcast_to(shift, (n, 3))
    world = np.einsum("tij,tjk->tik", rot, _rotvec_to_matrix(orient))
    out_transl = np.einsum("tij,tj->ti", rot, wrist + transl) + shift - wrist
    return _matrix_to_rotvec(world), out_transl


def _attached_track(ctx, state: WorldState, side, att: Attachment, rot, transl, angles):
    """`(T, 16, 3)` pose and `(T, 3)` transl of a hand held in `att`'s frame."""
    frame_rot, frame_transl = _frame_world(ctx.obj, rot, transl, att.part, angles)
    orient, world_transl = _mano_in(
        att.orient, att.transl, state.rest_wrists[side], frame_rot, frame_transl
    )
    fingers = np.broadcast_to(att.fingers, (len(rot), 15, 3))
    return np.concatenate([orient[:, None], fingers], axis=1), world_transl


def _attachment_world(ctx, state: WorldState, side, att: Attachment, angle=None):
    """The world HandState of an attachment at the state's pose (and `angle`)."""
    angle = state.angle if angle is None else angle
    pose, transl = _attached_track(
        ctx, state, side, att, state.rotation[None], state.transl[None], np.array([angle])
    )
    return HandState(pose[0], transl[0])


def _normal_world(ctx, state: WorldState, att: Attachment, angle=None) -> np.ndarray:
    angle = state.angle if angle is None else angle
    rot, _ = _frame_world(ctx.obj, state.rotation[None], state.transl[None], att.part, [angle])
    return rot[0] @ att.normal


def _frames(seconds: float, speed: float) -> int:
    return max(4, round(30.0 * seconds / speed))


# ------------------------------------------------------------------------- grasp making


def _make_attachment(
    ctx,
    state: WorldState,
    side: str,
    request: SegmentRequest,
    *,
    avoid=None,
    approach=None,
    min_approach_cos: float = 0.0,
    angle: float | None = None,
):
    """Synthesise a grasp on the request's region, as an Attachment to its part.

    `approach` `(3,)` is a world direction from the object towards the arriving hand
    (targets facing away from it are skipped); `angle` the articulation angle to grasp at
    (default: the current one), e.g. the closed angle for `close`, so the hand is valid
    where the motion ends.
    """
    obj = ctx.obj
    angle = state.angle if angle is None else float(angle)
    mask = np.asarray(obj.affordance_mask(request.affordance), np.float32).copy()
    if request.part is not None:
        part_ids = np.asarray(obj.points.part_ids)
        mask[part_ids != obj.part_index(request.part)] = 0.0
    if request.max_height_m is not None:
        mask[np.asarray(obj.points.points)[:, 2] > request.max_height_m] = 0.0
    moving = obj.articulation is not None and request.part == obj.articulation.part
    attach_part = request.part if moving else None
    betas = state.betas[HAND_SIDES.index(side)]
    # The object's bottom plane (z = 0 in its frame) is always an obstacle: it is the table
    # now if the object rests, and will be when the object is put down upright.
    floor = 0.0
    approach_canonical = None
    if approach is not None:
        approach_canonical = state.rotation.T @ np.asarray(approach, np.float64)
    avoid_canonical = None
    if avoid is None:  # keep clear of any other hand that holds the object
        others = [o for o in state.attached if o != side]
        if others:
            avoid = _posed_vertices(ctx, state, others[0], state.attached[others[0]])
    if avoid is not None:  # world points → object canonical frame
        avoid_canonical = (np.asarray(avoid) - state.transl) @ state.rotation
    last: GraspFailure | None = None
    for grasp_type in request.grasp_types:
        try:
            grasp = synthesize_grasp(
                obj,
                ctx.hands[side],
                mask,
                grasp_type=grasp_type,
                rng=ctx.rng,
                betas=betas,
                angle=angle,
                floor_z=floor,
                avoid=avoid_canonical,
                approach=approach_canonical,
                min_approach_cos=min_approach_cos,
                # A grip kept low (a jar body under a twisting hand) wraps around the
                # vertical so the fingers do not reach up past the limit.
                wrap_axis=None if request.max_height_m is None else np.array([0.0, 0.0, 1.0]),
            )
            break
        except GraspFailure as exc:
            last = exc
    else:
        raise last or GraspFailure("no grasp type to try")
    orient, transl, normal = grasp.pose[0], grasp.transl, grasp.normal
    if attach_part is not None:  # canonical → part frame at the current angle
        part_t = _part_matrix(obj, attach_part, [angle])[0]
        inv_rot = part_t[:3, :3].T
        orient, transl = _mano_in(
            orient, transl, state.rest_wrists[side], inv_rot[None], (-inv_rot @ part_t[:3, 3])[None]
        )
        orient, transl, normal = orient[0], transl[0], inv_rot @ normal
    return Attachment(
        part=attach_part,
        orient=np.asarray(orient, np.float64),
        transl=np.asarray(transl, np.float64),
        fingers=np.asarray(grasp.pose[1:], np.float64),
        open_fingers=np.asarray(grasp.open_pose[1:], np.float64),
        mask=mask,
        normal=np.asarray(normal, np.float64),
        grasp_type=grasp.grasp_type,
    )


def _reach(ctx, state, side, att: Attachment, num_reach: int, num_close: int):
    """Hand path from its current pose to the grasp: via a standoff point, then close."""
    start = state.hands[side]
    goal = _attachment_world(ctx, state, side, att)
    normal = _normal_world(ctx, state, att)
    pre = goal.transl + _STANDOFF_M * normal + np.array([0.0, 0.0, 0.03])
    goal_open = np.concatenate([goal.pose[:1], att.open_fingers])
    goal_closed = goal.pose
    num_a = max(2, round(num_reach * 0.65))
    num_b = max(2, num_reach - num_a)
    prog_a = minimum_jerk(num_a)
    # Lift the path a little in the middle so it arcs over rather than across the table.
    arc = 0.04 * np.sin(np.pi * prog_a)[:, None] * np.array([0.0, 0.0, 1.0])
    transl_a = start.transl + prog_a[:, None] * (pre - start.transl) + arc
    pose_a = blend_poses(start.pose, goal_open, prog_a)
    prog_b = minimum_jerk(num_b)
    transl_b = pre + prog_b[:, None] * (goal.transl - pre)
    pose_b = np.repeat(goal_open[None], num_b, axis=0)
    prog_c = minimum_jerk(num_close)
    transl_c = np.repeat(goal.transl[None], num_close, axis=0)
    pose_c = blend_poses(goal_open, goal_closed, prog_c)
    return np.concatenate([pose_a, pose_b, pose_c]), np.concatenate([transl_a, transl_b, transl_c])


def _release(ctx, state, side, att: Attachment, num_open: int, num_retract: int, angle=None):
    """Fingers open in place, then the hand retracts along the normal and back to rest."""
    held = _attachment_world(ctx, state, side, att, angle)
    normal = _normal_world(ctx, state, att, angle)
    open_pose = np.concatenate([held.pose[:1], att.open_fingers])
    pose_o = blend_poses(held.pose, open_pose, minimum_jerk(num_open))
    transl_o = np.repeat(held.transl[None], num_open, axis=0)
    num_back = max(2, round(num_retract * 0.35))
    # Back off along the normal, but never downwards (towards the table): a surface that
    # faces down now (a book cover turned over) is left sideways and up.
    retreat = np.array([normal[0], normal[1], max(float(normal[2]), 0.0)])
    if np.linalg.norm(retreat) < 0.3:
        retreat = retreat + np.array([0.0, 0.0, 0.5])
    retreat /= np.linalg.norm(retreat)
    # A key grip slides straight out along the part it held (its index is under the part,
    # so rising while still beneath would press into it); other grips back off and rise.
    rise = 0.0 if att.grasp_type == "lateral" else 0.02
    away = held.transl + 0.06 * retreat + np.array([0.0, 0.0, rise])
    prog = minimum_jerk(num_back)
    transl_b = held.transl + prog[:, None] * (away - held.transl)
    pose_b = np.repeat(open_pose[None], num_back, axis=0)
    num_home = max(2, num_retract - num_back)
    rest = _rest_hand(ctx, state, side)
    prog = minimum_jerk(num_home)
    transl_h = away + prog[:, None] * (rest.transl - away)
    pose_h = blend_poses(open_pose, rest.pose, prog)
    # Turning back to the palm-down rest pose can swing a hand that held a part from
    # below (a key grip under a headband) through the table or the object: lift it there.
    transl_h = _keep_clear(ctx, state, side, pose_h, transl_h)
    poses = np.concatenate([pose_o, pose_b, pose_h])
    transls = np.concatenate([transl_o, transl_b, transl_h])
    return poses, transls


def _keep_clear(ctx, state, side, poses, transls, clearance=0.003, radius=6, rounds=4):
    """`transls` pushed out where the posed hand would dip below the table or enter the object.

    The object is where `state` leaves it. Per round, each frame's push is the depth it
    needs (to keep `clearance` from the table and the object's surface) along the mean
    outward normal at its deepest vertices (+z for the table). The depths are dilated and
    then averaged over windows no wider than the dilation (never less than any frame
    needs, no steps), and so are the directions. Frames already clear are left exactly.
    """
    num = len(poses)
    body = np.eye(4)
    body[:3, :3], body[:3, 3] = state.rotation, state.transl
    obj = ctx.obj
    transforms = [
        torch.from_numpy(body @ np.asarray(obj.part_transform(p.name, state.angle))).float()
        for p in obj.parts
    ]
    betas = torch.as_tensor(state.betas[HAND_SIDES.index(side)]).float().expand(num, -1)
    moved = np.array(transls, np.float64)
    window = np.hanning(2 * radius + 3)[1:-1]
    window /= window.sum()

    def spread(values: np.ndarray) -> np.ndarray:  # (num, C) → averaged over the window
        padded = np.pad(values, ((radius, radius), (0, 0)), mode="edge")
        views = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1, axis=0)
        return np.einsum("tcw,w->tc", views, window)

    for _ in range(rounds):
        with torch.no_grad():
            verts = ctx.hands[side](
                torch.as_tensor(poses).float(), torch.from_numpy(moved).float(), betas
            ).vertices
            query = signed_distance_parts(verts.reshape(-1, 3), obj.part_meshes(), transforms)
        sdf = query.sdf.reshape(num, -1).double().numpy()
        normal = query.normal.reshape(num, -1, 3).double().numpy()
        height = verts[..., 2].double().numpy()
        need_object = np.clip(clearance - sdf.min(axis=1), 0.0, None)
        need_table = np.clip(clearance - height.min(axis=1), 0.0, None)
        need = np.maximum(need_object, need_table)
        if not need.any():
            break
        close = sdf < clearance
        direction = np.einsum("tv,tvc->tc", close * (clearance - sdf), normal)
        direction[:, 2] += 10.0 * need_table  # the table pushes up (weighted to dominate)
        padded = np.pad(need, radius, mode="edge")
        dilated = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).max(axis=1)
        depth = spread(dilated[:, None])[:, 0]
        direction = spread(direction)
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
        moved += (depth * (depth > 0))[:, None] * direction
    return moved


def _rest_hand(ctx, state: WorldState, side: str) -> HandState:
    """Idle pose: palm down, fingers forward, relaxed curl, beside the person."""
    frame = ctx.frame(side, state.betas[HAND_SIDES.index(side)])
    fingers = np.array([0.0, 1.0, 0.0])
    palm = np.array([0.0, 0.0, -1.0])
    target = np.stack([fingers, palm, np.cross(fingers, palm)], axis=1)
    rotation = target @ frame.basis.T
    relaxed = ctx.hands[side].pose_from_anatomical_angles(_relaxed_angles())[0].numpy()
    pose = np.concatenate([_matrix_to_rotvec(rotation)[None], relaxed[1:]])
    return HandState(pose.astype(np.float64), rest_transl_away(side).astype(np.float64))


def _relaxed_angles() -> torch.Tensor:
    angles = torch.zeros(1, 15, 3)
    angles[..., 0] = 0.15
    return angles


def initial_state(obj, hands: dict, betas: np.ndarray, yaw: float, xy: np.ndarray, angle=0.0):
    """The episode start: object upright on the table at `xy` with `yaw`, hands at rest."""
    rest_wrists = {
        side: hands[side]
        .rest_joints(torch.as_tensor(betas[k : k + 1]).float())[0, 0]
        .double()
        .numpy()
        for k, side in enumerate(HAND_SIDES)
    }
    state = WorldState(
        rotation=_rotvec_to_matrix(np.array([0.0, 0.0, yaw])),
        transl=np.array([xy[0], xy[1], 0.0]),
        angle=float(angle),
        hands={},
        attached={},
        betas=np.asarray(betas, np.float64),
        rest_wrists=rest_wrists,
    )
    ctx = _Context(obj, hands, np.random.default_rng(0))
    rest = {side: _rest_hand(ctx, state, side) for side in HAND_SIDES}
    return dataclasses.replace(state, hands=rest)


# ------------------------------------------------------------------------- track assembly


def _assemble(ctx, state, num, *, rot=None, transl=None, angle=None, tracks=None, held=None,
              active_sides=(), mask=None, end_overrides=None) -> SegmentTrack:  # fmt: skip
    """Fill the world arrays: moving object, attached hands following it, idle hands still."""
    rot = np.repeat(state.rotation[None], num, axis=0) if rot is None else rot
    transl = np.repeat(state.transl[None], num, axis=0) if transl is None else transl
    angle = np.full(num, state.angle) if angle is None else np.asarray(angle, np.float64)
    tracks = dict(tracks or {})
    poses, transls = {}, {}
    for side in HAND_SIDES:
        if side in tracks:
            poses[side], transls[side] = tracks[side]
        elif side in state.attached:
            poses[side], transls[side] = _attached_track(
                ctx, state, side, state.attached[side], rot, transl, angle
            )
        else:
            hand = state.hands[side]
            poses[side] = np.repeat(hand.pose[None], num, axis=0)
            transls[side] = np.repeat(hand.transl[None], num, axis=0)
    active = np.zeros((num, 2), bool)
    for side in active_sides:
        active[:, HAND_SIDES.index(side)] = True
    held = np.zeros((num, 2), bool) if held is None else held
    overrides = dict(end_overrides or {})
    hands_end = {side: HandState(poses[side][-1], transls[side][-1]) for side in HAND_SIDES}
    end = dataclasses.replace(
        state,
        rotation=rot[-1],
        transl=transl[-1],
        angle=float(angle[-1]),
        hands=hands_end,
        **overrides,
    )
    return SegmentTrack(poses, transls, rot, transl, angle, active, held, mask, end)


def _held_all(num: int, sides) -> np.ndarray:
    held = np.zeros((num, 2), bool)
    for side in sides:
        held[:, HAND_SIDES.index(side)] = True
    return held


def _sides(request: SegmentRequest) -> tuple[str, ...]:
    return HAND_SIDES if request.hands == "both" else (request.hands,)


def _holding(state: WorldState, request: SegmentRequest) -> tuple[str, ...]:
    sides = tuple(s for s in _sides(request) if s in state.attached)
    if not sides:
        raise InputError(f"{request.primitive!r} needs the object held by {request.hands}")
    return sides


def _mask_of(state: WorldState, sides) -> np.ndarray:
    return np.max(np.stack([state.attached[s].mask for s in sides]), axis=0)


def _rigid_motion(state, pivot, rotations, offsets):
    """Object poses for per-frame extra rotations `(T,3,3)` about `pivot` plus offsets."""
    rot = np.einsum("tij,jk->tik", rotations, state.rotation)
    transl = np.einsum("tij,j->ti", rotations, state.transl - pivot) + pivot + offsets
    return rot, transl


def _grip_point(ctx, state, sides) -> np.ndarray:
    """World point between the holding hands' palms (pivot of wrist rotations)."""
    points = []
    for side in sides:
        hand = _attachment_world(ctx, state, side, state.attached[side])
        points.append(hand.transl + state.rest_wrists[side])
    return np.mean(points, axis=0)


# ------------------------------------------------------------------------- builders


def _grasp(ctx, state: WorldState, request: SegmentRequest) -> SegmentTrack:
    sides = _sides(request)
    tracks, atts = {}, {}
    num_reach = _frames(ctx.rng.uniform(1.1, 1.5), request.speed)
    num_close = _frames(0.45, request.speed)
    num_hold = 6
    for side in sides:
        avoid = None
        other = _other(side)
        if other in state.attached or other in atts:
            avoid = _posed_vertices(ctx, state, other, atts.get(other) or state.attached[other])
        # Aim at the side of the object facing the arriving hand: a target on the far side
        # would drag the reaching hand through the object.
        approach = state.hands[side].transl + state.rest_wrists[side] - state.transl
        approach[2] = 0.0
        approach /= max(float(np.linalg.norm(approach)), 1e-9)
        atts[side] = _make_attachment(
            ctx, state, side, request, avoid=avoid, approach=approach, min_approach_cos=-0.2
        )
        pose, transl = _reach(ctx, state, side, atts[side], num_reach, num_close)
        tracks[side] = (
            np.concatenate([pose, np.repeat(pose[-1:], num_hold, axis=0)]),
            np.concatenate([transl, np.repeat(transl[-1:], num_hold, axis=0)]),
        )
    num = len(next(iter(tracks.values()))[0])
    held = np.zeros((num, 2), bool)
    for side in sides:
        held[-num_hold:, HAND_SIDES.index(side)] = True
    attached = {**state.attached, **atts}
    return _assemble(
        ctx, state, num, tracks=tracks, held=held, active_sides=sides,
        mask=_mask_of(dataclasses.replace(state, attached=attached), sides),
        end_overrides={"attached": attached},
    )  # fmt: skip


def _posed_vertices(ctx, state, side, att: Attachment) -> np.ndarray:
    hand = _attachment_world(ctx, state, side, att)
    return _hand_vertices(ctx, state, side, hand)


def _hand_vertices(ctx, state, side, hand: HandState) -> np.ndarray:
    with torch.no_grad():
        out = ctx.hands[side](
            torch.as_tensor(hand.pose[None]).float(),
            torch.as_tensor(hand.transl[None]).float(),
            torch.as_tensor(state.betas[HAND_SIDES.index(side)][None]).float(),
        )
    return out.vertices[0].double().numpy()


def _lift(ctx, state, request):
    sides = _holding(state, request)
    num = _frames(ctx.rng.uniform(1.0, 1.4), request.speed)
    height = ctx.rng.uniform(0.12, 0.22)
    prog = minimum_jerk(num)
    offsets = prog[:, None] * np.array([0.0, 0.0, height])
    # A slight tilt towards the person while lifting, as wrists do.
    tilt = _axis_angle_track(np.array([1.0, 0.0, 0.0]), ctx.rng.uniform(-0.12, 0.12), prog)
    rot, transl = _rigid_motion(state, _grip_point(ctx, state, sides), tilt, offsets)
    return _assemble(
        ctx, state, num, rot=rot, transl=transl, held=_held_all(num, sides),
        active_sides=sides, mask=_mask_of(state, sides),
    )  # fmt: skip


def _axis_angle_track(axis, angle, prog) -> np.ndarray:
    axis = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    return _rotvec_to_matrix(prog[:, None] * angle * axis[None])


def _yaw_of(rotation: np.ndarray) -> float:
    x = rotation[:, 0]
    if np.hypot(x[0], x[1]) < 0.2:
        y = rotation[:, 1]
        return float(np.arctan2(y[1], y[0]) - np.pi / 2)
    return float(np.arctan2(x[1], x[0]))


def _place(ctx, state, request):
    sides = _holding(state, request)
    num_down = _frames(ctx.rng.uniform(1.1, 1.5), request.speed)
    # Target: upright, same yaw (± a little), on the table a short way off.
    yaw = _yaw_of(state.rotation) + ctx.rng.uniform(-0.3, 0.3)
    target_rot = _rotvec_to_matrix(np.array([0.0, 0.0, yaw]))
    shift = ctx.rng.uniform(-0.06, 0.06, size=2)
    target_transl = np.array([state.transl[0] + shift[0], state.transl[1] + shift[1], 0.0])
    prog = minimum_jerk(num_down)
    from scipy.spatial.transform import Slerp

    keys = Rotation.from_matrix(np.stack([state.rotation, target_rot]))
    rot = Slerp([0.0, 1.0], keys)(prog).as_matrix()
    transl = state.transl + prog[:, None] * (target_transl - state.transl)
    # Keep the object's lowest point above the table on the way down.
    transl = _lift_above_table(ctx, state, rot, transl)
    carry = _assemble(ctx, state, num_down, rot=rot, transl=transl, held=_held_all(num_down, sides),
                      active_sides=sides, mask=_mask_of(state, sides))  # fmt: skip
    placed = carry.end
    num_open = _frames(0.35, request.speed)
    num_retract = _frames(ctx.rng.uniform(0.9, 1.2), request.speed)
    tracks = {
        side: _release(ctx, placed, side, state.attached[side], num_open, num_retract)
        for side in sides
    }
    remaining = {s: a for s, a in placed.attached.items() if s not in sides}
    release = _assemble(
        ctx, dataclasses.replace(placed, attached=remaining), num_open + num_retract,
        tracks=tracks, active_sides=sides, mask=_mask_of(state, sides),
    )  # fmt: skip
    return _join(carry, release)


def _lift_above_table(ctx, state, rot, transl):
    """Raise frames whose lowest object vertex dips below z = 0 (only while moving down)."""
    verts = np.asarray(ctx.obj.vertices_at(float(state.angle)), np.float64)[::4]
    low = np.einsum("tij,vj->tvi", rot, verts)[..., 2].min(axis=1) + transl[:, 2]
    transl = transl.copy()
    transl[:, 2] += np.clip(-low, 0.0, None)
    return transl


def _join(first: SegmentTrack, second: SegmentTrack) -> SegmentTrack:
    cat = np.concatenate
    return SegmentTrack(
        poses={s: cat([first.poses[s], second.poses[s]]) for s in HAND_SIDES},
        transls={s: cat([first.transls[s], second.transls[s]]) for s in HAND_SIDES},
        rotation=cat([first.rotation, second.rotation]),
        transl=cat([first.transl, second.transl]),
        angle=cat([first.angle, second.angle]),
        active=cat([first.active, second.active]),
        held=cat([first.held, second.held]),
        mask=first.mask if first.mask is not None else second.mask,
        end=second.end,
    )


def _move(ctx, state, request):
    sides = _holding(state, request)
    num = _frames(ctx.rng.uniform(1.4, 2.0), request.speed)
    direction = ctx.rng.uniform(-0.6, 0.6) + np.pi / 2  # mostly away from the person
    distance = ctx.rng.uniform(0.12, 0.25)
    delta = distance * np.array([np.cos(direction), np.sin(direction), 0.0])
    prog = minimum_jerk(num)
    arc = 0.05 * np.sin(np.pi * prog)[:, None] * np.array([0.0, 0.0, 1.0])
    yaw = _axis_angle_track([0.0, 0.0, 1.0], ctx.rng.uniform(-0.5, 0.5), prog)
    rot, transl = _rigid_motion(
        state, _grip_point(ctx, state, sides), yaw, prog[:, None] * delta + arc
    )
    return _assemble(ctx, state, num, rot=rot, transl=transl, held=_held_all(num, sides),
                     active_sides=sides, mask=_mask_of(state, sides))  # fmt: skip


def _there_and_back(num_go: int, num_hold: int, num_back: int) -> np.ndarray:
    return np.concatenate([minimum_jerk(num_go), np.ones(num_hold), 1.0 - minimum_jerk(num_back)])


def _rotate(ctx, state, request):
    sides = _holding(state, request)
    go = _frames(ctx.rng.uniform(0.9, 1.2), request.speed)
    hold = _frames(ctx.rng.uniform(0.5, 0.9), request.speed)
    prog = _there_and_back(go, hold, go)
    axis = ctx.rng.normal(size=3)
    axis[2] = abs(axis[2]) * 0.5
    angle = ctx.rng.uniform(0.8, 1.6) * ctx.rng.choice([-1.0, 1.0])
    rotations = _axis_angle_track(axis, angle, prog)
    offsets = prog[:, None] * np.array([0.0, -0.05, 0.05])  # bring it a little closer
    rot, transl = _rigid_motion(state, _grip_point(ctx, state, sides), rotations, offsets)
    num = len(prog)
    return _assemble(ctx, state, num, rot=rot, transl=transl, held=_held_all(num, sides),
                     active_sides=sides, mask=_mask_of(state, sides))  # fmt: skip


def _tilt(ctx, state, request, *, angle_range, hold_s, offset):
    sides = _holding(state, request)
    go = _frames(ctx.rng.uniform(0.9, 1.3), request.speed)
    hold = _frames(hold_s, request.speed)
    prog = _there_and_back(go, hold, go)
    # Tilt about a horizontal axis so the object's top moves away from the hand side.
    pivot = _grip_point(ctx, state, sides)
    centre = state.transl + state.rotation @ np.array([0.0, 0.0, 0.05])
    lateral = centre - pivot
    lateral[2] = 0.0
    if np.linalg.norm(lateral) < 1e-3:
        lateral = np.array([1.0, 0.0, 0.0])
    axis = np.cross(np.array([0.0, 0.0, 1.0]), lateral)
    rotations = _axis_angle_track(axis, -ctx.rng.uniform(*angle_range), prog)
    offsets = prog[:, None] * offset
    rot, transl = _rigid_motion(state, pivot, rotations, offsets)
    num = len(prog)
    return _assemble(ctx, state, num, rot=rot, transl=transl, held=_held_all(num, sides),
                     active_sides=sides, mask=_mask_of(state, sides))  # fmt: skip


def _pour(ctx, state, request):
    offset = np.array([0.0, 0.03, ctx.rng.uniform(0.0, 0.05)])
    return _tilt(ctx, state, request, angle_range=(1.3, 1.9), hold_s=0.8, offset=offset)


def _drink(ctx, state, request):
    pivot = _grip_point(ctx, state, _holding(state, request))
    offset = _MOUTH - pivot
    offset[0] *= 0.8
    return _tilt(ctx, state, request, angle_range=(0.7, 1.1), hold_s=1.0, offset=offset)


def _oscillate(ctx, state, request, *, amplitude, cycles, along_object_axis):
    sides = _holding(state, request)
    num = _frames(ctx.rng.uniform(1.8, 2.4), request.speed)
    s = np.linspace(0.0, 1.0, num)
    envelope = np.sin(np.pi * s) ** 2
    wave = np.sin(2 * np.pi * cycles * s) * envelope
    if along_object_axis:
        verts = np.asarray(ctx.obj.vertices_at(float(state.angle)), np.float64)
        extent = verts.max(axis=0) - verts.min(axis=0)
        direction = state.rotation[:, int(np.argmax(extent[:2]))]
    else:
        direction = ctx.rng.normal(size=3)
        direction[2] = abs(direction[2]) + 0.5
    direction = direction / np.linalg.norm(direction)
    offsets = amplitude * wave[:, None] * direction
    if along_object_axis:  # cut: each stroke also dips a little
        offsets[:, 2] -= 0.015 * np.abs(wave)
    rotations = np.repeat(np.eye(3)[None], num, axis=0)
    rot, transl = _rigid_motion(state, state.transl, rotations, offsets)
    return _assemble(ctx, state, num, rot=rot, transl=transl, held=_held_all(num, sides),
                     active_sides=sides, mask=_mask_of(state, sides))  # fmt: skip


def _shake(ctx, state, request):
    amplitude = ctx.rng.uniform(0.025, 0.045)
    cycles = int(ctx.rng.integers(3, 5))
    return _oscillate(ctx, state, request, amplitude=amplitude, cycles=cycles,
                      along_object_axis=False)  # fmt: skip


def _cut(ctx, state, request):
    return _oscillate(ctx, state, request, amplitude=ctx.rng.uniform(0.04, 0.06),
                      cycles=int(ctx.rng.integers(2, 4)), along_object_axis=True)  # fmt: skip


def _handover(ctx, state, request):
    givers = tuple(s for s in HAND_SIDES if s in state.attached)
    if len(givers) != 1:
        raise InputError("handover needs the object held by exactly one hand")
    giver = givers[0]
    taker = _other(giver)
    region = dataclasses.replace(request, hands=taker)
    avoid = _posed_vertices(ctx, state, giver, state.attached[giver])
    # The taker comes from its own side and grips the far side of the object from the
    # giver's palm, so its path and its fingers stay clear of the giving hand.
    giver_normal = _normal_world(ctx, state, state.attached[giver])
    side_dir = np.array([1.0 if taker == "right" else -1.0, 0.0, 0.0])
    approach = side_dir - giver_normal
    approach /= max(float(np.linalg.norm(approach)), 1e-9)
    try:
        att = _make_attachment(
            ctx, state, taker, region, avoid=avoid, approach=approach, min_approach_cos=0.2
        )
    except GraspFailure:
        # Thin or wide objects (a phone held flat, a bowl by its rim) leave no free target
        # facing the taker's side: let it reach any free target, still clear of the giver.
        att = _make_attachment(ctx, state, taker, region, avoid=avoid)
    num_reach = _frames(ctx.rng.uniform(1.1, 1.4), request.speed)
    num_close = _frames(0.45, request.speed)
    pose_t, transl_t = _reach(ctx, state, taker, att, num_reach, num_close)
    num_a = len(pose_t)
    first = _assemble(ctx, state, num_a, tracks={taker: (pose_t, transl_t)},
                      held=_held_all(num_a, (giver,)), active_sides=HAND_SIDES,
                      mask=np.maximum(att.mask, state.attached[giver].mask))  # fmt: skip
    both = dataclasses.replace(first.end, attached={giver: state.attached[giver], taker: att})
    num_open = _frames(0.35, request.speed)
    num_retract = _frames(ctx.rng.uniform(0.9, 1.2), request.speed)
    pose_g, transl_g = _release(ctx, both, giver, state.attached[giver], num_open, num_retract)
    num_b = len(pose_g)
    held = _held_all(num_b, (taker,))
    second = _assemble(
        ctx, dataclasses.replace(both, attached={taker: att}), num_b,
        tracks={giver: (pose_g, transl_g)}, held=held, active_sides=HAND_SIDES,
        mask=first.mask,
    )  # fmt: skip
    joined = _join(first, second)
    # The taker holds from the moment its fingers closed.
    joined.held[num_a - 3 : num_a, HAND_SIDES.index(taker)] = True
    return joined


def _articulate(ctx, state, request, *, delta, num_move_s, grasp_at_end=False, from_above=False):
    """Reach a moving part, drive its angle by `delta` with the hand attached, let go.

    `grasp_at_end`: synthesise the grasp at the final angle (closing: fingers that fit the
    closed lid are never caught between lid and base). `from_above`: grip the part's top
    (twisting a lid); another hand holding the body must then stay below the twisting
    hand, which the turning hand must clear at every angle (checked before building).
    """
    (side,) = _sides(request)
    obj = ctx.obj
    if obj.articulation is None or request.part != obj.articulation.part:
        raise InputError(f"{request.primitive!r} needs an articulated part, {obj.name!r} has none")
    low, high = obj.articulation.angle_range
    target = float(np.clip(state.angle + delta, low, high))
    if abs(target - state.angle) < 0.05:
        raise InputError(f"{obj.name!r} {request.part} cannot move further ({state.angle:.2f})")
    att = _make_attachment(
        ctx, state, side, request,
        angle=target if grasp_at_end else None,
        approach=np.array([0.0, 0.0, 1.0]) if from_above else None,
        min_approach_cos=0.7 if from_above else 0.0,
    )  # fmt: skip
    num_reach = _frames(ctx.rng.uniform(1.0, 1.3), request.speed)
    num_close = _frames(0.4, request.speed)
    pose, transl = _reach(ctx, state, side, att, num_reach, num_close)
    reach = _assemble(ctx, state, len(pose), tracks={side: (pose, transl)},
                      active_sides=(side,), mask=att.mask)  # fmt: skip
    reach.held[-3:, HAND_SIDES.index(side)] = True
    holding = dataclasses.replace(reach.end, attached={**state.attached, side: att})
    num_move = _frames(num_move_s, request.speed)
    angles = state.angle + minimum_jerk(num_move) * (target - state.angle)
    if from_above:
        _check_sweep_clear(ctx, state, side, att, angles)
    move = _assemble(ctx, holding, num_move, angle=angles, held=_held_all(num_move, (side,)),
                     active_sides=(side,), mask=att.mask)  # fmt: skip
    moved = move.end
    num_open = _frames(0.3, request.speed)
    num_retract = _frames(ctx.rng.uniform(0.8, 1.1), request.speed)
    pose_r, transl_r = _release(ctx, moved, side, att, num_open, num_retract)
    after = dataclasses.replace(moved, attached=dict(state.attached))
    release = _assemble(ctx, after, len(pose_r), tracks={side: (pose_r, transl_r)},
                        active_sides=(side,), mask=att.mask)  # fmt: skip
    return _join(_join(reach, move), release)


def _check_sweep_clear(ctx, state, side, att: Attachment, angles: np.ndarray) -> None:
    """Raise GraspFailure if the hand in `att`, turned through `angles`, nears another hand.

    A cheap early version of the quality gate's hand-gap check on a few sampled angles,
    so a twist whose hand would sweep through the hand holding the body is re-planned
    before any frames are built.
    """
    others = [o for o in state.attached if o != side]
    if not others:
        return
    fixed = np.concatenate([_posed_vertices(ctx, state, o, state.attached[o]) for o in others])
    fixed_t = torch.from_numpy(fixed[::2]).float()
    for angle in np.linspace(angles[0], angles[-1], 6):
        hand = _attachment_world(ctx, state, side, att, float(angle))
        moving = torch.from_numpy(_hand_vertices(ctx, state, side, hand)[::2]).float()
        gap = float(torch.cdist(moving, fixed_t).amin())
        if gap < _HAND_GAP_M:
            raise GraspFailure(
                f"the {side} hand would pass {gap * 1000:.1f} mm from the other hand"
            )


def _open(ctx, state, request):
    articulation = ctx.obj.articulation
    low, high = articulation.angle_range if articulation else (0.0, 0.0)
    if articulation is not None and abs(articulation.axis[2]) < 0.5:
        # A hinge (horizontal axis) opens at most ~100 degrees: turned further, a cover's
        # outer face points at the table and the hand closing it would start below it.
        high = min(high, low + _MAX_HINGE_RANGE)
    delta = ctx.rng.uniform(0.55, 0.8) * (high - low)
    return _articulate(ctx, state, request, delta=delta, num_move_s=ctx.rng.uniform(1.2, 1.6))


def _close(ctx, state, request):
    low = ctx.obj.articulation.angle_range[0] if ctx.obj.articulation else 0.0
    return _articulate(
        ctx, state, request, delta=low - state.angle, num_move_s=ctx.rng.uniform(1.2, 1.6),
        grasp_at_end=True,
    )  # fmt: skip


def _twist_open(ctx, state, request):
    delta = ctx.rng.uniform(1.6, 2.2)
    return _articulate(ctx, state, request, delta=delta, num_move_s=ctx.rng.uniform(1.0, 1.4),
                       from_above=True)  # fmt: skip


def _twist_close(ctx, state, request):
    delta = -min(state.angle, ctx.rng.uniform(1.6, 2.2))
    return _articulate(ctx, state, request, delta=delta, num_move_s=ctx.rng.uniform(1.0, 1.4),
                       from_above=True)  # fmt: skip


def _press(ctx, state, request):
    """A fingertip presses a point; an articulated pressed part (trigger) moves with it."""
    obj = ctx.obj
    if obj.articulation is not None and request.part == obj.articulation.part:
        low, high = obj.articulation.angle_range
        # The finger pulls the part (trigger) in and lets go; the part stays where it is.
        return _articulate(ctx, state, request, delta=0.8 * (high - low), num_move_s=0.5)
    (side,) = _sides(request)
    att = _make_attachment(ctx, state, side, request)
    num_reach = _frames(ctx.rng.uniform(1.0, 1.3), request.speed)
    num_press = _frames(ctx.rng.uniform(0.4, 0.7), request.speed)
    pose, transl = _reach(ctx, state, side, att, num_reach, num_press)
    reach = _assemble(ctx, state, len(pose), tracks={side: (pose, transl)},
                      active_sides=(side,), mask=att.mask)  # fmt: skip
    reach.held[-num_press:, HAND_SIDES.index(side)] = True
    num_retract = _frames(ctx.rng.uniform(0.8, 1.1), request.speed)
    pose_r, transl_r = _release(ctx, reach.end, side, att, 2, num_retract)
    release = _assemble(ctx, reach.end, len(pose_r), tracks={side: (pose_r, transl_r)},
                        active_sides=(side,), mask=att.mask)  # fmt: skip
    return _join(reach, release)


def _push(ctx, state, request):
    """Fingertips on the region slide the object along the table, then let go.

    The index finger comes down onto an up-facing part of the region (friction slides a
    flat object; a thin one has no side to push) and the object slides horizontally, away
    from the person give or take 35 degrees, staying on z = 0 with the finger attached.
    """
    (side,) = _sides(request)
    if not state.is_resting:
        raise InputError("push needs the object resting on the table")
    att = _make_attachment(
        ctx, state, side, request, approach=np.array([0.0, 0.0, 1.0]), min_approach_cos=0.5
    )
    num_reach = _frames(ctx.rng.uniform(1.0, 1.3), request.speed)
    num_close = _frames(0.3, request.speed)
    pose, transl = _reach(ctx, state, side, att, num_reach, num_close)
    reach = _assemble(ctx, state, len(pose), tracks={side: (pose, transl)},
                      active_sides=(side,), mask=att.mask)  # fmt: skip
    reach.held[-3:, HAND_SIDES.index(side)] = True
    holding = dataclasses.replace(reach.end, attached={**state.attached, side: att})
    heading = np.pi / 2 + ctx.rng.uniform(-0.6, 0.6)
    direction = np.array([np.cos(heading), np.sin(heading), 0.0])
    num_slide = _frames(ctx.rng.uniform(1.2, 1.6), request.speed)
    prog = minimum_jerk(num_slide)
    offsets = prog[:, None] * ctx.rng.uniform(0.08, 0.16) * direction
    rotations = np.repeat(np.eye(3)[None], num_slide, axis=0)
    rot, transl_o = _rigid_motion(holding, holding.transl, rotations, offsets)
    slide = _assemble(ctx, holding, num_slide, rot=rot, transl=transl_o,
                      held=_held_all(num_slide, (side,)), active_sides=(side,),
                      mask=att.mask)  # fmt: skip
    num_retract = _frames(ctx.rng.uniform(0.8, 1.1), request.speed)
    pose_r, transl_r = _release(ctx, slide.end, side, att, 2, num_retract)
    after = dataclasses.replace(slide.end, attached=dict(state.attached))
    release = _assemble(ctx, after, len(pose_r), tracks={side: (pose_r, transl_r)},
                        active_sides=(side,), mask=att.mask)  # fmt: skip
    return _join(_join(reach, slide), release)


Builder = Callable[[_Context, WorldState, SegmentRequest], SegmentTrack]

BUILDERS: dict[str, Builder] = {
    "grasp": _grasp,
    "lift": _lift,
    "place": _place,
    "move": _move,
    "rotate": _rotate,
    "pour": _pour,
    "drink": _drink,
    "twist_open": _twist_open,
    "twist_close": _twist_close,
    "open": _open,
    "close": _close,
    "press": _press,
    "push": _push,
    "handover": _handover,
    "cut": _cut,
    "shake": _shake,
}
if set(BUILDERS) != set(PRIMITIVES):  # pragma: no cover - guards the registry at import
    raise RuntimeError("SynthHOI builders must cover openhoi.data.PRIMITIVES exactly")


def build_segment(
    obj, hands: dict, state: WorldState, request: SegmentRequest, rng: np.random.Generator
) -> SegmentTrack:
    """Build one segment of `request.primitive` from `state` (see the module docstring).

    Raises:
        GraspFailure: no grasp found on the region. InputError: the primitive does not
        apply in this state (e.g. lift with nothing held) or would exceed 150 frames.
    """
    if request.primitive not in BUILDERS:
        raise InputError(f"primitive must be one of {sorted(BUILDERS)}, got {request.primitive!r}")
    track = BUILDERS[request.primitive](_Context(obj, hands, rng), state, request)
    if len(track.rotation) > MAX_SEGMENT_FRAMES:
        raise InputError(
            f"{request.primitive!r} segment has {len(track.rotation)} frames "
            f"(> {MAX_SEGMENT_FRAMES}); use a higher speed"
        )
    return track
