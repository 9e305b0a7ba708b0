"""The affordance taxonomy: the 18 types of 3D-AffordanceNet, PIAD and LASO.

The order is fixed: column `i` of every `(F, 18)` / `(P, 18)` affordance array is
`AFFORDANCE_TYPES[i]`, matching the label order of those datasets.
"""

from __future__ import annotations

from openhoi.errors import InputError
from openhoi.vocab import AFFORDANCE_TYPES

__all__ = ["AFFORDANCE_TYPES", "NUM_AFFORDANCES", "affordance_index"]


NUM_AFFORDANCES = len(AFFORDANCE_TYPES)

_INDEX = {name: i for i, name in enumerate(AFFORDANCE_TYPES)}


def affordance_index(name: str) -> int:
    """Column of affordance type `name` in `(…, 18)` arrays; InputError for unknown names."""
    index = _INDEX.get(name)
    if index is None:
        raise InputError(
            f"unknown affordance type {name!r}; valid types are: {', '.join(AFFORDANCE_TYPES)}"
        )
    return index
