"""Test-time grasp fitting: one hand pose, in the frame of what it holds, made to really hold.

Given starting hand poses (several candidates, e.g. the generated hand at a few frames of a
holding phase, expressed in the object's frame), optimise finger joint angles and a small
wrist correction (rotation + translation) with Adam, batched over the candidates, on

    E = w_pen  Σ_v max(0, −sdf(v))²                 penetration of every hand vertex, mm²
      + w_con  Σ_z huber(sdf(z))                    contact: each pulled zone's closest vertex
                                                    onto the surface (finger pads, thumb, palm)
      + w_aff  Σ_z dist(z, region)                  ... inside the affordance region, mm
      + w_opp  |P⊥(mean_z z − c)|                   a grip's contacts centred on the held
                                                    region (centre c, across its main axis):
                                                    opposing sides, not all on one
      + w_lim  joint-limit excess                   rad², anatomical limits of the hand model
      + w_pri  |θ − θ₀|² + w_wr (|δt|² + |δr|²)     stay near the generated grasp

(the grasp energy of GraspTTA / ContactOpt / DexGraspNet, without force closure). Which
zones are pulled is decided per candidate from where it starts: zones within
`pull_radius_m` of the surface, and always the thumb and the nearest finger, so the hand
closes into a grip (two or more zones in contact) instead of touching with one pad. A
candidate that starts deep inside the object is first backed off along the outward
surface normal, fingers half opened, until it is clear; the fingers then close onto the
surface under the contact term. The best candidate by final energy (and contact count)
wins. Signed distances come from the Warp kernels (analytic gradients).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from openhoi.errors import InputError
from openhoi.geometry import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    signed_distance_parts,
)
from openhoi.geometry.constants import CONTACT_THRESHOLD_M

__all__ = ["FittedGrasp", "GraspFitConfig", "fit_grasp"]

_MM = 1000.0
_FINGER_ZONES = ("index", "middle", "pinky", "ring")


@dataclass(frozen=True)
class GraspFitConfig:
    """Settings of `fit_grasp` (weights act on mm / mm² / rad² terms)."""

    steps: int = 120
    learning_rate: float = 0.02
    penetration_weight: float = 4.0
    contact_weight: float = 1.0
    affordance_weight: float = 0.1
    opposition_weight: float = 2.0
    limit_weight: float = 100.0
    prior_weight: float = 0.5
    wrist_weight: float = 0.02
    # Zones within this distance of the surface at the start are pulled onto it.
    pull_radius_m: float = 0.04
    # Candidates deeper than this start backed off along the surface normal.
    backoff_depth_m: float = 0.004
    # A grip also starts from four re-oriented power grasps at the generated palm's place
    # (palm on the surface, fingers across the region's main axis, along it, and back).
    reoriented: bool = True
    # ... and four more at the region point nearest the object's centre of mass: grips with
    # little gravity torque (a hammer held near its head), for the simulator's choice.
    balanced_starts: bool = False
    # A grip is valid with at most this deep penetration (mm) and at least this many zones
    # touching, the thumb among them; the valid candidate whose contacts oppose best wins.
    valid_depth_mm: float = 2.0
    valid_zones: int = 3

    def __post_init__(self) -> None:
        if self.steps < 0 or not self.learning_rate > 0:
            raise InputError("grasp fit: steps must be >= 0 and learning_rate > 0")
        for name in ("penetration_weight", "contact_weight", "affordance_weight",
                     "limit_weight", "prior_weight", "wrist_weight"):  # fmt: skip
            if getattr(self, name) < 0:
                raise InputError(f"grasp fit: {name} must be >= 0, got {getattr(self, name)}")
        if not self.pull_radius_m > 0:
            raise InputError(f"grasp fit: pull_radius_m must be > 0, got {self.pull_radius_m}")


@dataclass(frozen=True)
class FittedGrasp:
    """The chosen hand pose in the fit frame and how well it holds.

    pose: `(16, 3)` axis-angle (global orient first); transl: `(3,)` MANO translation.
    candidate: index of the starting pose it came from. penetration_mm: deepest vertex.
    touching: zone names within the contact threshold. energy: final E.
    start_penetration_mm, start_touching: the same of that starting pose, as given.
    imbalance: |Σ n| / N over the N touching zones' surface normals n: 0 when the contacts
        press from opposing sides (thumb against fingers), 1 when all press one way.
    alternatives: the other valid candidates of a grip (see `_ranked`), best first, for a
        caller that can judge them otherwise (the simulator, `refine.contact_opt`).
    """

    pose: np.ndarray
    transl: np.ndarray
    candidate: int
    penetration_mm: float
    touching: tuple[str, ...]
    energy: float
    start_penetration_mm: float = 0.0
    start_touching: tuple[str, ...] = ()
    imbalance: float = 1.0
    alternatives: tuple[FittedGrasp, ...] = ()


class _Geometry:
    """Signed distance of points to the object parts posed in the fit frame."""

    def __init__(self, meshes, transforms: Sequence[np.ndarray]) -> None:
        self.meshes = meshes
        self.transforms = [torch.as_tensor(np.asarray(t), dtype=torch.float32) for t in transforms]

    def __call__(self, points: Tensor):
        batch = points.shape[0]
        poses = [t.expand(batch, 4, 4) for t in self.transforms]
        return signed_distance_parts(points.float(), self.meshes, poses)


def fit_grasp(
    hand,
    meshes,
    part_transforms: Sequence[np.ndarray],
    poses: np.ndarray,
    transls: np.ndarray,
    betas: np.ndarray,
    *,
    region: np.ndarray | None = None,
    grip: bool = True,
    config: GraspFitConfig | None = None,
) -> FittedGrasp:
    """Fit one holding hand pose from candidate starting poses (see the module docstring).

    Args:
        hand: the `HandModel` of the holding side.
        meshes: the object's part meshes (`HOIObject.part_meshes()`).
        part_transforms: per part, its `(4, 4)` pose in the fit frame.
        poses: `(K, 16, 3)` axis-angle starting poses in the fit frame.
        transls: `(K, 3)` their MANO translations.
        betas: `(10,)` hand shape.
        region: `(R, 3)` affordance-region points in the fit frame (None: anywhere).
        grip: pull the thumb and the nearest finger too (a grip); False pulls only the
            zone nearest the surface (a press or push with a fingertip).
        config: settings.
    """
    config = config or GraspFitConfig()
    poses = np.asarray(poses, np.float64)
    transls = np.asarray(transls, np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (16, 3) or transls.shape != (len(poses), 3):
        raise InputError(
            f"fit_grasp needs poses (K, 16, 3) and transls (K, 3), got {poses.shape} and "
            f"{transls.shape}"
        )
    geometry = _Geometry(meshes, part_transforms)
    num = len(poses)
    beta = torch.as_tensor(np.asarray(betas, np.float32))[None].expand(num, -1)
    wrist = hand.rest_joints(beta[:1])[0, 0].detach()
    zones = hand.contact_zones
    zone_names = list(zones)
    zone_ids = [torch.as_tensor(zones[name]) for name in zone_names]
    region_t = None
    if region is not None and len(region):
        region_t = torch.as_tensor(np.asarray(region, np.float32))

    num_given = len(poses)
    if grip and config.reoriented:
        anchors = [None]
        if config.balanced_starts:
            anchors.append(_mass_centre(meshes, part_transforms))
        extra_poses, extra_transls = _oriented_starts(
            hand, geometry, poses, transls, beta[:1], wrist, region, anchors
        )
        poses = np.concatenate([poses, extra_poses])
        transls = np.concatenate([transls, extra_transls])
        num = len(poses)
        beta = beta[:1].expand(num, -1)
    pose0 = torch.as_tensor(poses, dtype=torch.float32)
    transl0 = torch.as_tensor(transls, dtype=torch.float32)
    angles0 = hand.anatomical_angles(pose0).detach()
    with torch.no_grad():
        given = hand(pose0, transl0, beta).vertices
        given_depth = torch.relu(-geometry(given).sdf).amax(dim=1) * _MM
        given_touch = _zone_sdf(geometry, given, zone_ids) < CONTACT_THRESHOLD_M
        pose0, transl0, angles0 = _back_off(
            hand, geometry, pose0, transl0, angles0, beta, wrist, config
        )
        start = hand(pose0, transl0, beta).vertices
        zone_sdf = _zone_sdf(geometry, start, zone_ids)  # (K, Z)
        pulled = _pulled_zones(zone_sdf, zone_names, config.pull_radius_m, grip)

    hold_centre, hold_axis = _hold_frame(region, meshes, part_transforms)
    angles = angles0.clone().requires_grad_(True)
    rot = torch.zeros(num, 3, requires_grad=True)  # wrist correction, radians
    shift = torch.zeros(num, 3, requires_grad=True)  # wrist correction, decimetres
    optimiser = torch.optim.Adam([angles, rot, shift], lr=config.learning_rate)
    global0 = axis_angle_to_matrix(pose0[:, 0])

    def posed(angles, rot, shift):
        fingers = hand.pose_from_anatomical_angles(angles)[:, 1:]
        orient = axis_angle_to_matrix(rot) @ global0
        # Rotate about the wrist joint, then shift: transl' = R_δ (transl + J0) − J0 + δt.
        delta = axis_angle_to_matrix(rot)
        transl = (delta @ (transl0 + wrist)[..., None])[..., 0] - wrist + shift * 0.1
        pose = torch.cat([matrix_to_axis_angle(orient)[:, None], fingers], dim=1)
        return pose, transl

    def energy(angles, rot, shift) -> tuple[Tensor, Tensor, Tensor]:
        pose, transl = posed(angles, rot, shift)
        verts = hand(pose, transl, beta).vertices
        query = geometry(verts)
        sdf_mm = query.sdf * _MM
        pen = torch.relu(-sdf_mm).pow(2).sum(dim=1)
        # (K, Z): each zone's closest vertex, mm.
        zone_d = torch.stack([sdf_mm[:, ids].amin(dim=1) for ids in zone_ids], dim=1)
        con = (_huber(zone_d, 1.0) * pulled).sum(dim=1)
        closest = torch.stack(
            [verts[:, ids].gather(1, sdf_mm[:, ids].argmin(1)[:, None, None].expand(-1, 1, 3))
             [:, 0] for ids in zone_ids], dim=1,
        )  # fmt: skip
        aff = torch.zeros_like(con)
        if region_t is not None and config.affordance_weight:
            dist = torch.cdist(closest, region_t[None].expand(num, -1, -1)).amin(dim=2) * _MM
            aff = (dist * pulled).sum(dim=1)
        # Opposition: the pulled zones' contacts centred on the held region across its axis.
        centre = (closest * pulled[..., None]).sum(1) / pulled.sum(1, keepdim=True).clamp_min(1)
        off = centre - hold_centre
        off = off - (off @ hold_axis)[:, None] * hold_axis
        opp = off.norm(dim=1) * _MM if grip else torch.zeros_like(con)
        lim = hand.joint_limit_violation(pose)
        prior = (angles - angles0).pow(2).sum(dim=(1, 2))
        wrist_reg = rot.pow(2).sum(dim=1) * 100.0 + (shift * 100.0).pow(2).sum(dim=1)
        total = (
            config.penetration_weight * pen
            + config.contact_weight * con
            + config.affordance_weight * aff
            + config.opposition_weight * opp
            + config.limit_weight * lim
            + config.prior_weight * prior
            + config.wrist_weight * wrist_reg
        )
        return total, zone_d, query

    for _ in range(config.steps):
        optimiser.zero_grad()
        total, _, _ = energy(angles, rot, shift)
        total.sum().backward()
        optimiser.step()
    with torch.no_grad():
        angles.copy_(torch.maximum(torch.minimum(angles, hand.limit_upper), hand.limit_lower))
        total, zone_d, query = energy(angles, rot, shift)
        pose, transl = posed(angles, rot, shift)
    touching = zone_d < CONTACT_THRESHOLD_M * _MM
    depth = torch.relu(-query.sdf).amax(dim=1) * _MM
    imbalance = _imbalance(query, zone_ids, touching)
    order = _ranked(total, touching, depth, imbalance, zone_names, grip, config)
    # "Before" is the generated hand: a re-oriented winner reports the middle given pose.
    given_index = order[0] if order[0] < num_given else num_given // 2

    def fitted(k: int, alternatives: tuple[FittedGrasp, ...] = ()) -> FittedGrasp:
        return FittedGrasp(
            pose=pose[k].double().numpy(),
            transl=transl[k].double().numpy(),
            candidate=k,
            penetration_mm=float(depth[k]),
            touching=tuple(n for n, t in zip(zone_names, touching[k].tolist(), strict=True) if t),
            energy=float(total[k]),
            imbalance=float(imbalance[k]),
            start_penetration_mm=float(given_depth[given_index]),
            start_touching=tuple(
                n for n, on in zip(zone_names, given_touch[given_index].tolist(), strict=True) if on
            ),
            alternatives=alternatives,
        )

    return fitted(order[0], tuple(fitted(k) for k in order[1:]))


def _imbalance(query, zone_ids: list[Tensor], touching: Tensor) -> Tensor:
    """`(K,)`: |Σ n| / N over the touching zones' outward normals at their closest vertex."""
    normals = []
    for ids in zone_ids:
        nearest = query.sdf[:, ids].argmin(dim=1)
        normals.append(query.normal[:, ids][torch.arange(len(nearest)), nearest])
    normals = torch.stack(normals, dim=1) * touching[..., None]  # (K, Z, 3)
    count = touching.sum(dim=1).clamp_min(1)
    return normals.sum(dim=1).norm(dim=1) / count


