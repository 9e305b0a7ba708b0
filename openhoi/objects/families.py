"""Procedural object families: one builder, many plausible variants (SynthHOI v3).

A family is a function of parameters (proportions, handle shapes and placements, sizes
within real ranges, metres) and a sampler that draws them from a seeded RNG. Variant
`v` of family `F` is named `F-v<v>` with three digits at least ("mug-v007"); its
parameters come from `default_rng([crc32("openhoi-family:F"), v])`, so a name always
means the same parameters, for any registry order and any run. `build_variant` returns
an `HOIObject` meeting the built-ins' contract (canonical frame, parts, per-face
affordances, articulation where the family has one); `openhoi.objects.load_object`
reads a variant name (`load_object("mug-v007")`) by building it.

Families that match a built-in reuse its builder (`openhoi.objects.builtin`, whose
defaults are the built-in); the rest are built here from the same primitives.

Registry (:data:`FAMILIES`): name → `ObjectFamily` (builder, sampler, category, the
SynthHOI episode kinds it supports and the regions those kinds touch, as plain data that
`openhoi.synth.tasks` turns into its `Region`s).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import zlib
from collections.abc import Callable, Mapping

import numpy as np
import trimesh

from openhoi.errors import InputError
from openhoi.objects import builtin as _b
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

__all__ = [
    "CATEGORIES",
    "FAMILIES",
    "MAX_VARIANTS",
    "VARIANT_SEPARATOR",
    "FamilyRegion",
    "ObjectFamily",
    "build_variant",
    "family",
    "family_of",
    "list_families",
    "parse_variant_name",
    "variant_name",
    "variant_params",
]

CATEGORIES = ("kitchen", "containers", "tools", "electronics", "toys", "household")
# Variant indices 0 .. MAX_VARIANTS - 1 are valid.
MAX_VARIANTS = 100_000
VARIANT_SEPARATOR = "-v"
_VARIANT_NAME = re.compile(r"^([a-z][a-z0-9_]*)-v(\d{3,})$")
_SEED_PREFIX = "openhoi-family:"

Params = dict[str, float]


@dataclasses.dataclass(frozen=True)
class FamilyRegion:
    """The region an episode role touches (plain data for `openhoi.synth.tasks.Region`).

    Attributes:
        affordance: affordance type labelled on the region.
        part: part the region is restricted to, or None.
        grasp_types: grasp types to try, in order of preference.
        max_height_m: only region points at most this high (m) are used; None: all.
    """

    affordance: str
    part: str | None
    grasp_types: tuple[str, ...]
    max_height_m: float | None = None


@dataclasses.dataclass(frozen=True)
class ObjectFamily:
    """One procedural family.

    Attributes:
        name: family name (lowercase identifier); variants are `name-v007`.
        category: one of `CATEGORIES`.
        sample: draws the builder's keyword parameters from a generator.
        build: `build(name=..., **params)` → `HOIObject`.
        kinds: SynthHOI episode kinds the family supports.
        regions: role ("hold", "open", "press", "push", "twist", "body") → region.
        is_articulated: whether variants have a revolute joint.
    """

    name: str
    category: str
    sample: Callable[[np.random.Generator], Params]
    build: Callable[..., HOIObject]
    kinds: tuple[str, ...]
    regions: Mapping[str, FamilyRegion]
    is_articulated: bool = False

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise InputError(
                f"family {self.name!r}: category must be one of {CATEGORIES}, got {self.category!r}"
            )


# ---------------------------------------------------------------------- naming


def _family_seed(name: str) -> int:
    return zlib.crc32(f"{_SEED_PREFIX}{name}".encode())


def list_families(category: str | None = None) -> list[str]:
    """Family names, sorted; only those of `category` when given."""
    if category is not None and category not in CATEGORIES:
        raise InputError(f"category must be one of {list(CATEGORIES)}, got {category!r}")
    return sorted(n for n, f in FAMILIES.items() if category in (None, f.category))


def family(name: str) -> ObjectFamily:
    """The family `name`; InputError listing the families otherwise."""
    if name not in FAMILIES:
        raise InputError(
            f"unknown object family {name!r}; known families: {', '.join(list_families())}"
        )
    return FAMILIES[name]


def _check_index(name: str, index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise InputError(f"variant index of family {name!r} must be an integer, got {index!r}")
    if not 0 <= int(index) < MAX_VARIANTS:
        raise InputError(
            f"variant index of family {name!r} must be in 0..{MAX_VARIANTS - 1}, got {index}"
        )
    return int(index)


def variant_name(family_name: str, index: int) -> str:
    """`"mug", 7` → `"mug-v007"` (the object's name and built-in-style reference)."""
    family(family_name)
    return f"{family_name}{VARIANT_SEPARATOR}{_check_index(family_name, index):03d}"


def parse_variant_name(name: str) -> tuple[str, int] | None:
    """`"mug-v007"` → `("mug", 7)`; None for anything that is not a known family's variant."""
    match = _VARIANT_NAME.match(str(name))
    if match is None or match.group(1) not in FAMILIES:
        return None
    index = int(match.group(2))
    if index >= MAX_VARIANTS or match.group(2) != f"{index:03d}":
        return None
    return match.group(1), index


def family_of(name: str) -> ObjectFamily | None:
    """The family of a variant name (a `@scale` suffix is ignored), else None."""
    parsed = parse_variant_name(str(name).split("@")[0])
    return None if parsed is None else FAMILIES[parsed[0]]


def variant_params(family_name: str, index: int) -> Params:
    """The builder parameters of variant `index` (deterministic, rounded to 0.1 mm / 1e-4)."""
    spec = family(family_name)
    rng = np.random.default_rng([_family_seed(family_name), _check_index(family_name, index)])
    return {key: round(float(value), 4) for key, value in spec.sample(rng).items()}


@functools.lru_cache(maxsize=64)
def build_variant(family_name: str, index: int) -> HOIObject:
    """Variant `index` of `family_name` as an `HOIObject` named `variant_name(...)`.

    The description ends with the family, variant and parameters, so a stored variant
    says what it is. Built objects are immutable and cached.
    """
    params = variant_params(family_name, index)
    name = variant_name(family_name, index)
    obj = family(family_name).build(name=name, **params)
    listed = ", ".join(f"{k}={v:g}" for k, v in sorted(params.items()))
    return dataclasses.replace(
        obj,
        source="family",
        description=f"{obj.description} [family {family_name}, variant {index}: {listed}]",
    )


# ---------------------------------------------------------------------- helpers


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _ellipsoid(radii, center=(0.0, 0.0, 0.0), subdivisions: int = 3) -> trimesh.Trimesh:
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    mesh.apply_scale(radii)
    mesh.apply_translation(center)
    return mesh


def _rounded_slab(length: float, width: float, z0: float, z1: float, corner: float):
    """A rectangle with rounded corners (x length, y width), extruded over [z0, z1]."""
    corner = min(corner, 0.49 * min(length, width))
    angles = np.linspace(0.0, 2 * math.pi, 8, endpoint=False)
    outline = [
        (
            sx * (length / 2 - corner) + corner * math.cos(a),
            sy * (width / 2 - corner) + corner * math.sin(a),
        )
        for sx in (-1.0, 1.0)
        for sy in (-1.0, 1.0)
        for a in angles
    ]
    return slab(outline, z0, z1)


def _up(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    return n[:, 2] > 0.7


def _side(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.abs(n[:, 2]) < 0.7


def _regions(**items: tuple) -> dict[str, FamilyRegion]:
    return {role: FamilyRegion(*value) for role, value in items.items()}


_GRIP = ("power", "pinch")
_PINCH = ("pinch", "power")


# ---------------------------------------------------------------------- kitchen


def plate(*, radius: float, height: float, name: str = "plate") -> HOIObject:
    """Dinner plate: a shallow dish with a flat well and a raised rim."""
    body = revolve(
        shell_profile(
            [(0.55 * radius, 0.0), (0.62 * radius, 0.35 * height), (radius, height)],
            wall=0.004,
            base=0.004,
        ),
        sections=48,
    )
    rim = lambda c, n: np.linalg.norm(c[:, :2], axis=1) > 0.8 * radius  # noqa: E731
    return assemble(
        name,
        f"ceramic plate ({2 * radius:.3g} m wide, {height:.2g} m tall)",
        [
            PartSpec(
                "body",
                body,
                {
                    "grasp": rim,
                    "lift": rim,
                    "support": _b._both(_b._vessel_inside(height), _up),
                    "contain": _b._vessel_inside(height),
                },
                max_edge=0.015,
            )
        ],
    )


def ladle(
    *, bowl_radius: float, handle_length: float, handle_rise: float, name: str = "ladle"
) -> HOIObject:
    """Soup ladle resting on its bowl, the handle rising from the rim."""
    r = bowl_radius
    profile = [(math.sin(t) * r, r - math.cos(t) * r) for t in np.linspace(0.25, 1.45, 7)]
    bowl = revolve(shell_profile(profile, wall=0.0025, base=0.003), sections=32)
    rim = profile[-1][1]
    start = (0.8 * r, 0.0, rim - 0.004)
    end = (r + handle_length, 0.0, rim + handle_rise)
    handle = capsule(start, end, 0.0065)
    handle = difference(handle, revolve([(0.0, 0.0), *profile, (0.0, rim)], sections=32))
    return assemble(
        name,
        f"soup ladle ({r + handle_length + 2 * r:.2g} m long, {2 * r:.2g} m bowl)",
        [
            PartSpec(
                "bowl", bowl, {"contain": _b._vessel_inside(rim), "pour": _b._z_above(rim - 0.006)}
            ),
            PartSpec(
                "handle",
                handle,
                {"grasp": lambda c, n: c[:, 0] > r + 0.3 * handle_length, "lift": 1.0},
                carve=False,
                max_edge=0.008,
            ),
        ],
    )


def _cutlery_handle(length: float, radius: float) -> trimesh.Trimesh:
    return capsule((-length, 0.0, radius), (-0.01, 0.0, radius), radius)


def fork(
    *, handle_length: float, handle_radius: float, head_length: float, head_width: float,
    num_tines: float, name: str = "fork",
) -> HOIObject:  # fmt: skip
    """Table fork lying flat: a rounded (plastic-clad) handle and a head with tines."""
    handle = _cutlery_handle(handle_length, handle_radius)
    tines = round(num_tines)
    neck = slab(
        [(-0.015, -0.004), (-0.015, 0.004), (0.0, head_width / 2), (0.0, -head_width / 2)],
        0.003,
        0.0055,
    )
    pieces = [neck]
    gap = head_width / (2 * tines - 1)
    for k in range(tines):
        y = -head_width / 2 + gap / 2 + 2 * k * gap
        pieces.append(box((head_length, gap, 0.0025), (head_length / 2, y, 0.00425)))
    head = union(pieces)
    return assemble(
        name,
        f"table fork lying flat ({handle_length + head_length:.2g} m long, {tines} tines)",
        [
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, max_edge=0.008),
            PartSpec("head", head, {"stab": _b._x_above(0.5 * head_length)}, max_edge=0.006),
        ],
    )


def spoon(
    *, handle_length: float, handle_radius: float, bowl_length: float, bowl_width: float,
    name: str = "spoon",
) -> HOIObject:  # fmt: skip
    """Spoon lying on its back: a rounded handle and an oval bowl."""
    handle = _cutlery_handle(handle_length, handle_radius)
    half_l, half_w = bowl_length / 2, bowl_width / 2
    bowl = _ellipsoid((half_l, half_w, 0.007), (half_l - 0.004, 0.0, 0.007), subdivisions=3)
    return assemble(
        name,
        f"spoon lying on its back ({handle_length + bowl_length:.2g} m long)",
        [
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}, max_edge=0.008),
            PartSpec("bowl", bowl, {"contain": _up, "support": _up}, carve=True, max_edge=0.006),
        ],
    )


