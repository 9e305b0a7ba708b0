"""Build the embedded default hand asset in the official MANO pickle format.

    python tools/build_hand_asset.py [--version v1|v2] [--out-dir DIR]

v1 (default, openhoi/assets/hand) is the box-modelled hand described below; v2
(openhoi/assets/hand_v2, "openhoi-hand-v2") is the anatomical hand of tools/hand_asset_v2.py,
built on the same topology, skinning and assembly code. Writes `MANO_RIGHT.pkl`,
`MANO_LEFT.pkl` (protocol-2 pickles of plain numpy arrays with the keys smplx.MANO reads)
and `hand_meta.json` (fingertip and contact-zone vertex ids; v2 adds "asset_id"). The output
is deterministic; rerun the script after changing it and commit its outputs.

The hand is box-modelled with a fixed topology of exactly 778 vertices (MANO's count):
a palm tube of rounded-rectangle rings (wrist capped by a fan), a distal cap grid from which
the four fingers are extruded, and the thumb extruded from the radial side of the palm.
Every tube ends in an apex vertex: the fingertip. The rest pose follows the MANO template
layout: right hand, fingers along -x, palm facing -y, thumb toward +z, wrist joint at
WRIST_POSITION. The left hand is the exact mirror image across x = 0.

Local design coordinates (a, b, c): a distal (from the wrist), b radial (toward the thumb),
c dorsal. World: x = wrist_x - a, y = wrist_y + c, z = wrist_z + b.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from scipy.optimize import nnls

from openhoi._io import atomic_open, save_json_atomic
from openhoi.hand.constants import (
    FINGER_JOINTS,
    FINGER_NAMES,
    HAND_META_FILE,
    MANO_FILE_NAMES,
    MANO_NUM_VERTICES,
    NUM_BETAS,
    NUM_FINGER_JOINTS,
    NUM_JOINTS,
    PARENTS,
)
from openhoi.hand.regions import contact_zones

PICKLE_PROTOCOL = 2  # the official files are protocol-2 pickles; keep them readable by py2
WRIST_POSITION = np.array([0.095, 0.006, 0.006])  # like MANO's root joint: not the origin

# ---- topology -------------------------------------------------------------------------
NUM_WIDTH_CELLS = 17  # palm cells across the width (radial i = 0 → ulnar i = 17)
NUM_THICK_CELLS = 2  # palm cells across the thickness (palmar k = 0 → dorsal k = 2)
RING_SIZE = 2 * NUM_WIDTH_CELLS + 2 * NUM_THICK_CELLS  # 38 vertices per palm ring
# Palm rings at these fractions of the way from the wrist end to the knuckle line.
PALM_RING_FRACTIONS = (0.0, 0.12, 0.3, 0.48, 0.66, 0.84, 1.0)
# Thumb opening on the radial side of the palm: between these palm rings, full thickness.
THUMB_RINGS = (1, 4)
TUBE_RING_SIZE = 10  # vertices per finger/thumb ring (the opening loops have 10 vertices)

# ---- geometry (metres) ------------------------------------------------------------------
WRIST_END_A = -0.006  # the mesh ends a little proximal to the wrist joint
WRIST_CAP_BULGE = 0.003
PALM_WIDTH_PROFILE = ((0.0, 0.3, 0.6, 1.0), (0.75, 0.92, 1.0, 1.0))  # × palm_width
PALM_THICK_PROFILE = ((0.0, 0.3, 0.6, 1.0), (1.22, 1.18, 1.1, 1.0))  # × palm_thickness
PALM_EDGE_KNUCKLE = (0.87, 0.76)  # radial / ulnar palm edge end, × palm_length
SUPERELLIPSE_POWER = 2.6  # palm cross-section: rounded rectangle
FINGER_FLATNESS = 0.9  # finger cross-section thickness / width
THUMB_OPENING_OFFSET = 0.006  # thumb tube starts this far outside the palm side


@dataclass(frozen=True)
class FingerSpec:
    """One finger: opening on the cap grid, MCP position, direction, bones and radii."""

    cells: tuple[int, int]  # cap-grid width cells [i0, i1) the finger is extruded from
    knuckle: float  # MCP distance from the wrist, × palm_length
    splay_deg: float  # rotation toward the thumb within the palm plane
    lengths: tuple[float, float, float]  # MCP→PIP, PIP→DIP, DIP→tip (m)
    radii: tuple[float, float, float, float]  # at MCP, PIP, DIP, distal pad (m)


# MANO finger order: index, middle, pinky, ring (adult hand, bones in human ratios).
FINGERS = {
    "index": FingerSpec(
        (1, 4), 0.957, 7.0, (0.040, 0.024, 0.022), (0.0092, 0.0085, 0.0076, 0.0068)
    ),
    "middle": FingerSpec((5, 8), 1.0, 1.0, (0.045, 0.028, 0.024), (0.0095, 0.0088, 0.0078, 0.0070)),
    "pinky": FingerSpec(
        (13, 16), 0.86, -11.0, (0.032, 0.019, 0.020), (0.0080, 0.0073, 0.0065, 0.0058)
    ),
    "ring": FingerSpec(
        (9, 12), 0.946, -5.0, (0.042, 0.027, 0.023), (0.0090, 0.0083, 0.0074, 0.0066)
    ),
}
# Thumb: CMC joint inside the thenar (× palm_length, palm_width, palm_thickness), direction
# (a, b, c) distal, radial and a little palmar, bones CMC→MCP, MCP→IP, IP→tip.
THUMB_CMC = (0.26, 0.26, -0.23)
THUMB_DIRECTION = (0.80, 0.56, -0.22)
THUMB_LENGTHS = (0.046, 0.032, 0.028)
THUMB_RADII = (0.0130, 0.0105, 0.0095, 0.0085)  # metacarpal, MCP, IP, distal pad

# Rings along each finger, as (segment, fraction of that segment); segment 0 = proximal.
FINGER_RING_STATIONS = ((0, 0.25), (0, 0.5), (0, 0.75), (0, 1.0), (1, 0.33), (1, 0.67), (1, 1.0),
                        (2, 0.3), (2, 0.62), (2, 0.86))  # fmt: skip
# Thumb: three rings from the palm opening to the MCP, then like a finger.
THUMB_RING_STATIONS = ((0, 0.4), (0, 0.75), (0, 1.0), (1, 0.25), (1, 0.5), (1, 0.75), (1, 1.0),
                       (2, 0.3), (2, 0.62), (2, 0.86))  # fmt: skip
DISTAL_RING_SCALE = (1.0, 0.94, 0.70)  # radius of the three distal rings × pad radius
# How much of the (rectangular) opening shape the first rings keep; the rest is elliptic.
OPENING_SHAPE_KEEP = (0.45, 0.1)

# ---- skinning ---------------------------------------------------------------------------
# Half-widths (m) of the weight blend around each joint of a chain (MCP/CMC, PIP/MCP, DIP/IP).
FINGER_BLEND = (0.008, 0.005, 0.004)
THUMB_BLEND = (0.012, 0.008, 0.005)
PALM_CHAIN_SOFTNESS = 0.004  # palm vertices mix neighbouring finger chains over ~this (m)
REGRESSOR_NEIGHBOURS = (16, 32, 64, 128)
REGRESSOR_TOLERANCE = 1e-6  # m

# ---- shape space: one parameter step per unit beta ----------------------------------------
SHAPE_STEPS = (
    ("scale", 0.03),  # 3 % larger hand
    ("finger_length", 0.04),  # 4 % longer fingers
    ("palm_width", 0.003),  # 3 mm wider palm
    ("finger_radius", 0.06),  # 6 % thicker fingers
    ("palm_length", 0.004),  # 4 mm longer palm
    ("palm_thickness", 0.0015),  # 1.5 mm thicker palm
    ("thumb_length", 0.05),  # 5 % longer thumb
    ("index_ring_ratio", 0.03),  # index 3 % longer, ring 3 % shorter
    ("tip_radius", 0.06),  # 6 % fuller fingertips
    ("pinky_length", 0.05),  # 5 % longer little finger
)
FINITE_DIFFERENCE = 1e-3


@dataclass(frozen=True)
class HandParams:
    """Continuous shape parameters of the builder (defaults: the template hand)."""

    scale: float = 1.0
    finger_length: float = 1.0
    palm_width: float = 0.085
    finger_radius: float = 1.0
    palm_length: float = 0.092
    palm_thickness: float = 0.025
    thumb_length: float = 1.0
    index_ring_ratio: float = 0.0
    tip_radius: float = 1.0
    pinky_length: float = 1.0


# =========================== topology ===================================================


@dataclass
class Topology:
    """Vertex ids and faces of the box-modelled hand (independent of the shape)."""

    num_vertices: int
    faces: np.ndarray  # (F, 3)
    palm: np.ndarray  # (rings, RING_SIZE) vertex ids, < 0 where the thumb opening removed one
    cap_interior: dict[int, int]  # width index i → id of the cap's mid-thickness vertex
    wrist_center: int
    loops: dict[str, np.ndarray]  # tube name → (10,) opening loop ids
    rings: dict[str, np.ndarray]  # tube name → (10, 10) ring ids (station, around)
    apex: dict[str, int]  # tube name → fingertip vertex id


def ring_index(i: int, k: int) -> int:
    """Position of the palm grid boundary point (i, k) in a palm ring."""
    nw, nt = NUM_WIDTH_CELLS, NUM_THICK_CELLS
    if k == 0:
        return i
    if i == nw:
        return nw + k
    if k == nt:
        return nw + nt + (nw - i)
    return 2 * nw + nt + (nt - k)  # i == 0


def ring_grid_points() -> list[tuple[int, int]]:
    """(i, k) of each palm ring position, in ring order."""
    points = [None] * RING_SIZE
    for i in range(NUM_WIDTH_CELLS + 1):
        for k in range(NUM_THICK_CELLS + 1):
            if k in (0, NUM_THICK_CELLS) or i in (0, NUM_WIDTH_CELLS):
                points[ring_index(i, k)] = (i, k)
    return points


def _boundary_loop(quads: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Ordered boundary loop of a patch of consistently oriented quads."""
    directed = [(q[n], q[(n + 1) % 4]) for q in quads for n in range(4)]
    undirected = {}
    for edge in directed:
        key = tuple(sorted(edge))
        undirected[key] = undirected.get(key, 0) + 1
    boundary = [edge for edge in directed if undirected[tuple(sorted(edge))] == 1]
    following = dict(boundary)
    start = min(following)
    loop = [start]
    while following[loop[-1]] != start:
        loop.append(following[loop[-1]])
    if len(loop) != len(boundary):
        raise RuntimeError("opening is not a single loop")
    return np.asarray(loop)