def _ranked(total, touching, depth, imbalance, names, grip, config: GraspFitConfig) -> list[int]:
    """Candidate indices, the chosen one first. A grip: the valid candidates (shallow,
    enough zones, the thumb touching) by how well their contacts oppose; with none valid
    (and for a press) the one touching most zones, then lowest E, alone."""
    fallback = int((total - 1e4 * touching.sum(dim=1)).argmin())
    if not grip:
        return [fallback]
    valid = (
        (depth <= config.valid_depth_mm)
        & (touching.sum(dim=1) >= config.valid_zones)
        & touching[:, names.index("thumb")]
    )
    if not bool(valid.any()):
        return [fallback]
    where = torch.nonzero(valid).flatten()
    return where[torch.argsort(imbalance[where], stable=True)].tolist()


# Re-oriented starts: the fingers point across the region's axis, along it, and back.
_ROLLS = (0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi)
# Pre-shape of a re-oriented start: this fraction of each finger joint's upper limit.
_PRESHAPE_FRACTION = 0.3
# ... and its palm this far off the surface, metres.
_PRESHAPE_STANDOFF_M = 0.01


def _oriented_starts(hand, geometry, poses, transls, beta, wrist, region, anchors=(None,)):
    """Power-grasp starts at the surface point nearest the middle pose's palm (anchor None)
    and at the region point nearest each other anchor (e.g. the object's centre of mass, a
    grip with little gravity torque): palm facing the surface, the fingers rolled through
    `_ROLLS` from across the main axis of the region there, pre-shaped, palm
    `_PRESHAPE_STANDOFF_M` off the surface."""
    out = [_starts_at(hand, geometry, poses, transls, beta, wrist, region, a) for a in anchors]
    return np.concatenate([p for p, _ in out]), np.concatenate([t for _, t in out])


