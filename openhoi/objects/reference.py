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

`resolve()` checks the hash before loading: a missing file raises `MissingFileError`, a
changed one `InputError`, each naming the path and the hash expected. A mesh reference
always loads its mesh, even when the file stem is a built-in name.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from openhoi.errors import InputError, MissingFileError
from openhoi.objects.object import MAX_SCALE, MIN_SCALE, SCALE_SEPARATOR

if TYPE_CHECKING:
    from openhoi.objects.object import HOIObject

__all__ = [
    "MESH_PREFIX",
    "STORED_PREFIX",
    "ObjectRef",
    "file_sha256",
    "format_scale",
    "is_file_reference",
    "object_ref",
]

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

    # ------------------------------------------------------------------ loading

    def resolve(self) -> HOIObject:
        """The object this reference names, after checking its files are unchanged."""
        if self.kind == "builtin":
            from openhoi.objects.library import builtin_object

            return builtin_object(self.target, self.scale)
        if self.kind == "mesh":
            from openhoi.objects.mesh_io import sidecar_path

            path = Path(self.target)
            _check("mesh file", path, path.is_file() and file_sha256(path), self.sha256)
            sidecar = sidecar_path(path)
            found = "none" if sidecar is None else file_sha256(sidecar)
            expected = self.affordance_sha256 or "none"
            _check("affordance sidecar of mesh file", sidecar or path, found, expected)
        else:
            from openhoi.objects.store import OBJECT_FILE, stored_object_sha256

            path = Path(self.target)
            try:
                found = (path / OBJECT_FILE).is_file() and stored_object_sha256(path)
            except MissingFileError as exc:  # object.json lists a part file that is gone
                raise MissingFileError(
                    f"referenced stored object {path} is incomplete ({exc}); the reference "
                    f"expects sha256 {self.sha256}"
                ) from None
            _check("stored object", path, found, self.sha256)
        return _load_checked(dataclasses.replace(self, scale=1.0)).scaled(self.scale)


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


def _parse_number(text: str, what: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"object reference {where!r}: {what} {text!r} is not a number") from None


@functools.lru_cache(maxsize=32)
def _load_checked(ref: ObjectRef) -> HOIObject:
    """Load an unscaled file reference whose hash was just checked (objects are immutable)."""
    if ref.kind == "stored":
        from openhoi.objects.store import load_stored_object

        folder = Path(ref.target)
        obj = load_stored_object(folder.parent.parent, folder.name)
    else:
        from openhoi.objects.mesh_io import DEFAULT_MAX_FACES, load_mesh_file

        obj = load_mesh_file(
            ref.target,
            scale=ref.unit,
            max_faces=DEFAULT_MAX_FACES if ref.max_faces is None else ref.max_faces,
            use_gltf_y_up=ref.gltf_y_up,
        )
    found = obj.ref.sha256 if obj.ref is not None else ""
    _check(f"{ref.kind} object", Path(ref.target), found, ref.sha256)  # replaced meanwhile?
    return obj


def object_ref(obj: HOIObject) -> ObjectRef:
    """The reference of a loaded object; InputError for one built in memory."""
    if obj.ref is None:
        raise InputError(
            f"object {obj.name!r} was built in memory and has no reference to load it again; "
            "save it as a mesh file and load it with openhoi.objects.load_object"
        )
    return obj.ref
