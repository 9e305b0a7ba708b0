"""`ObjectRef`: the string that names one exact object across stages and files.

Objects cross stages (and npz / JSON files) as references, never as bare names that could
collide with a built-in. `str(ref)` writes one of these forms and `ObjectRef.parse` reads
it back::

    bottle                                        a built-in object
    bottle@1.2                                    a built-in object scaled by 1.2
    mesh:/abs/path/can.obj#sha256=<64 hex>        a mesh file and the sha256 of its bytes
    stored:/abs/data/objects/milk#sha256=<64 hex> an object stored in a prepared dataset
                                                  folder (`<folder>/objects/<name>/`)

Paths are absolute. A file reference's fragment (after the last `#`) is `&`-separated
`key=value` items; besides `sha256`, a mesh reference writes only the `load_mesh_file`
settings that differ from their defaults:

    affordance_sha256=<64 hex>   sha256 of the affordance sidecar read with the mesh
                                 (absent: there was none, and there must still be none)
    unit=<float>                 `load_mesh_file(scale=...)`, file units → metres
    max_faces=<int>              `load_mesh_file(max_faces=...)`
    gltf_y_up=0                  `load_mesh_file(use_gltf_y_up=False)`, .glb/.gltf only

Any form may end in `@<factor>`, a uniform scale applied after loading (`HOIObject.scaled`).
A stored object's hash is the sha256 of its `object.json` bytes followed by the bytes of
each part file in the order `object.json` lists them.

This module only describes references (it imports nothing else from `openhoi.objects`);
`openhoi.objects.load_object(ref)` loads one, checking the hash first: a missing file
raises `MissingFileError`, a changed one `InputError`, each naming the path and the hash
expected. A mesh reference always loads its mesh, even when the file stem is a built-in name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from pathlib import Path

from openhoi.errors import InputError

__all__ = [
    "MAX_SCALE",
    "MESH_PREFIX",
    "MIN_SCALE",
    "SCALE_SEPARATOR",
    "STORED_PREFIX",
    "ObjectRef",
    "file_sha256",
    "format_scale",
    "is_file_reference",
]

# `name@factor` names a scaled object (`HOIObject.scaled`); factors outside this range
# are refused (a 4x mug or a 0.25x kettle is no longer the object the labels describe).
SCALE_SEPARATOR = "@"
MIN_SCALE, MAX_SCALE = 0.25, 4.0

MESH_PREFIX = "mesh:"
STORED_PREFIX = "stored:"
_PREFIXES = {"mesh": MESH_PREFIX, "stored": STORED_PREFIX}
_FRAGMENT_KEYS = {
    "mesh": ("sha256", "affordance_sha256", "unit", "max_faces", "gltf_y_up"),
    "stored": ("sha256",),
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Built-in and dataset object names: letters, digits, `_` and `-` (never a path).
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_FORMS = (
    "NAME, NAME@SCALE, mesh:/abs/file.obj#sha256=HEX or stored:/abs/folder/objects/NAME#sha256=HEX"
)
_CHUNK_BYTES = 1 << 20
# Scales are kept to 12 significant digits, so products such as 1.2 * 1.5 read "1.8" and the
# text form round-trips exactly (the geometric difference is below 1e-11 relative).
_SCALE_DIGITS = 12


def format_scale(factor: float) -> str:
    """`factor` to 12 significant digits ("1.2", "2"; 1.2 * 1.5 gives "1.8")."""
    return f"{float(factor):.{_SCALE_DIGITS}g}"


def file_sha256(*paths: str | os.PathLike) -> str:
    """Hex sha256 of the bytes of `paths`, read in order (one file: its plain sha256)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
                digest.update(chunk)
    return digest.hexdigest()


