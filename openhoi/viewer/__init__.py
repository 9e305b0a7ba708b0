"""An interactive three.js viewer of run folders: one self-contained viewer.html per run.

`build_viewer(["run"])` writes `run/viewer.html`; `build_viewer(["a", "b"])` writes a page
that plays both runs side by side in sync (`a/compare.html`). `serve_page(path)` serves it on
localhost. The page embeds three.js (vendored, `page.THREE_VERSION`) and the scene, so it
works offline from file://.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from openhoi.viewer.scene import RunScene, SubtaskSpan, check_run_folder, load_run
from openhoi.viewer.serve import serve_page

__all__ = ["RunScene", "SubtaskSpan", "build_viewer", "check_run_folder", "load_run", "serve_page"]

logger = logging.getLogger(__name__)

VIEWER_FILE = "viewer.html"
COMPARE_FILE = "compare.html"


def build_viewer(
    run_dirs: list[str | os.PathLike],
    out: str | os.PathLike | None = None,
    *,
    hands=None,
    use_physics: bool = True,
) -> Path:
    """Write the viewer page of one run (or two, side by side) and return its path.

    Args:
        run_dirs: one or two run folders written by `openhoi generate`.
        out: the page to write; default `RUN/viewer.html`, or `RUN_A/compare.html` for two.
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).
        use_physics: compute the per-frame physics figures and the contact heat.

    Raises:
        InputError: no, or more than two, folders; a folder missing or without a sequence
            (checked before anything is read or written).
    """
    from openhoi.errors import InputError
    from openhoi.viewer.page import scene_payload, write_viewer
    from openhoi.viewer.physics import contact_distances, frame_figures

    if not 1 <= len(run_dirs) <= 2:
        raise InputError(f"give one run folder, or two to compare, got {len(run_dirs)}")
    folders = [check_run_folder(folder) for folder in run_dirs]
    payloads = []
    for folder in folders:
        scene = load_run(folder, hands=hands)
        figures = distances = None
        if use_physics:
            figures = frame_figures(scene, hands)
            distances = contact_distances(scene)
        payloads.append(scene_payload(scene, figures, distances))
        logger.info("%s: %d frames", folder, scene.num_frames)
    if out is None:
        out = folders[0] / (VIEWER_FILE if len(folders) == 1 else COMPARE_FILE)
    title = " vs ".join(p["name"] for p in payloads)
    return write_viewer(payloads, out, title=f"openhoi — {title}")
