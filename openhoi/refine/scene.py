"""Objects obey the scene, and held objects move rigidly with the hands that hold them.

The motion model generates hands and object together, but nothing in it says that an object
rests on the table, stays put unless a hand moves it, or keeps its place in a holding hand.
This module rewrites a sequence so it does, given its holding phases (`refine.phases`):

- `object_track`: the object starts at rest on its support (upright, as in its canonical
  frame, keeping the generated yaw; lowest point on z = 0). It stays there until a phase
  moves it. In a `carry` phase it follows the generated motion relative to the phase start
  (the same rigid motion about its own origin), is lifted wherever it would dip into the
  table, and, when the phase ends before the sequence does (the hand lets go), it lands:
  upright, lowest point on the table, blended in over the phase's last frames. A `push`
  slides it on the table (horizontal motion and yaw only); an `articulate` phase turns its
  part by the generated angle change (within the joint's range) and leaves the body still;
  a `press` leaves it still. Between phases it rests where the last phase left it.
- `retarget_hands`: a holding hand is expressed in the frame of what it holds (the object
  body, or the turned part) and placed there with one fixed pose per phase — its grasp — so
  the object-in-hand transform is constant over the phase (no sliding, no spinning). Near a
  phase (`blend_frames` before and after) the hand's generated pose relative to the object
  blends into the grasp, so it arrives at and leaves the object smoothly; away from every
  phase it keeps its generated world motion, moved by the same correction as the start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from openhoi.data import HAND_SIDES, HOISequence, layout
from openhoi.data.transforms import canonical_transform, minimum_jerk_at
from openhoi.geometry import matrix_to_rotation_6d, rotation_6d_to_matrix
from openhoi.refine.phases import HoldPhase

__all__ = [
    "SUPPORT_Z",
    "Support",
    "hand_frames",
    "holder_frames",
    "object_track",
    "retarget_hands",
    "settle",
]

SUPPORT_Z = 0.0  # the table plane
# A landing (release before the end) blends in over at most this many frames of the phase.
_LANDING_FRAMES = 30


class Support:
    """What objects rest on: the table plane, raised where static objects stand.

    Each static object's upper surface is a height map: its surface sampled densely (in
    world, at its pose) and the highest sample kept per `cell` × `cell` square. So a bowl
    gives its inner bottom inside and its rim on the rim, a book its cover. An object is
    lifted until none of its points lies below the height under it.

    Args:
        statics: `(HOIObject, (4, 4) world pose)` of each object standing in the scene.
        table_z: height of the table plane.
        cell: height-map resolution, metres.
        samples: surface samples per static object.
    """

    def __init__(
        self,
        statics: Sequence[tuple[object, np.ndarray]] = (),
        *,
        table_z: float = SUPPORT_Z,
        cell: float = 0.004,
        samples: int = 40000,
    ) -> None:
        import trimesh

        self.table_z = float(table_z)
        self.cell = float(cell)
        self.maps: list[tuple[np.ndarray, np.ndarray]] = []
        for obj, pose in statics:
            mesh = obj.mesh.copy()
            mesh.apply_transform(np.asarray(pose, np.float64))
            points, _ = trimesh.sample.sample_surface(mesh, samples, seed=0)
            points = np.concatenate([points, np.asarray(mesh.vertices)])
            low = points[:, :2].min(0)
            index = np.floor((points[:, :2] - low) / self.cell).astype(np.int64)
            height = np.full(index.max(0) + 1, -np.inf)
            np.maximum.at(height, (index[:, 0], index[:, 1]), points[:, 2])
            self.maps.append((low, height))

    def height(self, xy: np.ndarray) -> np.ndarray:
        """`(...)` height of the support under each `(..., 2)` point."""
        xy = np.asarray(xy, np.float64)
        out = np.full(xy.shape[:-1], self.table_z)
        for low, height in self.maps:
            index = np.floor((xy - low) / self.cell).astype(np.int64)
            inside = ((index >= 0) & (index < height.shape)).all(-1)
            found = height[index[inside][:, 0], index[inside][:, 1]]
            out[inside] = np.maximum(out[inside], found)
        return out

    def lift(self, points: np.ndarray) -> np.ndarray:
        """`(...)`: how far to raise each `(..., N, 3)` point set so it rests on or above
        the support (0 where it already does)."""
        points = np.asarray(points, np.float64)
        gap = self.height(points[..., :2]) - points[..., 2]
        return np.clip(gap.max(-1), 0.0, None)


def _support(support: float | Support) -> Support:
    return support if isinstance(support, Support) else Support(table_z=float(support))


def _footprint(obj, angle: float, limit: int = 600) -> np.ndarray:
    """`(V, 3)` vertices of the object at `angle` (every k-th, at most about `limit`)."""
    verts = np.asarray(obj.vertices_at(float(angle)), np.float64)
    return verts[:: max(1, len(verts) // limit)]


def _lowest(obj, rotation: np.ndarray, angle: float) -> float:
    """Lowest z of the object's vertices rotated by `rotation` (origin at 0)."""
    verts = np.asarray(obj.vertices_at(float(angle)), np.float64)
    return float((verts @ rotation[2]).min())