def build_topology() -> Topology:
    """Allocate vertex ids and faces; the counts are tuned so V == 778."""
    nw, nt = NUM_WIDTH_CELLS, NUM_THICK_CELLS
    num_rings = len(PALM_RING_FRACTIONS)
    grid = ring_grid_points()
    thumb_side = [ring_index(0, k) for k in range(1, nt)]  # radial side, inside the opening

    next_id = 0
    palm = -np.ones((num_rings, RING_SIZE), dtype=np.int64)
    for r in range(num_rings):
        for j in range(RING_SIZE):
            if THUMB_RINGS[0] < r < THUMB_RINGS[1] and j in thumb_side:
                palm[r, j] = -1 - (r * RING_SIZE + j)  # removed; unique id for loop finding
                continue
            palm[r, j] = next_id
            next_id += 1

    cap_interior = {}
    for i in range(1, nw):
        inside_finger = any(spec.cells[0] < i < spec.cells[1] for spec in FINGERS.values())
        if not inside_finger:
            cap_interior[i] = next_id
            next_id += 1
    wrist_center = next_id
    next_id += 1

    def cap_id(i: int, k: int) -> int:
        if k in (0, nt) or i in (0, nw):
            return int(palm[-1, ring_index(i, k)])
        return cap_interior.get(i, -1 - RING_SIZE * len(PALM_RING_FRACTIONS) - i)

    quads: list[tuple[int, int, int, int]] = []
    triangles: list[tuple[int, int, int]] = []
    thumb_quads = []
    for r in range(num_rings - 1):
        for j in range(RING_SIZE):
            quad = (palm[r, j], palm[r, (j + 1) % RING_SIZE], palm[r + 1, (j + 1) % RING_SIZE],
                    palm[r + 1, j])  # fmt: skip
            radial_cell = grid[j][0] == 0 and grid[(j + 1) % RING_SIZE][0] == 0
            if THUMB_RINGS[0] <= r < THUMB_RINGS[1] and radial_cell:
                thumb_quads.append(tuple(int(v) for v in quad))
            else:
                quads.append(tuple(int(v) for v in quad))
    finger_quads: dict[str, list] = {name: [] for name in FINGERS}
    for i in range(nw):
        for k in range(nt):
            # Opposite order to the palm rings so the cap faces the same way (outward).
            quad = (cap_id(i, k), cap_id(i, k + 1), cap_id(i + 1, k + 1), cap_id(i + 1, k))
            owner = [name for name, spec in FINGERS.items() if spec.cells[0] <= i < spec.cells[1]]
            if owner:
                finger_quads[owner[0]].append(quad)
            else:
                quads.append(quad)
    for j in range(RING_SIZE):
        triangles.append((wrist_center, int(palm[0, (j + 1) % RING_SIZE]), int(palm[0, j])))

    loops = {name: _boundary_loop(finger_quads[name]) for name in FINGERS}
    loops["thumb"] = _boundary_loop(thumb_quads)
    rings, apex = {}, {}
    for name in FINGER_NAMES:
        loop = loops[name]
        ids = np.arange(next_id, next_id + TUBE_RING_SIZE * len(loop)).reshape(TUBE_RING_SIZE, -1)
        next_id += ids.size
        apex[name] = next_id
        next_id += 1
        rings[name] = ids
        previous = loop
        for ring in ids:
            for n in range(len(loop)):
                m = (n + 1) % len(loop)
                quads.append((int(previous[n]), int(previous[m]), int(ring[m]), int(ring[n])))
            previous = ring
        for n in range(len(loop)):
            m = (n + 1) % len(loop)
            triangles.append((int(previous[n]), int(previous[m]), apex[name]))

    for quad in quads:
        triangles.append((quad[0], quad[1], quad[2]))
        triangles.append((quad[0], quad[2], quad[3]))
    return Topology(
        num_vertices=next_id,
        faces=np.asarray(triangles, dtype=np.int64),
        palm=palm,
        cap_interior=cap_interior,
        wrist_center=wrist_center,
        loops=loops,
        rings=rings,
        apex=apex,
    )


