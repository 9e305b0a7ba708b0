"""Look objects up by reference, built-in name or mesh path: `list_objects`, `load_object`.

Loading an `ObjectRef` lives here, above every kind of object it can name (built-ins,
mesh files, stored objects); `openhoi.objects.reference` only describes references.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

from openhoi.errors import InputError, MissingFileError
from openhoi.objects.builtin import BUILTIN_BUILDERS
from openhoi.objects.families import (
    VARIANT_SEPARATOR,
    build_variant,
    family,
    parse_variant_name,
)
from openhoi.objects.mesh_io import DEFAULT_MAX_FACES, MESH_SUFFIXES, load_mesh_file, sidecar_path
from openhoi.objects.object import HOIObject
from openhoi.objects.reference import (
    MAX_SCALE,
    MIN_SCALE,
    SCALE_SEPARATOR,
    ObjectRef,
    file_sha256,
    is_file_reference,
)
from openhoi.objects.store import OBJECT_FILE, load_stored_object, stored_object_sha256

__all__ = ["builtin_object", "list_objects", "load_object", "object_ref", "split_scaled_name"]


def list_objects() -> list[str]:
    """Names of the built-in objects, sorted."""
    return sorted(BUILTIN_BUILDERS)


def _is_named(name: object) -> bool:
    """Whether `name` is a built-in object or a procedural family variant ("mug-v007")."""
    return isinstance(name, str) and (
        name in BUILTIN_BUILDERS or parse_variant_name(name) is not None
    )


@functools.cache
def _builtin(name: str) -> HOIObject:
    # Built objects are immutable, so one instance per name is shared.
    if name in BUILTIN_BUILDERS:
        return BUILTIN_BUILDERS[name]()
    family_name, index = parse_variant_name(name)
    return build_variant(family_name, index)


@functools.cache
def _scaled_builtin(name: str, factor: float) -> HOIObject:
    return _builtin(name).scaled(factor)


def builtin_object(name: str, factor: float = 1.0) -> HOIObject:
    """The built-in object or family variant `name` scaled by `factor` (shared instances)."""
    if not _is_named(name):
        raise InputError(
            f"unknown object {name!r}: not a built-in object ({', '.join(list_objects())}) "
            "nor a family variant (FAMILY-vNNN, families: openhoi.objects.families."
            "list_families()); an object of a prepared dataset folder loads with "
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
    `HOIObject.scaled`), a procedural family variant ("mug-v007", built from its family's
    parameters for that index, see `openhoi.objects.families`), or a path to a mesh file.
    The result's `ref` names it again.

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
        return _load_ref(ref)
    if _is_named(name_or_path):
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
        if _is_named(base):
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
    if isinstance(name_or_path, str):
        family_name, separator, index = name_or_path.rpartition(VARIANT_SEPARATOR)
        if separator and index.isdigit():
            family(family_name)  # an unknown family: the error lists the known ones
    raise InputError(
        f"unknown object {str(name_or_path)!r}: not a built-in object "
        f"({', '.join(list_objects())}), not a family variant (FAMILY{VARIANT_SEPARATOR}NNN, "
        "at least three digits), not a path to a mesh file (paths need one of "
        f"the suffixes {', '.join(MESH_SUFFIXES)}) and not an object reference "
        "(mesh:/abs/file#sha256=HEX, stored:/abs/folder/objects/NAME#sha256=HEX); an object "
        "of a prepared dataset folder loads with openhoi.data.load_episode_object(folder, name)"
    )


def object_ref(obj: HOIObject) -> ObjectRef:
    """The reference of a loaded object; InputError for one built in memory."""
    if obj.ref is None:
        raise InputError(
            f"object {obj.name!r} was built in memory and has no reference to load it again; "
            "save it as a mesh file and load it with openhoi.objects.load_object"
        )
    return obj.ref


def _load_ref(ref: ObjectRef) -> HOIObject:
    """The object `ref` names, after checking its files are unchanged."""
    if ref.kind == "builtin":
        return builtin_object(ref.target, ref.scale)
    if ref.kind == "mesh":
        path = Path(ref.target)
        _check("mesh file", path, path.is_file() and file_sha256(path), ref.sha256)
        sidecar = sidecar_path(path)
        found = "none" if sidecar is None else file_sha256(sidecar)
        expected = ref.affordance_sha256 or "none"
        _check("affordance sidecar of mesh file", sidecar or path, found, expected)
    else:
        path = Path(ref.target)
        try:
            found = (path / OBJECT_FILE).is_file() and stored_object_sha256(path)
        except MissingFileError as exc:  # object.json lists a part file that is gone
            raise MissingFileError(
                f"referenced stored object {path} is incomplete ({exc}); the reference "
                f"expects sha256 {ref.sha256}"
            ) from None
        _check("stored object", path, found, ref.sha256)
    return _load_checked(dataclasses.replace(ref, scale=1.0)).scaled(ref.scale)


def _check(what: str, path: Path, found: str | bool, expected: str) -> None:
    """Raise unless the file(s) at `path` exist (`found` not False) and hash to `expected`."""
    if found is False:
        raise MissingFileError(
            f"referenced {what} {path} does not exist (the reference expects sha256 "
            f"{expected}); restore it or load the object again to take a new reference"
        )
    if found != expected:
        raise InputError(
            f"referenced {what} {path} has changed since the reference was taken (expected "
            f"sha256 {expected}, found {found}); restore it or load the object again to take "
            "a new reference"
        )


@functools.lru_cache(maxsize=32)
def _load_checked(ref: ObjectRef) -> HOIObject:
    """Load an unscaled file reference whose hash was just checked (objects are immutable)."""
    if ref.kind == "stored":
        folder = Path(ref.target)
        obj = load_stored_object(folder.parent.parent, folder.name)
    else:
        obj = load_mesh_file(
            ref.target,
            scale=ref.unit,
            max_faces=DEFAULT_MAX_FACES if ref.max_faces is None else ref.max_faces,
            use_gltf_y_up=ref.gltf_y_up,
        )
    found = obj.ref.sha256 if obj.ref is not None else ""
    _check(f"{ref.kind} object", Path(ref.target), found, ref.sha256)  # replaced meanwhile?
    return obj
