"""The built-in object library: everyday objects generated in code, no data files.

Each builder returns an `HOIObject` in the canonical frame with realistic sizes
(metres), named parts and per-face affordances. Geometry is deterministic: primitives,
solids of revolution and convex hulls, carved and refined with manifold3d.

Affordance labels are given per part as `{type: value}`, where value is a constant or
a predicate on face centroids `c` (F, 3) and unit normals `n` (F, 3) in the builder's
frame (each builder works in a frame with the object standing on z = 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from openhoi.objects._assembly import (
    PartSpec,
    assemble,
    box,
    capsule,
    cylinder,
    difference,
    hull,
    revolve,
    rod,
    rotation,
    shell_profile,
    slab,
    torus_arc,
    union,
)
from openhoi.objects.object import Articulation, HOIObject

__all__ = ["BUILTIN_BUILDERS"]

Predicate = Callable[[np.ndarray, np.ndarray], np.ndarray]


# ---------------------------------------------------------------------- face predicates


def _radial_normal(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Component of the normal along the horizontal direction away from the z axis."""
    radius = np.linalg.norm(c[:, :2], axis=1).clip(1e-9)
    return (n[:, 0] * c[:, 0] + n[:, 1] * c[:, 1]) / radius


def _outer_wall(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    return _radial_normal(c, n) > 0.3


def _vessel_inside(rim_z: float) -> Predicate:
    """Inner wall and inner floor of an open vessel whose rim is at `rim_z`."""

    def predicate(c: np.ndarray, n: np.ndarray) -> np.ndarray:
        inner_wall = _radial_normal(c, n) < -0.3
        floor = (n[:, 2] > 0.7) & (c[:, 2] > 5e-4) & (c[:, 2] < rim_z - 1e-3)
        return inner_wall | floor

    return predicate


def _z_above(z: float) -> Predicate:
    return lambda c, n: c[:, 2] >= z


def _z_below(z: float) -> Predicate:
    return lambda c, n: c[:, 2] <= z


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda c, n: np.asarray(first(c, n), bool) & np.asarray(second(c, n), bool)


def _x_above(x: float) -> Predicate:
    return lambda c, n: c[:, 0] >= x


def _x_below(x: float) -> Predicate:
    return lambda c, n: c[:, 0] <= x


def _facing(axis: int, sign: float, threshold: float = 0.7) -> Predicate:
    return lambda c, n: sign * n[:, axis] > threshold


# ---------------------------------------------------------------------- vessels


def bottle() -> HOIObject:
    """Water bottle, 0.225 m tall: body and screw cap."""
    body = revolve(
        [
            (0.0, 0.0),
            (0.033, 0.0),
            (0.035, 0.004),
            (0.035, 0.06),
            (0.035, 0.15),
            (0.031, 0.168),
            (0.02, 0.185),
            (0.014, 0.195),
            (0.014, 0.205),
            (0.0, 0.205),
        ]
    )
    cap = cylinder(0.0165, 0.02, z0=0.205)
    return assemble(
        "bottle",
        "plastic water bottle with a screw cap (0.07 m wide, 0.225 m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "grasp": _z_below(0.17),
                    "wrap-grasp": _both(_outer_wall, _z_below(0.155)),
                    "contain": 1.0,
                    "pour": _z_above(0.18),
                    "lift": _z_below(0.17),
                },
            ),
            PartSpec("cap", cap, {"open": 1.0, "grasp": 0.5}),
        ],
    )


def mug() -> HOIObject:
    """Coffee mug with a ring handle."""
    radius, height = 0.041, 0.096
    outer = [(0.038, 0.0), (radius, 0.004), (radius, height)]
    body = revolve(shell_profile(outer, wall=0.004, base=0.008))
    solid = revolve([(0.0, 0.0), *outer, (0.0, height)])
    ring = torus_arc(0.03, 0.0065, rotation([1, 0, 0], math.pi / 2))
    ring.apply_translation([radius, 0.0, height / 2])
    handle = difference(ring, solid)
    return assemble(
        "mug",
        "ceramic coffee mug with a side handle (0.082 m wide body, 0.096 m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "contain": _vessel_inside(height),
                    "wrap-grasp": _outer_wall,
                    "pour": _z_above(height - 0.012),
                    "lift": _outer_wall,
                },
            ),
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, carve=False),
        ],
    )


