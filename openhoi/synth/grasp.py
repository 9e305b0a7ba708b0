"""Grasp synthesis on an affordance region: GraspIt-style closing, then a short refinement.

How a grasp is made (all in the object's canonical frame, metres):

1. Pick a target point on the affordance region and the region's local normal `n` and main
   axis `a` (PCA of the region points near the target).
2. Orient the hand: palm facing the surface (palm normal → −n); fingers across the axis
   (`a × n`) so they wrap around handles and bodies, thumb up where possible; a small random
   roll about `n`. A `poke` grasp points the index finger along −n instead. A `lateral`
   (key) grasp has its own geometry: see `_attempt_lateral`.
3. Slide the pre-shaped hand along `n` until no vertex is closer than the clearance.
4. Close each finger joint chain along its flexion path until its vertices touch the surface
   (signed distance ≈ 0), batched over candidate closures and refined by bisection.
5. Refine finger angles and the wrist translation for a few Adam steps on an energy like
   DexGraspNet's: penetration of hand vertices, contact distance of the touching fingers'
   contact zones, and joint-limit excess.
6. Measure: penetration depth, which zones touch, whether they touch the affordance region.

The distances come from the Warp signed-distance kernels, so the same code runs on any
mesh the object library loads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from openhoi.errors import InputError
from openhoi.geometry import (
    CONTACT_THRESHOLD_M,
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    signed_distance_parts,
)
from openhoi.geometry.constants import AFFORDANCE_CONTACT_RADIUS_M, AFFORDANCE_MASK_THRESHOLD
from openhoi.hand import FINGER_JOINTS, FINGER_NAMES, HandModel
from openhoi.hand.limits import palm_axes
from openhoi.hand.regions import vertex_normals

__all__ = ["GRASP_TYPES", "Grasp", "GraspConfig", "GraspFailure", "synthesize_grasp"]

logger = logging.getLogger(__name__)

# power: whole hand wraps a body; pinch: thumb + index/middle tips; lateral (key): the thumb
# pad presses a thin part onto the radial side of the curled index; hook: four fingers curl
# around a handle, thumb free; poke: the index tip presses a point; flat: palm on a surface
# with a light finger curl (two-hand holds of large objects use one per hand).
GRASP_TYPES = ("power", "pinch", "lateral", "hook", "poke", "flat")

_DEG = np.pi / 180.0
# Per grasp type: how far each finger may close (fraction of its flexion range) and
# which fingers must touch for the grasp to count.
_CLOSE_FRACTION = {
    "power": dict.fromkeys(FINGER_NAMES, 1.0),
    "pinch": {"index": 1.0, "middle": 1.0, "pinky": 0.55, "ring": 0.55, "thumb": 1.0},
    "lateral": {"index": 0.0, "middle": 0.0, "pinky": 0.0, "ring": 0.0, "thumb": 1.0},
    "hook": {"index": 1.0, "middle": 1.0, "pinky": 1.0, "ring": 1.0, "thumb": 0.15},
    "poke": {"index": 0.05, "middle": 0.95, "pinky": 0.95, "ring": 0.95, "thumb": 0.6},
    "flat": dict.fromkeys(FINGER_NAMES, 0.35),
}
_REQUIRED_CONTACTS = {"power": 2, "pinch": 2, "lateral": 2, "hook": 2, "poke": 1, "flat": 1}
# Fingers whose closing stops at first contact; the rest close to their fraction freely
# but still stop before penetrating.
_PREFERRED_ZONES = {
    "power": ("palm", "thumb", "index", "middle", "ring", "pinky"),
    "pinch": ("thumb", "index", "middle"),
    "lateral": ("thumb", "index_side"),
    "hook": ("index", "middle", "ring", "pinky"),
    "poke": ("index",),
    "flat": ("palm", "index", "middle", "ring", "pinky"),
}


@dataclass(frozen=True)
class GraspConfig:
    """Settings of `synthesize_grasp` (metres, radians)."""

    # Gap kept between the pre-shaped hand and the surface before closing.
    clearance_m: float = 0.002
    # Extra palm standoff for fingertip grasps, so only the fingers reach the surface.
    pinch_standoff_m: float = 0.025
    # Candidate closures evaluated at once, then bisection steps at the first contact.
    num_close_candidates: int = 16
    num_bisection_steps: int = 5
    # Adam refinement of finger angles and wrist translation.
    num_refine_steps: int = 20
    refine_learning_rate: float = 2e-3
    # Random roll of the hand about the surface normal, radians (uniform ±).
    max_roll: float = 15 * _DEG
    # A grasp is accepted when its deepest penetration stays below this. A held object
    # keeps the grasp's penetration in every held frame, so this stays under the quality
    # gate's mean limit (2 mm), not just its max.
    max_penetration_m: float = 0.0015
    # Targets tried before giving up (cheap pre-checks reject most bad targets early).
    max_attempts: int = 5
    # With a support plane: a target whose normal is not up-facing must be at least this
    # high above it for a sideways hand to fit; lower targets are approached from above.
    min_side_height_m: float = 0.045
    # Open-hand standoff search: coarse heights over 0..12 cm, then bisection steps.
    num_height_steps: int = 13
    num_height_bisection_steps: int = 3
    # With `avoid` points: region points closer than this to them are not targeted.
    avoid_radius_m: float = 0.05
    # Lateral (key) grasp: the thickest part the thumb and the index side can hold, how far
    # from its free edge the target may be, and how many region points are examined.
    lateral_max_thickness_m: float = 0.022
    lateral_max_edge_m: float = 0.03
    lateral_num_candidates: int = 96

    def __post_init__(self) -> None:
        if self.clearance_m < 0 or self.max_penetration_m <= 0:
            raise InputError("clearance_m must be >= 0 and max_penetration_m > 0")
        if self.num_close_candidates < 2 or self.max_attempts < 1:
            raise InputError("num_close_candidates must be >= 2 and max_attempts >= 1")


@dataclass(frozen=True)
class Grasp:
    """A hand pose holding an object, in the object's canonical frame.

    Attributes:
        side: "left" or "right".
        grasp_type: one of GRASP_TYPES.
        pose: `(16, 3)` axis-angle, global orientation first (MANO joint order).
        open_pose: `(16, 3)` the pre-shape at the same wrist orientation (approach/release).
        transl: `(3,)` MANO translation, metres.
        betas: `(10,)` hand shape.
        target: `(3,)` the surface point aimed at; normal: `(3,)` the direction the hand
            arrives from: the outward normal there, or for a lateral grasp the direction
            from the gripped edge outwards (the hand slides in along the part).
        penetration_m: deepest hand vertex inside the object.
        touching: names of the hand zones within the contact threshold of the surface
            (ZONE_NAMES; a lateral grasp adds "index_side", the radial side of the index).
        touches_affordance: whether a touching vertex lies on the affordance region.
    """

    side: str
    grasp_type: str
    pose: np.ndarray
    open_pose: np.ndarray
    transl: np.ndarray
    betas: np.ndarray
    target: np.ndarray
    normal: np.ndarray
    penetration_m: float
    touching: tuple[str, ...]
    touches_affordance: bool


class GraspFailure(InputError):
    """No acceptable grasp was found on the region (too small, unreachable, ...)."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _perpendicular(n: np.ndarray) -> np.ndarray:
    helper = np.array([0.0, 0.0, 1.0]) if abs(n[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    return _unit(np.cross(n, helper))


def _rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    aa = torch.from_numpy(np.asarray(axis, np.float64) * angle)
    return axis_angle_to_matrix(aa).numpy()


class _HandFrame:
    """Rest-pose reference directions of one hand (for the given shape)."""

    def __init__(self, hand: HandModel, betas: torch.Tensor) -> None:
        rest = hand(torch.zeros(1, 16, 3), torch.zeros(1, 3), betas[None])
        joints = hand.rest_joints(betas[None])[0].double().numpy()
        verts = rest.vertices[0].double().numpy()
        zones = hand.contact_zones
        self.wrist = joints[0]
        self.palm_centre = verts[zones["palm"]].mean(axis=0)
        finger = _unit(joints[FINGER_JOINTS["middle"][0]] - joints[0])
        # Palm normal, made square to the fingers: from the skeleton (out of the palm), as the
        # mesh centroid tilts it toward the ulnar side when the rest pose is curled or the
        # thumb abducted (hand v2, real MANO). Hand v1 keeps the centroid rule, which defines
        # the SynthHOI v1 data the shipped models were trained and are evaluated on.
        if hand.asset_id == "openhoi-hand-v1":
            normal = self.palm_centre - verts.mean(axis=0)
        else:
            normal, _ = palm_axes(joints, hand.side)
        palm = _unit(normal - normal.dot(finger) * finger)
        self.finger = finger
        self.palm = palm
        self.basis = np.stack([finger, palm, np.cross(finger, palm)], axis=1)  # columns
        self.thumb = _unit(joints[FINGER_JOINTS["thumb"][0]] - joints[0])
        self.index_tip = verts[hand.tip_vertex_ids[0]]
        weights = hand.mano.lbs_weights.detach().numpy()
        dominant = weights.argmax(axis=1)
        self.dominant = dominant
        self.finger_vertices = {
            name: np.flatnonzero(np.isin(dominant, FINGER_JOINTS[name])) for name in FINGER_NAMES
        }
        self.zones = zones
        # The index's radial side (proximal and middle segments facing the thumb): what a
        # lateral grasp presses a part against. Not a palmar zone, so kept apart.
        c = np.cross(finger, palm)
        self.radial = _unit(c if c.dot(self.thumb) >= 0 else -c)
        rest_normals = vertex_normals(verts, hand.faces)
        index_sides = np.isin(dominant, FINGER_JOINTS["index"][:2])
        self.index_side = np.flatnonzero(index_sides & (rest_normals @ self.radial > 0.5))

    def zone(self, name: str) -> np.ndarray:
        """Vertex ids of a contact zone, or of the index's radial side ("index_side")."""
        return self.index_side if name == "index_side" else self.zones[name]


def _region_frame(
    points: np.ndarray,
    normals: np.ndarray,
    region: np.ndarray,
    targets: np.ndarray,
    rng: np.random.Generator,
    from_above: bool,
    wrap_axis: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target point, approach normal and main axis of the region around it.

    `targets` are the region indices allowed as aim points. With `from_above` (a thin
    object on a support plane, whose region has no up-facing or high enough point), a
    target whose normal is not up-facing is approached from above (normal replaced by
    +z): a hand turned sideways there would have to reach below the table. With
    `wrap_axis` (not along the normal) the axis is that, not the region's main direction.
    """
    candidates = np.flatnonzero(region)
    target_index = rng.choice(targets)
    target = points[target_index]
    near = candidates[np.linalg.norm(points[candidates] - target, axis=1) < 0.04]
    normal = _unit(normals[near].mean(axis=0))
    if not np.isfinite(normal).all() or np.linalg.norm(normals[near].mean(axis=0)) < 0.3:
        normal = _unit(normals[target_index])
    if from_above and normal[2] < 0.5:
        normal = np.array([0.0, 0.0, 1.0])
    local = points[near] - points[near].mean(axis=0)
    local = local - np.outer(local @ normal, normal)  # in the tangent plane
    if wrap_axis is not None and abs(float(_unit(wrap_axis) @ normal)) < 0.9:
        axis = _unit(wrap_axis)  # fingers wrap around the given axis
    elif len(near) >= 3:
        eigenvalues, eigenvectors = np.linalg.eigh(local.T @ local)
        axis = eigenvectors[:, -1]
        if eigenvalues[-1] < 1.5 * max(eigenvalues[-2], 1e-12):
            axis = _perpendicular(normal)  # round patch: any tangent will do
    else:
        axis = _perpendicular(normal)
    axis = _unit(axis - axis.dot(normal) * normal)
    return target, normal, axis


# Hand vertices farther than this outside the object's bounding box are not queried; it
# exceeds every threshold the sdf is compared with (the 2 cm contact-zone reach at most).
_CULL_MARGIN_M = 0.025


class _ObjectDistance:
    """Signed distance to an object's parts at a fixed articulation angle.

    With `floor_z`, the support plane z = floor_z counts as an obstacle too (the distance
    is the smaller of the object's and the plane's), so hands never close through a table.
    With `avoid` points (another hand's vertices), being within `avoid_margin_m` of them
    counts as touching, and closer as penetrating.
    """

    def __init__(
        self,
        obj,
        angle: float,
        floor_z: float | None = None,
        avoid: np.ndarray | None = None,
        avoid_margin_m: float = 0.008,
    ) -> None:
        self.meshes = obj.part_meshes()
        self.transforms = [
            torch.from_numpy(np.asarray(obj.part_transform(part.name, angle), np.float32))
            for part in obj.parts
        ]
        self.floor_z = floor_z
        self.avoid = None if avoid is None else torch.as_tensor(avoid, dtype=torch.float32)
        self.avoid_margin_m = avoid_margin_m
        # The object's box grown by the cull margin: points outside it are farther than the
        # margin from the surface and get sdf = margin without a query. Every caller compares
        # the sdf with thresholds below the margin, so its decisions are unchanged.
        corners = [
            np.asarray(mesh.vertices, np.float64) @ np.asarray(t[:3, :3], np.float64).T
            + np.asarray(t[:3, 3], np.float64)
            for mesh, t in zip(self.meshes, self.transforms, strict=True)
        ]
        corners = np.concatenate(corners)
        self.cull_margin_m = _CULL_MARGIN_M
        self.box_lo = torch.from_numpy(corners.min(axis=0) - self.cull_margin_m).float()
        self.box_hi = torch.from_numpy(corners.max(axis=0) + self.cull_margin_m).float()

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        flat = points.reshape(-1, 3).float()
        inside = ((flat >= self.box_lo) & (flat <= self.box_hi)).all(dim=1)
        rows = torch.nonzero(inside).flatten()
        sdf = flat.new_full((len(flat),), self.cull_margin_m)
        if len(rows):
            near = signed_distance_parts(flat[rows], self.meshes, self.transforms).sdf
            sdf = sdf.index_put((rows,), near)
        if self.floor_z is not None:
            sdf = torch.minimum(sdf, flat[:, 2] - self.floor_z)
        if self.avoid is not None:
            gap = torch.cdist(flat.detach(), self.avoid).amin(dim=1) - self.avoid_margin_m
            sdf = torch.minimum(sdf, gap)
        return sdf.reshape(points.shape[:-1])


def posed_points(obj, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """`(P, 3)` condition points and `(P, 3)` normals with the moving part at `angle`."""
    points = np.asarray(obj.points.points, np.float64).copy()
    normals = np.asarray(obj.points.normals, np.float64).copy()
    if obj.articulation is None or angle == 0.0:
        return points, normals
    part_ids = np.asarray(obj.points.part_ids)
    moving = part_ids == obj.part_index(obj.articulation.part)
    transform = np.asarray(obj.part_transform(obj.articulation.part, angle), np.float64)
    points[moving] = points[moving] @ transform[:3, :3].T + transform[:3, 3]
    normals[moving] = normals[moving] @ transform[:3, :3].T
    return points, normals


def synthesize_grasp(
    obj,
    hand: HandModel,
    region: np.ndarray,
    *,
    grasp_type: str = "power",
    rng: np.random.Generator,
    betas: np.ndarray | None = None,
    angle: float = 0.0,
    config: GraspConfig | None = None,
    floor_z: float | None = None,
    avoid: np.ndarray | None = None,
    approach: np.ndarray | None = None,
    min_approach_cos: float = 0.0,
    wrap_axis: np.ndarray | None = None,
) -> Grasp:
    """A contact-rich, non-penetrating grasp of `obj` on the points marked by `region`.

    Args:
        obj: an `openhoi.objects.HOIObject`.
        hand: the hand model (its side is the grasping hand).
        region: `(1024,)` affordance mask on `obj.points` (values ≥ 0.5 are the region).
        grasp_type: one of GRASP_TYPES.
        rng: random generator (target point, roll); same seed → same grasp.
        betas: `(10,)` hand shape; zeros when None.
        angle: articulation angle of the object, radians (the region moves with its part).
        config: settings; defaults when None.
        floor_z: height of a support plane in the object frame (0.0 for an object resting
            upright); hands stay above it. None: no plane (object held in the air).
        avoid: `(N, 3)` points (e.g. the other hand's vertices) the hand must keep clear of;
            targets near them are skipped.
        approach: `(3,)` preferred approach direction (object frame, pointing from the
            object towards the arriving hand); only targets whose normal has a cosine of
            at least `min_approach_cos` with it are aimed at. None: any direction.
        wrap_axis: `(3,)` axis (object frame) the fingers wrap around, e.g. +z for a jar
            body held low: the hand then stays as low as the region. None: the main axis
            of the region around the target (PCA).

    Raises:
        GraspFailure: no acceptable grasp in `config.max_attempts` targets.
    """
    config = config or GraspConfig()
    if grasp_type not in GRASP_TYPES:
        raise InputError(f"grasp_type must be one of {list(GRASP_TYPES)}, got {grasp_type!r}")
    region = np.asarray(region) >= AFFORDANCE_MASK_THRESHOLD
    points, normals = posed_points(obj, angle)
    if region.shape != (len(points),) or not region.any():
        raise GraspFailure(f"the affordance region of {obj.name!r} is empty; nothing to grasp")
    if avoid is not None:
        far = np.linalg.norm(points[:, None] - np.asarray(avoid)[None, ::8], axis=-1).min(axis=1)
        region = region & (far > config.avoid_radius_m)
        if not region.any():
            raise GraspFailure(f"the free part of the {obj.name!r} region is empty")
    targets = region.copy()
    if floor_z is not None:  # the underside of a resting object is out of reach
        targets &= normals[:, 2] > -0.3
    facing = np.ones(len(points), bool)
    if approach is not None:
        facing = normals @ _unit(np.asarray(approach, np.float64)) >= min_approach_cos
    betas_t = torch.zeros(10) if betas is None else torch.as_tensor(betas, dtype=torch.float32)
    frame = _HandFrame(hand, betas_t)
    distance = _ObjectDistance(obj, angle, floor_z, avoid)
    if grasp_type == "lateral":  # a key grip has its own geometry (see `_lateral_sites`)
        sites = _lateral_sites(
            distance, points, normals, np.flatnonzero(targets & facing), rng, config
        )
        if not sites:
            raise GraspFailure(
                f"no part of the {obj.name!r} region is thin enough for a lateral grasp "
                f"(at most {config.lateral_max_thickness_m * 1000:.0f} mm thick, with a free "
                f"edge within {config.lateral_max_edge_m * 1000:.0f} mm and room on both faces)"
            )
        attempts = (
            _attempt_lateral(hand, frame, distance, points, region, site, rng, betas_t, config)
            for site in sites[: config.max_attempts]
        )
    else:
        from_above = False
        if floor_z is not None:
            # A sideways hand needs room below its palm: aim at up-facing or high points,
            # and only when a thin object has none, come from above onto its low sides.
            roomy = (normals[:, 2] >= 0.5) | (points[:, 2] - floor_z >= config.min_side_height_m)
            from_above = not (targets & roomy).any()
            if not from_above:
                targets &= roomy
        targets = np.flatnonzero(targets & facing)
        if not len(targets):
            raise GraspFailure(
                f"no point of the {obj.name!r} region faces the approach direction; "
                "choose another region or approach"
            )
        attempts = (
            _attempt(
                hand,
                frame,
                distance,
                points,
                normals,
                region,
                targets,
                from_above,
                grasp_type,
                rng,
                betas_t,
                config,
                wrap_axis,
            )
            for _ in range(config.max_attempts)
        )
    best: Grasp | None = None
    for grasp in attempts:
        if grasp is None:
            continue
        if _acceptable(grasp, grasp_type, config):
            return grasp
        if best is None or grasp.penetration_m < best.penetration_m:
            best = grasp
    raise _no_grasp(obj, hand, grasp_type, config, best)


def _no_grasp(obj, hand, grasp_type: str, config: GraspConfig, best: Grasp | None):
    detail = (
        "no placement reached the surface"
        if best is None
        else f"best attempt: penetration {best.penetration_m * 1000:.1f} mm, "
        f"touching {list(best.touching)}, on region: {best.touches_affordance}"
    )
    return GraspFailure(
        f"no acceptable {grasp_type} grasp of {obj.name!r} for the {hand.side} hand in "
        f"{config.max_attempts} attempts ({detail})"
    )


def _acceptable(grasp: Grasp, grasp_type: str, config: GraspConfig) -> bool:
    required = _REQUIRED_CONTACTS[grasp_type]
    # A key grip holds only when the part is squeezed between the thumb and the index side.
    pair = grasp_type != "lateral" or {"thumb", "index_side"} <= set(grasp.touching)
    return (
        grasp.penetration_m <= config.max_penetration_m
        and len(grasp.touching) >= required
        and pair
        and grasp.touches_affordance
    )


def _orientation(
    frame: _HandFrame,
    normal: np.ndarray,
    axis: np.ndarray,
    grasp_type: str,
    rng: np.random.Generator,
    config: GraspConfig,
) -> np.ndarray:
    """World rotation of the hand: palm onto the surface, fingers across the axis."""
    if grasp_type == "poke":
        # Index finger points into the surface; the palm faces along the axis.
        fingers, palm = -normal, axis
    else:
        fingers, palm = _unit(np.cross(axis, normal)), -normal
    target = np.stack([fingers, palm, np.cross(fingers, palm)], axis=1)
    rotation = target @ frame.basis.T
    # Prefer the thumb pointing up (natural for bottles, mugs, handles); flip otherwise.
    if (rotation @ frame.thumb)[2] < -0.2:
        rotation = _rotation_about(normal, np.pi) @ rotation
    roll = rng.uniform(-config.max_roll, config.max_roll)
    return _rotation_about(normal, roll) @ rotation


def _preshape(hand: HandModel, grasp_type: str) -> torch.Tensor:
    """(15, 3) anatomical angles of the open hand before closing."""
    angles = torch.zeros(15, 3)
    angles[:, 0] = 8 * _DEG  # relaxed flexion
    thumb = FINGER_JOINTS["thumb"]
    angles[thumb[0] - 1, 0] = 15 * _DEG
    angles[thumb[0] - 1, 1] = 25 * _DEG  # abduct the thumb away from the palm plane
    if grasp_type == "poke":
        # A pointing fist: the index tip must be the first thing to reach the surface.
        upper = hand.limit_upper.float()
        for finger in ("middle", "ring", "pinky", "thumb"):
            fraction = 0.9 if finger != "thumb" else 0.5
            for joint in FINGER_JOINTS[finger]:
                angles[joint - 1, 0] = fraction * upper[joint - 1, 0]
        for joint in FINGER_JOINTS["index"]:
            angles[joint - 1, 0] = 0.0
    return angles


def _attempt(
    hand, frame, distance, points, normals, region, targets, from_above, grasp_type, rng,
    betas, config, wrap_axis=None,
):  # fmt: skip
    target, normal, axis = _region_frame(
        points, normals, region, targets, rng, from_above, wrap_axis
    )
    rotation = _orientation(frame, normal, axis, grasp_type, rng, config)
    global_orient = matrix_to_axis_angle(torch.from_numpy(rotation)).float()
    open_angles = _preshape(hand, grasp_type)
    lower, upper = hand.limit_lower.float(), hand.limit_upper.float()

    def pose_from(angles: torch.Tensor) -> torch.Tensor:
        pose = hand.pose_from_anatomical_angles(angles.reshape(-1, 15, 3))
        pose = pose.clone()
        pose[:, 0] = global_orient
        return pose

    anchor = frame.index_tip if grasp_type == "poke" else frame.palm_centre

    def transl_for(height: np.ndarray) -> torch.Tensor:
        # MANO rotates about the rest wrist joint: x = R (x_rest - J0) + J0 + transl.
        placed = target[None] + height[:, None] * normal[None]
        offset = rotation @ (anchor - frame.wrist) + frame.wrist
        return torch.from_numpy(placed - offset[None]).float()

    # 3. Slide along the normal until the open hand clears the surface: the support plane
    # is checked on all coarse heights first (cheap), the signed distance only where the
    # plane is clear, then bisection between the last blocked and first clear height.
    open_pose = pose_from(open_angles[None])

    def is_clear(heights: np.ndarray) -> np.ndarray:
        num = len(heights)
        verts = hand(open_pose.expand(num, 16, 3), transl_for(heights), betas.expand(num, 10))
        verts = verts.vertices
        clear = np.ones(num, bool)
        if distance.floor_z is not None:
            clear &= (verts[..., 2].amin(dim=1) - distance.floor_z >= config.clearance_m).numpy()
        rows = np.flatnonzero(clear)
        if len(rows):
            gap = distance(verts[torch.from_numpy(rows)]).amin(dim=1).numpy()
            clear[rows] = gap >= config.clearance_m
        return clear

    with torch.no_grad():
        heights = np.linspace(0.0, 0.12, config.num_height_steps)
        clear = is_clear(heights)
        if not clear.any():
            return None
        first = int(np.argmax(clear))
        low, height = (heights[first - 1], heights[first]) if first else (0.0, 0.0)
        for _ in range(config.num_height_bisection_steps if first else 0):
            mid = 0.5 * (low + height)
            if is_clear(np.array([mid]))[0]:
                height = mid
            else:
                low = mid
    if grasp_type == "pinch":
        height += config.pinch_standoff_m
    transl = transl_for(np.array([height]))[0]

    # 4. Close each finger along its flexion path until it touches.
    closed = open_angles.clone()
    for finger in FINGER_NAMES:
        for joint in FINGER_JOINTS[finger]:
            fraction = _CLOSE_FRACTION[grasp_type][finger]
            closed[joint - 1, 0] = open_angles[joint - 1, 0] + fraction * (
                upper[joint - 1, 0] - open_angles[joint - 1, 0]
            )
    if grasp_type == "pinch" or grasp_type == "power":
        # Oppose the thumb: swing it across the palm while it flexes.
        closed[FINGER_JOINTS["thumb"][0] - 1, 1] = upper[FINGER_JOINTS["thumb"][0] - 1, 1]
    amount = _close_fingers(
        hand, frame, distance, pose_from, transl, betas, open_angles, closed, config
    )
    angles = _blend(open_angles, closed, amount)

    # 5. Short refinement of finger angles and wrist translation.
    angles, transl = _refine(
        hand, frame, distance, pose_from, angles, transl, betas, lower, upper, grasp_type, config
    )
    pose = pose_from(angles)[0]
    # 6. A hand still pressed in backs off along the normal by its depth (contact counts
    # within CONTACT_THRESHOLD_M, so a small gap keeps the touching zones).
    with torch.no_grad():
        verts = hand(pose[None], transl[None], betas[None]).vertices[0]
        depth = float((-distance(verts)).clamp_min(0.0).max())
    if depth > 0.5 * config.max_penetration_m:
        transl = transl + torch.from_numpy(normal * (depth + 0.0005)).float()
    return _measure(
        points,
        hand,
        frame,
        distance,
        pose,
        pose_from(open_angles)[0],
        transl,
        betas,
        target,
        normal,
        region,
        grasp_type,
    )


def _blend(open_angles: torch.Tensor, closed: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Angles with finger f closed by `amount[f]` ∈ [0, 1] along open → closed."""
    per_joint = torch.zeros(15, 1)
    for k, finger in enumerate(FINGER_NAMES):
        for joint in FINGER_JOINTS[finger]:
            per_joint[joint - 1] = amount[k]
    return open_angles + per_joint * (closed - open_angles)


def _close_fingers(hand, frame, distance, pose_from, transl, betas, open_angles, closed, config):
    """Per finger, the largest closure in [0, 1] before its vertices reach the surface."""
    num = config.num_close_candidates
    grid = torch.linspace(0.0, 1.0, num)
    # All fingers share the candidate closure of one batch row; fingers skin independently.
    angles = torch.stack([_blend(open_angles, closed, torch.full((5,), float(s))) for s in grid])
    verts = hand(pose_from(angles), transl.expand(num, 3), betas.expand(num, 10)).vertices
    sdf = distance(verts)  # (num, V)
    low = torch.zeros(5)
    high = torch.ones(5)
    for k, finger in enumerate(FINGER_NAMES):
        finger_min = sdf[:, frame.finger_vertices[finger]].amin(dim=1)
        touching = torch.nonzero(finger_min < 0.0).flatten()
        if touching.numel():
            first = int(touching[0])
            low[k] = grid[max(first - 1, 0)]
            high[k] = grid[first]
            if first == 0:
                high[k] = 0.0  # already touching when open: keep it open
        else:
            low[k] = high[k] = 1.0
    # Bisection on all fingers at once between the last free and the first touching closure.
    for _ in range(config.num_bisection_steps):
        mid = 0.5 * (low + high)
        verts = hand(pose_from(_blend(open_angles, closed, mid)[None]), transl[None], betas[None])
        sdf = distance(verts.vertices)[0]
        for k, finger in enumerate(FINGER_NAMES):
            if low[k] == high[k]:
                continue
            if sdf[frame.finger_vertices[finger]].min() < 0.0:
                high[k] = mid[k]
            else:
                low[k] = mid[k]
    return low


def _refine(
    hand, frame, distance, pose_from, angles, transl, betas, lower, upper, grasp_type, config
):
    """Adam on finger angles and translation: penetration, contact and joint limits."""
    if config.num_refine_steps == 0:
        return angles, transl
    zone_ids = [frame.zone(name) for name in _PREFERRED_ZONES[grasp_type]]
    angles = angles.clone().requires_grad_(True)
    shift = torch.zeros(3, requires_grad=True)
    optimizer = torch.optim.Adam([angles, shift], lr=config.refine_learning_rate)
    for _ in range(config.num_refine_steps):
        optimizer.zero_grad()
        verts = hand(pose_from(angles), (transl + shift)[None], betas[None]).vertices[0]
        sdf = distance(verts)
        penetration = torch.relu(-sdf).pow(2).sum()
        # Pull each preferred zone's closest vertex onto the surface (if it is near already).
        zone_gap = torch.stack([sdf[ids].min() for ids in zone_ids])
        near = (zone_gap < 0.02).float()
        contact = (near * zone_gap.clamp_min(0.0).pow(2)).sum()
        excess = torch.relu(angles - upper) + torch.relu(lower - angles)
        # Converged: nothing deeper than a quarter of the acceptance depth and every near
        # zone within half the contact threshold; further steps would only jitter.
        if (
            float(sdf.detach().min()) > -0.25 * config.max_penetration_m
            and float((near * zone_gap.detach()).max()) < 0.5 * CONTACT_THRESHOLD_M
            and float(excess.detach().max()) == 0.0
        ):
            break
        loss = 200.0 * penetration + 20.0 * contact + 0.1 * excess.pow(2).sum()
        loss = loss + 10.0 * shift.pow(2).sum()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        clamped = torch.maximum(torch.minimum(angles, upper), lower)
    return clamped.detach(), (transl + shift).detach()


def _measure(
    points,
    hand,
    frame,
    distance,
    pose,
    open_pose,
    transl,
    betas,
    target,
    normal,
    region,
    grasp_type,
):
    with torch.no_grad():
        verts = hand(pose[None], transl[None], betas[None]).vertices[0]
        query = signed_distance_parts(verts.float(), distance.meshes, distance.transforms)
        # Floor and other-hand obstacles count as penetration, never as contact.
        obstacle_depth = float((-distance(verts)).clamp_min(0.0).max())
    sdf = query.sdf.numpy()
    touching = tuple(
        name for name, ids in frame.zones.items() if sdf[ids].min() < CONTACT_THRESHOLD_M
    )
    if grasp_type == "lateral" and sdf[frame.index_side].min() < CONTACT_THRESHOLD_M:
        touching = (*touching, "index_side")
    contact_points = query.closest.numpy()[sdf < CONTACT_THRESHOLD_M]
    region_points = np.asarray(points)[region]
    on_region = False
    if len(contact_points):
        gaps = np.linalg.norm(contact_points[:, None] - region_points[None], axis=-1).min(axis=1)
        on_region = bool((gaps < AFFORDANCE_CONTACT_RADIUS_M).any())
    return Grasp(
        side=hand.side,
        grasp_type=grasp_type,
        pose=pose.detach().numpy().astype(np.float32),
        open_pose=open_pose.detach().numpy().astype(np.float32),
        transl=transl.numpy().astype(np.float32),
        betas=betas.numpy().astype(np.float32),
        target=target.astype(np.float32),
        normal=normal.astype(np.float32),
        penetration_m=float(max(0.0, -sdf.min(), obstacle_depth)),
        touching=touching,
        touches_affordance=on_region,
    )


# Lateral (key) grasp -----------------------------------------------------------------------
# A thin part (a handle's top bar, a headband, a lid edge, a card) is squeezed between the
# thumb pad and the radial side of the curled index. The normal-approach synthesiser above
# cannot make it: the hand must arrive along the part, past its free edge, with the index
# below the far face and the thumb above the near one, and then only the thumb closes.

# Pre-shape, anatomical degrees: the index curled so its middle segment's radial side is a
# ledge; the other fingers in a loose fist; the thumb raised above the ledge. Closing swings
# the thumb pad down onto it (found by a search over the shipped hand asset's thumb range:
# the pad descends from 23 mm above the ledge to touching it along this path).
_LATERAL_INDEX_FLEXION = (60.0, 80.0, 30.0)  # MCP, PIP, DIP
_LATERAL_FIST_FRACTION = 0.85  # middle, ring, pinky: fraction of their flexion range
# Thumb: CMC (flexion, abduction, twist), MCP flexion, IP flexion.
_LATERAL_THUMB_OPEN = ((0.0, -30.0, -25.0), 30.0, 0.0)
_LATERAL_THUMB_CLOSED = ((28.0, 6.0, 5.0), 0.0, 10.0)


@dataclass(frozen=True)
class _LateralSite:
    """Where a key grip can hold a part: thumb-side surface point, its outward normal, the
    unit tangent from it towards the nearest free edge, the part's thickness there and the
    distance to that edge (metres)."""

    target: np.ndarray
    normal: np.ndarray
    edge: np.ndarray
    thickness: float
    edge_distance: float


def _lateral_preshape(hand: HandModel, thumb) -> torch.Tensor:
    """(15, 3) anatomical angles of a key grip with the thumb at `thumb` (see above)."""
    angles = torch.zeros(15, 3)
    upper = hand.limit_upper.float()
    for joint, degrees in zip(FINGER_JOINTS["index"], _LATERAL_INDEX_FLEXION, strict=True):
        angles[joint - 1, 0] = degrees * _DEG
    for finger in ("middle", "ring", "pinky"):
        for joint in FINGER_JOINTS[finger]:
            angles[joint - 1, 0] = _LATERAL_FIST_FRACTION * upper[joint - 1, 0]
    cmc, mcp, ip = FINGER_JOINTS["thumb"]
    angles[cmc - 1] = torch.tensor(thumb[0]) * _DEG
    angles[mcp - 1, 0] = thumb[1] * _DEG
    angles[ip - 1, 0] = thumb[2] * _DEG
    return torch.maximum(torch.minimum(angles, upper), hand.limit_lower.float())


def _lateral_sites(
    distance, points, normals, targets, rng, config: GraspConfig
) -> list[_LateralSite]:
    """Region points where a thin part with a free edge can be held in a key grip.

    Per candidate point x with outward normal n: march into the part along −n to its far
    face (thickness t ≤ the configured maximum); require room for the index beyond the far
    face and for the thumb above x; find the nearest free edge among 12 tangent directions
    (within the configured distance); require a clear corridor beyond that edge at the
    thumb, part and index levels for the arriving hand. The floor and `avoid` points of
    `distance` count as obstacles throughout. Returned in random order.
    """
    if len(targets) > config.lateral_num_candidates:
        targets = rng.choice(targets, config.lateral_num_candidates, replace=False)
    x = points[targets]
    n = normals[targets]
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    count = len(x)
    arange = np.arange(count)

    def query(q: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return distance(torch.from_numpy(np.ascontiguousarray(q)).float()).numpy()

    # Thickness: first free sample after entering the part along −n.
    depth = np.arange(1, 31) * 1e-3
    sdf = query(x[:, None] - depth[None, :, None] * n[:, None])
    inside = sdf < 0.0
    first_in = inside.argmax(axis=1)
    exits = ~inside & (sdf > 5e-4) & (np.arange(len(depth))[None] > first_in[:, None])
    ok = inside[:, :4].any(axis=1) & exits.any(axis=1)
    thickness = depth[exits.argmax(axis=1)]
    ok &= thickness <= config.lateral_max_thickness_m
    # Room for the index beyond the far face, and for the thumb above x.
    below = thickness[:, None] + np.array([0.003, 0.008, 0.013, 0.018])[None]
    ok &= (query(x[:, None] - below[..., None] * n[:, None]) > 1e-3).all(axis=1)
    above = np.array([0.004, 0.012, 0.02])
    ok &= (query(x[:, None] + above[None, :, None] * n[:, None]) > 1e-3).all(axis=1)
    # Nearest free edge, marched at mid-thickness.
    helper = np.where(np.abs(n[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    a = np.cross(n, helper)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(n, a)
    theta = np.arange(12) * (2 * np.pi / 12)
    dirs = np.cos(theta)[None, :, None] * a[:, None] + np.sin(theta)[None, :, None] * b[:, None]
    mid = x - 0.5 * thickness[:, None] * n
    steps = np.arange(1, 16) * 2e-3
    out = query(mid[:, None, None] + steps[None, None, :, None] * dirs[:, :, None]) > 5e-4
    edge_distance = np.where(out.any(axis=2), steps[out.argmax(axis=2)], np.inf)
    best = edge_distance.argmin(axis=1)
    edge = dirs[arange, best]
    edge_distance = edge_distance[arange, best]
    ok &= edge_distance <= config.lateral_max_edge_m
    # A clear corridor beyond the edge for the hand sliding in along the part.
    beyond = (
        np.where(np.isfinite(edge_distance), edge_distance, 0.0)[:, None]
        + np.array([0.012, 0.03, 0.06])[None]
    )
    t = thickness[:, None]
    levels = np.stack([0.012 * n, -0.5 * t * n, -(t + 0.01) * n], axis=1)  # thumb, part, index
    corridor = x[:, None, None] + levels[:, :, None]
    corridor = corridor + beyond[:, None, :, None] * edge[:, None, None]
    ok &= (query(corridor) > 2e-3).all(axis=(1, 2))
    order = rng.permutation(np.flatnonzero(ok))
    return [
        _LateralSite(x[i], n[i], edge[i], float(thickness[i]), float(edge_distance[i]))
        for i in order
    ]


def _attempt_lateral(hand, frame, distance, points, region, site, rng, betas, config):
    n, e = site.normal, site.edge
    # Fingers point from outside the edge into the part, the radial side (thumb) along n;
    # the palm then faces along the edge line. A small random roll about n.
    c = np.cross(frame.finger, frame.palm)
    c_world = n if c.dot(frame.radial) > 0 else -n
    fingers = -e
    target_basis = np.stack([fingers, np.cross(c_world, fingers), c_world], axis=1)
    rotation = target_basis @ frame.basis.T
    rotation = _rotation_about(n, rng.uniform(-config.max_roll, config.max_roll)) @ rotation
    global_orient = matrix_to_axis_angle(torch.from_numpy(rotation)).float()
    open_angles = _lateral_preshape(hand, _LATERAL_THUMB_OPEN)
    closed = _lateral_preshape(hand, _LATERAL_THUMB_CLOSED)
    lower, upper = hand.limit_lower.float(), hand.limit_upper.float()

    def pose_from(angles: torch.Tensor) -> torch.Tensor:
        pose = hand.pose_from_anatomical_angles(angles.reshape(-1, 15, 3)).clone()
        pose[:, 0] = global_orient
        return pose

    # The ledge: radial-side vertices of the index's middle segment in the pre-shape.
    with torch.no_grad():
        local = (
            hand(
                hand.pose_from_anatomical_angles(open_angles[None]), torch.zeros(1, 3), betas[None]
            )
            .vertices[0]
            .double()
            .numpy()
        )
    middle_segment = frame.dominant[frame.index_side] == FINGER_JOINTS["index"][1]
    anchor = local[frame.index_side[middle_segment]].mean(axis=0)
    # Place the ledge just beyond the far face under the target, then back off along the
    # edge direction and away from the part until the open hand is clear.
    goal = site.target - (site.thickness + config.clearance_m) * n
    offset = rotation @ (anchor - frame.wrist) + frame.wrist
    max_slide = max(site.edge_distance - 0.004, 0.0)
    shifts = [
        (u, v)
        for u in (0.0, 0.003, 0.006, 0.009, 0.012)
        for v in (0.0, 0.002, 0.004, 0.006)
        if u <= max_slide
    ]
    shifts.sort(key=lambda uv: uv[0] + 2.0 * uv[1])
    placed = np.stack([goal + u * e - v * n for u, v in shifts])
    transl_all = torch.from_numpy(placed - offset[None]).float()
    open_pose = pose_from(open_angles[None])
    with torch.no_grad():
        num = len(shifts)
        verts = hand(open_pose.expand(num, 16, 3), transl_all, betas.expand(num, 10)).vertices
        clear = distance(verts).amin(dim=1) >= 0.0
    if not bool(clear.any()):
        return None
    transl = transl_all[int(torch.nonzero(clear)[0])]

    amount = _close_fingers(
        hand, frame, distance, pose_from, transl, betas, open_angles, closed, config
    )
    angles = _blend(open_angles, closed, amount)
    angles, transl = _refine(
        hand, frame, distance, pose_from, angles, transl, betas, lower, upper, "lateral", config
    )
    pose = pose_from(angles)[0]
    with torch.no_grad():
        verts = hand(pose[None], transl[None], betas[None]).vertices[0]
        depth = float((-distance(verts)).clamp_min(0.0).max())
    if depth > 0.5 * config.max_penetration_m:  # slide out along the part by the depth
        transl = transl + torch.from_numpy(e * (depth + 0.0005)).float()
    return _measure(
        points, hand, frame, distance, pose, pose_from(open_angles)[0], transl, betas,
        site.target, e, region, "lateral",
    )  # fmt: skip
