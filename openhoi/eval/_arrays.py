"""Input checks shared by the metric modules: arrays or tensors in, float64 numpy out."""

from __future__ import annotations

import numpy as np

from openhoi.errors import InputError

__all__ = ["as_float_array"]


def as_float_array(name: str, value: object, *, min_ndim: int = 0) -> np.ndarray:
    """`value` (numpy array, torch tensor on any device, or nested lists) as a float64 array.

    The caller's data is never modified: tensors are detached and copied to the CPU.

    Raises:
        InputError: if `value` has fewer than `min_ndim` dimensions, is empty, or holds
            NaN or infinite entries; the message names `name`.
    """
    if hasattr(value, "detach"):  # a torch.Tensor; checked by duck typing so torch stays lazy
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a numeric array, got {type(value).__name__}") from error
    if array.ndim < min_ndim:
        raise InputError(
            f"{name} must have at least {min_ndim} dimensions, got shape {array.shape}"
        )
    if array.size == 0:
        raise InputError(f"{name} is empty (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} contains NaN or infinite values")
    return array