def cutting_board(
    *, length: float, width: float, thickness: float, grip_length: float,
    name: str = "cutting_board",
) -> HOIObject:  # fmt: skip
    """Wooden cutting board lying flat, with a grip tab and hanging hole at one end."""
    board = _rounded_slab(length, width, 0.0, thickness, 0.02)
    tab = _rounded_slab(grip_length + 0.04, 0.06, 0.0, thickness, 0.025)
    tab.apply_translation([length / 2 + grip_length / 2 - 0.02, 0.0, 0.0])
    hole = cylinder(0.011, thickness + 0.02, z0=-0.01, sections=24)
    hole.apply_translation([length / 2 + grip_length - 0.02, 0.0, 0.0])
    whole = difference(union([board, tab]), hole)
    grip_x = length / 2 - 0.01
    return assemble(
        name,
        f"wooden cutting board ({length + grip_length:.2g} x {width:.2g} x {thickness:.2g} m)",
        [
            PartSpec(
                "board",
                whole,
                {
                    "support": lambda c, n: _up(c, n) & (c[:, 0] < grip_x),
                    "grasp": lambda c, n: c[:, 0] > grip_x,
                    "lift": lambda c, n: c[:, 0] > grip_x,
                    "push": lambda c, n: _up(c, n) & (np.abs(c[:, 0]) < 0.3 * length),
                },
                max_edge=0.015,
            )
        ],
    )


