"""Hand asset v2 ("openhoi-hand-v2"): an anatomical hand on the v1 topology.

    python tools/build_hand_asset.py --version v2     # writes openhoi/assets/hand_v2/

Same file format, vertex count (778), faces and 16-joint tree as v1 (the topology, skinning,
joint regressor, shape space and assembly come from `build_hand_asset`); what changes is
where the vertices go and the pose correctives:

- Fingers follow curved chains (a relaxed rest pose, flexed a little at every joint, like
  MANO's template). Their cross-sections are fuller on the palmar side between the joint
  creases (finger pads), bulge dorsally at the knuckles and flatten under the nail; every
  finger ends in a rounded cap (three rings on a spheroid, the tip vertex at its pole)
  instead of v1's single-vertex cone.
- The palm has thenar and hypothenar eminences, a hollow centre, pads under the knuckles,
  dorsal knuckle bumps, a transverse arch, and webs between the fingers (the spaces between
  the finger bases sit distal and palmar of the knuckle line).
- The thumb leaves the thenar distally, radially and palmar (a CMC axis that allows
  opposition): its pad faces the bend direction of `openhoi.hand.limits` (palm normal
  turned toward the little finger), and its rest pose is flexed slightly toward the index.
- The whole surface is then smoothed with Taubin's lambda|mu filter (uniform Laplacian,
  which does not shrink), a linear map, so the shape space stays consistent.
- Pose correctives (posedirs) are fitted per finger joint by least squares to a
  rotation-interpolation target: a vertex with weight s on the rotating part of the finger
  is rotated by s * theta about the joint, instead of LBS's blend of the unrotated and
  rotated positions, which pulls the flexion side toward the joint axis and collapses it.
  The offset d that makes LBS(v + d) hit that target, d = ((1-s) I + s R)^-1 (target -
  LBS(v)), is sampled over flexion, abduction and twist angles and regressed on the MANO
  pose feature vec(R - I).

Design coordinates as in v1: a distal (from the wrist), b radial (toward the thumb),
c dorsal; `build_hand_asset.to_world` maps them to MANO's frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from build_hand_asset import (
    FINGERS,
    NUM_WIDTH_CELLS,
    PALM_RING_FRACTIONS,
    HandParams,
    Skeleton,
    Topology,
    build_topology,
    finger_lengths,
    finite_difference_shapedirs,
    hand_meta,
    joint_regressor,
    knuckle_line,
    mano_arrays,
    orient_outward,
    palm_section,
    skinning_weights,
    to_world,
)

from openhoi.hand.constants import (
    FINGER_JOINTS,
    FINGER_NAMES,
    MANO_NUM_VERTICES,
    NUM_FINGER_JOINTS,
    NUM_JOINTS,
    PARENTS,
)
from openhoi.hand.limits import anatomical_frames

ASSET_ID = "openhoi-hand-v2"

# ---- fingers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FingerV2:
    """One finger of v2: MCP placement, rest curl, bones and cross-section radii."""

    splay_deg: float  # rotation toward the thumb within the palm plane
    mcp_dorsal: float  # c of the MCP (m): the transverse metacarpal arch
    rest_flexion_deg: tuple[float, float, float]  # MCP, PIP, DIP at rest
    lengths: tuple[float, float, float]  # MCP→PIP, PIP→DIP, DIP→tip (m)
    radii: tuple[float, float, float, float]  # half-widths at MCP, PIP, DIP, distal pad (m)


# MANO order index, middle, pinky, ring; adult proportions (wrist→middle tip ≈ 18.5 cm).
FINGERS_V2 = {
    "index": FingerV2(
        4.0, -0.0015, (6.0, 12.0, 8.0), (0.042, 0.025, 0.023), (0.0118, 0.0106, 0.0094, 0.0090)
    ),
    "middle": FingerV2(
        0.5, 0.0, (7.0, 13.0, 8.0), (0.047, 0.029, 0.024), (0.0120, 0.0108, 0.0096, 0.0091)
    ),
    "pinky": FingerV2(
        -7.5, -0.0045, (9.0, 15.0, 9.0), (0.033, 0.019, 0.020), (0.0100, 0.0090, 0.0080, 0.0076)
    ),
    "ring": FingerV2(
        -3.0, -0.0015, (8.0, 14.0, 8.0), (0.044, 0.028, 0.023), (0.0114, 0.0102, 0.0091, 0.0087)
    ),
}
# Rings along a finger (10 = the topology's count): (segment, fraction) stations on the
# proximal, middle and distal bones, then three rings on the tip cap (polar angles from the
# finger axis, degrees); the tip vertex is the cap's pole.
FINGER_STATIONS_V2 = ((0, 0.3), (0, 0.65), (0, 1.0), (1, 0.38), (1, 0.72), (1, 1.0), (2, 0.32))
THUMB_STATIONS_V2 = ((0, 0.35), (0, 0.7), (0, 1.0), (1, 0.38), (1, 0.72), (1, 1.0), (2, 0.32))
CAP_POLAR_DEG = (68.0, 44.0, 22.0)
PALMAR_FULLNESS = 1.12  # palmar half-thickness / half-width on the pads
DORSAL_FLATNESS = 0.80  # dorsal half-thickness / half-width (1: round)
NAIL_FLATNESS = 0.62  # dorsal half-thickness on the distal segment and cap (the nail bed)
PAD_BULGE = 0.10  # palmar fullness added mid-segment, removed at the joint creases
KNUCKLE_BULGE = 0.08  # dorsal fullness added at the joints
CAP_PALMAR_SHIFT = 0.18  # the cap centre sits this × pad radius toward the palmar side
OPENING_KEEP_V2 = 0.5  # first ring keeps this much of its opening's shape

# ---- thumb (design coordinates; × palm_length, palm_width, palm_thickness for the CMC) ------
THUMB_CMC_V2 = (0.25, 0.22, -0.30)
THUMB_METACARPAL_DIRECTION = (0.68, 0.64, -0.40)
THUMB_REST_FLEXION_DEG = (0.0, 12.0, 10.0)  # CMC (none: the direction sets it), MCP, IP
THUMB_LENGTHS_V2 = (0.044, 0.032, 0.029)
THUMB_RADII_V2 = (0.0170, 0.0128, 0.0115, 0.0104)  # metacarpal (thenar), MCP, IP, pad
THUMB_PAD_TOWARD_ULNAR_DEG = 45.0  # the thumb pad faces the palm normal turned this far

# ---- palm --------------------------------------------------------------------------------
PALM_WIDTH_PROFILE_V2 = ((0.0, 0.25, 0.55, 1.0), (0.74, 0.90, 0.99, 1.0))  # × palm_width
PALM_THICK_PROFILE_V2 = ((0.0, 0.3, 0.7, 1.0), (1.20, 1.12, 0.98, 0.90))  # × palm_thickness
PALM_POWER_V2 = 2.3  # superellipse exponent of the palm section (2: ellipse)
# Palmar bumps: (centre a × palm_length, centre b × palm_width/2, sigma a, sigma b (same
# units), height m). Thenar and hypothenar eminences, the pads under the knuckles; a
# negative height hollows the centre of the palm.
PALM_BUMPS = (
    (0.28, 0.60, 0.22, 0.50, 0.0080),  # thenar
    (0.40, -0.70, 0.28, 0.32, 0.0055),  # hypothenar
    (0.95, 0.0, 0.10, 1.6, 0.0030),  # distal palmar pads under the MCPs
    (0.55, 0.05, 0.18, 0.35, -0.0025),  # hollow of the palm
)
DORSAL_KNUCKLE_HEIGHT = 0.0028  # m, bumps over the MCPs on the back of the hand
DORSAL_KNUCKLE_SIGMA = (0.06, 0.0045)  # (a × palm_length, b in m)
TRANSVERSE_ARCH = 0.0045  # m: the radial and ulnar palm edges sit this much palmar
PALM_EDGE_KNUCKLE_V2 = (0.86, 0.74)  # radial / ulnar palm edge end, × palm_length
WEB_DISTAL = 0.016  # m: the webs between fingers sit this much beyond the knuckle line
WEB_PALMAR = 0.0045  # m: ... and this much toward the palm
WRIST_END_A_V2 = -0.010  # the mesh ends this far proximal of the wrist joint
WRIST_CAP_BULGE_V2 = 0.004

# ---- smoothing, skinning, correctives ------------------------------------------------------
TAUBIN_STEPS = 12
TAUBIN_LAMBDA, TAUBIN_MU = 0.5, -0.53
FINGER_BLEND_V2 = (0.013, 0.011, 0.009)  # wider than v1: the correctives shape the bend
THUMB_BLEND_V2 = (0.015, 0.010, 0.008)
CORRECTIVE_FLEXION_DEG = (-20.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0, 105.0)
CORRECTIVE_SIDE_DEG = (-25.0, -12.0, 12.0, 25.0)  # abduction and twist samples
CORRECTIVE_RIDGE = 1e-4  # Tikhonov weight on the corrective coefficients (m per unit feature)


# =========================== geometry =======================================================


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _rotate(vector: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation of `vector` (3,) about the unit `axis` (3,) by `angle` radians."""
    return (vector * math.cos(angle) + np.cross(axis, vector) * math.sin(angle)
            + axis * axis.dot(vector) * (1 - math.cos(angle)))  # fmt: skip