# =========================== geometry ===================================================


@dataclass(frozen=True)
class Skeleton:
    """Joint positions (16, 3) and fingertips (5, 3) in design coordinates (a, b, c)."""

    joints: np.ndarray
    tips: np.ndarray
    directions: np.ndarray  # (5, 3) unit direction of each finger / the thumb


def finger_lengths(base_lengths, name: str, p: HandParams) -> np.ndarray:
    """(3,) bone lengths of finger `name` for shape `p`, from its template `base_lengths`."""
    lengths = np.asarray(base_lengths) * p.finger_length
    if name == "index":
        lengths = lengths * math.exp(p.index_ring_ratio)
    if name == "ring":
        lengths = lengths * math.exp(-p.index_ring_ratio)
    if name == "pinky":
        lengths = lengths * p.pinky_length
    return lengths


def knuckle_line(p: HandParams, finger_b: dict[str, float], edges=PALM_EDGE_KNUCKLE):
    """a of the knuckle line as a function of b (piecewise linear through the MCPs and the
    radial / ulnar palm edge ends at `edges` × palm_length)."""
    half = p.palm_width / 2
    points = [(-half, edges[1] * p.palm_length), (half, edges[0] * p.palm_length)]
    points += [(finger_b[name], FINGERS[name].knuckle * p.palm_length) for name in FINGERS]
    points.sort()
    bs, as_ = np.array(points).T
    return lambda b: np.interp(b, bs, as_)