def _starts_at(hand, geometry, poses, transls, beta, wrist, region, anchor):
    from openhoi.hand.regions import vertex_normals

    palm_ids = torch.as_tensor(hand.contact_zones["palm"])
    with torch.no_grad():
        middle = len(poses) // 2
        posed = hand(
            torch.as_tensor(poses[middle : middle + 1]).float(),
            torch.as_tensor(transls[middle : middle + 1]).float(),
            beta,
        ).vertices
        palm_now = posed[0, palm_ids].mean(dim=0)
        if anchor is not None:
            palm_now = _nearest_region_point(region, anchor, palm_now)
        query = geometry(palm_now[None, None])
        point = query.closest[0, 0].double().numpy()
        normal = query.normal[0, 0].double().numpy()
        flat = torch.zeros(1, 16, 3)
        rest = hand(flat, torch.zeros(1, 3), beta).vertices[0].double().numpy()
        joints = hand.rest_joints(beta)[0].double().numpy()
    if float(np.linalg.norm(normal)) < 0.5:
        return np.zeros((0, 16, 3)), np.zeros((0, 3))
    normal /= np.linalg.norm(normal)
    facing = vertex_normals(rest, hand.faces)[palm_ids.numpy()].mean(axis=0)
    along = joints[4] - joints[0]  # wrist → middle-finger base
    axis = _region_axis(region, point, normal)
    wrap = np.cross(axis, normal)
    wrist_np = wrist.double().numpy()
    palm_rest = rest[palm_ids.numpy()].mean(axis=0)
    angles = (hand.limit_upper * _PRESHAPE_FRACTION).clamp_min(hand.limit_lower)[None]
    fingers = hand.pose_from_anatomical_angles(angles)[0, 1:].double().numpy()
    side = np.cross(normal, wrap)
    out_poses, out_transls = [], []
    for roll in _ROLLS:
        fingers_to = np.cos(roll) * wrap + np.sin(roll) * side
        rotation = _frame_from(-normal, fingers_to) @ _frame_from(facing, along).T
        orient = matrix_to_axis_angle(torch.from_numpy(rotation)).numpy()
        target = point + _PRESHAPE_STANDOFF_M * normal
        out_transls.append(target - wrist_np - rotation @ (palm_rest - wrist_np))
        out_poses.append(np.concatenate([orient[None], fingers]))
    return np.stack(out_poses), np.stack(out_transls)