def is_file_reference(text: object) -> bool:
    """Whether `text` is a `mesh:` or `stored:` reference string (not a name or path)."""
    return isinstance(text, str) and text.startswith((MESH_PREFIX, STORED_PREFIX))


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    """Where an object comes from, precisely enough to load the same object again.

    Attributes:
        kind: "builtin", "mesh" or "stored".
        target: the built-in name, the absolute mesh path, or the absolute stored-object
            folder `<dataset>/objects/<name>`.
        sha256: hex sha256 of the file content (see the module docstring); "" for built-ins.
        scale: uniform factor applied after loading, in [0.25, 4].
        affordance_sha256: mesh only: sha256 of its affordance sidecar, "" if it had none.
        unit: mesh only: factor from file units to metres (`load_mesh_file`'s `scale`).
        max_faces: mesh only: face budget it was loaded with; None = the default.
        gltf_y_up: mesh only: whether .glb/.gltf coordinates were read as y-up.
    """

    kind: str
    target: str
    sha256: str = ""
    scale: float = 1.0
    affordance_sha256: str = ""
    unit: float = 1.0
    max_faces: int | None = None
    gltf_y_up: bool = True

    def __post_init__(self) -> None:
        where = f"object reference {self.target!r}"
        if self.kind not in ("builtin", *_PREFIXES):
            raise InputError(f"{where}: kind must be builtin, mesh or stored, got {self.kind!r}")
        scale = float(self.scale)
        if not math.isfinite(scale) or not MIN_SCALE <= scale <= MAX_SCALE:
            raise InputError(f"{where}: scale must lie in [{MIN_SCALE}, {MAX_SCALE}], got {scale}")
        object.__setattr__(self, "scale", float(format_scale(scale)))
        object.__setattr__(self, "unit", float(format_scale(self.unit)))
        if self.kind == "builtin":
            if not _NAME.match(self.target) or self.sha256 or self.affordance_sha256:
                raise InputError(
                    f"{where}: a built-in reference is a bare name (letters, digits, _ and -) "
                    "without a hash"
                )
            return
        if not Path(self.target).is_absolute():
            raise InputError(f"{where}: the path of a {self.kind} reference must be absolute")
        for key in ("sha256", "affordance_sha256"):
            value = getattr(self, key)
            if (value or key == "sha256") and not _SHA256.match(value):
                raise InputError(f"{where}: {key} must be 64 lowercase hex digits, got {value!r}")
        if not (math.isfinite(self.unit) and self.unit > 0):
            raise InputError(f"{where}: unit must be a positive number, got {self.unit!r}")
        if self.max_faces is not None and int(self.max_faces) < 4:
            raise InputError(f"{where}: max_faces must be at least 4, got {self.max_faces}")

    # ------------------------------------------------------------------ text form

    @classmethod
    def parse(cls, text: str) -> ObjectRef:
        """Read a reference string in any form of the module docstring."""
        text = str(text)
        for kind, prefix in _PREFIXES.items():
            if text.startswith(prefix):
                return cls._parse_file(kind, text)
        name, separator, factor = text.rpartition(SCALE_SEPARATOR)
        if not separator:
            name, factor = text, "1"
        if not _NAME.match(name):
            raise InputError(
                f"object reference {text!r} is not one of the forms {_FORMS} (to reference a "
                "mesh file, load it with openhoi.objects.load_object and use its .ref)"
            )
        return cls("builtin", name, scale=_parse_number(factor, "scale", text))

    @classmethod
    def _parse_file(cls, kind: str, text: str) -> ObjectRef:
        body = text[len(_PREFIXES[kind]) :]
        path, separator, fragment = body.rpartition("#")
        if not separator or not path:
            raise InputError(
                f"object reference {text!r}: expected {_PREFIXES[kind]}PATH#sha256=HEX"
            )
        fragment, separator, factor = fragment.partition(SCALE_SEPARATOR)
        items: dict[str, str] = {}
        for item in fragment.split("&"):
            key, equals, value = item.partition("=")
            if not equals or key in items or key not in _FRAGMENT_KEYS[kind]:
                raise InputError(
                    f"object reference {text!r}: bad item {item!r} after '#'; a {kind} "
                    f"reference takes {', '.join(k + '=' for k in _FRAGMENT_KEYS[kind])}"
                )
            items[key] = value
        if "sha256" not in items:
            raise InputError(f"object reference {text!r}: missing sha256=HEX after '#'")
        if items.get("gltf_y_up", "1") not in ("0", "1"):
            raise InputError(f"object reference {text!r}: gltf_y_up must be 0 or 1")
        max_faces = items.get("max_faces")
        if max_faces is not None and not max_faces.isdigit():
            raise InputError(f"object reference {text!r}: max_faces must be an integer")
        return cls(
            kind,
            path,
            sha256=items["sha256"],
            scale=_parse_number(factor, "scale", text) if separator else 1.0,
            affordance_sha256=items.get("affordance_sha256", ""),
            unit=_parse_number(items.get("unit", "1"), "unit", text),
            max_faces=None if max_faces is None else int(max_faces),
            gltf_y_up=items.get("gltf_y_up", "1") == "1",
        )

    def __str__(self) -> str:
        scale = "" if self.scale == 1.0 else f"{SCALE_SEPARATOR}{format_scale(self.scale)}"
        if self.kind == "builtin":
            return f"{self.target}{scale}"
        items = [f"sha256={self.sha256}"]
        if self.affordance_sha256:
            items.append(f"affordance_sha256={self.affordance_sha256}")
        if self.unit != 1.0:
            items.append(f"unit={format_scale(self.unit)}")
        if self.max_faces is not None:
            items.append(f"max_faces={int(self.max_faces)}")
        if not self.gltf_y_up:
            items.append("gltf_y_up=0")
        return f"{_PREFIXES[self.kind]}{self.target}#{'&'.join(items)}{scale}"

    def scaled(self, factor: float) -> ObjectRef:
        """This reference with its scale multiplied by `factor`."""
        return dataclasses.replace(self, scale=self.scale * float(factor))


def _parse_number(text: str, what: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"object reference {where!r}: {what} {text!r} is not a number") from None
