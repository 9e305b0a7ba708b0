"""Farthest point sampling (FPS), the point-cloud subsampler of PointNet++ and Text2HOI.

Greedy: start at `start_index`, then repeatedly take the point whose distance to the
already chosen set is largest. Each step updates one `(N,)` distance vector, so the
whole run is O(N·k) and vectorised over the N points (numpy or torch, same result).
Ties are broken by the lowest index (argmax), so the output is deterministic.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["farthest_point_sampling"]


def farthest_point_sampling(
    points: np.ndarray | torch.Tensor, num_samples: int, start_index: int = 0
) -> np.ndarray | torch.Tensor:
    """Indices of `num_samples` farthest-point samples of `points`.

    Args:
        points: `(N, 3)` (or `(N, D)`) float array or tensor.
        num_samples: k, number of indices to return, 1 <= k <= N.
        start_index: index of the first sample.

    Returns:
        `(k,)` int64 indices into `points`, numpy in → numpy out, torch in → torch out
        (on the same device). The first index is `start_index`.

    Raises:
        ValueError: if `points` is not 2-D, is empty, or `num_samples`/`start_index`
            is out of range.
    """
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(f"points must have shape (N, D) with N >= 1, got {tuple(points.shape)}")
    num_points = int(points.shape[0])
    if not 1 <= num_samples <= num_points:
        raise ValueError(f"num_samples must be 1..{num_points} (N), got {num_samples}")
    if not 0 <= start_index < num_points:
        raise ValueError(f"start_index must be 0..{num_points - 1}, got {start_index}")
    if isinstance(points, torch.Tensor):
        if points.device.type == "cpu":
            # The numpy loop is much faster on CPU than per-step torch ops.
            chosen = _fps_numpy(points.detach().to(torch.float64).numpy(), num_samples, start_index)
            return torch.from_numpy(chosen)
        return _fps_torch(points.detach().float(), num_samples, start_index)
    return _fps_numpy(np.asarray(points, dtype=np.float64), num_samples, start_index)


def _fps_numpy(points: np.ndarray, num_samples: int, start_index: int) -> np.ndarray:
    coords = np.ascontiguousarray(points.T)  # (D, N): one contiguous row per coordinate
    indices = np.empty(num_samples, dtype=np.int64)
    indices[0] = start_index
    # min_sq_dist[i]: squared distance of point i to the nearest chosen sample.
    min_sq_dist = np.full(points.shape[0], np.inf)
    sq_dist = np.empty_like(min_sq_dist)
    delta = np.empty_like(min_sq_dist)
    chosen = start_index
    for step in range(num_samples):
        if step:
            chosen = int(np.argmax(min_sq_dist))
            indices[step] = chosen
        np.subtract(coords[0], coords[0, chosen], out=sq_dist)
        np.multiply(sq_dist, sq_dist, out=sq_dist)
        for row in coords[1:]:
            np.subtract(row, row[chosen], out=delta)
            np.multiply(delta, delta, out=delta)
            np.add(sq_dist, delta, out=sq_dist)
        np.minimum(min_sq_dist, sq_dist, out=min_sq_dist)
    return indices


def _fps_torch(points: torch.Tensor, num_samples: int, start_index: int) -> torch.Tensor:
    # Accelerator path: one (N,) update per step, no host synchronisation.
    indices = torch.empty(num_samples, dtype=torch.int64, device=points.device)
    indices[0] = start_index
    min_sq_dist = ((points - points[start_index]) ** 2).sum(dim=1)
    for step in range(1, num_samples):
        chosen = torch.argmax(min_sq_dist)
        indices[step] = chosen
        min_sq_dist = torch.minimum(
            min_sq_dist, ((points - points.index_select(0, chosen[None])) ** 2).sum(dim=1)
        )
    return indices