def pitcher() -> HOIObject:
    """Water pitcher: a tall open vessel, a tall loop handle at the back, a pouring lip."""
    height = 0.2
    outer = [(0.05, 0.0), (0.056, 0.006), (0.06, 0.09), (0.054, 0.17), (0.057, height)]
    body = revolve(shell_profile(outer, wall=0.004, base=0.008))
    solid = revolve([(0.0, 0.0), *outer, (0.0, height)])
    # An elongated loop: a torus squashed along its vertical extent, at the back (-x).
    ring = torus_arc(0.05, 0.0085, rotation([1, 0, 0], math.pi / 2))
    ring.apply_transform(np.diag([0.75, 1.0, 1.45, 1.0]))
    ring.apply_translation([-0.056, 0.0, 0.105])
    handle = difference(ring, solid)
    # The lip: a wedge leaving the rim at the front (+x), cut where it enters the body.
    lip = hull(
        [
            (0.04, -0.022, height - 0.03),
            (0.04, 0.022, height - 0.03),
            (0.04, -0.024, height),
            (0.04, 0.024, height),
            (0.082, 0.0, height + 0.006),
            (0.072, 0.0, height - 0.012),
        ]
    )
    lip = difference(lip, solid)
    return assemble(
        "pitcher",
        "water pitcher with a loop handle and a pouring lip (0.2 m tall, 0.12 m wide body)",
        [
            PartSpec(
                "body",
                body,
                {
                    "contain": _vessel_inside(height),
                    "wrap-grasp": _both(_outer_wall, _z_below(0.15)),
                    "pour": _z_above(height - 0.012),
                    "lift": _outer_wall,
                },
            ),
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, carve=False),
            PartSpec("spout", lip, {"pour": 1.0}, carve=False),
        ],
    )


def cup() -> HOIObject:
    """Tapered paper cup."""
    height = 0.1
    body = revolve(
        shell_profile([(0.027, 0.0), (0.04, height)], wall=0.0025, base=0.004), sections=48
    )
    return assemble(
        "cup",
        "tapered paper cup (0.08 m rim, 0.1 m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "contain": _vessel_inside(height),
                    "wrap-grasp": _outer_wall,
                    "grasp": _both(_outer_wall, _z_below(0.08)),
                    "pour": _z_above(height - 0.01),
                },
            )
        ],
    )


def bowl() -> HOIObject:
    """Cereal bowl."""
    rim = 0.065
    body = revolve(
        shell_profile(
            [(0.035, 0.0), (0.055, 0.02), (0.072, 0.045), (0.078, rim)], wall=0.004, base=0.005
        ),
        sections=48,
    )
    return assemble(
        "bowl",
        "ceramic cereal bowl (0.156 m wide, 0.065 m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "contain": _vessel_inside(rim),
                    "wrap-grasp": _outer_wall,
                    "grasp": _z_above(rim - 0.012),
                    "pour": _z_above(rim - 0.006),
                    "support": _both(_vessel_inside(rim), _facing(2, 1.0)),
                },
            )
        ],
    )


def can() -> HOIObject:
    """Soda can with a pull tab."""
    height = 0.122
    body = revolve(
        [
            (0.0, 0.0),
            (0.026, 0.0),
            (0.033, 0.008),
            (0.033, height - 0.01),
            (0.027, height),
            (0.0, height),
        ]
    )
    tab = slab(
        [(-0.006, -0.004), (0.006, -0.004), (0.006, 0.018), (-0.006, 0.018)],
        height,
        height + 0.0015,
    )
    return assemble(
        "can",
        "aluminium soda can with a pull tab (0.066 m wide, 0.122 m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "wrap-grasp": _outer_wall,
                    "grasp": _outer_wall,
                    "contain": 1.0,
                    "pour": _z_above(height - 0.002),
                },
            ),
            PartSpec("tab", tab, {"open": 1.0, "pull": 1.0}, max_edge=0.004),
        ],
    )


