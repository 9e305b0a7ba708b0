"""Load MANO model files (`MANO_RIGHT.pkl`, `MANO_LEFT.pkl`) safely, without chumpy.

The official files are Python-2 pickles holding chumpy arrays and scipy sparse matrices.
A general unpickler would run whatever a file asks for, and chumpy no longer imports on
current numpy/Python. :class:`_RestrictedUnpickler` resolves only an allow-list of
globals (numpy array reconstruction, scipy csc/csr matrices, `copyreg._reconstructor`,
`object`) and maps every chumpy class to a small stand-in that keeps its array, so the
result is plain numpy. Any other global raises :class:`~openhoi.errors.UnsafeFileError`
before it is called.
"""

from __future__ import annotations

import copyreg
import io
import logging
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from openhoi.errors import InputError, MissingFileError, OpenHOIError, UnsafeFileError
from openhoi.hand.constants import NUM_BETAS, NUM_FINGER_JOINTS, NUM_JOINTS

__all__ = ["REQUIRED_KEYS", "load_mano_file"]

logger = logging.getLogger(__name__)

# Every key smplx.MANO reads, with its expected shape; None = any size (V vertices, F faces).
# "min" entries give a lower bound on that axis instead of an exact size.
REQUIRED_KEYS: dict[str, tuple] = {
    "v_template": (None, 3),
    "shapedirs": (None, 3, ("min", NUM_BETAS)),
    "posedirs": (None, 3, NUM_FINGER_JOINTS * 9),
    "J_regressor": (NUM_JOINTS, None),
    "weights": (None, NUM_JOINTS),
    "kintree_table": (2, NUM_JOINTS),
    "f": (None, 3),
    "hands_components": (NUM_FINGER_JOINTS * 3, NUM_FINGER_JOINTS * 3),
    "hands_mean": (NUM_FINGER_JOINTS * 3,),
}
_INTEGER_KEYS = ("f", "kintree_table")
# Python-2 pickles store numpy buffers as str; `encoding="latin1"` turns them into bytes.
_PICKLE_ENCODING = "latin1"


class _ChumpyStandIn:
    """Takes the place of any chumpy class; keeps the pickled state (the array is `x`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _latin1_encode(text: str, encoding: str = _PICKLE_ENCODING, errors: str = "strict") -> bytes:
    # Python-3 protocol-2 pickles store bytes as `_codecs.encode(text, "latin1")`.
    if encoding.replace("-", "").lower() != _PICKLE_ENCODING:
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode(_PICKLE_ENCODING, errors)


def _numpy_global(name: str) -> Any:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric
    table = {
        "_reconstruct": multiarray._reconstruct,
        "scalar": multiarray.scalar,
        "_frombuffer": numeric._frombuffer,
    }
    return table[name]


def _sparse_global(name: str) -> Any:
    import scipy.sparse

    return getattr(scipy.sparse, name)


_NUMPY_CORE_MODULES = (
    "numpy.core.multiarray",
    "numpy._core.multiarray",
    "numpy.core.numeric",
    "numpy._core.numeric",
)
_SPARSE_MODULES = (
    "scipy.sparse.csc",
    "scipy.sparse._csc",
    "scipy.sparse.csr",
    "scipy.sparse._csr",
    "scipy.sparse",
)
_SPARSE_NAMES = ("csc_matrix", "csr_matrix")


def _allowed_global(module: str, name: str) -> Any | None:
    """The object for an allowed `(module, name)`, or None when it is not allowed."""
    if module in _NUMPY_CORE_MODULES and name in ("_reconstruct", "scalar", "_frombuffer"):
        return _numpy_global(name)
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module in _SPARSE_MODULES and name in _SPARSE_NAMES:
        return _sparse_global(name)
    if module in ("copy_reg", "copyreg") and name == "_reconstructor":
        return copyreg._reconstructor
    if module in ("__builtin__", "builtins") and name == "object":
        return object
    if module == "_codecs" and name == "encode":
        return _latin1_encode
    if module == "chumpy" or module.startswith("chumpy."):
        return _ChumpyStandIn
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of `_allowed_global`."""

    def __init__(self, file: io.BufferedIOBase, path: Path) -> None:
        super().__init__(file, encoding=_PICKLE_ENCODING)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed_global(module, name)
        if found is None:
            raise UnsafeFileError(
                f"{self._path}: refusing to load the global {module}.{name}; a MANO file may "
                "only hold numpy arrays, scipy sparse matrices and chumpy arrays. Use the "
                "official MANO_RIGHT.pkl / MANO_LEFT.pkl from https://mano.is.tue.mpg.de"
            )
        return found


