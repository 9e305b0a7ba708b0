"""Headless preview videos and condition renders (depth, masks, 2D keypoints) of `HOISequence`.

`render_preview(sequence, "preview.mp4")` writes an H.264 video with the sub-task text per
segment; `render_conditions(sequence, out_dir)` writes depth, instance masks and 2D keypoints
seen by the same automatically framed camera (`auto_camera`); `render_pack(sequence,
out_dir, config=PackConfig(pack="pam"))` writes the condition packs of HOI video generators
(PAM, SCAR, HandWorld, CoInteract) per clip, from a third-person, orbiting, egocentric or
user camera (`CameraTrack`).
"""

from openhoi.render.actions import ACTION_DIM, HandActions, decode_actions, encode_actions
from openhoi.render.camera import Camera, auto_camera
from openhoi.render.camera_track import CAMERA_MODES, CameraTrack
from openhoi.render.conditions import (
    CONDITION_FILES,
    ConditionRenders,
    compute_conditions,
    render_conditions,
)
from openhoi.render.pack import (
    PACK_FILES,
    PACKS,
    PackConfig,
    PackFile,
    PackOutput,
    pack_file_names,
    parse_size,
    render_pack,
)
from openhoi.render.preview import BACKENDS, iter_frames, render_frames, render_preview
from openhoi.render.scar import ScarConfig

__all__ = [
    "ACTION_DIM",
    "BACKENDS",
    "CAMERA_MODES",
    "CONDITION_FILES",
    "PACKS",
    "PACK_FILES",
    "Camera",
    "CameraTrack",
    "ConditionRenders",
    "HandActions",
    "PackConfig",
    "PackFile",
    "PackOutput",
    "ScarConfig",
    "auto_camera",
    "compute_conditions",
    "decode_actions",
    "encode_actions",
    "iter_frames",
    "pack_file_names",
    "parse_size",
    "render_conditions",
    "render_frames",
    "render_pack",
    "render_preview",
]
