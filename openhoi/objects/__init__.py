"""Objects to interact with: the built-in library, mesh loading, points and affordances.

Every object lives in the canonical frame (metres, z up, resting on z = 0, centred in
x,y) and carries parts, per-face affordances over the 18 `AFFORDANCE_TYPES`, and an
optional revolute `Articulation`. Procedural families (`FAMILIES`, `list_families`) build
variants of many everyday objects by name ("mug-v007", `build_variant`). Objects cross
stages as `ObjectRef` strings (built-in name, `name@scale`, a family variant, or a mesh /
stored object plus content hash, see :mod:`openhoi.objects.reference`); `load_object`
reads any of them back.
"""

from openhoi.objects.affordance import AFFORDANCE_TYPES, affordance_index
from openhoi.objects.families import FAMILIES, build_variant, list_families
from openhoi.objects.library import list_objects, load_object, object_ref
from openhoi.objects.mesh_io import MESH_SUFFIXES, load_mesh_file
from openhoi.objects.object import (
    Articulation,
    HOIObject,
    NormalisedPoints,
    ObjectPart,
    ObjectPoints,
)
from openhoi.objects.reference import ObjectRef

__all__ = [
    "AFFORDANCE_TYPES",
    "FAMILIES",
    "MESH_SUFFIXES",
    "Articulation",
    "HOIObject",
    "NormalisedPoints",
    "ObjectPart",
    "ObjectPoints",
    "ObjectRef",
    "affordance_index",
    "build_variant",
    "list_families",
    "list_objects",
    "load_mesh_file",
    "load_object",
    "object_ref",
]