def cooking_pot(
    *, radius: float, height: float, handle_radius: float, name: str = "cooking_pot"
) -> HOIObject:
    """Cooking pot with two loop handles on the sides and a lid with a knob."""
    outer = [(radius - 0.004, 0.0), (radius, 0.006), (radius, height)]
    body = revolve(shell_profile(outer, wall=0.003, base=0.005), sections=48)
    solid = revolve([(0.0, 0.0), *outer, (0.0, height)], sections=48)
    loops = []
    for side in (-1.0, 1.0):
        ring = torus_arc(handle_radius, 0.006, rotation([0, 0, 1], 0.0), 24, 10)
        ring.apply_transform(np.diag([1.0, 1.5, 1.0, 1.0]))
        ring.apply_translation([side * radius, 0.0, height - 0.025])
        loops.append(difference(ring, solid))
    handles = union(loops)
    lid = revolve(
        [
            (0.0, height),
            (radius + 0.004, height),
            (radius + 0.004, height + 0.006),
            (0.5 * radius, height + 0.02),
            (0.012, height + 0.022),
            (0.014, height + 0.04),
            (0.0, height + 0.04),
        ],
        sections=48,
    )
    return assemble(
        name,
        f"cooking pot with two side handles and a lid ({2 * radius:.2g} m wide, "
        f"{height + 0.04:.2g} m tall)",
        [
            PartSpec(
                "body",
                body,
                {"contain": _b._vessel_inside(height), "wrap-grasp": _b._outer_wall},
            ),
            PartSpec("handles", handles, {"grasp": 1.0, "lift": 1.0}, carve=False),
            PartSpec(
                "lid",
                lid,
                {"open": _b._z_above(height + 0.019), "grasp": _b._z_above(height + 0.019)},
                carve=False,
            ),
        ],
    )


def rolling_pin(
    *, barrel_radius: float, barrel_length: float, handle_length: float,
    name: str = "rolling_pin",
) -> HOIObject:  # fmt: skip
    """Rolling pin lying on the table: a barrel and a handle at each end."""
    r = barrel_radius
    barrel = rod((-barrel_length / 2, 0.0, r), (barrel_length / 2, 0.0, r), r, sections=32)
    ends = union(
        [
            capsule(
                (s * barrel_length / 2, 0.0, r),
                (s * (barrel_length / 2 + handle_length), 0.0, r),
                0.014,
            )
            for s in (-1.0, 1.0)
        ]
    )
    return assemble(
        name,
        f"wooden rolling pin ({barrel_length + 2 * handle_length + 0.028:.2g} m long)",
        [
            PartSpec("barrel", barrel, {"support": 1.0, "push": _up}),
            PartSpec("handles", ends, {"grasp": 1.0, "lift": 1.0}, max_edge=0.008),
        ],
    )


# ---------------------------------------------------------------------- tools


def screwdriver(
    *, handle_length: float, handle_radius: float, shaft_length: float,
    name: str = "screwdriver",
) -> HOIObject:  # fmt: skip
    """Screwdriver lying on its handle: handle and steel shaft."""
    r = handle_radius
    handle = capsule((-handle_length, 0.0, r), (0.0, 0.0, r), r, count=16)
    shaft = union(
        [
            rod((-0.005, 0.0, r), (shaft_length, 0.0, r), 0.0035, sections=12),
            box((0.012, 0.007, 0.0015), (shaft_length + 0.006, 0.0, r)),
        ]
    )
    return assemble(
        name,
        f"screwdriver ({handle_length + shaft_length + r + 0.012:.2g} m long)",
        [
            PartSpec("handle", handle, {"grasp": 1.0, "lift": 1.0}),
            PartSpec("shaft", shaft, {"push": _b._x_above(shaft_length)}, max_edge=0.008),
        ],
    )


def wrench(*, length: float, width: float, jaw: float, name: str = "wrench") -> HOIObject:
    """Open-ended wrench lying flat: a bar with a jaw at one end and a ring at the other."""
    t = 0.007
    bar = _rounded_slab(length, width, 0.0, t, width / 2.1)
    head = cylinder(jaw * 1.15, t, sections=32)
    head.apply_translation([length / 2, 0.0, 0.0])
    ring = cylinder(jaw * 0.95, t, sections=32)
    ring.apply_translation([-length / 2, 0.0, 0.0])
    solid = union([bar, head, ring])
    opening = box((jaw * 1.6, jaw * 0.9, t + 0.01), (length / 2 + jaw * 0.8, 0.0, t / 2))
    hole = cylinder(jaw * 0.5, t + 0.01, z0=-0.005, sections=24)
    hole.apply_translation([-length / 2, 0.0, 0.0])
    solid = difference(solid, union([opening, hole]))
    middle = lambda c, n: np.abs(c[:, 0]) < 0.3 * length  # noqa: E731
    return assemble(
        name,
        f"open-ended wrench lying flat ({length + 2 * jaw:.2g} m long)",
        [
            PartSpec(
                "wrench",
                solid,
                {"grasp": middle, "lift": middle, "push": _b._x_above(length / 2 - jaw)},
                max_edge=0.008,
            )
        ],
    )


def pliers(
    *, jaw_length: float, grip_length: float, spread: float, name: str = "pliers"
) -> HOIObject:
    """Pliers lying flat; the upper half turns about the pivot (articulated)."""
    t = 0.005

    def half(sign: float, z0: float) -> trimesh.Trimesh:
        jaw = slab(
            [(0.0, 0.0), (0.0, 0.009 * sign), (jaw_length, 0.003 * sign), (jaw_length, 0.0)],
            z0,
            z0 + t,
        )
        boss = cylinder(0.009, t, z0=z0, sections=20)
        grip = capsule(
            (-0.005, -0.003 * sign, z0 + t / 2),
            (-grip_length, -spread * sign, z0 + t / 2),
            0.0065,
        )
        grip.apply_transform(np.diag([1.0, 1.0, 0.45, 1.0]))
        grip.apply_translation([0.0, 0.0, 0.55 * (z0 + t / 2)])
        return union([jaw, boss, grip])

    lower = half(1.0, 0.0)
    upper = half(-1.0, t + 0.0005)
    grip = lambda c, n: c[:, 0] < -0.025  # noqa: E731
    return assemble(
        name,
        f"combination pliers lying flat ({jaw_length + grip_length:.2g} m long); the upper half "
        "opens about the pivot",
        [
            PartSpec("lower", lower, {"grasp": grip, "cut": _b._x_above(0.005)}, max_edge=0.006),
            PartSpec("upper", upper, {"grasp": grip, "cut": _b._x_above(0.005)}, max_edge=0.006),
        ],
        articulation=Articulation("upper", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.45)),
    )


