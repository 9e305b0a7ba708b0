"""Training-free physical refinement: DSG guidance, its losses, composition, post-hoc refinement."""

from openhoi.refine.compose import TRANSITION_TEXT, compose, interpolation_bridge
from openhoi.refine.dsg import dsg_update
from openhoi.refine.guidance import DSGConfig, DSGGuidance
from openhoi.refine.losses import (
    AffordanceLoss,
    ContactLoss,
    LossTerm,
    PenetrationLoss,
    TransitionLoss,
)
from openhoi.refine.posthoc import PostHocConfig, RefineResult, refine_sequence

__all__ = [
    "TRANSITION_TEXT",
    "AffordanceLoss",
    "ContactLoss",
    "DSGConfig",
    "DSGGuidance",
    "LossTerm",
    "PenetrationLoss",
    "PostHocConfig",
    "RefineResult",
    "TransitionLoss",
    "compose",
    "dsg_update",
    "interpolation_bridge",
    "refine_sequence",
]