def jar() -> HOIObject:
    """Glass jar with a twist-off lid (articulated: the lid turns about z)."""
    body = revolve(
        [
            (0.0, 0.0),
            (0.04, 0.0),
            (0.045, 0.008),
            (0.045, 0.1),
            (0.037, 0.108),
            (0.037, 0.126),
            (0.0, 0.126),
        ]
    )
    lid = cylinder(0.043, 0.02, z0=0.112, sections=40)
    return assemble(
        "jar",
        "glass jar with a twist-off lid (0.09 m wide, 0.132 m tall); the lid unscrews about z",
        [
            PartSpec(
                "body",
                body,
                {"contain": 1.0, "wrap-grasp": _outer_wall, "grasp": _outer_wall},
            ),
            PartSpec("lid", lid, {"open": 1.0, "grasp": _outer_wall, "wrap-grasp": 1.0}),
        ],
        articulation=Articulation("lid", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 2 * math.pi)),
    )


def kettle() -> HOIObject:
    """Kettle with handle, spout and lid."""
    height = 0.16
    profile = [(0.0, 0.0), (0.075, 0.0), (0.08, 0.01), (0.08, 0.1), (0.06, 0.15), (0.045, height)]
    body = revolve([*profile, (0.0, height)])
    lid = revolve(
        [
            (0.0, height),
            (0.046, height),
            (0.04, height + 0.01),
            (0.012, height + 0.012),
            (0.012, height + 0.025),
            (0.0, height + 0.025),
        ]
    )
    ring = torus_arc(0.055, 0.009, rotation([1, 0, 0], math.pi / 2))
    ring.apply_translation([-0.065, 0.0, 0.1])
    handle = difference(ring, body)
    spout = capsule((0.05, 0.0, 0.04), (0.135, 0.0, 0.13), 0.011)
    spout = difference(spout, body)
    return assemble(
        "kettle",
        "stove-top kettle with handle, spout and lid (0.31 m long, 0.185 m tall)",
        [
            PartSpec(
                "body",
                body,
                {"contain": 1.0, "wrap-grasp": _both(_outer_wall, _z_below(0.1))},
                carve=False,
            ),
            PartSpec("lid", lid, {"open": 1.0, "grasp": _z_above(height + 0.01)}, carve=False),
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, carve=False),
            PartSpec("spout", spout, {"pour": 1.0}, carve=False),
        ],
    )


def spray_bottle() -> HOIObject:
    """Spray bottle: body, spray head and a trigger that pivots (articulated)."""
    body = revolve(
        [
            (0.0, 0.0),
            (0.036, 0.0),
            (0.04, 0.006),
            (0.04, 0.16),
            (0.018, 0.18),
            (0.016, 0.195),
            (0.0, 0.195),
        ]
    )
    head = union(
        [
            box((0.04, 0.034, 0.045), (0.0, 0.0, 0.2175)),
            box((0.05, 0.02, 0.018), (0.042, 0.0, 0.228)),
        ]
    )
    trigger = box((0.012, 0.018, 0.045), (0.04, 0.0, 0.196))
    return assemble(
        "spray_bottle",
        "trigger spray bottle (0.26 m tall); the trigger pivots towards the bottle when pressed",
        [
            PartSpec(
                "body", body, {"grasp": _z_above(0.15), "wrap-grasp": _outer_wall, "contain": 1.0}
            ),
            PartSpec("head", head, {"grasp": 0.5}, max_edge=0.008),
            PartSpec("trigger", trigger, {"press": 1.0}, max_edge=0.006),
        ],
        articulation=Articulation("trigger", (0.0, 1.0, 0.0), (0.034, 0.0, 0.2185), (0.0, 0.35)),
    )


# ---------------------------------------------------------------------- boxes and devices


