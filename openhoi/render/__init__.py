"""Headless preview videos and condition renders (depth, masks, 2D keypoints) of `HOISequence`.

`render_preview(sequence, "preview.mp4")` writes an H.264 video with the sub-task text per
segment; `render_conditions(sequence, out_dir)` writes depth, instance masks and 2D keypoints
seen by the same automatically framed camera (`auto_camera`).
"""

from openhoi.render.camera import Camera, auto_camera
from openhoi.render.conditions import (
    CONDITION_FILES,
    ConditionRenders,
    compute_conditions,
    render_conditions,
)
from openhoi.render.preview import BACKENDS, iter_frames, render_frames, render_preview

__all__ = [
    "BACKENDS",
    "CONDITION_FILES",
    "Camera",
    "ConditionRenders",
    "auto_camera",
    "compute_conditions",
    "iter_frames",
    "render_conditions",
    "render_frames",
    "render_preview",
]