@dataclass(frozen=True)
class Chain:
    """A curved finger chain: joints (3, 3), tip (3,), bone directions (3, 3) and the
    flexion axis (3,), design coordinates."""

    joints: np.ndarray
    tip: np.ndarray
    directions: np.ndarray
    axis: np.ndarray


def _curved_chain(base, direction, bend, lengths, flexion_deg) -> Chain:
    """Joints of a chain from `base` along `direction`, each bone turned further toward
    `bend` by its joint's rest flexion."""
    direction = _unit(np.asarray(direction, dtype=float))
    axis = _unit(np.cross(direction, bend))
    joints, directions = [np.asarray(base, dtype=float)], []
    angle = 0.0
    for n, length in enumerate(lengths):
        angle += math.radians(flexion_deg[n])
        directions.append(_rotate(direction, axis, angle))
        joints.append(joints[-1] + length * directions[-1])
    return Chain(np.array(joints[:3]), joints[3], np.array(directions), axis)


def _station_frames(chain: Chain, stations) -> tuple[np.ndarray, np.ndarray]:
    """Centres (S, 3) and tangents (S, 3) of rings at (segment, fraction) stations; a ring
    on a joint is perpendicular to the bisector of its two bones."""
    centers, tangents = [], []
    lengths = np.linalg.norm(np.diff(np.vstack([chain.joints, chain.tip]), axis=0), axis=1)
    for segment, fraction in stations:
        centers.append(chain.joints[segment] + fraction * lengths[segment] * chain.directions[
            segment])  # fmt: skip
        tangent = chain.directions[segment]
        if fraction == 1.0 and segment < 2:
            tangent = _unit(tangent + chain.directions[segment + 1])
        tangents.append(tangent)
    return np.array(centers), np.array(tangents)


