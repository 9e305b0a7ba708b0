"""The 18-type affordance taxonomy."""

from __future__ import annotations

import pytest

from openhoi.errors import InputError
from openhoi.objects import AFFORDANCE_TYPES, affordance_index


def test_taxonomy_order_is_the_piad_laso_order():
    assert AFFORDANCE_TYPES == (
        "grasp", "contain", "lift", "open", "lay", "sit", "support", "wrap-grasp", "pour",
        "move", "display", "push", "pull", "listen", "wear", "press", "cut", "stab",
    )  # fmt: skip
    assert [affordance_index(name) for name in AFFORDANCE_TYPES] == list(range(18))


def test_unknown_affordance_lists_valid_names():
    with pytest.raises(InputError, match=r"unknown affordance type 'twist'.*wrap-grasp"):
        affordance_index("twist")