def box_object() -> HOIObject:
    """Storage box with a hinged lid (articulated)."""
    width, depth, height, wall, lid_thickness = 0.2, 0.14, 0.08, 0.004, 0.01
    outer = box((width, depth, height), (0.0, 0.0, height / 2))
    cavity = box((width - 2 * wall, depth - 2 * wall, height), (0.0, 0.0, height / 2 + wall))
    base = difference(outer, cavity)
    lid = box((width, depth, lid_thickness), (0.0, 0.0, height + lid_thickness / 2))
    return assemble(
        "box",
        "cardboard storage box with a lid hinged along the back edge (0.2 x 0.14 x 0.09 m)",
        [
            PartSpec(
                "base",
                base,
                {
                    "contain": _both(
                        _z_above(wall * 0.5), lambda c, n: _inside_box(c, n, width, depth, wall)
                    ),
                    "grasp": lambda c, n: (
                        (np.abs(n[:, 0]) > 0.7) & (np.abs(c[:, 0]) > width / 2 - 1e-3)
                    ),
                    "lift": lambda c, n: (
                        (np.abs(n[:, 0]) > 0.7) & (np.abs(c[:, 0]) > width / 2 - 1e-3)
                    ),
                },
            ),
            PartSpec(
                "lid",
                lid,
                {"open": lambda c, n: c[:, 1] < -depth / 2 + 0.03, "lift": 0.5},
            ),
        ],
        articulation=Articulation(
            "lid", (-1.0, 0.0, 0.0), (0.0, depth / 2, height), (0.0, 0.6 * math.pi)
        ),
    )


def _inside_box(c: np.ndarray, n: np.ndarray, width: float, depth: float, wall: float):
    """Faces of the cavity: inside the inner walls' footprint."""
    return (np.abs(c[:, 0]) < width / 2 - wall + 1e-4) & (np.abs(c[:, 1]) < depth / 2 - wall + 1e-4)


def phone() -> HOIObject:
    """Smartphone lying screen-up."""
    width, length, thickness = 0.071, 0.147, 0.0075
    body = box((width, length, thickness), (0.0, 0.0, thickness / 2))
    screen = box((width - 0.004, length - 0.004, 0.0005), (0.0, 0.0, thickness + 0.00025))
    return assemble(
        "phone",
        "smartphone lying screen-up (0.071 x 0.147 x 0.008 m)",
        [
            PartSpec(
                "body",
                body,
                {"grasp": lambda c, n: np.abs(n[:, 2]) < 0.7, "lift": 1.0},
                max_edge=0.01,
            ),
            PartSpec(
                "screen",
                screen,
                {"press": _facing(2, 1.0), "display": _facing(2, 1.0)},
                max_edge=0.01,
            ),
        ],
    )


def laptop() -> HOIObject:
    """Laptop: base with keyboard and a lid on a hinge along the back edge (articulated)."""
    width, depth, base_height, lid_thickness = 0.32, 0.22, 0.015, 0.007
    base = box((width, depth, base_height), (0.0, 0.0, base_height / 2))
    lid = box((width, depth, lid_thickness), (0.0, 0.0, base_height + lid_thickness / 2))
    top = _both(_facing(2, 1.0), _z_above(base_height - 1e-4))

    def keyboard(c: np.ndarray, n: np.ndarray) -> np.ndarray:
        return top(c, n) & (np.abs(c[:, 0]) < 0.14) & (c[:, 1] > -0.02) & (c[:, 1] < 0.095)

    def palm_rest(c: np.ndarray, n: np.ndarray) -> np.ndarray:
        return top(c, n) & (c[:, 1] <= -0.02)

    return assemble(
        "laptop",
        "laptop, closed at rest; the lid opens about the hinge at the back edge (0.32 x 0.22 m)",
        [
            PartSpec(
                "base",
                base,
                {
                    "press": keyboard,
                    "support": palm_rest,
                    "grasp": lambda c, n: c[:, 1] < -depth / 2 + 0.03,
                    "lift": lambda c, n: np.abs(n[:, 2]) < 0.7,
                },
                max_edge=0.02,
            ),
            PartSpec(
                "lid",
                lid,
                {
                    "open": lambda c, n: c[:, 1] < -depth / 2 + 0.03,
                    "display": _facing(2, -1.0),
                    "push": _facing(2, 1.0),
                },
                max_edge=0.02,
            ),
        ],
        articulation=Articulation(
            "lid", (-1.0, 0.0, 0.0), (0.0, depth / 2, base_height), (0.0, 0.65 * math.pi)
        ),
    )


