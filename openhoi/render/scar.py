"""SCAR's contact-augmented contours: thin mask edges and where hand and object edges meet.

Contours are the inner boundary pixels of a mask (a mask pixel with a 4-neighbour outside
the mask; the image border does not count as outside). The 2D contact region is

    dilate(hand contour, r_hand) ∩ dilate(object contour, r_object),
    r_object = clamp(object_radius_ratio × diagonal of the object mask's 2D box,
                     object_radius_min_px, object_radius_max_px),

with discs as structuring elements (pixels within Euclidean distance r). The exact variant
replaces the 2D test by the hand vertices within `contact_threshold_m` of the object surface
(signed distance, so touching and penetrating both count), projected into the image and
dilated by `r_hand`. The radii below are openhoi's defaults, all settable in `ScarConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError
from openhoi.geometry.constants import CONTACT_THRESHOLD_M

__all__ = ["ScarConfig", "contact_region", "dilate", "mask_contour", "object_radius_px"]


@dataclass(frozen=True)
class ScarConfig:
    """Radii of SCAR's contact region and how contours are drawn on depth.

    Attributes:
        hand_radius_px: fixed dilation radius of the hand contour, pixels.
        object_radius_ratio: object dilation radius per pixel of the object box's diagonal.
        object_radius_min_px: lower clamp of the object radius, pixels.
        object_radius_max_px: upper clamp of the object radius, pixels.
        contact_threshold_m: exact variant: hand vertices this close to the object surface
            (or inside it) are in contact, metres.
        alpha: opacity of the contours and contact drawn over the depth image, in [0, 1].
    """

    hand_radius_px: float = 3.0
    object_radius_ratio: float = 0.03
    object_radius_min_px: float = 2.0
    object_radius_max_px: float = 10.0
    contact_threshold_m: float = CONTACT_THRESHOLD_M
    alpha: float = 0.85

    def __post_init__(self) -> None:
        for name in ("hand_radius_px", "object_radius_min_px", "contact_threshold_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"ScarConfig.{name} must be a finite number >= 0, got {value}")
        if not (math.isfinite(self.object_radius_ratio) and self.object_radius_ratio >= 0):
            raise InputError(
                f"ScarConfig.object_radius_ratio must be >= 0, got {self.object_radius_ratio}"
            )
        if not self.object_radius_min_px <= self.object_radius_max_px < math.inf:
            raise InputError(
                "ScarConfig needs object_radius_min_px <= object_radius_max_px (finite), got "
                f"{self.object_radius_min_px} and {self.object_radius_max_px}"
            )
        if not 0.0 <= self.alpha <= 1.0:
            raise InputError(f"ScarConfig.alpha must be in [0, 1], got {self.alpha}")


def mask_contour(mask: np.ndarray) -> np.ndarray:
    """`(H, W)` bool inner boundary of a bool mask (4-neighbourhood)."""
    mask = np.asarray(mask, bool)
    padded = np.pad(mask, 1, mode="edge")
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def dilate(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """`(H, W)` bool: pixels within Euclidean distance `radius_px` of a pixel of `mask`.

    The disc is a stack of rows: offset (dx, dy) is in it when |dx| <= sqrt(r² - dy²). The
    mask is dilated horizontally by 0..r pixels once (each step one pixel wider), then each
    row offset dy ORs in the horizontal dilation of its half-width, shifted by dy.
    """
    mask = np.asarray(mask, bool)
    out = np.zeros_like(mask)
    if not mask.any():
        return out
    reach = math.floor(radius_px)
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    top, bottom = max(rows[0] - reach, 0), min(rows[-1] + reach + 1, mask.shape[0])
    left, right = max(cols[0] - reach, 0), min(cols[-1] + reach + 1, mask.shape[1])
    crop = mask[top:bottom, left:right]
    widened = [crop]
    for _ in range(reach):
        previous = widened[-1]
        current = previous.copy()
        current[:, 1:] |= previous[:, :-1]
        current[:, :-1] |= previous[:, 1:]
        widened.append(current)
    grown = np.zeros_like(crop)
    height = crop.shape[0]
    for dy in range(-reach, reach + 1):
        half_width = math.floor(math.sqrt(max(radius_px**2 - dy**2, 0.0)) + 1e-9)
        row = widened[half_width]
        if dy >= 0:
            grown[dy:] |= row[: height - dy]
        else:
            grown[: height + dy] |= row[-dy:]
    out[top:bottom, left:right] = grown
    return out


def object_radius_px(object_mask: np.ndarray, config: ScarConfig) -> float:
    """The object contour's dilation radius: a fraction of its 2D box diagonal, clamped."""
    rows, cols = (
        np.nonzero(np.asarray(object_mask, bool).any(axis=1))[0],
        np.nonzero(np.asarray(object_mask, bool).any(axis=0))[0],
    )
    if rows.size == 0:
        return config.object_radius_min_px
    diagonal = math.hypot(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return min(
        max(config.object_radius_ratio * diagonal, config.object_radius_min_px),
        config.object_radius_max_px,
    )


def contact_region(
    hand_contour: np.ndarray,
    object_contour: np.ndarray,
    object_mask: np.ndarray,
    config: ScarConfig,
) -> np.ndarray:
    """`(H, W)` bool SCAR contact: dilated hand contour ∩ dilated object contour."""
    out = np.zeros_like(np.asarray(hand_contour, bool))
    if not hand_contour.any() or not object_contour.any():
        return out
    radius = object_radius_px(object_mask, config)
    return dilate(hand_contour, config.hand_radius_px) & dilate(object_contour, radius)
