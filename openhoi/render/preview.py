"""Preview videos: hands and object from a fixed, automatically framed camera, with captions.

Static scene objects (`static_objects`: objects that stay still beside the manipulated one)
are drawn in the object colour at their fixed pose, and the camera framing includes them.

Two backends draw the same scene through the same camera (`openhoi.render.camera`):

- "pyrender": OpenGL offscreen rendering with smooth lighting. Headless, it needs EGL (Debian
  `libegl1`, `libgl1`) or OSMesa (`libosmesa6`); `PYOPENGL_PLATFORM` defaults to "egl" when
  unset (set it to "osmesa" before the first OpenGL import to use OSMesa).
- "software": a numpy z-buffer rasteriser with flat shading; needs no GL at all.

"auto" (the default) uses pyrender when it imports and opens a hardware-accelerated context;
on a CPU-only GL (Mesa llvmpipe/softpipe, about 2× slower than the numpy rasteriser here) or
when no context opens, it uses the software rasteriser.

Each frame shows the sub-task text of the segment it belongs to. Videos are H.264 (yuv420p)
MP4 written by imageio-ffmpeg at the sequence's frame rate.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from openhoi.errors import DependencyError, InputError
from openhoi.export._static import resolve_static_objects
from openhoi.render._raster import rasterize
from openhoi.render._scene import INSTANCE_IDS, SceneMeshes, scene_meshes
from openhoi.render.camera import Camera, auto_camera

__all__ = ["BACKENDS", "iter_frames", "render_frames", "render_preview", "write_preview"]

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "pyrender", "software")
DEFAULT_SIZE = (320, 240)

# GL_RENDERER names of CPU OpenGL implementations.
_CPU_GL_RENDERERS = ("llvmpipe", "softpipe", "swrast")
_BACKGROUND = np.array([236, 238, 242], np.float64) / 255.0
_INSTANCE_COLORS = {
    INSTANCE_IDS["left_hand"]: (0.93, 0.71, 0.60),
    INSTANCE_IDS["right_hand"]: (0.84, 0.58, 0.48),
    INSTANCE_IDS["object"]: (0.55, 0.63, 0.74),
}
_MOVING_PART_COLOR = (0.38, 0.50, 0.72)
# Flat shading: ambient + diffuse from a light near the camera (camera frame direction).
_AMBIENT = 0.35
_LIGHT_DIRECTION = np.array([-0.3, -0.5, -1.0]) / np.linalg.norm([-0.3, -0.5, -1.0])


def _face_colors(scene: SceneMeshes) -> np.ndarray:
    """`(F, 3)` base colour of every triangle in [0, 1]."""
    colors = np.zeros((len(scene.faces), 3))
    for instance, color in _INSTANCE_COLORS.items():
        colors[scene.face_instance == instance] = color
    if scene.moving_part >= 0:
        colors[scene.face_part == scene.moving_part] = _MOVING_PART_COLOR
    return colors


class _SoftwareRenderer:
    """Flat-shaded frames from the numpy rasteriser."""

    name = "software"

    def __init__(self, scene: SceneMeshes, camera: Camera) -> None:
        self.scene, self.camera = scene, camera
        self.colors = _face_colors(scene)

    def __call__(self, frame: int) -> np.ndarray:
        camera, faces = self.camera, self.scene.faces
        points = camera.to_camera(self.scene.vertices[frame])
        uv, depth = camera.project(self.scene.vertices[frame])
        fragments = rasterize(uv, depth, faces, camera.width, camera.height)
        tri = points[faces]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        shade = _AMBIENT + (1.0 - _AMBIENT) * np.abs(normals @ _LIGHT_DIRECTION)
        image = np.broadcast_to(_BACKGROUND, (camera.height, camera.width, 3)).copy()
        covered = fragments.face >= 0
        visible = fragments.face[covered]
        image[covered] = self.colors[visible] * shade[visible, None]
        return (image.clip(0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    def close(self) -> None:
        """Nothing to release."""


class _PyrenderRenderer:
    """Smooth-shaded frames from pyrender's offscreen OpenGL renderer."""

    name = "pyrender"

    def __init__(self, scene: SceneMeshes, camera: Camera, renderer) -> None:
        import pyrender

        self.pyrender, self.scene, self.camera, self.renderer = pyrender, scene, camera, renderer
        colors = _face_colors(scene)
        self.parts = []  # (faces, rgba) per instance/part, vertices re-indexed per frame
        group = scene.face_instance.astype(np.int64) * (len(scene.faces) + 1) + scene.face_part
        for key in np.unique(group):
            mask = group == key
            self.parts.append((scene.faces[mask], (*colors[mask][0], 1.0)))
        camera_to_world = np.linalg.inv(camera.world_to_camera)
        # OpenGL cameras look down −z with y up: flip the OpenCV y and z axes.
        self.camera_pose = camera_to_world @ np.diag([1.0, -1.0, -1.0, 1.0])
        self.intrinsics = pyrender.IntrinsicsCamera(
            fx=camera.focal_px,
            fy=camera.focal_px,
            cx=camera.width / 2.0,
            cy=camera.height / 2.0,
            znear=0.01,
            zfar=100.0,
        )

    def __call__(self, frame: int) -> np.ndarray:
        import trimesh

        pyrender = self.pyrender
        scene = pyrender.Scene(bg_color=(*_BACKGROUND, 1.0), ambient_light=(0.35, 0.35, 0.35))
        vertices = self.scene.vertices[frame]
        for faces, rgba in self.parts:
            used, inverse = np.unique(faces.reshape(-1), return_inverse=True)
            mesh = trimesh.Trimesh(vertices[used], inverse.reshape(-1, 3), process=False)
            material = pyrender.MetallicRoughnessMaterial(
                baseColorFactor=rgba, metallicFactor=0.0, roughnessFactor=0.8, doubleSided=True
            )
            scene.add(pyrender.Mesh.from_trimesh(mesh, material=material, smooth=True))
        scene.add(self.intrinsics, pose=self.camera_pose)
        scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=self.camera_pose)
        color, _ = self.renderer.render(scene)
        return np.ascontiguousarray(color[:, :, :3])

    def close(self) -> None:
        """Release the GL context."""
        self.renderer.delete()