def hand_saw(
    *, blade_length: float, blade_height: float, handle_size: float, name: str = "hand_saw"
) -> HOIObject:
    """Hand saw lying flat: a closed grip handle and a tapered blade."""
    t = 0.022
    grip = _rounded_slab(handle_size * 1.1, handle_size, 0.0, t, 0.018)
    window = _rounded_slab(handle_size * 0.55, handle_size * 0.3, -0.01, t + 0.01, 0.01)
    window.apply_translation([0.0, -0.1 * handle_size, 0.0])
    handle = difference(grip, window)
    handle.apply_translation([-handle_size * 0.55, 0.0, 0.0])
    blade = slab(
        [(-0.01, -blade_height / 2), (-0.01, blade_height / 2), (blade_length, 0.018),
         (blade_length, -0.018)],
        0.01,
        0.0115,
    )  # fmt: skip
    grip_region = lambda c, n: c[:, 1] > -0.1 * handle_size  # noqa: E731
    return assemble(
        name,
        f"hand saw lying flat ({blade_length + 1.1 * handle_size:.2g} m long)",
        [
            PartSpec("handle", handle, {"grasp": grip_region, "lift": 1.0}, max_edge=0.01),
            PartSpec("blade", blade, {"cut": 1.0}, max_edge=0.015),
        ],
    )


def drill(
    *, body_length: float, grip_height: float, body_radius: float, name: str = "drill"
) -> HOIObject:
    """Cordless drill standing on its battery: pistol grip, body, chuck and trigger."""
    battery_h = 0.035
    battery = box((0.11, 0.075, battery_h), (0.0, 0.0, battery_h / 2))
    grip = box((0.04, 0.032, grip_height), (0.0, 0.0, battery_h + grip_height / 2))
    top = battery_h + grip_height + body_radius
    barrel = rod((-0.04, 0.0, top), (body_length - 0.04, 0.0, top), body_radius, sections=24)
    chuck = rod((body_length - 0.045, 0.0, top), (body_length + 0.01, 0.0, top), 0.017, sections=20)
    bit = rod((body_length + 0.005, 0.0, top), (body_length + 0.06, 0.0, top), 0.003, sections=8)
    body = union([battery, grip, barrel, chuck, bit])
    trigger = box((0.012, 0.014, 0.022), (0.026, 0.0, battery_h + grip_height - 0.016))
    on_grip = lambda c, n: (c[:, 2] > battery_h + 0.005) & (c[:, 2] < top - body_radius)  # noqa: E731
    return assemble(
        name,
        f"cordless drill standing on its battery ({top + body_radius:.2g} m tall)",
        [
            PartSpec("body", body, {"grasp": on_grip, "lift": on_grip}, max_edge=0.012),
            PartSpec("trigger", trigger, {"press": 1.0}, max_edge=0.005),
        ],
    )


def flashlight(
    *, length: float, radius: float, head_radius: float, name: str = "flashlight"
) -> HOIObject:
    """Flashlight lying on its side: a tube, a wider head and a push button."""
    r, h = radius, head_radius
    body = rod((-length / 2, 0.0, h), (length / 2 - 0.04, 0.0, h), r, sections=28)
    head = revolve([(0.0, 0.0), (r, 0.0), (h, 0.03), (h, 0.04), (0.0, 0.04)], sections=28)
    head.apply_transform(rotation([0, 1, 0], math.pi / 2))
    head.apply_translation([length / 2 - 0.04, 0.0, h])
    button = box((0.012, 0.01, 0.006), (0.0, 0.0, h + r + 0.001))
    return assemble(
        name,
        f"flashlight lying on its side ({length:.2g} m long, {2 * h:.2g} m head)",
        [
            PartSpec("body", body, {"grasp": 1.0, "wrap-grasp": 1.0, "lift": 1.0}),
            PartSpec("head", head, {"display": _b._x_above(length / 2 - 0.002)}, carve=False),
            PartSpec("button", button, {"press": 1.0}, max_edge=0.004),
        ],
    )


# ---------------------------------------------------------------------- electronics


def tv_remote(
    *, width: float, length: float, thickness: float, name: str = "tv_remote"
) -> HOIObject:
    """TV remote control lying flat, a grid of buttons on top."""
    body = _rounded_slab(width, length, 0.0, thickness, 0.008)
    keys = []
    for row in range(4):
        for col in (-1, 0, 1):
            keys.append(
                box(
                    (0.009, 0.007, 0.002),
                    (col * width * 0.28, length * (0.25 - 0.1 * row), thickness + 0.0009),
                )
            )
    buttons = union(keys)
    return assemble(
        name,
        f"TV remote control lying flat ({width:.2g} x {length:.2g} x {thickness:.2g} m)",
        [
            PartSpec("body", body, {"grasp": _side, "lift": 1.0}, max_edge=0.01),
            PartSpec("buttons", buttons, {"press": _up}, max_edge=0.006),
        ],
    )


def game_controller(
    *, width: float, grip_length: float, name: str = "game_controller"
) -> HOIObject:
    """Game controller lying flat: a body, two grips and buttons on top."""
    t = 0.03
    core = _ellipsoid((width / 2, 0.036, t / 2), (0.0, 0.0, t / 2))
    grips = union(
        [
            capsule(
                (s * width * 0.3, -0.012, 0.017), (s * width * 0.36, -grip_length, 0.017), 0.017
            )
            for s in (-1.0, 1.0)
        ]
    )
    body = union([core, grips])
    face = [(0.0, 0.009), (0.0, -0.009), (0.009, 0.0), (-0.009, 0.0)]
    keys = [
        cylinder(0.0045, 0.004, z0=t - 0.003, sections=12).apply_translation(
            [width * 0.25 + dx, 0.008 + dy, 0.0]
        )
        for dx, dy in face
    ]
    pad = [
        box((0.022, 0.007, 0.004), (-width * 0.25, 0.008, t - 0.001)),
        box((0.007, 0.022, 0.004), (-width * 0.25, 0.008, t - 0.001)),
    ]
    buttons = union([*keys, union(pad)])
    in_grips = lambda c, n: c[:, 1] < -0.02  # noqa: E731
    return assemble(
        name,
        f"game controller lying flat ({width + 0.03:.2g} m wide)",
        [
            PartSpec("body", body, {"grasp": in_grips, "lift": 1.0}, max_edge=0.01),
            PartSpec("buttons", buttons, {"press": _up}, max_edge=0.004),
        ],
    )


def camera(*, width: float, height: float, lens_length: float, name: str = "camera") -> HOIObject:
    """Compact camera standing on its base: body, lens barrel, hand grip, shutter button."""
    depth = 0.045
    body = union(
        [
            box((width, depth, height), (0.0, 0.0, height / 2)),
            box((0.03, depth + 0.014, height * 0.9), (width / 2 - 0.015, -0.007, height * 0.45)),
        ]
    )
    lens = rod(
        (0.0, -depth / 2 + 0.002, height / 2),
        (0.0, -depth / 2 - lens_length, height / 2),
        min(0.028, height * 0.38),
        sections=28,
    )
    shutter = cylinder(0.009, 0.006, z0=height, sections=16)
    shutter.apply_translation([width / 2 - 0.016, 0.0, 0.0])
    return assemble(
        name,
        f"compact camera ({width:.2g} x {height:.2g} m, {lens_length:.2g} m lens)",
        [
            PartSpec("body", body, {"grasp": lambda c, n: np.abs(n[:, 0]) > 0.7, "lift": 1.0}),
            PartSpec("lens", lens, {"display": 1.0, "grasp": 0.5}, max_edge=0.01),
            PartSpec("shutter", shutter, {"press": _up}, max_edge=0.004),
        ],
    )