def _yaw_only(rotation: np.ndarray) -> np.ndarray:
    """The yaw part of `rotation` (read as `data.transforms.canonical_transform` reads it)."""
    undo_yaw, _ = canonical_transform(rotation, np.zeros(3))
    return undo_yaw.T


def settle(
    obj, transform: np.ndarray, angle: float, support: float | Support = SUPPORT_Z
) -> np.ndarray:
    """`(4, 4)`: the object upright at the yaw and x, y of `transform`, resting on the
    support (a table height, or a `Support` with static objects on it)."""
    support = _support(support)
    out = np.eye(4)
    out[:3, :3] = _yaw_only(np.asarray(transform, np.float64)[:3, :3])
    out[:3, 3] = transform[:3, 3]
    out[2, 3] = support.table_z - _lowest(obj, out[:3, :3], angle)
    if support.maps:
        verts = _footprint(obj, angle) @ out[:3, :3].T + out[:3, 3]
        out[2, 3] += float(support.lift(verts))
    return out


def _clamp_angle(obj, angle: np.ndarray | float) -> np.ndarray | float:
    if obj.articulation is None:
        return angle
    low, high = obj.articulation.angle_range
    return np.clip(angle, low, high)


def _above_support(obj, track: np.ndarray, angle: float, support: float | Support) -> None:
    """Lift frames (in place) whose lowest point is below the support (one angle: a carry
    does not turn the object's parts)."""
    support = _support(support)
    verts = np.asarray(obj.vertices_at(float(angle)), np.float64)
    low = np.einsum("tj,vj->tv", track[:, 2, :3], verts).min(axis=1) + track[:, 2, 3]
    track[:, 2, 3] += np.clip(support.table_z - low, 0.0, None)
    if support.maps:
        verts = _footprint(obj, angle)
        world = np.einsum("tij,vj->tvi", track[:, :3, :3], verts) + track[:, None, :3, 3]
        track[:, 2, 3] += support.lift(world)