def _make_renderer(backend: str, scene: SceneMeshes, camera: Camera):
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "software":
        return _SoftwareRenderer(scene, camera)
    try:
        gl_renderer = _open_gl(camera.width, camera.height)
    except Exception as exc:  # import errors, missing EGL/OSMesa libraries, no GL context
        if backend == "pyrender":
            raise DependencyError(
                f"the pyrender backend cannot render headless ({type(exc).__name__}: {exc}); "
                "install it with: pip install pyrender, and the GL libraries with: "
                "apt-get install libegl1 libgl1 (EGL) or libosmesa6 (then set "
                "PYOPENGL_PLATFORM=osmesa); or use backend='software'"
            ) from exc
        logger.info("pyrender unavailable (%s); using the software rasteriser", exc)
        return _SoftwareRenderer(scene, camera)
    if backend == "auto" and _is_software_gl():
        logger.info("OpenGL renders on the CPU; using the faster numpy rasteriser")
        gl_renderer.delete()
        return _SoftwareRenderer(scene, camera)
    return _PyrenderRenderer(scene, camera, gl_renderer)


def _is_software_gl() -> bool:
    """Whether the current GL context is a CPU implementation (Mesa llvmpipe, softpipe)."""
    from OpenGL.GL import GL_RENDERER, glGetString

    name = (glGetString(GL_RENDERER) or b"").decode("ascii", "replace").lower()
    return any(cpu in name for cpu in _CPU_GL_RENDERERS)


