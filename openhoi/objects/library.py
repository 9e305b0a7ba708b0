"""Look objects up by built-in name or mesh path: `list_objects`, `load_object`."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from openhoi.errors import InputError
from openhoi.objects.builtin import BUILTIN_BUILDERS
from openhoi.objects.mesh_io import MESH_SUFFIXES, load_mesh_file
from openhoi.objects.object import MAX_SCALE, MIN_SCALE, SCALE_SEPARATOR, HOIObject

__all__ = ["list_objects", "load_object", "split_scaled_name"]


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
    name_or_path: str | os.PathLike,
    *,
    scale: float = 1.0,
    max_faces: int = 200_000,
    decimate: bool = True,
    use_gltf_y_up: bool = True,
) -> HOIObject:
    """A built-in object by name, or a mesh file by path (keywords go to `load_mesh_file`).

    A built-in name may carry a uniform scale as `name@factor` ("bottle@1.2" is the
    bottle 20 % larger, `HOIObject.scaled`); SynthHOI episodes name their objects so.

    Raises:
        InputError: unknown name (the message lists the built-ins), or invalid mesh file.
        MissingFileError: a path with a mesh suffix that does not exist.
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_BUILDERS:
        if (scale, max_faces, decimate, use_gltf_y_up) != (1.0, 200_000, True, True):
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
            return load_object(base) if factor == 1.0 else _scaled_builtin(base, factor)
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
        f"({', '.join(list_objects())}) and not a path to a mesh file (paths need one of "
        f"the suffixes {', '.join(MESH_SUFFIXES)})"
    )
