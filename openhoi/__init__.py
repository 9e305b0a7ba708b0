"""openhoi: open-world 3D hand-object interaction synthesis.

Public names are imported lazily so that `import openhoi` (and `openhoi --help`)
stays fast and loads no torch until a name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "HOISequence": "openhoi.data",
    "HandModel": "openhoi.hand",
    "HOIObject": "openhoi.objects",
    "load_object": "openhoi.objects",
    "list_objects": "openhoi.objects",
    "OpenHOIError": "openhoi.errors",
    "generate": "openhoi.api",
    "interpolate": "openhoi.infill",
    "forecast": "openhoi.infill",
    "refine": "openhoi.refine",  # the sub-package, which is callable
}

__all__ = [
    "HOIObject",
    "HOISequence",
    "HandModel",
    "OpenHOIError",
    "__version__",
    "forecast",
    "generate",
    "interpolate",
    "list_objects",
    "load_object",
    "refine",
]

if TYPE_CHECKING:
    from openhoi import refine
    from openhoi.api import generate
    from openhoi.data import HOISequence
    from openhoi.errors import OpenHOIError
    from openhoi.hand import HandModel
    from openhoi.infill import forecast, interpolate
    from openhoi.objects import HOIObject, list_objects, load_object


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openhoi' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"{__name__}.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
