"""Index tables and numbers of the MANO hand, kept as data in one place.

Joint order is MANO's (and smplx's): 0 wrist; 1-3 index; 4-6 middle; 7-9 pinky;
10-12 ring; 13-15 thumb, each finger from the knuckle (MCP; CMC for the thumb) outwards.
The 21 hand keypoints are those 16 joints followed by 5 fingertip vertices in the
finger order index, middle, pinky, ring, thumb (the same order as the joints).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_EMBEDDED_ASSET",
    "EMBEDDED_ASSETS",
    "EMBEDDED_PREFIX",
    "FINGER_JOINTS",
    "FINGER_NAMES",
    "HAND_META_FILE",
    "JOINT_NAMES",
    "KEYPOINT_NAMES",
    "LEFT_SHAPEDIRS_FIX_THRESHOLD",
    "MANO_DIR_ENV_VAR",
    "MANO_FILE_NAMES",
    "MANO_NUM_VERTICES",
    "MANO_TIP_VERTEX_IDS",
    "NUM_BETAS",
    "NUM_FINGER_JOINTS",
    "NUM_JOINTS",
    "NUM_KEYPOINTS",
    "PARENTS",
    "SIDES",
    "THUMB_BEND_ANGLE_DEG",
    "WRIST_JOINT",
    "ZONE_FINGER_MIN_COS",
    "ZONE_NAMES",
    "ZONE_PALM_MIN_COS",
    "ZONE_PALM_SPAN",
]

# Hands we model; "right" is MANO_RIGHT.pkl, "left" MANO_LEFT.pkl.
SIDES = ("right", "left")

# MANO skeleton: 16 joints (global/wrist + 5 fingers x 3), 10 shape coefficients.
NUM_JOINTS = 16
NUM_FINGER_JOINTS = 15
NUM_BETAS = 10
WRIST_JOINT = 0

JOINT_NAMES = (
    "wrist",
    "index1",
    "index2",
    "index3",
    "middle1",
    "middle2",
    "middle3",
    "pinky1",
    "pinky2",
    "pinky3",
    "ring1",
    "ring2",
    "ring3",
    "thumb1",
    "thumb2",
    "thumb3",
)

# Parent of each joint (kintree_table[0] of the MANO files, with -1 for the root).
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

# Finger order used for fingertips, contact zones and keypoints 16..20 (MANO joint order).
FINGER_NAMES = ("index", "middle", "pinky", "ring", "thumb")

# Joints of each finger from the palm outwards (MCP/PIP/DIP; thumb CMC/MCP/IP).
FINGER_JOINTS = {
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "pinky": (7, 8, 9),
    "ring": (10, 11, 12),
    "thumb": (13, 14, 15),
}

# 16 joints, then the 5 fingertip vertices.
KEYPOINT_NAMES = JOINT_NAMES + tuple(f"{finger}_tip" for finger in FINGER_NAMES)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)

# Contact zones: the palmar side of each finger's middle+distal segments, and the palm.
ZONE_NAMES = (*FINGER_NAMES, "palm")

# Number of vertices of the official MANO mesh (and of our embedded asset).
MANO_NUM_VERTICES = 778

# Fingertip vertex ids of the official MANO topology, in FINGER_NAMES order. These are the
# ids Text2HOI uses (thumb 745, index 317, middle 445, ring 556, pinky 673). They index the
# real MANO mesh only; the embedded asset stores its own ids in HAND_META_FILE.
MANO_TIP_VERTEX_IDS = (317, 445, 673, 556, 745)

# Official MANO file names inside a MANO folder.
MANO_FILE_NAMES = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}

# Side file next to the embedded pickles: fingertip ids and contact-zone vertex ids.
HAND_META_FILE = "hand_meta.json"

# Environment variable naming a folder with the official MANO files (or an embedded asset).
MANO_DIR_ENV_VAR = "OPENHOI_MANO_DIR"

# Embedded hand assets (tools/build_hand_asset.py --version NAME), selected with a mano_dir
# of EMBEDDED_PREFIX + NAME, e.g. "embedded:v2": name → (folder in openhoi/assets, asset id).
EMBEDDED_PREFIX = "embedded:"
EMBEDDED_ASSETS = {
    "v1": ("hand", "openhoi-hand-v1"),  # box-modelled mannequin (the shipped model's hand)
    "v2": ("hand_v2", "openhoi-hand-v2"),  # anatomical hand with pose correctives
}
# The asset used when neither mano_dir nor the environment variable names one.
DEFAULT_EMBEDDED_ASSET = "v1"

# The official MANO_LEFT.pkl has shapedirs[:, 0, :] equal to the right hand's instead of
# mirrored. If sum |left[:,0,:] - right[:,0,:]| is below this (metres per beta, summed over
# all vertices and betas) the left file has the bug and we negate its x shape directions.
LEFT_SHAPEDIRS_FIX_THRESHOLD = 1.0

# Thumb flexion moves the thumb toward the palm and across it toward the little finger: its
# bending direction is the palm normal turned this far (degrees) toward the ulnar side.
THUMB_BEND_ANGLE_DEG = 45.0

# Contact zones (derived from skinning weights and rest-pose vertex normals, so the same rule
# works for real MANO and the embedded asset). A finger vertex belongs to its finger's zone
# when its normal points at least this much (cosine) along the finger's bending direction.
ZONE_FINGER_MIN_COS = 0.3
# A palm vertex belongs to the palm zone when its normal is within ~60 degrees of the palm
# normal and it lies between these fractions of the wrist -> middle-MCP distance.
ZONE_PALM_MIN_COS = 0.5
ZONE_PALM_SPAN = (0.2, 1.0)