def book() -> HOIObject:
    """Hardcover book lying flat; the front cover opens about the spine (articulated)."""
    width, length, pages, cover = 0.16, 0.24, 0.022, 0.003
    block = box((width, length, pages + cover), (0.0, 0.0, (pages + cover) / 2))
    front = box((width, length, cover), (0.0, 0.0, pages + cover * 1.5))
    return assemble(
        "book",
        "hardcover book lying flat (0.16 x 0.24 x 0.028 m); the front cover opens about the spine",
        [
            PartSpec(
                "pages",
                block,
                {"grasp": lambda c, n: np.abs(n[:, 2]) < 0.7, "support": _facing(2, -1.0)},
                max_edge=0.02,
            ),
            PartSpec(
                "cover",
                front,
                {"open": lambda c, n: c[:, 0] > width / 2 - 0.03, "display": _facing(2, 1.0)},
                max_edge=0.02,
            ),
        ],
        articulation=Articulation(
            "cover", (0.0, -1.0, 0.0), (-width / 2, 0.0, pages + cover), (0.0, math.pi)
        ),
    )


def headphones() -> HOIObject:
    """Over-ear headphones standing on their ear cups."""
    band_radius = 0.085
    ring = torus_arc(band_radius, 0.008, rotation([1, 0, 0], math.pi / 2), minor_sections=10)
    ring.apply_translation([0.0, 0.0, 0.05])
    keep_top = box((0.3, 0.1, 0.2), (0.0, 0.0, 0.05 + 0.1))
    band = difference(ring, difference(ring, keep_top))
    cups = union(
        [
            rod((side * 0.085, 0.0, 0.0), (side * 0.055, 0.0, 0.0), 0.045, sections=32)
            for side in (-1.0, 1.0)
        ]
    )
    cups.apply_translation([0.0, 0.0, 0.045])
    return assemble(
        "headphones",
        "over-ear headphones standing on their cups (0.19 m wide, 0.15 m tall)",
        [
            PartSpec(
                "ear_cups",
                cups,
                {"listen": lambda c, n: np.abs(n[:, 0]) > 0.7, "wear": 1.0, "grasp": 0.5},
            ),
            PartSpec("band", band, {"grasp": 1.0, "wear": 1.0, "lift": 1.0}),
        ],
    )


# ---------------------------------------------------------------------- tools


def knife() -> HOIObject:
    """Kitchen knife lying flat: handle and blade."""
    handle = capsule((-0.115, 0.0, 0.009), (-0.005, 0.0, 0.009), 0.009)
    blade = slab([(0.0, -0.014), (0.0, 0.016), (0.12, 0.008), (0.16, -0.013)], 0.008, 0.010)
    return assemble(
        "knife",
        "chef's knife lying flat (0.285 m long): handle and blade",
        [
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}),
            PartSpec("blade", blade, {"cut": 1.0, "stab": _x_above(0.12)}, max_edge=0.008),
        ],
    )


def hammer() -> HOIObject:
    """Claw hammer lying on its side: handle and head."""
    handle = capsule((-0.17, 0.0, 0.016), (0.15, 0.0, 0.016), 0.014)
    head = union(
        [
            box((0.032, 0.05, 0.032), (0.155, 0.02, 0.016)),
            rod((0.155, 0.0, 0.016), (0.155, -0.045, 0.016), 0.013),
            hull(
                [
                    (0.142, 0.044, 0.004),
                    (0.168, 0.044, 0.004),
                    (0.142, 0.044, 0.028),
                    (0.168, 0.044, 0.028),
                    (0.15, 0.085, 0.014),
                    (0.16, 0.085, 0.018),
                ]
            ),
        ]
    )
    return assemble(
        "hammer",
        "claw hammer lying on its side (0.33 m long): handle and head",
        [
            PartSpec("head", head, {"push": _facing(1, -1.0, 0.5)}),
            PartSpec("handle", handle, {"grasp": _x_below(0.1), "lift": _x_below(0.1)}),
        ],
    )


def pan() -> HOIObject:
    """Frying pan with a long handle."""
    rim = 0.045
    outer = [(0.09, 0.0), (0.1, 0.01), (0.11, rim)]
    body = revolve(shell_profile(outer, wall=0.003, base=0.004), sections=48)
    solid = revolve([(0.0, 0.0), *outer, (0.0, rim)], sections=48)
    bar = hull(
        [
            (x, y, z)
            for x, half_width, z_mid in ((0.1, 0.012, 0.036), (0.3, 0.016, 0.05))
            for y in (-half_width, half_width)
            for z in (z_mid - 0.006, z_mid + 0.006)
        ]
    )
    handle = difference(bar, solid)
    inside = _vessel_inside(rim)
    return assemble(
        "pan",
        "frying pan with a long handle (0.41 m long, 0.22 m pan)",
        [
            PartSpec(
                "pan_body",
                body,
                {
                    "contain": inside,
                    "support": _both(inside, _facing(2, 1.0)),
                    "pour": _z_above(rim - 0.004),
                },
            ),
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0, "move": 1.0}, carve=False),
        ],
    )