def _palm_profile(profile, fraction: float) -> float:
    return float(np.interp(fraction, *profile))


def palm_section(width: float, thick: float, power: float) -> np.ndarray:
    """(RING_SIZE, 2) (b, c) of the palm ring positions on a superellipse of the given
    width, thickness (m) and exponent, in ring order."""
    section = np.zeros((RING_SIZE, 2))
    for j, (i, k) in enumerate(ring_grid_points()):
        b = width / 2 - i * width / NUM_WIDTH_CELLS
        c = -thick / 2 + k * thick / NUM_THICK_CELLS
        norm = abs(2 * b / width) ** power + abs(2 * c / thick) ** power
        shrink = norm ** (-1 / power)
        section[j] = (b * shrink, c * shrink)
    return section


def _palm_ring_points(p: HandParams, fraction: float, knuckle) -> np.ndarray:
    """(RING_SIZE, 3) points of one palm ring (a, b, c), rounded-rectangle section."""
    width = p.palm_width * _palm_profile(PALM_WIDTH_PROFILE, fraction)
    thick = p.palm_thickness * _palm_profile(PALM_THICK_PROFILE, fraction)
    points = np.zeros((RING_SIZE, 3))
    for j, (b, c) in enumerate(palm_section(width, thick, SUPERELLIPSE_POWER)):
        a = WRIST_END_A + fraction * (knuckle(b) - WRIST_END_A)
        points[j] = (a, b, c)
    return points