def computer_mouse(
    *, length: float, width: float, height: float, name: str = "computer_mouse"
) -> HOIObject:
    """Computer mouse: a dome with a front button area, on the table."""
    dome = _ellipsoid((length / 2, width / 2, height), (0.0, 0.0, 0.0), subdivisions=3)
    cut = box((length * 2, width * 2, height * 2), (0.0, 0.0, -height))
    shell = difference(dome, cut)
    front = lambda c, n: (c[:, 0] > 0.1 * length) & (n[:, 2] > 0.5)  # noqa: E731
    return assemble(
        name,
        f"computer mouse ({length:.2g} x {width:.2g} x {height:.2g} m)",
        [
            PartSpec(
                "body",
                shell,
                {
                    "press": front,
                    "push": lambda c, n: n[:, 2] > 0.6,
                    "grasp": lambda c, n: np.abs(n[:, 1]) > 0.6,
                    "lift": 1.0,
                },
                max_edge=0.008,
            )
        ],
    )


# ---------------------------------------------------------------------- toys


def toy_car(*, length: float, width: float, height: float, name: str = "toy_car") -> HOIObject:
    """Toy car on its four wheels."""
    wheel_r = 0.22 * height
    chassis = box((length, width, 0.45 * height), (0.0, 0.0, wheel_r + 0.2 * height))
    cabin = hull(
        [
            (x, s * 0.42 * width, z)
            for x, z in (
                (-0.35 * length, wheel_r + 0.42 * height),
                (0.2 * length, wheel_r + 0.42 * height),
                (-0.28 * length, height),
                (0.08 * length, height),
            )
            for s in (-1.0, 1.0)
        ]
    )
    body = union([chassis, cabin])
    wheels = union(
        [
            rod(
                (sx * 0.32 * length, sy * width / 2, wheel_r),
                (sx * 0.32 * length, sy * (width / 2 + 0.008), wheel_r),
                wheel_r,
                sections=20,
            )
            for sx in (-1.0, 1.0)
            for sy in (-1.0, 1.0)
        ]
    )
    return assemble(
        name,
        f"toy car on its wheels ({length:.2g} x {width:.2g} x {height:.2g} m)",
        [
            PartSpec(
                "body",
                body,
                # The wheels hide the lower sides: grip from above as well.
                {"grasp": lambda c, n: n[:, 2] > -0.5, "lift": 1.0, "push": _up},
                max_edge=0.01,
            ),
            PartSpec("wheels", wheels, {"move": 1.0}, max_edge=0.008),
        ],
    )


def ball(*, radius: float, name: str = "ball") -> HOIObject:
    """A ball resting on the table."""
    sphere = _ellipsoid((radius, radius, radius), (0.0, 0.0, radius), subdivisions=3)
    return assemble(
        name,
        f"ball ({2 * radius:.2g} m across)",
        [PartSpec("ball", sphere, {"grasp": 1.0, "wrap-grasp": 1.0, "lift": 1.0, "move": 1.0})],
    )


def toy_block(*, size: float, aspect: float, name: str = "toy_block") -> HOIObject:
    """Wooden toy block with bevelled edges."""
    a, b, c = size / 2, size * aspect / 2, size / 2
    bevel = 0.15 * size
    points = []
    for sx in (-1.0, 1.0):
        for sy in (-1.0, 1.0):
            for sz in (-1.0, 1.0):
                points += [
                    (sx * (a - bevel), sy * b, c + sz * c),
                    (sx * a, sy * (b - bevel), c + sz * c),
                    (sx * a, sy * b, c + sz * (c - bevel)),
                ]
    block = hull(points)
    return assemble(
        name,
        f"wooden toy block ({size:.2g} x {size * aspect:.2g} x {size:.2g} m)",
        [PartSpec("block", block, {"grasp": 1.0, "lift": 1.0, "support": _up}, max_edge=0.01)],
    )


def rubber_duck(*, size: float, head_ratio: float, name: str = "rubber_duck") -> HOIObject:
    """Rubber duck: a body with a raised tail, a head and a beak."""
    s = size
    body = union(
        [
            _ellipsoid((0.5 * s, 0.36 * s, 0.26 * s), (0.0, 0.0, 0.26 * s)),
            _ellipsoid((0.16 * s, 0.14 * s, 0.12 * s), (-0.38 * s, 0.0, 0.4 * s)),
        ]
    )
    head_r = head_ratio * 0.2 * s
    head_z = 0.52 * s + 0.8 * head_r
    head = _ellipsoid((head_r, head_r, head_r), (0.22 * s, 0.0, head_z))
    beak_center = (0.22 * s + head_r, 0.0, head_z - 0.3 * head_r)
    beak = _ellipsoid((0.13 * s, 0.08 * s, 0.035 * s), beak_center)
    return assemble(
        name,
        f"rubber duck ({s:.2g} m long)",
        [
            PartSpec("body", body, {"grasp": 1.0, "wrap-grasp": 1.0, "lift": 1.0}, max_edge=0.01),
            PartSpec("head", union([head, beak]), {"grasp": 0.5}, max_edge=0.01),
        ],
    )


def teddy_bear(*, height: float, plumpness: float, name: str = "teddy_bear") -> HOIObject:
    """Sitting teddy bear: body, head with ears, arms and legs."""
    h = height
    body = _ellipsoid((0.22 * h * plumpness, 0.2 * h * plumpness, 0.28 * h), (0.0, 0.0, 0.3 * h))
    head_r = 0.2 * h
    head = _ellipsoid((head_r, head_r, head_r * 0.95), (0.0, 0.0, 0.78 * h))
    ears = [
        _ellipsoid((0.06 * h, 0.03 * h, 0.06 * h), (s * 0.14 * h, 0.0, 0.95 * h))
        for s in (-1.0, 1.0)
    ]
    snout = _ellipsoid((0.07 * h, 0.06 * h, 0.055 * h), (0.0, -0.18 * h, 0.74 * h))
    arms = [
        capsule((s * 0.15 * h, 0.0, 0.45 * h), (s * 0.28 * h, -0.1 * h, 0.3 * h), 0.055 * h)
        for s in (-1.0, 1.0)
    ]
    legs = [
        capsule((s * 0.1 * h, -0.05 * h, 0.08 * h), (s * 0.12 * h, -0.25 * h, 0.07 * h), 0.07 * h)
        for s in (-1.0, 1.0)
    ]
    torso = union([body, *legs])
    upper = union([head, *ears, snout])
    limbs = union(arms)
    return assemble(
        name,
        f"sitting teddy bear ({h:.2g} m tall)",
        [
            PartSpec("body", torso, {"grasp": 1.0, "wrap-grasp": 1.0, "lift": 1.0}, max_edge=0.012),
            PartSpec("head", upper, {"grasp": 0.5}, max_edge=0.012),
            PartSpec("arms", limbs, {"grasp": 1.0, "pull": 1.0}, max_edge=0.01),
        ],
    )


