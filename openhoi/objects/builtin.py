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
#
# Every builder takes its proportions as keyword arguments whose defaults are the
# built-in object; `openhoi.objects.families` draws other values for procedural variants.
# Geometry is written as the built-in's numbers times ratios (`radius / 0.035`), which
# are exactly 1.0 at the defaults, so the built-in meshes stay bit-identical.


def bottle(
    *,
    radius: float = 0.035,
    height: float = 0.205,
    neck_radius: float = 0.014,
    cap_height: float = 0.02,
    name: str = "bottle",
) -> HOIObject:
    """Water bottle, 0.225 m tall: body and screw cap.

    Args:
        radius: body radius (m). height: body height up to the cap (m).
        neck_radius: radius of the neck under the cap (m). cap_height: cap height (m).
        name: object name.
    """
    sr, sz, sn = radius / 0.035, height / 0.205, neck_radius / 0.014
    shoulder = (sr + sn) / 2
    body = revolve(
        [
            (0.0, 0.0),
            (0.033 * sr, 0.0),
            (0.035 * sr, 0.004 * sz),
            (0.035 * sr, 0.06 * sz),
            (0.035 * sr, 0.15 * sz),
            (0.031 * sr, 0.168 * sz),
            (0.02 * shoulder, 0.185 * sz),
            (0.014 * sn, 0.195 * sz),
            (0.014 * sn, 0.205 * sz),
            (0.0, 0.205 * sz),
        ]
    )
    cap = cylinder(0.0165 * sn, cap_height, z0=0.205 * sz)
    return assemble(
        name,
        f"plastic water bottle with a screw cap ({2 * radius:.3g} m wide, "
        f"{height + cap_height:.3g} m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "grasp": _z_below(0.17 * sz),
                    "wrap-grasp": _both(_outer_wall, _z_below(0.155 * sz)),
                    "contain": 1.0,
                    "pour": _z_above(0.18 * sz),
                    "lift": _z_below(0.17 * sz),
                },
            ),
            PartSpec("cap", cap, {"open": 1.0, "grasp": 0.5}),
        ],
    )


def mug(
    *,
    radius: float = 0.041,
    height: float = 0.096,
    handle_radius: float = 0.03,
    handle_thickness: float = 0.0065,
    handle_stretch: float = 1.0,
    handle_height: float = 0.5,
    name: str = "mug",
) -> HOIObject:
    """Coffee mug with a ring handle.

    Args:
        radius, height: body (m). handle_radius / handle_thickness: the ring's major /
            minor radius (m). handle_stretch: vertical stretch of the ring (1: round,
            > 1: a tall D). handle_height: ring centre as a fraction of the height.
        name: object name.
    """
    sr = radius / 0.041
    outer = [(0.038 * sr, 0.0), (radius, 0.004), (radius, height)]
    body = revolve(shell_profile(outer, wall=0.004, base=0.008))
    solid = revolve([(0.0, 0.0), *outer, (0.0, height)])
    ring = torus_arc(handle_radius, handle_thickness, rotation([1, 0, 0], math.pi / 2))
    if handle_stretch != 1.0:
        ring.apply_transform(np.diag([1.0, 1.0, handle_stretch, 1.0]))
    ring.apply_translation([radius, 0.0, height * handle_height])
    handle = difference(ring, solid)
    return assemble(
        name,
        f"ceramic coffee mug with a side handle ({2 * radius:.3g} m wide body, "
        f"{height:.3g} m tall)",
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


def pitcher(
    *,
    radius: float = 0.06,
    height: float = 0.2,
    handle_scale: float = 1.0,
    handle_thickness: float = 0.0085,
    name: str = "pitcher",
) -> HOIObject:
    """Water pitcher: a tall open vessel, a tall loop handle at the back, a pouring lip.

    Args:
        radius: widest body radius (m). height: rim height (m). handle_scale: size of the
            loop relative to the built-in's. handle_thickness: loop tube radius (m).
        name: object name.
    """
    sr, sz = radius / 0.06, height / 0.2
    outer = [
        (0.05 * sr, 0.0),
        (0.056 * sr, 0.006),
        (0.06 * sr, 0.09 * sz),
        (0.054 * sr, 0.17 * sz),
        (0.057 * sr, height),
    ]
    body = revolve(shell_profile(outer, wall=0.004, base=0.008))
    solid = revolve([(0.0, 0.0), *outer, (0.0, height)])
    # An elongated loop: a torus squashed along its vertical extent, at the back (-x).
    ring = torus_arc(0.05 * handle_scale, handle_thickness, rotation([1, 0, 0], math.pi / 2))
    ring.apply_transform(np.diag([0.75, 1.0, 1.45, 1.0]))
    ring.apply_translation([-0.056 * sr, 0.0, 0.105 * sz])
    handle = difference(ring, solid)
    # The lip: a wedge leaving the rim at the front (+x), cut where it enters the body.
    lip = hull(
        [
            (0.04 * sr, -0.022, height - 0.03),
            (0.04 * sr, 0.022, height - 0.03),
            (0.04 * sr, -0.024, height),
            (0.04 * sr, 0.024, height),
            (0.082 * sr, 0.0, height + 0.006),
            (0.072 * sr, 0.0, height - 0.012),
        ]
    )
    lip = difference(lip, solid)
    return assemble(
        name,
        f"water pitcher with a loop handle and a pouring lip ({height:.3g} m tall, "
        f"{2 * radius:.3g} m wide body)",
        [
            PartSpec(
                "body",
                body,
                {
                    "contain": _vessel_inside(height),
                    "wrap-grasp": _both(_outer_wall, _z_below(0.15 * sz)),
                    "pour": _z_above(height - 0.012),
                    "lift": _outer_wall,
                },
            ),
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, carve=False),
            PartSpec("spout", lip, {"pour": 1.0}, carve=False),
        ],
    )