def _tube_frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors across a tube: e1 ~ radial (b), e2 ~ dorsal (c)."""
    dorsal = np.array([0.0, 0.0, 1.0])
    e2 = dorsal - dorsal.dot(direction) * direction
    e2 /= np.linalg.norm(e2)
    e1 = np.cross(e2, direction)
    return e1, e2


def _tube_rings(loop_points, centers, radii, direction) -> np.ndarray:
    """(stations, 10, 3) rings around `centers`, keeping the loop's angular layout."""
    e1, e2 = _tube_frame(direction)
    offsets = loop_points - loop_points.mean(axis=0)
    offsets -= np.outer(offsets @ direction, direction)
    angles = np.arctan2(offsets @ e2, offsets @ e1)
    ellipse = np.cos(angles)[:, None] * e1 + FINGER_FLATNESS * np.sin(angles)[:, None] * e2
    rings = np.zeros((len(centers), len(loop_points), 3))
    for n, (center, radius) in enumerate(zip(centers, radii, strict=True)):
        keep = OPENING_SHAPE_KEEP[n] if n < len(OPENING_SHAPE_KEEP) else 0.0
        rings[n] = center + keep * offsets + (1 - keep) * radius * ellipse
    return rings


def _stations(lengths, joints3, direction, stations):
    """Centres along a straight chain; joints3 = the three joints of the chain."""
    starts = [joints3[0], joints3[1], joints3[2]]
    return np.array([starts[seg] + frac * lengths[seg] * direction for seg, frac in stations])


def _radius_profile(radii, stations, distal_scale) -> np.ndarray:
    """Radii at stations: linear from joint to joint, rounded over the distal segment."""
    out = []
    for seg, frac in stations:
        if seg < 2:
            out.append(radii[seg] + frac * (radii[seg + 1] - radii[seg]))
        else:
            index = [f for s, f in stations if s == 2].index(frac)
            out.append(radii[3] * distal_scale * DISTAL_RING_SCALE[index])
    return np.asarray(out)