def stacking_rings(
    *, base_radius: float, num_rings: float, ring_height: float, name: str = "stacking_rings"
) -> HOIObject:
    """Ring-stacking toy: a base, a pole, rings of decreasing size and a ball on top."""
    count = round(num_rings)
    base_h = 0.015
    base = cylinder(base_radius, base_h, sections=32)
    pole_top = base_h + count * ring_height + 0.01
    pole = cylinder(0.008, pole_top - base_h + 0.005, z0=base_h - 0.005, sections=16)
    rings = []
    for k in range(count):
        major = base_radius * (0.85 - 0.5 * k / max(count, 1))
        minor = ring_height / 2
        ring = torus_arc(max(major, 0.008 + minor + 0.002), minor, None, 32, 12)
        ring.apply_translation([0.0, 0.0, base_h + (k + 0.5) * ring_height])
        rings.append(ring)
    stack = union(rings)
    top = _ellipsoid((0.016, 0.016, 0.016), (0.0, 0.0, pole_top + 0.012))
    return assemble(
        name,
        f"ring-stacking toy ({count} rings, {pole_top + 0.028:.2g} m tall)",
        [
            PartSpec("base", union([base, pole]), {"support": _up}, max_edge=0.01),
            PartSpec("rings", stack, {"grasp": 1.0, "wrap-grasp": 1.0}, max_edge=0.01),
            PartSpec("top", top, {"grasp": 1.0, "lift": 1.0}, max_edge=0.008),
        ],
    )


def thermos(*, radius: float, height: float, cap_height: float, name: str = "thermos") -> HOIObject:
    """Vacuum flask: a tall jar whose cap unscrews about z (articulated)."""
    return _b.jar(
        radius=radius,
        height=height,
        lid_height=cap_height,
        name=name,
        description=f"vacuum flask with a screw cap ({2 * radius:.2g} m wide, "
        f"{0.112 / 0.126 * height + cap_height:.2g} m tall); the cap unscrews about z",
    )


def _hinged_box(what: str, *, width, depth, height, wall, lid_thickness, name) -> HOIObject:
    """A box with a lid hinged along the back edge, described as `what`."""
    return _b.box_object(
        width=width,
        depth=depth,
        height=height,
        wall=wall,
        lid_thickness=lid_thickness,
        name=name,
        description=f"{what} with a hinged lid ({width:.2g} x {depth:.2g} x "
        f"{height + lid_thickness:.2g} m)",
    )


def chest(
    *, width: float, depth: float, height: float, wall: float, lid_thickness: float,
    name: str = "chest",
) -> HOIObject:  # fmt: skip
    """Wooden chest with a lid hinged along the back edge (articulated)."""
    return _hinged_box("wooden chest", width=width, depth=depth, height=height, wall=wall,
                       lid_thickness=lid_thickness, name=name)  # fmt: skip


def notebook(
    *, width: float, length: float, pages: float, cover: float, name: str = "notebook"
) -> HOIObject:
    """Notebook lying flat; the front cover opens about the spine (articulated)."""
    obj = _b.book(width=width, length=length, pages=pages, cover=cover, name=name)
    return dataclasses.replace(
        obj,
        description=f"notebook lying flat ({width:.2g} x {length:.2g} x {pages + 2 * cover:.2g}"
        " m); the front cover opens about the spine",
    )


def jewelry_box(
    *, width: float, depth: float, height: float, wall: float, lid_thickness: float,
    name: str = "jewelry_box",
) -> HOIObject:  # fmt: skip
    """Small jewellery box with a lid hinged along the back edge (articulated)."""
    return _hinged_box("jewellery box", width=width, depth=depth, height=height, wall=wall,
                       lid_thickness=lid_thickness, name=name)  # fmt: skip


# ---------------------------------------------------------------------- registry


def _family(
    name: str,
    category: str,
    build: Callable[..., HOIObject],
    sample: Callable[[np.random.Generator], Params],
    kinds: tuple[str, ...],
    *,
    articulated: bool = False,
    **regions: tuple,
) -> ObjectFamily:
    return ObjectFamily(
        name=name,
        category=category,
        sample=sample,
        build=build,
        kinds=kinds,
        regions=_regions(**regions),
        is_articulated=articulated,
    )


_HOLD_WRAP = ("wrap-grasp", None, _GRIP)
_HANDLE = ("grasp", "handle", ("hook", "power", "pinch", "lateral"))
_TOOL = ("grasp", "handle", _PINCH)