def _ring_frame(tangent: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """e1 (sideways, toward the thumb for a finger), e2 (dorsal) across a ring."""
    e2 = _unit(np.cross(axis, tangent))  # away from the bend side: dorsal
    e1 = np.cross(e2, tangent)
    return e1, e2


def _section(angles: np.ndarray, half_width: float, palmar: float, dorsal: float) -> np.ndarray:
    """(n, 2) cross-section points at `angles`: an ellipse with different palmar/dorsal
    half-thicknesses (in units of the half-width) and a flatter dorsal side."""
    cos, sin = np.cos(angles), np.sin(angles)
    thickness = np.where(sin > 0, dorsal, palmar)
    # Dorsal side: superellipse (flatter, like the back of a finger / a nail).
    dorsal_sin = np.sign(sin) * np.abs(sin) ** 0.8
    across = np.where(sin > 0, dorsal_sin, sin)
    return half_width * np.stack([cos, thickness * across], axis=1)


def _tube(loop_points, chain: Chain, stations, radii, pad_radius) -> np.ndarray:
    """(10, n, 3) ring vertices of a finger / the thumb: stations then the tip cap."""
    centers, tangents = _station_frames(chain, stations)
    e1, e2 = _ring_frame(tangents[0], chain.axis)
    offsets = loop_points - loop_points.mean(axis=0)
    angles = np.arctan2(offsets @ e2, offsets @ e1)
    rings = []
    for n, ((segment, fraction), center, tangent) in enumerate(
        zip(stations, centers, tangents, strict=True)
    ):
        e1, e2 = _ring_frame(tangent, chain.axis)
        position = segment + fraction  # 0 = MCP, 1 = PIP, 2 = DIP along the finger
        half_width = float(np.interp(position, (0.0, 1.0, 2.0, 2.5), radii))
        to_joint = min(abs(position - round(position)), 0.5)  # 0 at a joint, 0.5 mid-bone
        pad = 1 + PAD_BULGE * (8 * to_joint * (1 - to_joint) - 1)  # -1 at joints, +1 mid-bone
        knuckle = 1 + KNUCKLE_BULGE * max(0.0, 1 - to_joint / 0.2)
        dorsal = (NAIL_FLATNESS if segment == 2 else DORSAL_FLATNESS) * knuckle
        section = _section(angles, half_width, PALMAR_FULLNESS * pad, dorsal)
        ring = center + section[:, :1] * e1 + section[:, 1:] * e2
        if n == 0:
            ring = OPENING_KEEP_V2 * (center + offsets) + (1 - OPENING_KEEP_V2) * ring
        rings.append(ring)
    # Tip cap: a spheroid whose pole is the fingertip, its centre shifted to the pad side.
    tangent = chain.directions[2]
    e1, e2 = _ring_frame(tangent, chain.axis)
    center = chain.tip - pad_radius * tangent - CAP_PALMAR_SHIFT * pad_radius * e2
    for polar in CAP_POLAR_DEG:
        phi = math.radians(polar)
        section = _section(angles, pad_radius * math.sin(phi), PALMAR_FULLNESS, NAIL_FLATNESS)
        along = pad_radius * math.cos(phi)
        rings.append(center + along * tangent + section[:, :1] * e1 + section[:, 1:] * e2)
    return np.array(rings)


def _palm_width(p: HandParams, fraction: float) -> float:
    return p.palm_width * float(np.interp(fraction, *PALM_WIDTH_PROFILE_V2))


def _palm_ring(p: HandParams, fraction: float, knuckle, finger_b) -> np.ndarray:
    """(RING_SIZE, 3) palm ring: superellipse section, arch, eminences, dorsal knuckles."""
    width = _palm_width(p, fraction)
    thick = p.palm_thickness * float(np.interp(fraction, *PALM_THICK_PROFILE_V2))
    points = []
    for b, c in palm_section(width, thick, PALM_POWER_V2):
        a_knuckle = knuckle(b)
        a = WRIST_END_A_V2 + fraction * (a_knuckle - WRIST_END_A_V2)
        side = 2 * b / p.palm_width  # -1 ulnar edge … +1 radial edge
        c -= TRANSVERSE_ARCH * side**2
        if c < 0:  # palmar surface
            for ca, cb, sa, sb, height in PALM_BUMPS:
                da = (a / p.palm_length - ca) / sa
                db = (side - cb) / sb
                c -= height * math.exp(-0.5 * (da * da + db * db)) * min(1.0, -2 * c / thick)
        else:  # dorsal surface: knuckle bumps near the MCPs
            for finger_b_value in finger_b.values():
                da = (a - a_knuckle) / (DORSAL_KNUCKLE_SIGMA[0] * p.palm_length)
                db = (b - finger_b_value) / DORSAL_KNUCKLE_SIGMA[1]
                c += DORSAL_KNUCKLE_HEIGHT * math.exp(-0.5 * (da * da + db * db)) * (2 * c / thick)
        points.append((a, b, c))
    return np.array(points)


def _taubin_operator(faces: np.ndarray, num_vertices: int) -> scipy.sparse.csr_matrix:
    """Uniform-Laplacian Taubin smoothing as one sparse linear map (V, V)."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    adjacency = scipy.sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(num_vertices, num_vertices)
    )
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    laplacian = scipy.sparse.diags(1 / degree) @ adjacency - scipy.sparse.identity(num_vertices)
    eye = scipy.sparse.identity(num_vertices)
    step = (eye + TAUBIN_MU * laplacian) @ (eye + TAUBIN_LAMBDA * laplacian)
    operator = eye
    for _ in range(TAUBIN_STEPS):
        operator = step @ operator
    return scipy.sparse.csr_matrix(operator)


def build_geometry_v2(topo: Topology, p: HandParams, smoothing) -> tuple[np.ndarray, Skeleton]:
    """World vertices (V, 3) and skeleton of v2 for shape parameters `p`.

    `smoothing` is the (V, V) Taubin operator of `topo` (see `_taubin_operator`).
    """
    verts = np.zeros((topo.num_vertices, 3))
    joints = np.zeros((NUM_JOINTS, 3))
    tips = np.zeros((len(FINGER_NAMES), 3))
    directions = np.zeros((len(FINGER_NAMES), 3))
    palmar = np.array([0.0, 0.0, -1.0])

    last_width = _palm_width(p, 1.0)
    finger_b = {
        name: last_width / 2 - 0.5 * sum(spec.cells) * last_width / NUM_WIDTH_CELLS
        for name, spec in FINGERS.items()
    }
    knuckle = knuckle_line(p, finger_b, PALM_EDGE_KNUCKLE_V2)

    # 1. palm rings, the cap between the fingers (webs), wrist cap
    for r, fraction in enumerate(PALM_RING_FRACTIONS):
        points = _palm_ring(p, fraction, knuckle, finger_b)
        keep = topo.palm[r] >= 0
        verts[topo.palm[r][keep]] = points[keep]
    for i, vertex in topo.cap_interior.items():
        b = last_width / 2 - i * last_width / NUM_WIDTH_CELLS
        between = not any(spec.cells[0] <= i <= spec.cells[1] for spec in FINGERS.values())
        web = 1.0 if between else 0.4
        side = 2 * b / p.palm_width
        verts[vertex] = (knuckle(b) + web * WEB_DISTAL, b,
                         -web * WEB_PALMAR - TRANSVERSE_ARCH * side**2)  # fmt: skip
    verts[topo.wrist_center] = (WRIST_END_A_V2 - WRIST_CAP_BULGE_V2, 0.0, 0.0)

    # 2. fingers: curved chains from the MCPs on the knuckle line
    for f, name in enumerate(FINGER_NAMES[:4]):
        spec = FINGERS_V2[name]
        angle = math.radians(spec.splay_deg)
        direction = np.array([math.cos(angle), math.sin(angle), 0.0])
        mcp = np.array([knuckle(finger_b[name]), finger_b[name],
                        spec.mcp_dorsal - TRANSVERSE_ARCH * (2 * finger_b[name] / p.palm_width)
                        ** 2])  # fmt: skip
        lengths = finger_lengths(FINGERS_V2[name].lengths, name, p)
        chain = _curved_chain(mcp, direction, palmar, lengths, spec.rest_flexion_deg)
        radii = np.asarray(spec.radii) * p.finger_radius
        radii = (*radii[:3], radii[3] * p.tip_radius)
        verts[topo.rings[name]] = _tube(
            verts[topo.loops[name]], chain, FINGER_STATIONS_V2, radii, radii[3]
        )
        verts[topo.apex[name]] = chain.tip
        tips[f] = chain.tip
        joints[list(FINGER_JOINTS[name])] = chain.joints
        directions[f] = chain.directions[0]

    # 3. thumb: from the thenar, its pad toward the palm normal turned to the ulnar side
    turn = math.radians(THUMB_PAD_TOWARD_ULNAR_DEG)
    thumb_bend = np.array([0.0, -math.sin(turn), -math.cos(turn)])
    cmc = np.array([THUMB_CMC_V2[0] * p.palm_length, THUMB_CMC_V2[1] * p.palm_width,
                    THUMB_CMC_V2[2] * p.palm_thickness])  # fmt: skip
    lengths = np.asarray(THUMB_LENGTHS_V2) * p.thumb_length
    chain = _curved_chain(cmc, THUMB_METACARPAL_DIRECTION, thumb_bend, lengths,
                          THUMB_REST_FLEXION_DEG)  # fmt: skip
    loop_points = verts[topo.loops["thumb"]]
    start = loop_points.mean(axis=0)
    radii = np.asarray(THUMB_RADII_V2) * p.finger_radius
    radii = (*radii[:3], radii[3] * p.tip_radius)
    rings = _tube(loop_points, chain, THUMB_STATIONS_V2, radii, radii[3])
    for n, (segment, fraction) in enumerate(THUMB_STATIONS_V2):
        if segment == 0:  # metacarpal rings run from the thenar opening to the MCP
            target = start + fraction * (chain.joints[1] - start)
            rings[n] += target - rings[n].mean(axis=0)
    verts[topo.rings["thumb"]] = rings
    verts[topo.apex["thumb"]] = chain.tip
    tips[4] = chain.tip
    joints[list(FINGER_JOINTS["thumb"])] = chain.joints
    directions[4] = chain.directions[0]

    # 4. smooth, keep the tip vertices at the chain ends, scale, to world axes
    verts = smoothing @ verts
    tip_ids = [topo.apex[name] for name in FINGER_NAMES]
    verts[tip_ids] = tips
    verts, joints, tips = verts * p.scale, joints * p.scale, tips * p.scale
    skeleton = Skeleton(joints=to_world(joints), tips=to_world(tips), directions=directions)
    return to_world(verts), skeleton


# =========================== pose correctives ==============================================


def _axis_angle_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def _subtree(joint: int) -> list[int]:
    members = [joint]
    for child, parent in enumerate(PARENTS):
        if parent in members and child not in members:
            members.append(child)
    return members


def fit_posedirs(verts, weights, joints, tips) -> np.ndarray:
    """(V, 3, 135) pose correctives fitted to the rotation-interpolation target.

    For joint j rotated alone by R (angle theta about a unit axis u through J_j), LBS moves
    a vertex v with weight s on j's subtree to (1-s) v + s (R (v - J_j) + J_j). The target
    is J_j + R(s theta) (v - J_j), which keeps the distance to the joint. The rest-space
    offset reaching it is d = M^-1 (target - LBS(v)), M = (1-s) I + s R; d is regressed on
    vec(R - I) over sampled flexion, abduction and twist angles (ridge CORRECTIVE_RIDGE).

    Args:
        verts: (V, 3) rest vertices. weights: (V, 16). joints: (16, 3). tips: (5, 3).

    Returns:
        (V, 3, 135) float32 posedirs in the MANO file layout.
    """
    frames = anatomical_frames(joints, tips, "right")  # rows: flexion, abduction, twist axes
    posedirs = np.zeros((len(verts), 3, NUM_FINGER_JOINTS * 9))
    for joint in range(1, NUM_JOINTS):
        moving = weights[:, _subtree(joint)].sum(axis=1)
        active = np.flatnonzero((moving > 1e-6) & (moving < 1 - 1e-6))
        if active.size == 0:
            continue
        s = moving[active][:, None]
        rel = verts[active] - joints[joint]
        samples = [(frames[joint - 1, 0], a) for a in CORRECTIVE_FLEXION_DEG]
        samples += [(frames[joint - 1, axis], a) for axis in (1, 2) for a in CORRECTIVE_SIDE_DEG]
        features, offsets = [], []
        for axis, degrees in samples:
            theta = math.radians(degrees)
            rotation = _axis_angle_matrix(axis, theta)
            lbs = (1 - s) * rel + s * rel @ rotation.T
            target = np.stack([rel[n] @ _axis_angle_matrix(axis, s[n, 0] * theta).T
                               for n in range(len(rel))])  # fmt: skip
            blend = (1 - s)[:, :, None] * np.eye(3) + s[:, :, None] * rotation
            offsets.append(np.linalg.solve(blend, (target - lbs)[:, :, None])[:, :, 0])
            features.append((rotation - np.eye(3)).ravel())
        features = np.array(features)  # (N, 9)
        offsets = np.stack(offsets)  # (N, P, 3)
        gram = features.T @ features + CORRECTIVE_RIDGE * np.eye(9)
        coefficients = np.linalg.solve(gram, features.T @ offsets.reshape(len(features), -1))
        coefficients = coefficients.reshape(9, len(active), 3)  # (feature, vertex, xyz)
        start = 9 * (joint - 1)
        posedirs[active, :, start : start + 9] = coefficients.transpose(1, 2, 0)
    return posedirs.astype(np.float32)


# =========================== assembly ======================================================


def build_right_hand_v2() -> tuple[dict[str, np.ndarray], dict]:
    """The v2 right-hand MANO arrays and its meta data (tips, zones)."""
    topo = build_topology()
    if topo.num_vertices != MANO_NUM_VERTICES:
        raise RuntimeError(f"topology has {topo.num_vertices} vertices, want {MANO_NUM_VERTICES}")
    smoothing = _taubin_operator(topo.faces, topo.num_vertices)
    base = HandParams()
    verts, skeleton = build_geometry_v2(topo, base, smoothing)
    faces = orient_outward(verts, topo.faces)
    shapedirs = finite_difference_shapedirs(
        lambda p: build_geometry_v2(topo, p, smoothing)[0], base
    )
    weights = skinning_weights(verts, topo, skeleton, FINGER_BLEND_V2, THUMB_BLEND_V2)
    regressor = joint_regressor(verts, skeleton.joints)
    posedirs = fit_posedirs(verts, weights, regressor @ verts, skeleton.tips)
    arrays = mano_arrays(verts, faces, shapedirs, posedirs, regressor, weights)
    tips = [topo.apex[name] for name in FINGER_NAMES]
    return arrays, hand_meta(verts, faces, weights, regressor, tips)