def build_geometry(topo: Topology, p: HandParams) -> tuple[np.ndarray, Skeleton]:
    """World vertices (V, 3) and the design skeleton for shape parameters `p`."""
    verts = np.zeros((topo.num_vertices, 3))
    joints = np.zeros((NUM_JOINTS, 3))
    tips = np.zeros((len(FINGER_NAMES), 3))
    directions = np.zeros((len(FINGER_NAMES), 3))

    last_width = p.palm_width * _palm_profile(PALM_WIDTH_PROFILE, 1.0)
    finger_b = {
        name: last_width / 2 - 0.5 * sum(spec.cells) * last_width / NUM_WIDTH_CELLS
        for name, spec in FINGERS.items()
    }
    knuckle = knuckle_line(p, finger_b)

    # 1. palm rings, distal cap, wrist cap
    for r, fraction in enumerate(PALM_RING_FRACTIONS):
        points = _palm_ring_points(p, fraction, knuckle)
        keep = topo.palm[r] >= 0
        verts[topo.palm[r][keep]] = points[keep]
    for i, vertex in topo.cap_interior.items():
        b = last_width / 2 - i * last_width / NUM_WIDTH_CELLS
        verts[vertex] = (knuckle(b), b, 0.0)
    verts[topo.wrist_center] = (WRIST_END_A - WRIST_CAP_BULGE, 0.0, 0.0)

    # 2. fingers
    for f, name in enumerate(FINGER_NAMES[:4]):
        spec = FINGERS[name]
        angle = math.radians(spec.splay_deg)
        direction = np.array([math.cos(angle), math.sin(angle), 0.0])
        lengths = finger_lengths(FINGERS[name].lengths, name, p)
        mcp = np.array([knuckle(finger_b[name]), finger_b[name], 0.0])
        chain = [mcp, mcp + lengths[0] * direction, mcp + lengths[:2].sum() * direction]
        radii = np.asarray(spec.radii) * p.finger_radius
        centers = _stations(lengths, chain, direction, FINGER_RING_STATIONS)
        ring_radii = _radius_profile(radii, FINGER_RING_STATIONS, p.tip_radius)
        loop_points = verts[topo.loops[name]]
        verts[topo.rings[name]] = _tube_rings(loop_points, centers, ring_radii, direction)
        tips[f] = mcp + lengths.sum() * direction
        verts[topo.apex[name]] = tips[f]
        joints[list(FINGER_JOINTS[name])] = chain
        directions[f] = direction

    # 3. thumb: extruded from the radial side of the palm, bending out of the opening
    direction = np.asarray(THUMB_DIRECTION) / np.linalg.norm(THUMB_DIRECTION)
    lengths = np.asarray(THUMB_LENGTHS) * p.thumb_length
    cmc = np.array([THUMB_CMC[0] * p.palm_length, THUMB_CMC[1] * p.palm_width,
                    THUMB_CMC[2] * p.palm_thickness])  # fmt: skip
    chain = [cmc, cmc + lengths[0] * direction, cmc + lengths[:2].sum() * direction]
    loop_points = verts[topo.loops["thumb"]]
    start = loop_points.mean(axis=0) + np.array([0.0, THUMB_OPENING_OFFSET, 0.0])
    centers = _stations(lengths, chain, direction, THUMB_RING_STATIONS)
    for n, (seg, frac) in enumerate(THUMB_RING_STATIONS):
        if seg == 0:  # metacarpal rings run from the opening to the MCP joint
            centers[n] = start + frac * (chain[1] - start)
    radii = np.asarray(THUMB_RADII) * p.finger_radius
    ring_radii = _radius_profile(radii, THUMB_RING_STATIONS, p.tip_radius)
    verts[topo.rings["thumb"]] = _tube_rings(loop_points, centers, ring_radii, direction)
    tips[4] = cmc + lengths.sum() * direction
    verts[topo.apex["thumb"]] = tips[4]
    joints[list(FINGER_JOINTS["thumb"])] = chain
    directions[4] = direction

    # 4. overall scale about the wrist joint (the design origin), then to world axes
    verts, joints, tips = verts * p.scale, joints * p.scale, tips * p.scale
    skeleton = Skeleton(joints=to_world(joints), tips=to_world(tips), directions=directions)
    return to_world(verts), skeleton


def to_world(points: np.ndarray) -> np.ndarray:
    """Design (a, b, c) → world (x, y, z): x = wx - a, y = wy + c, z = wz + b."""
    points = np.asarray(points)
    return np.stack(
        [WRIST_POSITION[0] - points[..., 0], WRIST_POSITION[1] + points[..., 2],
         WRIST_POSITION[2] + points[..., 1]], axis=-1)  # fmt: skip