_ENTRIES = (
    # ---- kitchen
    _family("mug", "kitchen", _b.mug, lambda r: {
        "radius": _u(r, 0.036, 0.046), "height": _u(r, 0.085, 0.115),
        "handle_radius": _u(r, 0.026, 0.034), "handle_thickness": _u(r, 0.0055, 0.0075),
        "handle_stretch": _u(r, 1.0, 1.3), "handle_height": _u(r, 0.47, 0.55),
    }, ("drink", "pour", "relocate"), hold=_HANDLE),
    _family("cup", "kitchen", _b.cup, lambda r: {
        "base_radius": _u(r, 0.024, 0.032), "rim_radius": _u(r, 0.036, 0.045),
        "height": _u(r, 0.08, 0.125),
    }, ("drink", "pour", "relocate"), hold=_HOLD_WRAP),
    _family("pitcher", "kitchen", _b.pitcher, lambda r: {
        "radius": _u(r, 0.052, 0.066), "height": _u(r, 0.17, 0.23),
        "handle_scale": _u(r, 0.9, 1.1), "handle_thickness": _u(r, 0.0075, 0.0095),
    }, ("drink", "pour", "relocate"), hold=_HANDLE),
    _family("kettle", "kitchen", _b.kettle, lambda r: {
        "radius": _u(r, 0.07, 0.088), "height": _u(r, 0.14, 0.18),
        "handle_radius": _u(r, 0.05, 0.06), "spout_scale": _u(r, 0.92, 1.08),
    }, ("pour", "relocate"), hold=("lift", "handle", ("power", "hook"))),
    _family("bowl", "kitchen", _b.bowl, lambda r: {
        "rim_radius": _u(r, 0.065, 0.09), "height": _u(r, 0.05, 0.075),
    }, ("pour", "relocate"), hold=("grasp", None, _PINCH)),
    _family("plate", "kitchen", plate, lambda r: {
        "radius": _u(r, 0.09, 0.13), "height": _u(r, 0.018, 0.03),
    }, ("relocate", "inspect"), hold=("grasp", None, _PINCH)),
    _family("pan", "kitchen", _b.pan, lambda r: {
        "radius": _u(r, 0.09, 0.13), "rim": _u(r, 0.035, 0.055), "handle_end": _u(r, 0.27, 0.33),
    }, ("relocate", "shake"), hold=("grasp", "handle", _GRIP)),
    _family("cooking_pot", "kitchen", cooking_pot, lambda r: {
        "radius": _u(r, 0.075, 0.11), "height": _u(r, 0.09, 0.15),
        "handle_radius": _u(r, 0.02, 0.028),
    }, ("carry", "relocate"), hold=("grasp", "handles", ("power", "hook", "pinch"))),
    _family("knife", "kitchen", _b.knife, lambda r: {
        "handle_length": _u(r, 0.095, 0.125), "handle_radius": _u(r, 0.008, 0.0105),
        "blade_length": _u(r, 0.12, 0.2), "blade_width": _u(r, 0.024, 0.04),
    }, ("cut", "relocate"), hold=_TOOL),
    _family("spatula", "kitchen", _b.spatula, lambda r: {
        "grip_length": _u(r, 0.13, 0.19), "blade_length": _u(r, 0.08, 0.11),
        "blade_width": _u(r, 0.065, 0.095),
    }, ("relocate", "slide"), hold=_TOOL, push=("push", "blade", ("poke",))),
    _family("ladle", "kitchen", ladle, lambda r: {
        "bowl_radius": _u(r, 0.035, 0.05), "handle_length": _u(r, 0.2, 0.27),
        "handle_rise": _u(r, 0.03, 0.07),
    }, ("relocate", "pour", "inspect"), hold=_TOOL),
    _family("fork", "kitchen", fork, lambda r: {
        "handle_length": _u(r, 0.11, 0.14), "handle_radius": _u(r, 0.0075, 0.0095),
        "head_length": _u(r, 0.045, 0.06),
        "head_width": _u(r, 0.022, 0.03), "num_tines": float(r.integers(3, 5)),
    }, ("relocate", "inspect"), hold=_TOOL),
    _family("spoon", "kitchen", spoon, lambda r: {
        "handle_length": _u(r, 0.1, 0.14), "handle_radius": _u(r, 0.0075, 0.0095),
        "bowl_length": _u(r, 0.045, 0.065),
        "bowl_width": _u(r, 0.03, 0.042),
    }, ("relocate", "inspect"), hold=_TOOL),
    _family("cutting_board", "kitchen", cutting_board, lambda r: {
        "length": _u(r, 0.28, 0.4), "width": _u(r, 0.18, 0.26), "thickness": _u(r, 0.015, 0.025),
        "grip_length": _u(r, 0.06, 0.09),
    }, ("relocate", "slide"), hold=("grasp", None, _PINCH), push=("push", None, ("poke",))),
    _family("rolling_pin", "kitchen", rolling_pin, lambda r: {
        "barrel_radius": _u(r, 0.022, 0.032), "barrel_length": _u(r, 0.2, 0.28),
        "handle_length": _u(r, 0.07, 0.1),
    }, ("carry", "relocate"), hold=("grasp", "handles", _GRIP)),
    # ---- containers
    _family("bottle", "containers", _b.bottle, lambda r: {
        "radius": _u(r, 0.03, 0.04), "height": _u(r, 0.17, 0.25),
        "neck_radius": _u(r, 0.012, 0.016), "cap_height": _u(r, 0.015, 0.025),
    }, ("drink", "pour", "shake", "relocate", "handover"), hold=_HOLD_WRAP),
    _family("can", "containers", _b.can, lambda r: {
        "radius": _u(r, 0.027, 0.036), "height": _u(r, 0.095, 0.165),
    }, ("drink", "pour", "shake", "handover"), hold=_HOLD_WRAP),
    _family("jar", "containers", _b.jar, lambda r: {
        "radius": _u(r, 0.038, 0.052), "height": _u(r, 0.1, 0.15),
        "lid_height": _u(r, 0.016, 0.024),
    }, ("twist_open", "twist_close"), articulated=True,
        body=("grasp", "body", _GRIP, 0.05), twist=("open", "lid", _PINCH)),
    _family("thermos", "containers", thermos, lambda r: {
        "radius": _u(r, 0.033, 0.042), "height": _u(r, 0.2, 0.27), "cap_height": _u(r, 0.03, 0.045),
    }, ("twist_open", "twist_close"), articulated=True,
        body=("grasp", "body", _GRIP, 0.08), twist=("open", "lid", _PINCH)),
    _family("spray_bottle", "containers", _b.spray_bottle, lambda r: {
        "radius": _u(r, 0.035, 0.044), "height": _u(r, 0.17, 0.22),
    }, ("spray", "relocate", "handover"), articulated=True,
        hold=("wrap-grasp", "body", _GRIP), press=("press", "trigger", ("poke",))),
    _family("box", "containers", _b.box_object, lambda r: {
        "width": _u(r, 0.17, 0.25), "depth": _u(r, 0.12, 0.17), "height": _u(r, 0.06, 0.1),
        "wall": _u(r, 0.003, 0.005), "lid_thickness": _u(r, 0.008, 0.012),
    }, ("open_close", "carry"), articulated=True,
        hold=("grasp", "base", ("flat",)), open=("open", "lid", ("pinch", "poke"))),
    _family("jewelry_box", "containers", jewelry_box, lambda r: {
        "width": _u(r, 0.1, 0.15), "depth": _u(r, 0.075, 0.1), "height": _u(r, 0.045, 0.065),
        "wall": _u(r, 0.004, 0.006), "lid_thickness": _u(r, 0.01, 0.014),
    }, ("open_close",), articulated=True, open=("open", "lid", ("pinch", "poke"))),
    _family("chest", "containers", chest, lambda r: {
        "width": _u(r, 0.26, 0.36), "depth": _u(r, 0.16, 0.22), "height": _u(r, 0.11, 0.16),
        "wall": _u(r, 0.008, 0.012), "lid_thickness": _u(r, 0.012, 0.018),
    }, ("open_close", "carry"), articulated=True,
        hold=("grasp", "base", ("flat",)), open=("open", "lid", ("pinch", "poke"))),
    # ---- tools
    _family("hammer", "tools", _b.hammer, lambda r: {
        "handle_length": _u(r, 0.27, 0.36), "handle_radius": _u(r, 0.012, 0.016),
        "head_scale": _u(r, 0.85, 1.15),
    }, ("inspect", "relocate", "handover"), hold=("grasp", "handle", _GRIP)),
    _family("screwdriver", "tools", screwdriver, lambda r: {
        "handle_length": _u(r, 0.08, 0.115), "handle_radius": _u(r, 0.012, 0.017),
        "shaft_length": _u(r, 0.07, 0.15),
    }, ("inspect", "relocate", "handover"), hold=("grasp", "handle", _GRIP)),
    _family("wrench", "tools", wrench, lambda r: {
        "length": _u(r, 0.14, 0.22), "width": _u(r, 0.017, 0.025), "jaw": _u(r, 0.014, 0.02),
    }, ("inspect", "relocate", "handover"), hold=("grasp", None, _PINCH)),
    _family("pliers", "tools", pliers, lambda r: {
        "jaw_length": _u(r, 0.04, 0.06), "grip_length": _u(r, 0.11, 0.15),
        "spread": _u(r, 0.018, 0.028),
    }, ("relocate", "inspect"), articulated=True, hold=("grasp", None, _PINCH)),
    _family("scissors", "tools", _b.scissors, lambda r: {
        "blade_length": _u(r, 0.08, 0.12), "ring_radius": _u(r, 0.014, 0.018),
    }, ("relocate", "inspect"), articulated=True, hold=("grasp", None, _PINCH)),
    _family("hand_saw", "tools", hand_saw, lambda r: {
        "blade_length": _u(r, 0.28, 0.4), "blade_height": _u(r, 0.08, 0.11),
        "handle_size": _u(r, 0.1, 0.12),
    }, ("cut", "relocate"), hold=("grasp", "handle", _PINCH)),
    _family("drill", "tools", drill, lambda r: {
        "body_length": _u(r, 0.15, 0.2), "grip_height": _u(r, 0.09, 0.12),
        "body_radius": _u(r, 0.025, 0.032),
    }, ("relocate", "inspect", "handover"), hold=("grasp", "body", _GRIP)),
    _family("flashlight", "tools", flashlight, lambda r: {
        "length": _u(r, 0.13, 0.2), "radius": _u(r, 0.013, 0.018),
        "head_radius": _u(r, 0.02, 0.026),
    }, ("relocate", "inspect", "press"),
        hold=("grasp", "body", _GRIP), press=("press", "button", ("poke",))),
    # ---- electronics
    _family("phone", "electronics", _b.phone, lambda r: {
        "width": _u(r, 0.065, 0.078), "length": _u(r, 0.135, 0.165),
        "thickness": _u(r, 0.007, 0.009),
    }, ("press", "inspect"), hold=("grasp", "body", _PINCH), press=("press", "screen", ("poke",))),
    _family("tv_remote", "electronics", tv_remote, lambda r: {
        "width": _u(r, 0.038, 0.052), "length": _u(r, 0.15, 0.21), "thickness": _u(r, 0.015, 0.022),
    }, ("press", "inspect", "relocate"),
        hold=("grasp", "body", _PINCH), press=("press", "buttons", ("poke",))),
    _family("game_controller", "electronics", game_controller, lambda r: {
        "width": _u(r, 0.1, 0.13), "grip_length": _u(r, 0.04, 0.055),
    }, ("press", "inspect", "relocate"),
        hold=("grasp", "body", _GRIP), press=("press", "buttons", ("poke",))),
    _family("camera", "electronics", camera, lambda r: {
        "width": _u(r, 0.1, 0.13), "height": _u(r, 0.06, 0.08), "lens_length": _u(r, 0.02, 0.05),
    }, ("press", "inspect", "relocate"),
        hold=("grasp", "body", _GRIP), press=("press", "shutter", ("poke",))),
    _family("computer_mouse", "electronics", computer_mouse, lambda r: {
        "length": _u(r, 0.1, 0.125), "width": _u(r, 0.055, 0.068), "height": _u(r, 0.032, 0.042),
    }, ("slide", "press", "relocate"), hold=("grasp", None, _PINCH),
        press=("press", None, ("poke",)), push=("push", None, ("poke",))),
    _family("laptop", "electronics", _b.laptop, lambda r: {
        "width": _u(r, 0.29, 0.36), "depth": _u(r, 0.2, 0.25), "base_height": _u(r, 0.012, 0.02),
        "lid_thickness": _u(r, 0.006, 0.009),
    }, ("open_close", "open_use"), articulated=True,
        open=("open", "lid", ("pinch", "poke")), press=("press", "base", ("poke",))),
    _family("headphones", "electronics", _b.headphones, lambda r: {
        "band_radius": _u(r, 0.078, 0.092), "band_thickness": _u(r, 0.007, 0.009),
        "cup_radius": _u(r, 0.04, 0.05),
    }, ("inspect", "relocate"), hold=("lift", "band", ("power", "hook", "pinch", "lateral"))),
    # ---- toys
    _family("toy_car", "toys", toy_car, lambda r: {
        "length": _u(r, 0.09, 0.15), "width": _u(r, 0.045, 0.065), "height": _u(r, 0.04, 0.06),
    }, ("slide", "relocate", "inspect"), hold=("grasp", "body", _PINCH),
        push=("push", "body", ("poke",))),
    _family("ball", "toys", ball, lambda r: {"radius": _u(r, 0.032, 0.06)},
            ("relocate", "inspect", "handover"), hold=_HOLD_WRAP),
    _family("toy_block", "toys", toy_block, lambda r: {
        "size": _u(r, 0.035, 0.06), "aspect": _u(r, 1.0, 1.6),
    }, ("relocate", "inspect", "handover"), hold=("grasp", None, _PINCH)),
    _family("rubber_duck", "toys", rubber_duck, lambda r: {
        "size": _u(r, 0.08, 0.12), "head_ratio": _u(r, 0.85, 1.1),
    }, ("relocate", "inspect", "shake"), hold=("grasp", "body", _GRIP)),
    _family("teddy_bear", "toys", teddy_bear, lambda r: {
        "height": _u(r, 0.16, 0.24), "plumpness": _u(r, 0.9, 1.15),
    }, ("relocate", "inspect"), hold=("grasp", "body", _GRIP)),
    _family("stacking_rings", "toys", stacking_rings, lambda r: {
        "base_radius": _u(r, 0.045, 0.06), "num_rings": float(r.integers(3, 6)),
        "ring_height": _u(r, 0.02, 0.028),
    }, ("relocate", "inspect"), hold=("grasp", "top", _PINCH)),
    # ---- household
    _family("book", "household", _b.book, lambda r: {
        "width": _u(r, 0.13, 0.2), "length": _u(r, 0.19, 0.28), "pages": _u(r, 0.012, 0.04),
        "cover": _u(r, 0.0025, 0.0035),
    }, ("open_close",), articulated=True, open=("open", "cover", ("pinch", "poke"))),
    _family("notebook", "household", notebook, lambda r: {
        "width": _u(r, 0.14, 0.21), "length": _u(r, 0.2, 0.3), "pages": _u(r, 0.006, 0.016),
        "cover": _u(r, 0.0025, 0.0035),
    }, ("open_close",), articulated=True, open=("open", "cover", ("pinch", "poke"))),
    _family("toothbrush", "household", _b.toothbrush, lambda r: {
        "handle_length": _u(r, 0.13, 0.17),
    }, ("relocate", "shake", "slide"), hold=("grasp", "handle", _PINCH),
        push=("push", "bristles", ("poke",))),
)  # fmt: skip

FAMILIES: dict[str, ObjectFamily] = {entry.name: entry for entry in _ENTRIES}
