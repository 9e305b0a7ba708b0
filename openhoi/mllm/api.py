"""Planner API: `load_planner(path=None).plan(instruction, objects) -> Plan`, `write_plan`.

CLI wiring (the lead's `openhoi plan`)::

    planner = load_planner(path)                       # None = shipped default
    plan = planner.plan(instruction, objects)          # objects: names or mesh paths
    write_plan(plan, out_dir)                          # plan.json + masks + PLY
    # --batch FILE.jsonl: requests = read_plan_requests(path); write_plans_jsonl(plans, out)

Decoding: greedy generation is parsed strictly; if the text is malformed, the planner
retries with constrained decoding (`PlanGrammar`), which always yields a parseable plan,
so the planner never returns an unusable plan. The decoded steps are then reviewed
(`openhoi.mllm.review`) and, where the review changed what a step touches, their masks
decoded again (`Planner.ground_masks`); an LLM front end (`openhoi.mllm.llm_frontend`)
shares that second half (`Planner.scene` → its steps → `Planner.finish`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from openhoi.errors import InputError, MissingFileError
from openhoi.mllm.plan import Plan, PlanParseError
from openhoi.vocab import object_words

__all__ = [
    "MAX_INSTRUCTION_CHARS",
    "PlanScene",
    "Planner",
    "default_planner_path",
    "load_planner",
    "read_plan_requests",
    "write_plan",
    "write_plans_jsonl",
]

logger = logging.getLogger(__name__)

MAX_INSTRUCTION_CHARS = 2000  # longer instructions are rejected as absurd


def default_planner_path() -> Path:
    """Folder of the shipped default planner checkpoint (`openhoi/assets/planner`)."""
    return Path(str(resources.files("openhoi.assets") / "planner"))


def check_instruction(instruction: object) -> str:
    """The instruction, stripped; InputError if not text, empty or absurdly long."""
    if not isinstance(instruction, str):
        raise InputError(
            f"instruction must be text (str), got {type(instruction).__name__}; pass e.g. "
            "'open the bottle and pour water'"
        )
    text = " ".join(instruction.split())
    if not text:
        raise InputError("instruction is empty; describe what the hands should do")
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise InputError(
            f"instruction has {len(text)} characters, more than {MAX_INSTRUCTION_CHARS}; "
            "shorten it to the task at hand"
        )
    return text


class Planner:
    """Instruction + objects → `Plan`, around a trained `PlannerModel`.

    Every decoded plan is reviewed (`openhoi.mllm.review`): text with the scene's own
    names and parts, impossible steps removed, dropped requests listed, ungroundable
    requests flagged; masks are decoded again for the reviewed text.

    Args:
        model: the planner network (eval mode).
        device: torch device it runs on.
        require_grounding: raise `UngroundedRequestError` for a request the planner cannot
            ground (the CLI without `--force`) instead of returning a best-guess plan whose
            `ungrounded` says why.
    """

    def __init__(
        self, model: object, *, device: str = "cpu", require_grounding: bool = False
    ) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.require_grounding = require_grounding

    def _objects(self, objects: Sequence[object]) -> list:
        from openhoi.objects import HOIObject, load_object

        if isinstance(objects, (str, os.PathLike)) or not isinstance(objects, Sequence):
            raise InputError(
                "objects must be a list of built-in names, mesh paths or HOIObjects, got "
                f"{type(objects).__name__}"
            )
        if not objects:
            raise InputError("objects is empty; give at least one object to act on")
        limit = self.model.config.max_objects
        if len(objects) > limit:
            raise InputError(f"at most {limit} objects per scene, got {len(objects)}")
        loaded = []
        for item in objects:
            if isinstance(item, HOIObject):
                loaded.append(item)
            elif isinstance(item, (str, os.PathLike)):
                loaded.append(load_object(item))
            else:
                raise InputError(
                    f"object {item!r} is neither a name/path nor an HOIObject "
                    f"({type(item).__name__})"
                )
        return loaded

    def scene(self, instruction: str, objects: Sequence[object]) -> PlanScene:
        """Check the request and encode the scene for the model (`PlanScene`).

        Raises:
            InputError: bad instruction or objects.
        """
        from openhoi.mllm.model import PlannerSample

        text = check_instruction(instruction)
        loaded = self._objects(objects)
        use_normals = self.model.config.point_encoder.use_normals
        clouds, frames = [], []
        for obj in loaded:
            points = obj.normalised_points
            parts = [points.points] + ([points.normals] if use_normals else [])
            clouds.append(np.concatenate(parts, axis=1).astype(np.float32))
            frames.append(points.to_object_frame(points.points).astype(np.float32))
        sample = PlannerSample(
            points=tuple(clouds),
            names=tuple(object_words(obj.name) for obj in loaded),
            instruction=text,
        )
        return PlanScene(text, tuple(loaded), sample, tuple(frames))

    def plan(
        self, instruction: str, objects: Sequence[object], *, constrained: bool = False
    ) -> Plan:
        """Plan sub-tasks with affordance masks.

        Args:
            instruction: free-form instruction (1..2000 characters).
            objects: 1..max_objects built-in names, mesh paths or `HOIObject`s.
            constrained: decode with the grammar from the start (otherwise only on retry).

        Returns:
            :class:`Plan`; each sub-task's mask is `(2048,)` over the object's normalised points.

        Raises:
            InputError: bad instruction or objects.
            UngroundedRequestError: `require_grounding` and the request cannot be grounded.
        """
        scene = self.scene(instruction, objects)
        try:
            output = self.model.generate(scene.sample, constrained=constrained)
        except PlanParseError as exc:
            logger.warning("malformed generation (%s); retrying with constrained decoding", exc)
            output = self.model.generate(scene.sample, constrained=True)
        steps = tuple(
            dataclasses.replace(step, mask=np.clip(mask, 0.0, 1.0))
            for step, mask in zip(output.steps, output.masks, strict=True)
        )
        return self.finish(scene, steps)

    def ground_masks(self, scene: PlanScene, steps: Sequence[object]) -> np.ndarray:
        """`(S, P)` masks of `steps` decoded teacher-forced from their `<AFF>` states.

        The mask head grounds any sub-task list on the scene's points this way, whoever
        wrote the steps (the built-in LM after review, or an LLM front end).
        """
        num_points = scene.sample.points[0].shape[0]
        zeros = tuple(np.zeros(num_points, np.float32) for _ in steps)
        sample = dataclasses.replace(
            scene.sample,
            steps=tuple(dataclasses.replace(s, mask=None) for s in steps),
            masks=zeros,
        )
        return np.clip(self.model.predict_masks(sample), 0.0, 1.0)

    def ground_target_masks(
        self, scene: PlanScene, steps: Sequence[object]
    ) -> dict[int, np.ndarray]:
        """Step index → `(P,)` mask of the region of its target object that receives the
        mover or the liquid (`scene_roles.RELATIONS`: "contain" for in / into, "support"
        for on; none for beside).

        In / into: the mask head's answer to the object-level question the planner was
        trained on ("which part of the mug holds things?"), asked of the target alone.
        On: the object's upper surface (`upper_surface`), which is where a thing put on it
        rests, for any mesh; the mask head's "support" answer only where that is empty.
        (On the validation requests the head's "support" answers scored AUC 0.46.)
        """
        from openhoi.mllm.model import PlannerSample
        from openhoi.mllm.phrasing import COARSE_QUESTIONS
        from openhoi.mllm.scene_roles import RELATIONS
        from openhoi.vocab import SubTask

        out = {}
        for index, step in enumerate(steps):
            wanted = None if step.target_index is None else RELATIONS[step.relation]
            if not wanted:
                continue
            if step.relation == "on":
                target = step.target_index
                top = upper_surface(scene.objects[target], scene.frames[target])
                if top.sum() >= 10:
                    out[index] = top
                    continue
            obj = scene.objects[step.target_index]
            present = obj.affordance_names
            affordance = next((a for a in wanted if a in present), wanted[0])
            primitive, phrase, questions = COARSE_QUESTIONS[affordance]
            words = scene.sample.names[step.target_index]
            points = scene.sample.points[step.target_index]
            sample = PlannerSample(
                points=(points,),
                names=(words,),
                instruction=questions[0].format(o=words),
                steps=(SubTask(primitive, "right", affordance, phrase.format(o=words)),),
                masks=(np.zeros(points.shape[0], np.float32),),
            )
            out[index] = np.clip(self.model.predict_masks(sample)[0], 0.0, 1.0)
        return out

    def finish(
        self, scene: PlanScene, steps: Sequence[object], *, source: str = "built-in"
    ) -> Plan:
        """Review decoded `steps` (masks optional), ground their masks and build the `Plan`.

        Steps without masks, and steps whose primitive, object, affordance or named part
        the review changed, get masks from `ground_masks` (one teacher-forced pass).

        Raises:
            UngroundedRequestError: `require_grounding` and the request cannot be grounded.
        """
        from openhoi.mllm.review import UngroundedRequestError, review_plan
        from openhoi.objects import list_objects

        review = review_plan(scene.instruction, scene.objects, steps, known_objects=list_objects())
        names = ", ".join(obj.name for obj in scene.objects)
        if review.ungrounded is not None:
            if self.require_grounding:
                raise UngroundedRequestError(
                    f"cannot plan {scene.instruction!r} on [{names}]: {review.ungrounded}; "
                    "rephrase it, or pass --force to accept the planner's best guess"
                )
            logger.warning("request %r not grounded: %s", scene.instruction, review.ungrounded)
        subtasks = review.subtasks
        if review.changed:
            masks = self.ground_masks(scene, subtasks)
            subtasks = tuple(
                dataclasses.replace(s, mask=masks[k]) if k in review.changed else s
                for k, s in enumerate(subtasks)
            )
        targets = self.ground_target_masks(scene, subtasks)
        if targets:
            subtasks = tuple(
                dataclasses.replace(s, target_mask=targets[k]) if k in targets else s
                for k, s in enumerate(subtasks)
            )
        return Plan(
            instruction=scene.instruction,
            objects=tuple(obj.name for obj in scene.objects),
            subtasks=subtasks,
            object_points=scene.frames,
            dropped=review.dropped,
            ungrounded=review.ungrounded,
            source=source,
        )


def upper_surface(obj: object, points: np.ndarray, cell: float = 0.01) -> np.ndarray:
    """`(P,)` float32 1 on the object's upper surface: points that face up (normal z ≥
    0.6) and are the highest of their `cell` × `cell` column within 4 mm (nothing of the
    object above them), 0 elsewhere.

    Args:
        obj: the `HOIObject` (its normalised points' normals).
        points: `(P, 3)` the same points in its canonical frame (z up), metres.
    """
    normals = np.asarray(obj.normalised_points.normals, np.float64)
    points = np.asarray(points, np.float64)
    index = np.floor((points[:, :2] - points[:, :2].min(0)) / cell).astype(np.int64)
    keys = index[:, 0] * (index[:, 1].max() + 1) + index[:, 1]
    highest = np.full(keys.max() + 1, -np.inf)
    np.maximum.at(highest, keys, points[:, 2])
    top = (points[:, 2] >= highest[keys] - 0.004) & (normals[:, 2] >= 0.6)
    return top.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class PlanScene:
    """A checked request, ready for a planner: instruction, objects, model input, frames.

    Attributes:
        instruction: the cleaned instruction.
        objects: the scene's `HOIObject`s.
        sample: the `PlannerSample` the model reads (no steps).
        frames: per object `(P, 3)` float32 points in the object's canonical frame (metres).
    """

    instruction: str
    objects: tuple
    sample: object
    frames: tuple


def load_planner(
    path: str | os.PathLike | None = None,
    *,
    device: str = "cpu",
    require_grounding: bool = False,
) -> Planner:
    """Load a planner checkpoint folder (None = the shipped default).

    `require_grounding`: see :class:`Planner`.

    Raises:
        MissingFileError: no checkpoint at `path` (or the default is not shipped/trained).
    """
    from openhoi.mllm.checkpoint import load_checkpoint

    folder = default_planner_path() if path is None else Path(path)
    if not (folder / "planner_config.json").is_file():
        hint = (
            "train it with: python tools/train_planner_default.py"
            if path is None
            else "pass a folder written by the planner training recipe"
        )
        raise MissingFileError(f"no planner checkpoint in {str(folder)!r}; {hint}")
    model, _ = load_checkpoint(folder, device=device)
    return Planner(model, device=device, require_grounding=require_grounding)


def _mask_colours(mask: np.ndarray) -> np.ndarray:
    """`(P,)` mask → `(P, 4)` uint8 RGBA, grey (0) to red (1)."""
    low = np.array([180, 180, 180], dtype=np.float32)
    high = np.array([220, 30, 30], dtype=np.float32)
    rgb = low + (high - low) * mask[:, None]
    alpha = np.full((len(mask), 1), 255, dtype=np.float32)
    return np.concatenate([rgb, alpha], axis=1).astype(np.uint8)


def _write_plan_files(plan: Plan, folder: Path, prefix: str = "") -> dict:
    import trimesh

    data = plan.to_json()
    for index, (sub, entry) in enumerate(zip(plan.subtasks, data["subtasks"], strict=True)):
        files = [("mask", plan.mask_file_name(index), sub.mask, sub.object_index)]
        if sub.target_mask is not None:
            name = plan.target_mask_file_name(index)
            files.append(("target_mask", name, sub.target_mask, sub.target_index))
        for key, name, mask, object_index in files:
            np.save(folder / name, mask.astype(np.float32))
            entry[key] = prefix + name
            if plan.object_points:
                cloud = trimesh.PointCloud(
                    plan.object_points[object_index], colors=_mask_colours(mask)
                )
                cloud.export(str(folder / name.replace(".npy", ".ply")))
    return data


def _publish(temp: Path, out: Path) -> None:
    """Move every file of `temp` into `out` (os.replace each), plan files last."""
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in temp.iterdir())
    last = [n for n in names if n in ("plan.json", "plans.jsonl")]
    for name in [n for n in names if n not in last] + last:
        target = out / name
        if (temp / name).is_dir() and target.exists():
            shutil.rmtree(target)
        os.replace(temp / name, target)
    shutil.rmtree(temp, ignore_errors=True)


def write_plan(plan: Plan, out_dir: str | os.PathLike) -> Path:
    """Write `plan.json`, `mask_XX.npy` and affordance-coloured `mask_XX.ply` atomically.

    Each file is written to a temporary folder and moved into `out_dir` with `os.replace`;
    `plan.json` moves last, so a reader never sees a plan.json without its masks.
    PLY point clouds are in the object's canonical frame (metres), grey → red by mask.

    Returns:
        The path of plan.json.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    temp = out / f".plan.tmp-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        data = _write_plan_files(plan, temp)
        (temp / "plan.json").write_text(json.dumps(data, indent=2))
        _publish(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out / "plan.json"


def write_plans_jsonl(plans: Sequence[Plan], out_dir: str | os.PathLike) -> Path:
    """`--batch` output: `plans.jsonl` (one plan.json dict per line) + `plan_XXXX/` masks."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    temp = out / f".plans.tmp-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        lines = []
        for index, plan in enumerate(plans):
            folder = temp / f"plan_{index:04d}"
            folder.mkdir()
            lines.append(json.dumps(_write_plan_files(plan, folder, prefix=f"{folder.name}/")))
        (temp / "plans.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
        _publish(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out / "plans.jsonl"


def read_plan_requests(path: str | os.PathLike) -> list[tuple[str, list[str]]]:
    """Parse a `--batch` JSONL file: one `{"instruction": str, "objects": [str]}` per line.

    Raises:
        MissingFileError: no such file.
        InputError: a line is not such an object (the message gives the line number).
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"batch file {str(file)!r} not found")
    requests = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{file}:{number}: not valid JSON ({exc.msg})") from exc
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("objects"), list)
            or not all(isinstance(o, str) for o in item["objects"])
            or "instruction" not in item
        ):
            raise InputError(
                f'{file}:{number}: expected {{"instruction": str, "objects": [str, ...]}}, '
                f"got {line[:80]!r}"
            )
        requests.append((check_instruction(item["instruction"]), list(item["objects"])))
    return requests