def _to_numpy(key: str, value: Any, path: Path) -> np.ndarray:
    """Turn a loaded value (ndarray, chumpy stand-in, sparse matrix) into a dense ndarray."""
    if isinstance(value, _ChumpyStandIn):
        state = value.state
        if not isinstance(state, dict) or "x" not in state:
            raise InputError(
                f"{path}: key {key!r} is a chumpy expression without a stored array ('x'); "
                "only plain chumpy arrays are supported"
            )
        return _to_numpy(key, state["x"], path)
    if hasattr(value, "toarray") and hasattr(value, "indptr"):
        try:
            return np.asarray(value.toarray())
        except Exception as error:
            raise InputError(
                f"{path}: key {key!r} is a sparse matrix that cannot be read: {error}"
            ) from error
    try:
        return np.asarray(value)
    except Exception as error:
        raise InputError(f"{path}: key {key!r} is not an array: {error}") from error


def _check_shape(key: str, array: np.ndarray, expected: tuple, path: Path) -> None:
    ok = array.ndim == len(expected)
    if ok:
        for size, want in zip(array.shape, expected, strict=True):
            if isinstance(want, tuple):
                ok = ok and size >= want[1]
            elif want is not None:
                ok = ok and size == want
    if not ok:
        text = ", ".join(
            "V" if w is None else f">={w[1]}" if isinstance(w, tuple) else str(w) for w in expected
        )
        raise InputError(f"{path}: key {key!r} must have shape ({text}), got {tuple(array.shape)}")


def load_mano_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a MANO pickle with the restricted unpickler and return its arrays as numpy.

    Args:
        path: a `MANO_RIGHT.pkl` / `MANO_LEFT.pkl` (official Python-2 file with chumpy
            arrays, or any pickle of the same keys holding numpy arrays).

    Returns:
        The keys of `REQUIRED_KEYS`: float64/float32 arrays, `f` and `kintree_table` int64.
        Shapes: v_template (V, 3), shapedirs (V, 3, >=10), posedirs (V, 3, 135),
        J_regressor (16, V) dense, weights (V, 16), kintree_table (2, 16), f (F, 3),
        hands_components (45, 45), hands_mean (45,).

    Raises:
        MissingFileError: the file does not exist.
        UnsafeFileError: the pickle asks for a global outside the allow-list.
        InputError: not a pickle, truncated, or a key is missing or has the wrong shape.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"MANO file {path} does not exist (or is not a file)")
    try:
        with path.open("rb") as handle:
            data = _RestrictedUnpickler(handle, path).load()
    except OpenHOIError:
        raise
    except Exception as error:
        raise InputError(
            f"{path} is not a readable MANO pickle ({type(error).__name__}: {error}); "
            "the file may be truncated or not a MANO model"
        ) from error
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a pickled dict of MANO arrays, got {type(data)}")

    arrays: dict[str, np.ndarray] = {}
    n_vertices = None
    for key, expected in REQUIRED_KEYS.items():
        if key not in data:
            raise InputError(f"{path}: required key {key!r} is missing (found {sorted(data)})")
        array = _to_numpy(key, data[key], path)
        _check_shape(key, array, expected, path)
        if key in _INTEGER_KEYS:
            if not np.issubdtype(array.dtype, np.integer):
                raise InputError(f"{path}: key {key!r} must hold integers, got {array.dtype}")
            array = array.astype(np.int64)
        else:
            if not np.issubdtype(array.dtype, np.floating):
                array = array.astype(np.float64)
            if not np.isfinite(array).all():
                raise InputError(f"{path}: key {key!r} holds NaN or infinite values")
        arrays[key] = array

    n_vertices = arrays["v_template"].shape[0]
    for key, axis in (("shapedirs", 0), ("posedirs", 0), ("J_regressor", 1), ("weights", 0)):
        if arrays[key].shape[axis] != n_vertices:
            raise InputError(
                f"{path}: key {key!r} has {arrays[key].shape[axis]} vertices on axis {axis}, "
                f"but v_template has {n_vertices}"
            )
    faces = arrays["f"]
    if faces.size and (faces.min() < 0 or faces.max() >= n_vertices):
        raise InputError(f"{path}: key 'f' indexes vertices outside 0..{n_vertices - 1}")
    logger.debug("loaded MANO file %s (%d vertices)", path, n_vertices)
    return arrays