def _open_gl(width: int, height: int):
    """A pyrender offscreen renderer (headless EGL unless PYOPENGL_PLATFORM says otherwise)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender

    return pyrender.OffscreenRenderer(width, height)


@functools.lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def _caption(image: np.ndarray, text: str, corner: str) -> np.ndarray:
    """Draw `text` (wrapped) on a translucent band at the top and `corner` at bottom right."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:
        raise DependencyError(
            "drawing preview captions needs the package 'pillow'; install it with: "
            "pip install pillow"
        ) from exc
    height, width = image.shape[:2]
    font = _font(max(9, height // 18))
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture, "RGBA")
    char_width = max(1.0, draw.textlength("abcdefghij", font=font) / 10.0)
    lines = textwrap.wrap(text, max(8, int((width - 8) / char_width)))[:3]
    line_height = font.getbbox("Ag")[3] + 2
    if lines:
        draw.rectangle((0, 0, width, 4 + line_height * len(lines)), fill=(0, 0, 0, 140))
        for row, line in enumerate(lines):
            draw.text((4, 2 + row * line_height), line, fill=(255, 255, 255, 255), font=font)
    corner_width = draw.textlength(corner, font=font)
    draw.text(
        (width - corner_width - 4, height - line_height - 2), corner, fill=(40, 40, 40, 255),
        font=font,
    )  # fmt: skip
    return np.asarray(picture)


def _frame_captions(sequence) -> list[str]:
    """Caption of every frame: "[k/S] sub-task text" of its segment."""
    segment = np.searchsorted(sequence.segment_starts, np.arange(sequence.num_frames), "right") - 1
    count = sequence.num_segments
    return [f"[{s + 1}/{count}] {sequence.texts[s]}".rstrip() for s in segment]


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise InputError(f"size must be (width, height) in pixels, got {size!r}") from exc
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise InputError(
            f"size must be even numbers of pixels, at least 16×16 (H.264 yuv420p), got {size!r}"
        )
    return width, height


def iter_frames(
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
    size: tuple[int, int] = DEFAULT_SIZE,
    camera: Camera | None = None,
    backend: str = "auto",
    use_captions: bool = True,
) -> Iterator[np.ndarray]:
    """Yield the `(H, W, 3)` uint8 RGB preview frames of `sequence`, one per frame.

    Args:
        sequence: the `HOISequence`.
        obj: its `HOIObject` (default `sequence.load_object()`; none if it names no object).
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).
        static_objects: `(HOIObject, (4, 4) pose)` pairs of objects that stay still, pose
            canonical → world (metres, z up), drawn at rest pose.
        size: `(width, height)` pixels, even numbers.
        camera: a fixed camera; default `auto_camera` framing the whole sequence and the
            static objects.
        backend: "auto", "pyrender" or "software".
        use_captions: draw the sub-task text and the frame number.
    """
    width, height = _check_size(size)
    scene = scene_meshes(sequence, obj, hands, static_objects)
    if camera is None:
        camera = auto_camera(scene.framing_points(sequence.active_hands), (width, height))
    renderer = _make_renderer(backend, scene, camera)
    captions = _frame_captions(sequence)
    try:
        for frame in range(sequence.num_frames):
            image = renderer(frame)
            if use_captions:
                corner = f"{frame}/{sequence.num_frames - 1}"
                image = _caption(image, captions[frame], corner)
            yield image
    finally:
        renderer.close()


def render_frames(sequence, **options) -> np.ndarray:
    """All preview frames as one `(T, H, W, 3)` uint8 array (options as `iter_frames`)."""
    return np.stack(list(iter_frames(sequence, **options)))


def render_preview(
    sequence,
    path: str | os.PathLike,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
    size: tuple[int, int] = DEFAULT_SIZE,
    backend: str = "auto",
) -> Path:
    """Render `sequence` to an H.264 MP4 at its frame rate, atomically; returns the path.

    Options as in `iter_frames`; captions are always drawn and the camera framed automatically.

    Raises:
        InputError: `path` does not end in `.mp4`, a bad size/backend, or a static object
            that is not a `(HOIObject, rigid (4, 4) pose)` pair.
        DependencyError: imageio-ffmpeg or pillow is missing, or backend="pyrender" cannot
            open a headless GL context.
    """
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise InputError(f"preview videos end in .mp4, got {str(path)!r}")
    width, height = _check_size(size)
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise DependencyError(
            "writing preview.mp4 needs the package 'imageio-ffmpeg'; install it with: "
            "pip install imageio-ffmpeg"
        ) from exc
    static_objects = resolve_static_objects(static_objects)
    frames = iter_frames(
        sequence,
        obj=obj,
        hands=hands,
        static_objects=static_objects,
        size=(width, height),
        backend=backend,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp.mp4", dir=path.parent
    )
    os.close(handle)
    try:
        writer = imageio_ffmpeg.write_frames(
            temp_name,
            (width, height),
            fps=float(sequence.fps),
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart"],
        )
        writer.send(None)
        try:
            for image in frames:
                writer.send(np.ascontiguousarray(image))
        finally:
            writer.close()
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return path


def write_preview(
    path: str | os.PathLike,
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> Path:
    """Exporter-registry form of `render_preview` (path first, default size and backend)."""
    return render_preview(sequence, path, obj=obj, hands=hands, static_objects=static_objects)
