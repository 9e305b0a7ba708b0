"""`scene_roles.object_roles`: which object an instruction moves and which it moves it to."""

from __future__ import annotations

import pytest

from openhoi.mllm.scene_roles import object_mentions, object_roles


@pytest.mark.parametrize(
    ("instruction", "objects", "mover", "target", "relation"),
    [
        ("put the phone in the bowl", ["phone", "bowl"], 0, 1, "in"),
        ("put the phone in the bowl", ["bowl", "phone"], 1, 0, "in"),
        ("Could you set my phone on top of the book?", ["book", "phone"], 1, 0, "on"),
        ("pour from the kettle into the mug", ["kettle", "mug"], 0, 1, "into"),
        ("fill my mug from the kettle", ["mug", "kettle"], 1, 0, "into"),
        ("top up the cup with the pitcher", ["cup", "pitcher"], 1, 0, "into"),
        ("pour the can into the cup", ["cup", "can"], 1, 0, "into"),
        ("set the cup down next to the laptop", ["laptop", "cup"], 1, 0, "beside"),
        ("put it in the bowl", ["phone", "bowl"], 0, 1, "in"),  # two objects: the other one
        # "can you" is not the can; a third object is a distractor
        ("Can you put the phone in the bowl?", ["can", "phone", "bowl"], 1, 2, "in"),
        ("Fill the bowl with water from the pitcher", ["bowl", "pitcher", "knife"], 1, 0, "into"),
        ("Put the mug nex to the kettle", ["kettle", "mug"], 1, 0, "beside"),  # typo
        ("Lay the knife across the pan.", ["knife", "pan"], 0, 1, "on"),
        ("I'd like my mug topped up from the bottle.", ["bottle", "mug"], 0, 1, "into"),
        ("Where's the kettle? Put the cup right beside it.", ["cup", "kettle"], 0, 1, "beside"),
    ],
)
def test_roles_are_read_from_the_relation_words(instruction, objects, mover, target, relation):
    roles = object_roles(instruction, objects)
    assert roles is not None
    assert (roles.mover, roles.target, roles.relation) == (mover, target, relation)
    assert roles.primitive == ("pour" if relation == "into" else "place")


@pytest.mark.parametrize(
    ("instruction", "objects"),
    [
        ("put the phone in the bowl", ["phone"]),  # one object: nothing to relate
        ("take the phone out of the bowl", ["phone", "bowl"]),  # a source, no receiver
        ("open the bottle and drink", ["bottle", "cup"]),  # no relation words
        ("put it in there", ["phone", "bowl", "cup"]),  # receiver not named
        # where the knife is, not where it goes
        ("Slice with the knife that is next to the pan.", ["pan", "knife"]),
    ],
)
def test_no_roles_without_a_named_receiver(instruction, objects):
    assert object_roles(instruction, objects) is None


def test_a_longer_name_wins_over_the_shorter_one_it_covers():
    mentions = object_mentions("spray the plant with the spray bottle, not the bottle", [
        "bottle", "spray_bottle"])  # fmt: skip
    assert [m[0] for m in mentions] == [1, 0]