def object_track(
    sequence: HOISequence,
    obj,
    phases: Sequence[HoldPhase],
    *,
    support: float | Support = SUPPORT_Z,
) -> tuple[np.ndarray, np.ndarray]:
    """The object's `(T, 4, 4)` poses and `(T,)` angles under the scene rules (module doc).

    `support`: the table height, or a `Support` whose static objects the object rests on
    and is carried over (a phone put in a bowl lands on the bowl's bottom)."""
    support = _support(support)
    model = sequence.object_transforms().astype(np.float64)
    model_angle = np.asarray(sequence.object_angle(), np.float64)
    num = sequence.num_frames
    track = np.zeros((num, 4, 4))
    angles = np.zeros(num)
    angle = float(_clamp_angle(obj, model_angle[0]))
    current = settle(obj, model[0], angle, support)
    cursor = 0
    for phase in sorted(phases, key=lambda p: p.start):
        start, end = phase.start, min(phase.end, num)
        if start >= num:
            break
        track[cursor:start], angles[cursor:start] = current, angle
        span = slice(start, end)
        angles[span] = angle
        if phase.kind in ("carry", "push"):
            # Still until the hands start moving it, then the generated motion from there.
            still = min(phase.motion_start, end - 1)
            relative = model[span, :3, :3] @ model[still, :3, :3].T
            moved = model[span, :3, 3] - model[still, :3, 3]
            relative[: still - start] = np.eye(3)
            moved[: still - start] = 0.0
            if phase.kind == "push":
                relative = np.stack([_yaw_only(r) for r in relative])
                moved[:, 2] = 0.0
            track[span] = np.eye(4)
            track[span, :3, :3] = relative @ current[:3, :3]
            track[span, :3, 3] = current[:3, 3] + moved
            if phase.kind == "carry":
                if end < num:
                    _land(obj, track[span], angle, support)
                _above_support(obj, track[span], angle, support)
            current = track[end - 1].copy()
        elif phase.kind == "articulate":
            track[span] = current
            angles[span] = _clamp_angle(obj, angle + model_angle[span] - model_angle[start])
            angle = float(angles[end - 1])
        else:  # press
            track[span] = current
        cursor = end
    track[cursor:], angles[cursor:] = current, angle
    return track, angles


def _land(obj, track: np.ndarray, angle: float, support: Support) -> None:
    """Blend the end of a carried track (in place) into a rest pose on the support."""
    target = settle(obj, track[-1], angle, support)
    count = min(len(track), _LANDING_FRAMES)
    weights = minimum_jerk_at(np.arange(1, count + 1) / count)
    fix = Rotation.from_matrix(target[:3, :3] @ track[-1, :3, :3].T).as_rotvec()
    shift = target[:3, 3] - track[-1, :3, 3]
    for w, t in zip(weights, range(len(track) - count, len(track)), strict=True):
        track[t, :3, :3] = Rotation.from_rotvec(w * fix).as_matrix() @ track[t, :3, :3]
        track[t, :3, 3] += w * shift
    track[-1] = target


def hand_frames(sequence: HOISequence, side: str, hand) -> tuple[np.ndarray, np.ndarray]:
    """`(T, 4, 4)` wrist frames (`HOISequence.wrist_transforms`), `(T, 15, 3, 3)` fingers."""
    pose = torch.from_numpy(np.array(sequence.hand_pose_6d(side)[:, 1:], np.float64))
    return sequence.wrist_transforms(side, hand), rotation_6d_to_matrix(pose).numpy()


def holder_frames(obj, body: np.ndarray, angles: np.ndarray, part: str | None) -> np.ndarray:
    """`(T, 4, 4)`: the frame a hand holding `part` (None: body) is fixed in."""
    if part is None:
        return body
    return body @ np.asarray(obj.part_transform(part, angles), np.float64)