# =========================== skinning and regressor ======================================


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _project_on_chain(points: np.ndarray, chain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arc length along the polyline `chain` (n, 3) of each point's closest point, and distance."""
    best_d = np.full(len(points), np.inf)
    best_s = np.zeros(len(points))
    start_s = 0.0
    for a, b in itertools.pairwise(chain):
        seg = b - a
        length = np.linalg.norm(seg)
        t = np.clip((points - a) @ seg / (length * length), 0.0, 1.0)
        d = np.linalg.norm(points - (a + t[:, None] * seg), axis=1)
        better = d < best_d
        best_d[better], best_s[better] = d[better], start_s + t[better] * length
        start_s += length
    return best_s, best_d


def _chain_weights(s: np.ndarray, chain: np.ndarray, blends) -> np.ndarray:
    """(P, 4) partition of unity over the 4 bones of a chain, blended around each joint."""
    bounds = np.cumsum(np.linalg.norm(np.diff(chain, axis=0), axis=1))[:3]
    steps = [
        _smoothstep((s - bound + h) / (2 * h)) for bound, h in zip(bounds, blends, strict=True)
    ]
    ones = np.ones_like(s)
    cumulative = [ones, *steps, np.zeros_like(s)]
    return np.stack([cumulative[n] - cumulative[n + 1] for n in range(4)], axis=1)


def skinning_weights(
    verts: np.ndarray,
    topo: Topology,
    skeleton: Skeleton,
    finger_blend: tuple[float, float, float] = FINGER_BLEND,
    thumb_blend: tuple[float, float, float] = THUMB_BLEND,
) -> np.ndarray:
    """(V, 16) smooth LBS weights: tube vertices follow their own finger's chain; palm
    vertices mix the chains of nearby fingers (all chains start with the wrist bone).
    The blends are the half-widths (m) around each joint of a finger / the thumb."""
    num = len(verts)
    owner = -np.ones(num, dtype=np.int64)
    for f, name in enumerate(FINGER_NAMES):
        owner[topo.rings[name].ravel()] = f
        owner[topo.apex[name]] = f
    chain_weights, distances = [], []
    for f, name in enumerate(FINGER_NAMES):
        ids = list(FINGER_JOINTS[name])
        chain = np.concatenate([skeleton.joints[[0, *ids]], skeleton.tips[f][None]])
        s, d = _project_on_chain(verts, chain)
        blends = thumb_blend if name == "thumb" else finger_blend
        chain_weights.append(_chain_weights(s, chain, blends))
        distances.append(d)
    distances = np.stack(distances, axis=1)  # (V, 5)
    mix = np.exp(-(distances - distances.min(axis=1, keepdims=True)) / PALM_CHAIN_SOFTNESS)
    mix /= mix.sum(axis=1, keepdims=True)
    tube = owner >= 0
    mix[tube] = np.eye(len(FINGER_NAMES))[owner[tube]]
    weights = np.zeros((num, NUM_JOINTS))
    for f, name in enumerate(FINGER_NAMES):
        bones = [0, *FINGER_JOINTS[name]]
        for n, joint in enumerate(bones):
            weights[:, joint] += mix[:, f] * chain_weights[f][:, n]
    return weights / weights.sum(axis=1, keepdims=True)


def joint_regressor(verts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(16, V) non-negative rows summing to 1 that reproduce `targets` (16, 3) exactly,
    each a near-uniform blend over the vertices closest to the joint."""
    regressor = np.zeros((len(targets), len(verts)))
    for j, target in enumerate(targets):
        order = np.argsort(np.linalg.norm(verts - target, axis=1), kind="stable")
        for count in REGRESSOR_NEIGHBOURS:
            ids = order[:count]
            scale = 1e4  # metres → enforce the position and sum constraints strongly
            matrix = np.vstack([scale * verts[ids].T, scale * np.ones((1, count)), np.eye(count)])
            rhs = np.concatenate([scale * target, [scale], np.full(count, 1.0 / count)])
            w, _ = nnls(matrix, rhs, maxiter=50 * count)
            w /= w.sum()
            if np.linalg.norm(w @ verts[ids] - target) < REGRESSOR_TOLERANCE:
                break
        else:
            raise RuntimeError(f"cannot place joint {j} inside its neighbouring vertices")
        regressor[j, ids] = w
    return regressor


# =========================== assembly ===================================================


def finite_difference_shapedirs(geometry, base) -> np.ndarray:
    """(V, 3, 10) shape directions: central differences of `geometry(params)` (V, 3) along
    each SHAPE_STEPS field of the parameter dataclass `base`, one step per unit beta."""
    shapedirs = None
    for k, (field, step) in enumerate(SHAPE_STEPS):
        value = getattr(base, field)
        plus = dataclasses.replace(base, **{field: value + FINITE_DIFFERENCE * step})
        minus = dataclasses.replace(base, **{field: value - FINITE_DIFFERENCE * step})
        column = (geometry(plus) - geometry(minus)) / (2 * FINITE_DIFFERENCE)
        if shapedirs is None:
            shapedirs = np.zeros((len(column), 3, NUM_BETAS))
        shapedirs[:, :, k] = column
    return shapedirs


def mano_arrays(verts, faces, shapedirs, posedirs, regressor, weights) -> dict[str, np.ndarray]:
    """The right-hand MANO dictionary (keys and layout of the official files)."""
    kintree = np.array([PARENTS, list(range(NUM_JOINTS))], dtype=np.int64)
    kintree[0, 0] = np.iinfo(np.uint32).max  # as in the official files (smplx sets -1)
    return {
        "v_template": verts,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": faces,
        "hands_components": np.eye(NUM_FINGER_JOINTS * 3),
        "hands_mean": np.zeros(NUM_FINGER_JOINTS * 3),
    }


def hand_meta(verts, faces, weights, regressor, tips) -> dict:
    """Fingertip ids (FINGER_NAMES order) and the contact zones of the rest mesh."""
    zones = contact_zones(verts, faces, weights, regressor @ verts, "right")
    return {
        "tip_vertex_ids": np.asarray(tips, dtype=np.int64).tolist(),
        "contact_zones": {k: v.tolist() for k, v in zones.items()},
    }


def build_right_hand() -> tuple[dict[str, np.ndarray], dict]:
    """The right-hand MANO arrays and its meta data (tips, zones)."""
    topo = build_topology()
    if topo.num_vertices != MANO_NUM_VERTICES:
        raise RuntimeError(f"topology has {topo.num_vertices} vertices, want {MANO_NUM_VERTICES}")
    base = HandParams()
    verts, skeleton = build_geometry(topo, base)
    faces = orient_outward(verts, topo.faces)
    shapedirs = finite_difference_shapedirs(lambda p: build_geometry(topo, p)[0], base)
    weights = skinning_weights(verts, topo, skeleton)
    regressor = joint_regressor(verts, skeleton.joints)
    posedirs = np.zeros((len(verts), 3, NUM_FINGER_JOINTS * 9), dtype=np.float32)
    arrays = mano_arrays(verts, faces, shapedirs, posedirs, regressor, weights)
    tips = [topo.apex[name] for name in FINGER_NAMES]
    return arrays, hand_meta(verts, faces, weights, regressor, tips)


def orient_outward(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces wound consistently and outward; checks the mesh is a closed genus-0 surface."""
    mesh = trimesh.Trimesh(verts, faces, process=False)
    trimesh.repair.fix_winding(mesh)
    if mesh.volume < 0:
        mesh.invert()
    if not (mesh.is_watertight and mesh.is_winding_consistent and mesh.euler_number == 2):
        raise RuntimeError("the hand mesh is not a closed, consistently wound genus-0 surface")
    return np.asarray(mesh.faces, dtype=np.int64)


def mirror(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Left hand = the right hand mirrored across x = 0 (faces re-wound to stay outward).

    With F = diag(-1, 1, 1), a left vertex is F v and a left joint rotation F R F, so the
    pose feature (R - I)[r, c] changes sign by F_rr F_cc and each corrective by F_kk.
    """
    flip = np.array([-1.0, 1.0, 1.0])
    left = dict(arrays)
    left["v_template"] = arrays["v_template"] * flip
    left["shapedirs"] = arrays["shapedirs"] * flip[None, :, None]
    rows, cols = np.divmod(np.arange(arrays["posedirs"].shape[-1]) % 9, 3)
    pose_sign = (flip[:, None] * (flip[rows] * flip[cols])[None, :]).astype(
        arrays["posedirs"].dtype
    )
    # + 0 turns the -0.0 of negated zero correctives into 0.0, keeping all-zero files stable.
    left["posedirs"] = arrays["posedirs"] * pose_sign + 0
    left["f"] = arrays["f"][:, ::-1].copy()
    return left


ASSET_VERSIONS = ("v1", "v2")
ASSETS_DIR = Path(__file__).resolve().parents[1] / "openhoi" / "assets"
DEFAULT_OUT_DIRS = {"v1": ASSETS_DIR / "hand", "v2": ASSETS_DIR / "hand_v2"}


def build_version(version: str) -> tuple[dict[str, np.ndarray], dict, dict]:
    """Right-hand arrays, per-side meta and top-level meta entries of asset `version`."""
    if version == "v1":
        return (*build_right_hand(), {})
    if version == "v2":
        # Imported here: v2 reuses this module's topology, skinning and assembly.
        from hand_asset_v2 import ASSET_ID, build_right_hand_v2

        return (*build_right_hand_v2(), {"asset_id": ASSET_ID})
    raise ValueError(f"version must be one of {ASSET_VERSIONS}, got {version!r}")


def write_assets(out_dir: Path, version: str = "v1") -> dict[str, Path]:
    """Build both hands of asset `version` and write the pickles and meta into `out_dir`."""
    right, meta, top_level = build_version(version)
    hands = {"right": right, "left": mirror(right)}
    paths = {}
    for side, arrays in hands.items():
        path = out_dir / MANO_FILE_NAMES[side]
        with atomic_open(path) as handle:
            pickle.dump(arrays, handle, protocol=PICKLE_PROTOCOL)
        paths[side] = path
    paths["meta"] = out_dir / HAND_META_FILE
    save_json_atomic(paths["meta"], {**top_level, "right": meta, "left": meta})
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=ASSET_VERSIONS, default="v1")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the shipped folder")
    args = parser.parse_args(argv)
    out_dir = args.out_dir or DEFAULT_OUT_DIRS[args.version]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, path in write_assets(out_dir, args.version).items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