def cup(
    *,
    base_radius: float = 0.027,
    rim_radius: float = 0.04,
    height: float = 0.1,
    name: str = "cup",
) -> HOIObject:
    """Tapered paper cup (radii and height in metres)."""
    sz = height / 0.1
    body = revolve(
        shell_profile([(base_radius, 0.0), (rim_radius, height)], wall=0.0025, base=0.004),
        sections=48,
    )
    return assemble(
        name,
        f"tapered paper cup ({2 * rim_radius:.3g} m rim, {height:.3g} m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "contain": _vessel_inside(height),
                    "wrap-grasp": _outer_wall,
                    "grasp": _both(_outer_wall, _z_below(0.08 * sz)),
                    "pour": _z_above(height - 0.01),
                },
            )
        ],
    )


def bowl(*, rim_radius: float = 0.078, height: float = 0.065, name: str = "bowl") -> HOIObject:
    """Cereal bowl (rim radius and height in metres)."""
    sr, sz = rim_radius / 0.078, height / 0.065
    rim = height
    body = revolve(
        shell_profile(
            [
                (0.035 * sr, 0.0),
                (0.055 * sr, 0.02 * sz),
                (0.072 * sr, 0.045 * sz),
                (rim_radius, rim),
            ],
            wall=0.004,
            base=0.005,
        ),
        sections=48,
    )
    return assemble(
        name,
        f"ceramic cereal bowl ({2 * rim_radius:.3g} m wide, {height:.3g} m tall)",
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


def can(*, radius: float = 0.033, height: float = 0.122, name: str = "can") -> HOIObject:
    """Soda can with a pull tab (radius and height in metres)."""
    sr = radius / 0.033
    body = revolve(
        [
            (0.0, 0.0),
            (0.026 * sr, 0.0),
            (radius, 0.008),
            (radius, height - 0.01),
            (0.027 * sr, height),
            (0.0, height),
        ]
    )
    tab = slab(
        [(-0.006, -0.004), (0.006, -0.004), (0.006, 0.018), (-0.006, 0.018)],
        height,
        height + 0.0015,
    )
    return assemble(
        name,
        f"aluminium soda can with a pull tab ({2 * radius:.3g} m wide, {height:.3g} m tall)",
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


def jar(
    *,
    radius: float = 0.045,
    height: float = 0.126,
    lid_height: float = 0.02,
    name: str = "jar",
    description: str | None = None,
) -> HOIObject:
    """Glass jar with a twist-off lid (articulated: the lid turns about z).

    Args:
        radius: body radius (m). height: top of the neck (m). lid_height: lid (m).
        name: object name. description: one line (default: the jar's).
    """
    sr, sz = radius / 0.045, height / 0.126
    body = revolve(
        [
            (0.0, 0.0),
            (0.04 * sr, 0.0),
            (radius, 0.008),
            (radius, 0.1 * sz),
            (0.037 * sr, 0.108 * sz),
            (0.037 * sr, height),
            (0.0, height),
        ]
    )
    lid = cylinder(0.043 * sr, lid_height, z0=0.112 * sz, sections=40)
    top = 0.112 * sz + lid_height
    return assemble(
        name,
        description
        or f"glass jar with a twist-off lid ({2 * radius:.3g} m wide, {top:.3g} m tall); "
        "the lid unscrews about z",
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


def kettle(
    *,
    radius: float = 0.08,
    height: float = 0.16,
    handle_radius: float = 0.055,
    spout_scale: float = 1.0,
    name: str = "kettle",
) -> HOIObject:
    """Kettle with handle, spout and lid.

    Args:
        radius: body radius (m). height: top of the body (m). handle_radius: the
            handle ring's radius (m). spout_scale: spout length relative to the built-in's.
        name: object name.
    """
    sr, sz = radius / 0.08, height / 0.16
    profile = [
        (0.0, 0.0),
        (0.075 * sr, 0.0),
        (radius, 0.01),
        (radius, 0.1 * sz),
        (0.06 * sr, 0.15 * sz),
        (0.045 * sr, height),
    ]
    body = revolve([*profile, (0.0, height)])
    lid = revolve(
        [
            (0.0, height),
            (0.046 * sr, height),
            (0.04 * sr, height + 0.01),
            (0.012, height + 0.012),
            (0.012, height + 0.025),
            (0.0, height + 0.025),
        ]
    )
    ring = torus_arc(handle_radius, 0.009, rotation([1, 0, 0], math.pi / 2))
    ring.apply_translation([-0.065 * sr, 0.0, 0.1 * sz])
    handle = difference(ring, body)
    spout = capsule(
        (0.05 * sr, 0.0, 0.04 * sz), (0.135 * sr * spout_scale, 0.0, 0.13 * sz * spout_scale), 0.011
    )
    spout = difference(spout, body)
    extent = 0.135 * sr * spout_scale + 0.011 + 0.065 * sr + handle_radius + 0.009
    return assemble(
        name,
        "stove-top kettle with handle, spout and lid "
        + (
            "(0.31 m long, 0.185 m tall)"
            if (sr, sz, spout_scale, handle_radius) == (1.0, 1.0, 1.0, 0.055)
            else f"({extent:.3g} m long, {height + 0.025:.3g} m tall)"
        ),
        [
            PartSpec(
                "body",
                body,
                {"contain": 1.0, "wrap-grasp": _both(_outer_wall, _z_below(0.1 * sz))},
                carve=False,
            ),
            PartSpec("lid", lid, {"open": 1.0, "grasp": _z_above(height + 0.01)}, carve=False),
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, carve=False),
            PartSpec("spout", spout, {"pour": 1.0}, carve=False),
        ],
    )


def spray_bottle(
    *, radius: float = 0.04, height: float = 0.195, name: str = "spray_bottle"
) -> HOIObject:
    """Spray bottle: body, spray head and a trigger that pivots (articulated).

    Args:
        radius: body radius (m). height: top of the neck under the head (m).
        name: object name.
    """
    sr, sz = radius / 0.04, height / 0.195
    # The head and trigger keep their shape and follow the neck top and the body's front.
    dx, dz = radius - 0.04, height - 0.195
    body = revolve(
        [
            (0.0, 0.0),
            (0.036 * sr, 0.0),
            (radius, 0.006),
            (radius, 0.16 * sz),
            (0.018, 0.18 * sz),
            (0.016, height),
            (0.0, height),
        ]
    )
    head = union(
        [
            box((0.04, 0.034, 0.045), (0.0, 0.0, 0.2175 + dz)),
            box((0.05 + dx, 0.02, 0.018), (0.042 + dx / 2, 0.0, 0.228 + dz)),
        ]
    )
    trigger = box((0.012, 0.018, 0.045), (0.04 + dx, 0.0, 0.196 + dz))
    return assemble(
        name,
        f"trigger spray bottle ({height + 0.065:.3g} m tall); the trigger pivots towards the "
        "bottle when pressed",
        [
            PartSpec(
                "body",
                body,
                {"grasp": _z_above(0.15 * sz), "wrap-grasp": _outer_wall, "contain": 1.0},
            ),
            PartSpec("head", head, {"grasp": 0.5}, max_edge=0.008),
            PartSpec("trigger", trigger, {"press": 1.0}, max_edge=0.006),
        ],
        articulation=Articulation(
            "trigger", (0.0, 1.0, 0.0), (0.034 + dx, 0.0, 0.2185 + dz), (0.0, 0.35)
        ),
    )


# ---------------------------------------------------------------------- boxes and devices


def box_object(
    *,
    width: float = 0.2,
    depth: float = 0.14,
    height: float = 0.08,
    wall: float = 0.004,
    lid_thickness: float = 0.01,
    name: str = "box",
    description: str | None = None,
) -> HOIObject:
    """Storage box with a hinged lid (articulated); sizes in metres."""
    outer = box((width, depth, height), (0.0, 0.0, height / 2))
    cavity = box((width - 2 * wall, depth - 2 * wall, height), (0.0, 0.0, height / 2 + wall))
    base = difference(outer, cavity)
    lid = box((width, depth, lid_thickness), (0.0, 0.0, height + lid_thickness / 2))
    return assemble(
        name,
        description
        or f"cardboard storage box with a lid hinged along the back edge ({width:.3g} x "
        f"{depth:.3g} x {height + lid_thickness:.3g} m)",
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


def phone(
    *,
    width: float = 0.071,
    length: float = 0.147,
    thickness: float = 0.0075,
    name: str = "phone",
) -> HOIObject:
    """Smartphone lying screen-up; sizes in metres."""
    body = box((width, length, thickness), (0.0, 0.0, thickness / 2))
    screen = box((width - 0.004, length - 0.004, 0.0005), (0.0, 0.0, thickness + 0.00025))
    return assemble(
        name,
        f"smartphone lying screen-up ({width:.3g} x {length:.3g} x {thickness + 0.0005:.1g} m)",
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


def laptop(
    *,
    width: float = 0.32,
    depth: float = 0.22,
    base_height: float = 0.015,
    lid_thickness: float = 0.007,
    name: str = "laptop",
) -> HOIObject:
    """Laptop: base with keyboard and a lid on a hinge along the back edge (articulated)."""
    sw, sd = width / 0.32, depth / 0.22
    base = box((width, depth, base_height), (0.0, 0.0, base_height / 2))
    lid = box((width, depth, lid_thickness), (0.0, 0.0, base_height + lid_thickness / 2))
    top = _both(_facing(2, 1.0), _z_above(base_height - 1e-4))

    def keyboard(c: np.ndarray, n: np.ndarray) -> np.ndarray:
        return (
            top(c, n)
            & (np.abs(c[:, 0]) < 0.14 * sw)
            & (c[:, 1] > -0.02 * sd)
            & (c[:, 1] < 0.095 * sd)
        )

    def palm_rest(c: np.ndarray, n: np.ndarray) -> np.ndarray:
        return top(c, n) & (c[:, 1] <= -0.02 * sd)

    return assemble(
        name,
        "laptop, closed at rest; the lid opens about the hinge at the back edge "
        f"({width:.3g} x {depth:.3g} m)",
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


def book(
    *,
    width: float = 0.16,
    length: float = 0.24,
    pages: float = 0.022,
    cover: float = 0.003,
    name: str = "book",
) -> HOIObject:
    """Hardcover book lying flat; the front cover opens about the spine (articulated)."""
    block = box((width, length, pages + cover), (0.0, 0.0, (pages + cover) / 2))
    front = box((width, length, cover), (0.0, 0.0, pages + cover * 1.5))
    return assemble(
        name,
        f"hardcover book lying flat ({width:.3g} x {length:.3g} x {pages + 2 * cover:.2g} m); "
        "the front cover opens about the spine",
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


def headphones(
    *,
    band_radius: float = 0.085,
    band_thickness: float = 0.008,
    cup_radius: float = 0.045,
    name: str = "headphones",
) -> HOIObject:
    """Over-ear headphones standing on their ear cups; sizes in metres."""
    sb, sc = band_radius / 0.085, cup_radius / 0.045
    ring = torus_arc(
        band_radius, band_thickness, rotation([1, 0, 0], math.pi / 2), minor_sections=10
    )
    ring.apply_translation([0.0, 0.0, 0.05 * sc])
    keep_top = box((0.3 * sb, 0.1, 0.2), (0.0, 0.0, 0.05 * sc + 0.1))
    band = difference(ring, difference(ring, keep_top))
    cups = union(
        [
            rod(
                (side * 0.085 * sb, 0.0, 0.0),
                (side * 0.055 * sb, 0.0, 0.0),
                cup_radius,
                sections=32,
            )
            for side in (-1.0, 1.0)
        ]
    )
    cups.apply_translation([0.0, 0.0, cup_radius])
    return assemble(
        name,
        f"over-ear headphones standing on their cups ({2 * 0.095 * sb:.2g} m wide, "
        f"{0.15 * sb:.2g} m tall)",
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


def knife(
    *,
    handle_length: float = 0.11,
    handle_radius: float = 0.009,
    blade_length: float = 0.16,
    blade_width: float = 0.03,
    name: str = "knife",
) -> HOIObject:
    """Kitchen knife lying flat: handle and blade; sizes in metres."""
    sh, sl, sw = handle_length / 0.11, blade_length / 0.16, blade_width / 0.03
    handle = capsule(
        (-0.115 * sh, 0.0, handle_radius), (-0.005 * sh, 0.0, handle_radius), handle_radius
    )
    blade = slab(
        [(0.0, -0.014 * sw), (0.0, 0.016 * sw), (0.12 * sl, 0.008 * sw), (0.16 * sl, -0.013 * sw)],
        0.008,
        0.010,
    )
    total = 0.125 * sh + 0.16 * sl
    return assemble(
        name,
        f"chef's knife lying flat ({total:.3g} m long): handle and blade",
        [
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}),
            PartSpec("blade", blade, {"cut": 1.0, "stab": _x_above(0.12 * sl)}, max_edge=0.008),
        ],
    )


def hammer(
    *,
    handle_length: float = 0.32,
    handle_radius: float = 0.014,
    head_scale: float = 1.0,
    name: str = "hammer",
) -> HOIObject:
    """Claw hammer lying on its side: handle and head; sizes in metres."""
    sl = handle_length / 0.32
    handle = capsule((-0.17 * sl, 0.0, 0.016), (0.15 * sl, 0.0, 0.016), handle_radius)
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
    if head_scale != 1.0:  # about the eye, where the handle passes through
        head.apply_translation([-0.155, 0.0, -0.016])
        head.apply_scale(head_scale)
        head.apply_translation([0.155, 0.0, 0.016])
    if sl != 1.0:
        head.apply_translation([0.155 * sl - 0.155, 0.0, 0.0])
    return assemble(
        name,
        f"claw hammer lying on its side ({0.33 * sl:.2g} m long): handle and head",
        [
            PartSpec("head", head, {"push": _facing(1, -1.0, 0.5)}),
            PartSpec("handle", handle, {"grasp": _x_below(0.1 * sl), "lift": _x_below(0.1 * sl)}),
        ],
    )


def pan(
    *,
    radius: float = 0.11,
    rim: float = 0.045,
    handle_end: float = 0.3,
    name: str = "pan",
) -> HOIObject:
    """Frying pan with a long handle: rim radius and height, handle tip x (metres)."""
    sr = radius / 0.11
    outer = [(0.09 * sr, 0.0), (0.1 * sr, 0.01), (radius, rim)]
    body = revolve(shell_profile(outer, wall=0.003, base=0.004), sections=48)
    solid = revolve([(0.0, 0.0), *outer, (0.0, rim)], sections=48)
    rise = rim - 0.045
    bar = hull(
        [
            (x, y, z)
            for x, half_width, z_mid in (
                (0.1 * sr, 0.012, 0.036 + rise),
                (handle_end, 0.016, 0.05 + rise),
            )
            for y in (-half_width, half_width)
            for z in (z_mid - 0.006, z_mid + 0.006)
        ]
    )
    handle = difference(bar, solid)
    inside = _vessel_inside(rim)
    return assemble(
        name,
        f"frying pan with a long handle ({radius + handle_end:.2g} m long, {2 * radius:.2g} m pan)",
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


def spatula(
    *,
    grip_length: float = 0.16,
    blade_length: float = 0.095,
    blade_width: float = 0.08,
    name: str = "spatula",
) -> HOIObject:
    """Kitchen spatula (turner) lying flat; sizes in metres."""
    sw = blade_width / 0.08
    grip = capsule((-0.06 - grip_length, 0.0, 0.009), (-0.06, 0.0, 0.009), 0.009)
    neck = rod((-0.065, 0.0, 0.009), (0.004, 0.0, 0.002), 0.004)
    handle = union([grip, neck])
    blade = slab(
        [
            (0.0, -0.03 * sw),
            (0.0, 0.03 * sw),
            (blade_length, 0.04 * sw),
            (blade_length, -0.04 * sw),
        ],
        0.0,
        0.0025,
    )
    return assemble(
        name,
        f"kitchen spatula lying flat ({0.075 + grip_length + blade_length:.2g} m long): handle "
        "and blade",
        [
            PartSpec("handle", handle, {"grasp": _x_below(-0.07)}),
            PartSpec("blade", blade, {"support": _facing(2, 1.0), "push": 1.0}, max_edge=0.01),
        ],
    )


def scissors(
    *, blade_length: float = 0.1, ring_radius: float = 0.016, name: str = "scissors"
) -> HOIObject:
    """Scissors lying flat; the upper half turns about the pivot screw (articulated)."""
    thickness = 0.003
    sb, sr = blade_length / 0.1, ring_radius / 0.016

    def half(sign: float, z0: float):
        blade = slab(
            [
                (0.0, -0.006 * sign),
                (0.0, 0.007 * sign),
                (blade_length, 0.001 * sign),
                (blade_length, -0.001 * sign),
            ],
            z0,
            z0 + thickness,
        )
        ring = torus_arc(ring_radius, 0.0035, major_sections=24, minor_sections=8)
        ring.apply_translation([-0.045 * sr, ring_radius * sign, z0 + thickness / 2])
        shank = slab(
            [
                (-0.035 * sr, 0.004 * sign),
                (0.005, 0.007 * sign),
                (0.005, -0.006 * sign),
                (-0.035 * sr, 0.014 * sign),
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
        name,
        f"office scissors lying flat ({blade_length + 0.065 * sr:.3g} m long); the upper half "
        "opens about the pivot",
        [
            PartSpec(
                "lower",
                lower,
                {"grasp": grip, "cut": cut, "stab": _x_above(0.085 * sb)},
                max_edge=0.006,
            ),
            PartSpec("upper", upper, {"grasp": grip, "cut": cut}, max_edge=0.006),
        ],
        articulation=Articulation("upper", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.8)),
    )


def toothbrush(*, handle_length: float = 0.16, name: str = "toothbrush") -> HOIObject:
    """Toothbrush lying on its back with bristles up (handle length in metres)."""
    handle = union(
        [
            capsule((0.04 - handle_length, 0.0, 0.006), (0.04, 0.0, 0.006), 0.006),
            box((0.03, 0.012, 0.006), (0.055, 0.0, 0.006)),
        ]
    )
    bristles = box((0.026, 0.01, 0.011), (0.056, 0.0, 0.0145))
    return assemble(
        name,
        f"toothbrush lying on its back with bristles up ({handle_length + 0.03:.2g} m long)",
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
