"""Readers of the released GRAB, ARCTIC and H2O files, registered by name.

Each reader turns a dataset folder, as its authors release it, into `Episode`s whose
segments are `HOISequence`s at 30 fps of at most 150 frames (see each module's docstring
for the exact layout and conventions)::

    reader = get_reader("grab")(root, mano_dir=None)
    for episode in reader.episodes():
        ...

`openhoi.data.prepare.prepare_dataset` adds contact labels and affordance masks and
writes the episodes to disk.
"""

from __future__ import annotations

import importlib

from openhoi.errors import InputError

__all__ = ["READERS", "get_reader", "load_split"]

#: name → "module:ClassName"; modules are imported only when a reader is asked for.
READERS: dict[str, str] = {
    "grab": "openhoi.data.readers.grab:GRABReader",
    "arctic": "openhoi.data.readers.arctic:ARCTICReader",
    "h2o": "openhoi.data.readers.h2o:H2OReader",
}


def get_reader(name: str) -> type:
    """The reader class registered as `name`; InputError listing the known names otherwise."""
    target = READERS.get(name)
    if target is None:
        raise InputError(f"unknown dataset {name!r}; known datasets are: {', '.join(READERS)}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_split(dataset: str) -> dict[str, object]:
    """The fixed seen/unseen object and held-out subject split of `dataset`."""
    from openhoi.data.readers._common import load_split as _load

    if dataset not in READERS:
        raise InputError(f"unknown dataset {dataset!r}; known datasets are: {', '.join(READERS)}")
    return _load(dataset)
