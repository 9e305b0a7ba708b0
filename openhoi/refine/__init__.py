"""Training-free physical refinement: DSG guidance, its losses, composition, contact
optimisation after sampling, post-hoc refinement.

The module itself is callable: `openhoi.refine(sequence, obj, **options)` runs the contact
optimisation on any sequence (`optimise_contacts`: holding phases found from contact and
motion, or from `subtasks=`; grasps fitted; the object made to obey the scene) and returns
its `ContactResult`; `options` are `subtasks` and the `ContactConfig` fields. `obj` is an
`HOIObject`, built-in name, mesh path or reference. The loss-based post-hoc refinement is
`refine_sequence`. Importing a sub-package binds its name on the parent package, so
`openhoi.refine` is this module: it answers the call itself.
"""

import dataclasses
import sys
import types

from openhoi.errors import InputError
from openhoi.refine.bridges import compose_segments, model_bridge
from openhoi.refine.compose import TRANSITION_TEXT, compose, interpolation_bridge
from openhoi.refine.config import RefineConfig
from openhoi.refine.contact_opt import ContactConfig, ContactResult, optimise_contacts
from openhoi.refine.dsg import dsg_update
from openhoi.refine.guidance import DSGConfig, DSGGuidance
from openhoi.refine.losses import (
    AffordanceLoss,
    ContactLoss,
    LossTerm,
    PenetrationLoss,
    TransitionLoss,
    affordance_region,
    is_weak_mask,
)
from openhoi.refine.posthoc import PostHocConfig, RefineResult, refine_sequence

__all__ = [
    "TRANSITION_TEXT",
    "AffordanceLoss",
    "ContactConfig",
    "ContactLoss",
    "ContactResult",
    "DSGConfig",
    "DSGGuidance",
    "LossTerm",
    "PenetrationLoss",
    "PostHocConfig",
    "RefineConfig",
    "RefineResult",
    "TransitionLoss",
    "affordance_region",
    "compose",
    "compose_segments",
    "dsg_update",
    "interpolation_bridge",
    "is_weak_mask",
    "model_bridge",
    "optimise_contacts",
    "refine_sequence",
]


class _CallableModule(types.ModuleType):
    """`openhoi.refine` as a module that can also be called (see the module docstring)."""

    def __call__(self, sequence, obj, *, subtasks=None, **options) -> ContactResult:
        from openhoi.objects import HOIObject, load_object

        obj = obj if isinstance(obj, HOIObject) else load_object(obj)
        try:
            config = ContactConfig(**options)
        except TypeError as exc:
            known = ", ".join(f.name for f in dataclasses.fields(ContactConfig))
            raise InputError(f"openhoi.refine: {exc}; options are subtasks, {known}") from None
        return optimise_contacts(sequence, obj, subtasks=subtasks, config=config)


sys.modules[__name__].__class__ = _CallableModule
