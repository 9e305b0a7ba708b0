"""README figure: the embedded hands v1 and v2 side by side in the same poses.

    python tools/make_hand_figure.py [--out docs/hand_v1_v2.png]

Rows are poses given as anatomical joint angles (`HandModel.pose_from_anatomical_angles`,
so both hands get the same flexion/abduction/twist per joint): the rest pose, a power grasp
and a thumb-index pinch; columns are `embedded:v1` and `embedded:v2` seen from the palm,
from the thumb side and from the back of the hand. Drawn with openhoi's own z-buffer rasteriser and
per-pixel interpolated vertex normals (Phong-style Lambert + a little specular).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

# Anatomical (flexion, abduction, twist) degrees per finger joint: MCP/PIP/DIP, thumb
# CMC/MCP/IP (limits in openhoi/hand/limits.py). The thumb of the power grasp and the
# thumb and index of the pinch were found for v2 by a short Adam run inside the limits
# (thumb tip onto the index/middle middle phalanges; thumb pad onto the index pad, the
# pads' outward directions opposed, near a hand-set pinch); v1 gets the same angles.
POSES_DEG = {
    "rest": {},
    "power grasp": {
        "index": ((70, 0, 0), (80, 0, 0), (45, 0, 0)),
        "middle": ((75, 0, 0), (85, 0, 0), (45, 0, 0)),
        "ring": ((78, 0, 0), (85, 0, 0), (45, 0, 0)),
        "pinky": ((80, 0, 0), (80, 0, 0), (45, 0, 0)),
        "thumb": ((-4, 12, -10), (19, 4, -4), (48, 2, -2)),
    },
    "pinch": {
        "index": ((37, 5, -2), (50, 4, 4), (38, 4, 5)),
        "middle": ((30, 0, 0), (35, 0, 0), (15, 0, 0)),
        "ring": ((28, 0, 0), (30, 0, 0), (15, 0, 0)),
        "pinky": ((26, 0, 0), (28, 0, 0), (15, 0, 0)),
        "thumb": ((14, 19, 10), (2, 6, 2), (-7, 4, 4)),
    },
}
HANDS = {"v1": "embedded:v1", "v2": "embedded:v2"}
# Hand frame → picture frame: fingers (-x) up (+z), palm normal (-y) stays toward -y.
TO_PICTURE = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
VIEWS = {"palm": (0.3, -1.0, 0.25), "thumb side": (1.0, -0.6, 0.2), "back": (-0.45, 1.0, 0.3)}
SKIN = np.array([0.93, 0.74, 0.62])
BACKGROUND = 255
CELL = (260, 320)  # width, height of one rendering, pixels
LIGHT = np.array([-0.65, -0.6, -0.45])  # toward the light: camera frame, up-left, front


def pose_angles(hand, name: str):
    """(1, 15, 3) radians of pose `name` for `hand` (joint order of the MANO tree)."""
    import torch

    from openhoi.hand import FINGER_JOINTS

    angles = torch.zeros(1, 15, 3, dtype=torch.float64)
    for finger, joints in POSES_DEG[name].items():
        for joint, values in zip(FINGER_JOINTS[finger], joints, strict=True):
            angles[0, joint - 1] = torch.tensor(values, dtype=torch.float64).deg2rad()
    return angles.to(hand.dtype)


def posed_vertices(hand, name: str) -> np.ndarray:
    """(V, 3) vertices of `hand` in pose `name`, in the picture frame."""
    import torch

    pose = hand.pose_from_anatomical_angles(pose_angles(hand, name))
    with torch.no_grad():
        out = hand(pose, torch.zeros(1, 3, dtype=hand.dtype))
    return out.vertices[0].double().numpy() @ TO_PICTURE.T


def render(vertices: np.ndarray, faces: np.ndarray, camera) -> np.ndarray:
    """(H, W, 3) uint8 smooth-shaded image of one mesh."""
    from openhoi.hand.regions import vertex_normals
    from openhoi.render._raster import rasterize  # the rasteriser the previews use

    uv, depth = camera.project(vertices)
    fragments = rasterize(uv, depth, faces, camera.width, camera.height)
    image = np.full((camera.height, camera.width, 3), BACKGROUND, np.uint8)
    rows, cols = np.nonzero(fragments.face >= 0)
    face = faces[fragments.face[rows, cols]]
    # Barycentric coordinates of the pixel centres in their (projected) triangles.
    a, b, c = uv[face[:, 0]], uv[face[:, 1]], uv[face[:, 2]]
    p = np.stack([cols + 0.5, rows + 0.5], axis=1)
    v0, v1, v2 = b - a, c - a, p - a
    denom = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    w1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / denom
    w2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / denom
    weights = np.stack([1 - w1 - w2, w1, w2], axis=1)
    rotation = camera.world_to_camera[:3, :3]
    normals = vertex_normals(vertices, faces) @ rotation.T
    normal = (weights[:, :, None] * normals[face]).sum(axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    normal[normal[:, 2] > 0] *= -1  # back faces seen through a gap: light them as front
    light = LIGHT / np.linalg.norm(LIGHT)
    diffuse = np.clip(normal @ light, 0, 1)
    half = light + np.array([0.0, 0.0, -1.0])
    specular = np.clip(normal @ (half / np.linalg.norm(half)), 0, 1) ** 24
    shade = 0.32 + 0.68 * diffuse
    color = SKIN[None] * shade[:, None] + 0.18 * specular[:, None]
    image[rows, cols] = np.clip(color * 255, 0, 255).astype(np.uint8)
    return image


def _label(image: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    picture = Image.fromarray(image)
    ImageDraw.Draw(picture).text((8, 6), text, fill=(40, 40, 40))
    return np.asarray(picture)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/hand_v1_v2.png", help="the PNG to write")
    args = parser.parse_args(argv)

    from PIL import Image

    from openhoi.hand import HandModel
    from openhoi.render import auto_camera

    hands = {name: HandModel("right", mano_dir=spec) for name, spec in HANDS.items()}
    rows = []
    for pose in POSES_DEG:
        meshes = {name: posed_vertices(hand, pose) for name, hand in hands.items()}
        cells = []
        for view, direction in VIEWS.items():
            everything = np.concatenate(list(meshes.values()))
            camera = auto_camera(everything, CELL, view_direction=direction, fov_y_deg=30.0)
            for name, hand in hands.items():
                image = render(meshes[name], hand.faces, camera)
                cells.append(_label(image, f"{name} · {pose} · {view}"))
        rows.append(np.concatenate(cells, axis=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(out, optimize=True)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
