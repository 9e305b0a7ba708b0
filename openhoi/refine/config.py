"""`RefineConfig`: every setting of the physical refinement of generated segments."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from openhoi.errors import InputError

__all__ = ["BRIDGES", "RefineConfig"]

BRIDGES = ("interpolation", "model")


@dataclass(frozen=True)
class RefineConfig:
    """DSG guidance while sampling, its loss weights, bridges and segment continuation."""

    # DSG inside the sampler (Eq. 9-14): w of Eq. 14, guide every `interval`-th step, only
    # in the last `active_fraction` of the steps (x0_pred is uninformative early on).
    use_guidance: bool = True
    guidance_rate: float = 0.3
    interval: int = 2
    active_fraction: float = 0.5
    # Loss weights; a weight of 0 leaves that loss out (ablations switch a loss off so).
    penetration_weight: float = 1.0
    affordance_weight: float = 0.05
    # Attraction of near-touching hand contact zones onto the surface (refine.ContactLoss).
    contact_weight: float = 0.0
    transition_weight: float = 1.0
    # Query every k-th hand vertex in the penetration loss (speed vs accuracy).
    penetration_vertex_stride: int = 3
    # Long horizon: in-between frames between consecutive sub-tasks, made by "model" (the
    # unconditional diffusion model under the transition + penetration losses, the paper's
    # method) or "interpolation" (minimum-jerk slerp between the neighbouring frames). The
    # default is interpolation while the shipped model is under-trained: measured with
    # tools/ablate_refine.py, its bridges jumped 340-420 mm at a boundary against 1.3 mm
    # interpolated (the data's own 95th-percentile step is 47 mm).
    bridge: str = "interpolation"
    bridge_frames: int = 15
    # Each sub-task segment starts exactly where the previous one ended (the motion model
    # in-fills it from that frame), so a grasp made in one segment is the grasp the next one
    # holds; consecutive segments then join without a bridge. False samples every segment
    # on its own and bridges them.
    continue_segments: bool = False
    # ... and the jump after that start frame is faded out over this many frames.
    continue_blend_frames: int = 15
    # After composition (refine/contact_opt.py): fit one grasp per holding phase and hand
    # (contact zones onto the affordance region, no penetration, joint limits) ...
    optimise_contacts: bool = True
    # ... and make the object obey the scene: at rest on the table unless a hand moves it,
    # carried rigidly with the holding hand, landed upright when let go.
    kinematic_carry: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.guidance_rate <= 1:
            raise InputError(f"guidance_rate must be 0..1, got {self.guidance_rate}")
        if self.interval < 1:
            raise InputError(f"interval must be >= 1, got {self.interval}")
        if not 0 < self.active_fraction <= 1:
            raise InputError(f"active_fraction must be in (0, 1], got {self.active_fraction}")
        for name in ("penetration_weight", "affordance_weight", "contact_weight"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.transition_weight < 0:
            raise InputError(f"transition_weight must be >= 0, got {self.transition_weight}")
        if self.penetration_vertex_stride < 1:
            raise InputError(
                f"penetration_vertex_stride must be >= 1, got {self.penetration_vertex_stride}"
            )
        if self.bridge not in BRIDGES:
            raise InputError(f"bridge must be one of {list(BRIDGES)}, got {self.bridge!r}")
        if not 0 <= self.bridge_frames <= 60:
            raise InputError(f"bridge_frames must be 0..60, got {self.bridge_frames}")
        if not 0 <= self.continue_blend_frames <= 60:
            raise InputError(
                f"continue_blend_frames must be 0..60, got {self.continue_blend_frames}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dataclasses.asdict(self)