def spatula() -> HOIObject:
    """Kitchen spatula (turner) lying flat."""
    grip = capsule((-0.22, 0.0, 0.009), (-0.06, 0.0, 0.009), 0.009)
    neck = rod((-0.065, 0.0, 0.009), (0.004, 0.0, 0.002), 0.004)
    handle = union([grip, neck])
    blade = slab([(0.0, -0.03), (0.0, 0.03), (0.095, 0.04), (0.095, -0.04)], 0.0, 0.0025)
    return assemble(
        "spatula",
        "kitchen spatula lying flat (0.33 m long): handle and blade",
        [
            PartSpec("handle", handle, {"grasp": _x_below(-0.07)}),
            PartSpec("blade", blade, {"support": _facing(2, 1.0), "push": 1.0}, max_edge=0.01),
        ],
    )


def scissors() -> HOIObject:
    """Scissors lying flat; the upper half turns about the pivot screw (articulated)."""
    thickness = 0.003

    def half(sign: float, z0: float):
        blade = slab(
            [(0.0, -0.006 * sign), (0.0, 0.007 * sign), (0.1, 0.001 * sign), (0.1, -0.001 * sign)],
            z0,
            z0 + thickness,
        )
        ring = torus_arc(0.016, 0.0035, major_sections=24, minor_sections=8)
        ring.apply_translation([-0.045, 0.016 * sign, z0 + thickness / 2])
        shank = slab(
            [
                (-0.035, 0.004 * sign),
                (0.005, 0.007 * sign),
                (0.005, -0.006 * sign),
                (-0.035, 0.014 * sign),
            ],
            z0,
            z0 + thickness,
        )
        return union([blade, ring, shank])

    lower = half(1.0, 0.0005)
    upper = half(-1.0, 0.0005 + thickness)
    grip = lambda c, n: c[:, 0] < -0.02  # noqa: E731
    cut = lambda c, n: c[:, 0] > 0.005  # noqa: E731
    return assemble(
        "scissors",
        "office scissors lying flat (0.165 m long); the upper half opens about the pivot",
        [
            PartSpec(
                "lower", lower, {"grasp": grip, "cut": cut, "stab": _x_above(0.085)}, max_edge=0.006
            ),
            PartSpec("upper", upper, {"grasp": grip, "cut": cut}, max_edge=0.006),
        ],
        articulation=Articulation("upper", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.8)),
    )


def toothbrush() -> HOIObject:
    """Toothbrush lying on its back with bristles up."""
    handle = union(
        [
            capsule((-0.12, 0.0, 0.006), (0.04, 0.0, 0.006), 0.006),
            box((0.03, 0.012, 0.006), (0.055, 0.0, 0.006)),
        ]
    )
    bristles = box((0.026, 0.01, 0.011), (0.056, 0.0, 0.0145))
    return assemble(
        "toothbrush",
        "toothbrush lying on its back with bristles up (0.19 m long)",
        [
            PartSpec("handle", handle, {"grasp": _x_below(0.02)}, max_edge=0.006),
            PartSpec("bristles", bristles, {"push": 1.0}, max_edge=0.004),
        ],
    )


# name -> builder; names are what `openhoi objects list` shows.
BUILTIN_BUILDERS: dict[str, Callable[[], HOIObject]] = {
    "bottle": bottle,
    "book": book,
    "bowl": bowl,
    "box": box_object,
    "can": can,
    "cup": cup,
    "hammer": hammer,
    "headphones": headphones,
    "jar": jar,
    "kettle": kettle,
    "knife": knife,
    "laptop": laptop,
    "mug": mug,
    "pan": pan,
    "phone": phone,
    "pitcher": pitcher,
    "scissors": scissors,
    "spatula": spatula,
    "spray_bottle": spray_bottle,
    "toothbrush": toothbrush,
}
