"""Read `.npy` / `.npz` files whose arrays hold pickled dicts, without a general unpickler.

GRAB's sequence files (`s1/*.npz`) and ARCTIC's `raw_seqs/*.npy` store Python dicts of
numpy arrays as 0-d object arrays, which `numpy.load` can only read with
`allow_pickle=True`, i.e. by running whatever the pickle asks for. Here the `.npy`
header is parsed with :mod:`numpy.lib.format`; plain arrays are read without pickle and
object arrays are unpickled by :class:`_ArrayUnpickler`, which resolves only the globals
numpy needs to rebuild arrays (`_reconstruct`, `ndarray`, `dtype`, `scalar`) and plain
builtin containers. Any other global (`os.system`, `builtins.eval`, a class from some
package) raises :class:`~openhoi.errors.UnsafeFileError` naming the file and the global,
before anything is called.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from openhoi.errors import InputError, MissingFileError, UnsafeFileError

__all__ = ["load_npy_safe", "load_npz_safe", "unwrap_object"]

# The numpy module that holds `_reconstruct` and `scalar` (numpy._core on numpy >= 2).
try:
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
_BUILTIN_CONTAINERS = frozenset(
    {"dict", "list", "tuple", "set", "frozenset", "bytes", "bytearray", "str", "int", "float",
     "complex", "bool"}
)  # fmt: skip


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles written by Python 3 store bytes as `_codecs.encode(text, "latin1")`.
    return text.encode(encoding)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and builtin containers, and nothing else."""

    def __init__(self, stream: BinaryIO, where: str) -> None:
        super().__init__(stream, encoding="latin1")
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        allowed = _NUMPY_GLOBALS.get((module, name))
        if allowed is not None:
            return allowed
        if module in ("builtins", "__builtin__") and name in _BUILTIN_CONTAINERS:
            return getattr(builtins, name)
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise UnsafeFileError(
            f"{self._where} asks to load the Python global '{module}.{name}', which is not a "
            "numpy array or plain container; refusing to unpickle it (the file may be "
            "corrupted or malicious)"
        )


def _read_array(stream: BinaryIO, where: str) -> np.ndarray:
    """One `.npy` payload: plain arrays without pickle, object arrays via `_ArrayUnpickler`."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as exc:
        raise InputError(f"{where} is not a valid .npy array ({exc})") from exc
    if not dtype.hasobject:
        header_end = stream.tell()
        stream.seek(0)
        try:
            return np.lib.format.read_array(stream, allow_pickle=False)
        except ValueError as exc:
            raise InputError(
                f"{where}: cannot read the array after byte {header_end} ({exc})"
            ) from exc
    try:
        value = _ArrayUnpickler(stream, where).load()
    except UnsafeFileError:
        raise
    except Exception as exc:
        raise InputError(f"{where}: cannot decode its pickled array ({exc})") from exc
    if not isinstance(value, np.ndarray):
        raise InputError(f"{where}: pickled payload is a {type(value).__name__}, not an array")
    return value.reshape(shape, order="F" if fortran else "C")


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise MissingFileError(f"file {str(path)!r} does not exist")


def load_npy_safe(path: str | os.PathLike) -> np.ndarray:
    """Read one `.npy` file; object arrays are unpickled with numpy-only globals."""
    path = Path(path)
    _check_file(path)
    with path.open("rb") as handle:
        return _read_array(handle, repr(str(path)))


def load_npz_safe(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every array of a `.npz` file; object arrays are unpickled with numpy-only globals."""
    path = Path(path)
    _check_file(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{str(path)!r} is not a valid .npz (zip) file ({exc})") from exc
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for member in archive.namelist():
            key = member[: -len(".npy")] if member.endswith(".npy") else member
            where = f"{str(path)!r} (array {key!r})"
            try:
                data = archive.read(member)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InputError(f"{where}: cannot read it from the archive ({exc})") from exc
            arrays[key] = _read_array(io.BytesIO(data), where)
    return arrays


def unwrap_object(value: np.ndarray | Any) -> Any:
    """The Python object inside a 0-d object array (e.g. a dict), or the value itself."""
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        return value.item()
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "US":
        return str(value)
    return value
