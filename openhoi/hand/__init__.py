"""The MANO hand: safe MANO file loading, the hand layer, the embedded default hand.

`HandModel(side, mano_dir=None)` uses the official MANO files when given a folder (or the
`OPENHOI_MANO_DIR` environment variable) and otherwise an embedded procedural hand ("v1" by
default, "embedded:v2" selects the anatomical v2), which has the same file format, joint
tree and vertex count, so every caller runs the same code.
`hand_identity` names the hand in use (asset id + file hash) for provenance records.
"""

from openhoi.hand.constants import (
    FINGER_JOINTS,
    FINGER_NAMES,
    JOINT_NAMES,
    KEYPOINT_NAMES,
    MANO_DIR_ENV_VAR,
    MANO_TIP_VERTEX_IDS,
    NUM_BETAS,
    NUM_JOINTS,
    NUM_KEYPOINTS,
    PARENTS,
    SIDES,
    ZONE_NAMES,
)
from openhoi.hand.identity import HandIdentity, hand_identity, read_hand_record
from openhoi.hand.mano_file import load_mano_file
from openhoi.hand.model import HandModel, HandOutput, embedded_asset_name, mirror_pose

__all__ = [
    "FINGER_JOINTS",
    "FINGER_NAMES",
    "JOINT_NAMES",
    "KEYPOINT_NAMES",
    "MANO_DIR_ENV_VAR",
    "MANO_TIP_VERTEX_IDS",
    "NUM_BETAS",
    "NUM_JOINTS",
    "NUM_KEYPOINTS",
    "PARENTS",
    "SIDES",
    "ZONE_NAMES",
    "HandIdentity",
    "HandModel",
    "HandOutput",
    "embedded_asset_name",
    "hand_identity",
    "load_mano_file",
    "mirror_pose",
    "read_hand_record",
]
