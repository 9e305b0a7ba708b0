"""A generation's output folder: every file of one run, written whole or not at all.

    sequence.npz   the HOISequence (object reference included)
    plan.json      the plan (+ mask_XX.npy / mask_XX.ply, frame range per sub-task)
    meshes.npz     hand and object vertices per frame, static scene objects
    sequence.glb   Blender / three.js scene;  sequence.bvh  the hand skeletons
    preview.mp4    (when rendering)
    report.json    physics, frame ranges, timings
    config.json    resolved config, seed, model ids, package version, hand model

`fresh_folder` writes into a hidden temporary folder beside the target and moves it into
place only when every file exists; an existing folder is refused unless `overwrite`, which
replaces it whole (no stale files of an earlier run). An error or Ctrl-C leaves nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from openhoi.errors import InputError

__all__ = ["check_output_folder", "fresh_folder", "write_generation", "write_generation_files"]


def check_output_folder(out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Fail early, with one clear error, when `out_dir` exists (without `overwrite`), is a
    file, or cannot be created or written."""
    import tempfile

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {str(out)!r} is a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(
            f"output folder {str(out)!r} already exists; pass --overwrite (overwrite=True) to "
            "replace it"
        )
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"output folder {str(out)!r}: {str(existing)!r} is a file")
    try:
        with tempfile.TemporaryDirectory(dir=existing):
            pass
    except OSError as exc:
        raise InputError(f"cannot write to output folder {str(out)!r} ({exc.strerror})") from exc
    return out


@contextlib.contextmanager
def fresh_folder(out_dir: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces `out_dir` whole, on error it goes."""
    out = check_output_folder(out_dir, overwrite=overwrite)
    tag = uuid.uuid4().hex[:8]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = out.parent / f".{out.name}.tmp-{tag}"
        temp.mkdir()
    except OSError as exc:
        raise InputError(f"cannot write to output folder {str(out)!r} ({exc.strerror})") from exc
    try:
        yield temp
        old = out.parent / f".{out.name}.old-{tag}"
        if out.exists():
            os.replace(out, old)
        os.replace(temp, out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def write_generation(
    result, out_dir: str | os.PathLike, *, hands=None, render: bool = True, overwrite: bool = False
) -> list[Path]:
    """Write every output of one `openhoi.api.GenerateResult` into a fresh `out_dir`."""
    with fresh_folder(out_dir, overwrite=overwrite) as temp:
        names = write_generation_files(result, temp, hands=hands, render=render)
    return [Path(out_dir) / name for name in names]


def write_generation_files(result, folder: Path, *, hands=None, render: bool = True) -> list[str]:
    """The files of one run into an existing (empty) `folder`; returns their names."""
    from openhoi._io import save_json_atomic
    from openhoi.export import export_sequence
    from openhoi.mllm import write_plan

    result.sequence.save(folder / "sequence.npz")
    plan_path = write_plan(result.plan, folder)
    plan = json.loads(plan_path.read_text())
    for index, entry in enumerate(plan["subtasks"]):
        frames = result.subtask_frames.get(index)
        entry["frames"] = None if frames is None else list(frames)  # None: not generated
    save_json_atomic(plan_path, plan)
    static = [(result.objects[i], pose) for i, pose in sorted(result.static_poses.items())]
    for fmt in ("meshes", "glb", "bvh") + (("mp4",) if render else ()):
        options = {"static_objects": static} if fmt != "bvh" else {}
        export_sequence(result.sequence, folder, fmt, obj=result.object, hands=hands, **options)
    report = result.summary()
    save_json_atomic(folder / "config.json", run_config(result, report["objects"]))
    save_json_atomic(folder / "report.json", report)
    return sorted(p.name for p in folder.iterdir())


def run_config(result, objects: list[str]) -> dict:
    """config.json: the resolved config, seed, `objects` (references), model ids, version,
    hand model."""
    return {
        "format": "openhoi-run",
        "version": 1,
        "instruction": result.plan.instruction,
        "objects": objects,
        "config": result.config.to_dict(),
        **result.provenance,
    }