def _nearest_region_point(region, anchor: np.ndarray, default: Tensor) -> Tensor:
    """The affordance-region point nearest `anchor` (`default` without a region)."""
    if region is None or not len(region):
        return default
    points = np.asarray(region.detach() if torch.is_tensor(region) else region, np.float64)
    nearest = points[int(np.linalg.norm(points - anchor, axis=1).argmin())]
    return torch.as_tensor(nearest, dtype=default.dtype)


def _mass_centre(meshes, part_transforms) -> np.ndarray:
    """The object's centre of mass in the fit frame (uniform density; the vertex mean of a
    part whose mesh is not closed)."""
    total, moment = 0.0, np.zeros(3)
    for mesh, transform in zip(meshes, part_transforms, strict=True):
        transform = np.asarray(transform, np.float64)
        volume = float(abs(mesh.volume)) if mesh.is_volume else 0.0
        centre = mesh.center_mass if volume > 0 else np.asarray(mesh.vertices).mean(axis=0)
        weight = volume if volume > 0 else 1e-9
        total += weight
        moment += weight * (transform[:3, :3] @ centre + transform[:3, 3])
    return moment / total


def _frame_from(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """`(3, 3)` orthonormal columns: `first`, `second` made orthogonal to it, their cross."""
    a = first / np.linalg.norm(first)
    b = second - a * (a @ second)
    b /= max(float(np.linalg.norm(b)), 1e-9)
    return np.stack([a, b, np.cross(a, b)], axis=1)


def _region_axis(region, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Main axis (PCA) of the region points within 4 cm of `point`, made tangent; the
    vertical (or any tangent) when there are too few."""
    axis = np.array([0.0, 0.0, 1.0])
    if region is not None:
        points = region.double().numpy() if torch.is_tensor(region) else np.asarray(region)
        near = points[np.linalg.norm(points - point, axis=1) < 0.04]
        if len(near) >= 8:
            centred = near - near.mean(axis=0)
            axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    axis = axis - normal * (axis @ normal)
    if float(np.linalg.norm(axis)) < 1e-3:
        axis = np.cross(normal, [1.0, 0.0, 0.0])
        if float(np.linalg.norm(axis)) < 1e-3:
            axis = np.cross(normal, [0.0, 1.0, 0.0])
    return axis / np.linalg.norm(axis)


def _hold_frame(region, meshes, part_transforms) -> tuple[Tensor, Tensor]:
    """Centre and main axis (PCA) of the held region (the posed object without one)."""
    if region is not None and len(region) >= 3:
        points = np.asarray(region, np.float64)
    else:
        points = np.concatenate([
            np.asarray(m.vertices, np.float64) @ np.asarray(t)[:3, :3].T + np.asarray(t)[:3, 3]
            for m, t in zip(meshes, part_transforms, strict=True)
        ])  # fmt: skip
    centre = points.mean(axis=0)
    axis = np.linalg.svd(points - centre, full_matrices=False)[2][0]
    return torch.as_tensor(centre, dtype=torch.float32), torch.as_tensor(axis, dtype=torch.float32)


def _huber(x: Tensor, delta: float) -> Tensor:
    """Huber of |x| (quadratic below `delta`, linear above)."""
    a = x.abs()
    return torch.where(a < delta, 0.5 * a.pow(2) / delta, a - 0.5 * delta)


def _zone_sdf(geometry: _Geometry, verts: Tensor, zone_ids: list[Tensor]) -> Tensor:
    sdf = geometry(verts).sdf
    return torch.stack([sdf[:, ids].amin(dim=1) for ids in zone_ids], dim=1)


def _pulled_zones(zone_sdf: Tensor, names: list[str], radius: float, grip: bool) -> Tensor:
    """`(K, Z)` float: a grip pulls the thumb and every finger (they wrap what they hold:
    contacts on one side only cannot hold against gravity) and the palm when it is near;
    without `grip` only the zone nearest the surface is pulled (a fingertip press)."""
    if not grip:
        pulled = torch.zeros_like(zone_sdf)
        pulled[torch.arange(len(pulled)), zone_sdf.argmin(dim=1)] = 1.0
        return pulled
    pulled = (zone_sdf < radius).float()
    for name in ("thumb", *_FINGER_ZONES):
        if name in names:
            pulled[:, names.index(name)] = 1.0
    return pulled


def _back_off(hand, geometry, pose, transl, angles, beta, wrist, config):
    """Candidates deeper than `backoff_depth_m`: fingers half open, wrist moved out along
    the mean outward normal at the penetrating vertices until clear (line search)."""
    verts = hand(pose, transl, beta).vertices
    query = geometry(verts)
    depth = torch.relu(-query.sdf).amax(dim=1)
    deep = depth > config.backoff_depth_m
    if not bool(deep.any()):
        return pose, transl, angles
    pose, transl, angles = pose.clone(), transl.clone(), angles.clone()
    for k in torch.nonzero(deep)[:, 0].tolist():
        inside = query.sdf[k] < 0
        normal = query.normal[k][inside].mean(dim=0)
        if float(normal.norm()) < 1e-6:
            normal = verts[k].mean(dim=0) - query.closest[k].mean(dim=0)
        normal = normal / normal.norm().clamp_min(1e-9)
        relaxed = angles[k] * 0.5
        relaxed_pose = hand.pose_from_anatomical_angles(relaxed[None])[0]
        relaxed_pose = torch.cat([pose[k, :1], relaxed_pose[1:]], dim=0)
        steps = torch.linspace(0.0, 0.12, 25)
        trial_t = transl[k][None] + steps[:, None] * normal[None]
        trial_v = hand(relaxed_pose[None].expand(len(steps), -1, -1), trial_t,
                       beta[:1].expand(len(steps), -1)).vertices  # fmt: skip
        trial_depth = torch.relu(-geometry(trial_v).sdf).amax(dim=1)
        clear = torch.nonzero(trial_depth <= config.backoff_depth_m)
        pick = int(clear[0, 0]) if len(clear) else int(trial_depth.argmin())
        pose[k], transl[k], angles[k] = relaxed_pose, trial_t[pick], relaxed
    return pose, transl, angles