def _blend_rigid(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per frame: rotation slerp and translation lerp from `a` to `b` by `w` in [0, 1]."""
    out = a.copy()
    delta = Rotation.from_matrix(np.einsum("tji,tjk->tik", a[:, :3, :3], b[:, :3, :3]))
    out[:, :3, :3] = a[:, :3, :3] @ Rotation.from_rotvec(delta.as_rotvec() * w[:, None]).as_matrix()
    out[:, :3, 3] = a[:, :3, 3] + w[:, None] * (b[:, :3, 3] - a[:, :3, 3])
    return out


def _blend_rotations(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """`(T, J, 3, 3)` per-joint slerp from `a` to `b` by `w` `(T,)`."""
    shape = a.shape
    flat_a, flat_b = a.reshape(-1, 3, 3), b.reshape(-1, 3, 3)
    weights = np.repeat(w, shape[1])
    delta = Rotation.from_matrix(np.einsum("tji,tjk->tik", flat_a, flat_b)).as_rotvec()
    return (flat_a @ Rotation.from_rotvec(delta * weights[:, None]).as_matrix()).reshape(shape)


def _phase_weights(phases, side, num, blend_frames) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: weight of the nearest phase holding with `side` and that phase's index."""
    weight = np.zeros(num)
    owner = np.full(num, -1)
    frames = np.arange(num)
    for index, phase in enumerate(phases):
        if side not in phase.sides:
            continue
        w = np.zeros(num)
        w[phase.start : phase.end] = 1.0
        if blend_frames:
            before = (frames >= phase.start - blend_frames) & (frames < phase.start)
            ramp = (frames[before] - (phase.start - blend_frames)) / blend_frames
            w[before] = minimum_jerk_at(ramp)
            after = (frames >= phase.end) & (frames < phase.end + blend_frames)
            w[after] = minimum_jerk_at(1.0 - (frames[after] - phase.end + 1) / blend_frames)
        better = w > weight
        weight[better], owner[better] = w[better], index
    return weight, owner


def retarget_hands(
    sequence: HOISequence,
    obj,
    hands: Mapping,
    track: np.ndarray,
    angles: np.ndarray,
    phases: Sequence[HoldPhase],
    grasps: Mapping[tuple[int, str], tuple[np.ndarray, np.ndarray]],
    *,
    blend_frames: int = 12,
) -> HOISequence:
    """The sequence with the object on `track` / `angles` and the hands placed (module doc).

    Args:
        grasps: (phase index, side) → `(4, 4)` wrist frame and `(15, 3, 3)` finger
            rotations of the grasp in the holder's frame (body, or the phase's part).
    """
    model_body = sequence.object_transforms().astype(np.float64)
    model_angle = np.asarray(sequence.object_angle(), np.float64)
    num = sequence.num_frames
    # Hands away from every phase keep their world motion, moved like the object's start.
    start_fix = track[0] @ np.linalg.inv(model_body[0])
    frames = np.array(sequence.frames, np.float64)
    for index, side in enumerate(HAND_SIDES):
        betas = torch.from_numpy(np.array(sequence.betas[index : index + 1]))
        wrist = hands[side].rest_joints(betas.float())[0, 0].double().numpy()
        wrist_frames, fingers = hand_frames(sequence, side, hands[side])
        new_wrist = start_fix @ wrist_frames
        new_fingers = fingers.copy()
        weight, owner = _phase_weights(phases, side, num, blend_frames)
        for p, phase in enumerate(phases):
            where = np.flatnonzero(owner == p)
            if len(where) == 0:
                continue
            holder_model = holder_frames(obj, model_body[where], model_angle[where], phase.part)
            holder_new = holder_frames(obj, track[where], angles[where], phase.part)
            relative = np.linalg.inv(holder_model) @ wrist_frames[where]
            grasp_frame, grasp_fingers = grasps[(p, side)]
            w = weight[where]
            relative = _blend_rigid(relative, np.broadcast_to(grasp_frame, relative.shape), w)
            placed = holder_new @ relative
            new_wrist[where] = _blend_rigid(new_wrist[where], placed, w)
            new_fingers[where] = _blend_rotations(
                fingers[where], np.broadcast_to(grasp_fingers, fingers[where].shape), w
            )
        block = layout.hand_slice(side).start
        frames[:, block + layout.HAND_TRANSL.start : block + layout.HAND_TRANSL.stop] = (
            new_wrist[:, :3, 3] - wrist
        )
        mats = np.concatenate([new_wrist[:, None, :3, :3], new_fingers], axis=1)
        rot6d = matrix_to_rotation_6d(torch.from_numpy(mats)).numpy().reshape(num, -1)
        frames[:, block + layout.HAND_GLOBAL_ORIENT.start : block + layout.HAND_DIM] = rot6d
    start = layout.OBJECT.start
    frames[:, start + layout.OBJECT_TRANSL.start : start + layout.OBJECT_TRANSL.stop] = track[
        :, :3, 3
    ]
    frames[:, start + layout.OBJECT_ROTATION.start : start + layout.OBJECT_ROTATION.stop] = (
        matrix_to_rotation_6d(torch.from_numpy(track[:, :3, :3])).numpy()
    )
    frames[:, start + layout.OBJECT_ANGLE.start] = angles
    return sequence.replace(frames=frames.astype(np.float32))
