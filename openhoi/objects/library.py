"""Look objects up by reference, built-in name or mesh path: `list_objects`, `load_object`."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from openhoi.errors import InputError
from openhoi.objects.builtin import BUILTIN_BUILDERS
from openhoi.objects.mesh_io import DEFAULT_MAX_FACES, MESH_SUFFIXES, load_mesh_file
from openhoi.objects.object import MAX_SCALE, MIN_SCALE, SCALE_SEPARATOR, HOIObject
from openhoi.objects.reference import ObjectRef, is_file_reference

__all__ = ["builtin_object", "list_objects", "load_object", "split_scaled_name"]


def list_objects() -> list[str]:
    """Names of the built-in objects, sorted."""
    return sorted(BUILTIN_BUILDERS)


@functools.cache
def _builtin(name: str) -> HOIObject:
    # Built objects are immutable, so one instance per name is shared.
    return BUILTIN_BUILDERS[name]()


@functools.cache
def _scaled_builtin(name: str, factor: float) -> HOIObject:
    return _builtin(name).scaled(factor)


def builtin_object(name: str, factor: float = 1.0) -> HOIObject:
    """The built-in object `name` scaled by `factor` (shared, immutable instances)."""
    if name not in BUILTIN_BUILDERS:
        raise InputError(
            f"unknown object {name!r}: not a built-in object ({', '.join(list_objects())}); "
            "an object of a prepared dataset folder loads with "
            "openhoi.data.load_episode_object(folder, name)"
        )
    return _builtin(name) if factor == 1.0 else _scaled_builtin(name, float(factor))


def split_scaled_name(name: str) -> tuple[str, float]:
    """`"bottle@1.1"` → `("bottle", 1.1)`; a name without `@` → `(name, 1.0)`.

    Raises:
        InputError: the part after `@` is not a number in the allowed scale range.
    """
    base, separator, text = str(name).rpartition(SCALE_SEPARATOR)
    if not separator:
        return str(name), 1.0
    try:
        factor = float(text)
    except ValueError:
        factor = float("nan")
    if not base or not MIN_SCALE <= factor <= MAX_SCALE:
        raise InputError(
            f"object {name!r}: expected NAME{SCALE_SEPARATOR}SCALE with SCALE a number in "
            f"[{MIN_SCALE}, {MAX_SCALE}] (e.g. bottle{SCALE_SEPARATOR}1.2)"
        )
    return base, factor


def load_object(
    name_or_path: str | os.PathLike | ObjectRef,
    *,
    scale: float = 1.0,
    max_faces: int = DEFAULT_MAX_FACES,
    decimate: bool = True,
    use_gltf_y_up: bool = True,
) -> HOIObject:
    """An object by reference, built-in name or mesh path (keywords go to `load_mesh_file`).

    Accepts an `ObjectRef` or its string (`mesh:/abs/can.obj#sha256=...` loads that mesh,
    checked against its hash, even if "can" is a built-in), a built-in name, optionally
    with a uniform scale as `name@factor` ("bottle@1.2" is the bottle 20 % larger,
    `HOIObject.scaled`), or a path to a mesh file. The result's `ref` names it again.

    Raises:
        InputError: unknown name (the message lists the built-ins), invalid mesh file or
            reference, or a referenced file that changed since the reference was taken.
        MissingFileError: a mesh path or a referenced file that does not exist.
    """
    defaults = (scale, max_faces, decimate, use_gltf_y_up) == (1.0, DEFAULT_MAX_FACES, True, True)
    if isinstance(name_or_path, ObjectRef) or is_file_reference(name_or_path):
        if not defaults:
            raise InputError(
                "scale, max_faces, decimate and use_gltf_y_up apply to mesh paths; the object "
                f"reference {str(name_or_path)!r} already records how to load its file"
            )
        ref = name_or_path if isinstance(name_or_path, ObjectRef) else ObjectRef.parse(name_or_path)
        return ref.resolve()
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_BUILDERS:
        if not defaults:
            raise InputError(
                "scale, max_faces, decimate and use_gltf_y_up apply to mesh files, not to the "
                f"built-in object {name_or_path!r}"
            )
        return _builtin(name_or_path)
    if (
        isinstance(name_or_path, str)
        and SCALE_SEPARATOR in name_or_path
        and Path(name_or_path).suffix.lower() not in MESH_SUFFIXES
    ):
        base, factor = split_scaled_name(name_or_path)
        if base in BUILTIN_BUILDERS:
            return builtin_object(base, factor)
    path = Path(name_or_path)
    if path.suffix.lower() in MESH_SUFFIXES:
        return load_mesh_file(
            path,
            scale=scale,
            max_faces=max_faces,
            decimate=decimate,
            use_gltf_y_up=use_gltf_y_up,
        )
    raise InputError(
        f"unknown object {str(name_or_path)!r}: not a built-in object "
        f"({', '.join(list_objects())}), not a path to a mesh file (paths need one of "
        f"the suffixes {', '.join(MESH_SUFFIXES)}) and not an object reference "
        "(mesh:/abs/file#sha256=HEX, stored:/abs/folder/objects/NAME#sha256=HEX); an object "
        "of a prepared dataset folder loads with openhoi.data.load_episode_object(folder, name)"
    )
