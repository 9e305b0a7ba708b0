"""Objects stored in a dataset folder: `<folder>/objects/<name>/object.json` + part PLYs.

The format and the code live in :mod:`openhoi.objects.store` (a leaf, so that a `stored:`
`ObjectRef` resolves without reaching up into `data/`); this module keeps the names that
dataset code imports.
"""

from openhoi.objects.store import (
    OBJECT_FILE,
    OBJECTS_FOLDER,
    load_stored_object,
    save_object,
    stored_object_names,
    stored_object_ref,
    stored_object_sha256,
)

__all__ = [
    "OBJECTS_FOLDER",
    "OBJECT_FILE",
    "load_stored_object",
    "save_object",
    "stored_object_names",
    "stored_object_ref",
    "stored_object_sha256",
]
