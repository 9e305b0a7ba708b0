"""Exporters of `HOISequence`: npz, plain meshes, glTF binary (Blender), BVH, preview mp4.

`export_sequence(sequence, path, format)` looks the format up in `EXPORTERS` (name → module
and function, imported only when used) and writes the file atomically:

- "npz": the sequence itself (`HOISequence.save`);
- "meshes": per-frame hand and object vertices (`meshes.npz`, see `openhoi.export.meshes`);
- "glb": skinned hands + object + animation, y up (see `openhoi.export.gltf`);
- "bvh": the hand skeleton animation (see `openhoi.export.bvh`);
- "mp4": a preview video (see `openhoi.render.preview`).

Static scene objects (`static_objects`: `(HOIObject, (4, 4) pose)` pairs for the objects that
stay still beside the manipulated one) go into "meshes", "glb" and "mp4".
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from openhoi.errors import InputError

__all__ = [
    "EXPORTERS",
    "ExporterSpec",
    "available_formats",
    "export_sequence",
]


@dataclass(frozen=True)
class ExporterSpec:
    """One registered export format.

    Attributes:
        name: format name used by the CLI (`--format`).
        suffix: file suffix of its output (with the dot).
        default_filename: the file name `openhoi generate` writes.
        target: "module:function" writing it, called as `function(path, sequence, **options)`.
        options: keyword options the writer accepts besides path and sequence.
    """

    name: str
    suffix: str
    default_filename: str
    target: str
    options: tuple[str, ...]

    def load(self):
        """Import and return the writer function."""
        module, function = self.target.split(":")
        return getattr(importlib.import_module(module), function)


EXPORTERS: dict[str, ExporterSpec] = {
    spec.name: spec
    for spec in (
        ExporterSpec("npz", ".npz", "sequence.npz", "openhoi.export._npz:write_npz", ()),
        ExporterSpec(
            "meshes",
            ".npz",
            "meshes.npz",
            "openhoi.export.meshes:write_meshes",
            ("obj", "hands", "static_objects"),
        ),
        ExporterSpec(
            "glb",
            ".glb",
            "sequence.glb",
            "openhoi.export.gltf:write_glb",
            ("obj", "hands", "static_objects"),
        ),
        ExporterSpec("bvh", ".bvh", "sequence.bvh", "openhoi.export.bvh:write_bvh", ("hands",)),
        ExporterSpec(
            "mp4",
            ".mp4",
            "preview.mp4",
            "openhoi.render.preview:write_preview",
            ("obj", "hands", "static_objects"),
        ),
    )
}


def available_formats() -> tuple[str, ...]:
    """Names of the registered export formats."""
    return tuple(EXPORTERS)


def export_sequence(
    sequence,
    path: str | os.PathLike,
    format: str,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> Path:
    """Write `sequence` to `path` in `format` ("npz", "meshes", "glb", "bvh", "mp4").

    Args:
        sequence: the `HOISequence`.
        path: output file; a folder writes the format's default file name inside it.
        format: one of `available_formats()`.
        obj: the `HOIObject` (default: `sequence.load_object()`); ignored by "npz" and "bvh".
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand asset);
            ignored by "npz".
        static_objects: `(HOIObject, (4, 4) pose)` pairs of objects that stay still, pose
            canonical → world (metres, z up, the sequence's world), drawn at rest pose;
            ignored by "npz" and "bvh".

    Returns:
        The path written.

    Raises:
        InputError: unknown format, a path with the wrong suffix, or a static object that is
            not a `(HOIObject, rigid (4, 4) pose)` pair.
        DependencyError: "mp4" without its optional rendering packages.
    """
    spec = EXPORTERS.get(format)
    if spec is None:
        raise InputError(f"unknown export format {format!r}; known: {', '.join(EXPORTERS)}")
    path = Path(path)
    if path.is_dir():
        path = path / spec.default_filename
    if path.suffix.lower() != spec.suffix:
        raise InputError(f"{format} files end in {spec.suffix}, got {str(path)!r}")
    given = {"obj": obj, "hands": hands, "static_objects": static_objects}
    options = {name: given[name] for name in spec.options}
    return Path(spec.load()(path, sequence, **options))
