"""Coarse-to-fine planner training (paper §3.1, "Coarse-to-Fine Affordance Tuning").

- Stage `coarse`: object-level affordance questions. A built-in training object (never a
  `HELD_OUT_OBJECTS` one) under a random z-rotation, small tilt, scale and jitter, a
  question "where would you pour from the kettle?" → a one-step plan whose `<AFF>` mask is
  the object's affordance label of that type.
- Stage `fine`: instruction → plan with masks. SynthHOI tasks (`sample_task`) in scenes of
  1-3 objects (the target plus distractors; the instruction names or implies the target,
  the plan's object index points at it; where it only implies it, no distractor affords
  the same kind of task, so the scene has one right answer), masks = the touched region's
  affordance on the target (restricted to the region's part); plus prepared GRAB/ARCTIC
  episodes when `data` names a prepared episodes folder (its train split only, never the
  test episodes; masks from hand contact, `segment.affordance`); plus a share of coarse
  questions so the affordance prior is kept.

- Both stages: a share `rename_probability` of scenes shows its objects under stand-in
  names (`ALIAS_NAMES`, consistently in the object list, instruction and target texts), so
  the planner selects objects by the names in its prompt and reads affordances from the
  points, instead of memorising the training objects by name.
- Fine scenes: a share `paraphrase_probability` takes an extra training paraphrase of its
  request, and a scene whose dominant hand is not the default (right) says so
  (`openhoi.mllm.phrasing`: why both).

Loss (Eq. 3): λ_task·CE + λ_aff·(Dice + BCE). AdamW, cosine schedule with linear warm-up
(`openhoi.training.warmup_cosine`), gradient clipping. With `use_accelerate`, `accelerate`
is used when installed (multi-GPU: `accelerate launch -m openhoi.cli train planner ...`).
Checkpoints are atomic folders (`checkpoint.save_checkpoint` files plus `train_state.pt`:
optimizer, scheduler, step, every RNG) in `out/last` every `checkpoint_interval` steps;
`resume=true` continues from there exactly. `out/log.jsonl` logs every `log_interval` steps.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from openhoi.errors import InputError, MissingFileError
from openhoi.mllm.model import PlannerModel, PlannerModelConfig, PlannerSample
from openhoi.mllm.object_pointer import named_objects
from openhoi.mllm.phrasing import COARSE_QUESTIONS, extra_instruction, with_hand_cue
from openhoi.mllm.plan import generation_step
from openhoi.vocab import SubTask

__all__ = [
    "ALIAS_NAMES",
    "COARSE_QUESTIONS",
    "PlannerTrainConfig",
    "SceneSampler",
    "object_cloud",
    "renamed",
    "train_planner",
]

logger = logging.getLogger(__name__)



@dataclass
class PlannerTrainConfig:
    """`openhoi train planner stage=coarse|fine ...` (configs/mllm/train.yaml).

    The shared keys (`data`, `out`, `resume`, `steps`, `batch_size`, `log_interval`,
    `checkpoint_interval`, `warmup_steps`, `quiet`) are spelled as in the other trainers
    (`openhoi.training.config`: `out_dir`, `num_steps`, `episodes_dir`, `log_every`,
    `save_every` and `warmup_fraction` are deprecated aliases).
    """

    stage: str = "fine"
    # Where checkpoints go (`out/last`, `out/final`) and `log.jsonl`; init from a previous stage.
    out: str = "runs/planner"
    init_from: str | None = None
    # Continue from `out/last` exactly (weights, optimizer, schedule, RNG).
    resume: bool = False
    # Optimisation.
    steps: int = 2000
    batch_size: int = 8
    learning_rate: float = 5e-4
    weight_decay: float = 0.0
    # Linear warm-up steps (the former warmup_fraction 0.02 of 2000 steps).
    warmup_steps: int = 40
    grad_clip: float = 1.0
    task_weight: float = 1.0
    aff_weight: float = 1.0
    # Weight of the object pointer's CE (model.object_pointer; ignored without it).
    pointer_weight: float = 1.0
    checkpoint_interval: int = 500
    log_interval: int = 50
    # No progress bar.
    quiet: bool = False
    seed: int = 0
    # Data: fine-stage scenes hold 1..max_scene_objects objects; share of coarse samples.
    max_scene_objects: int = 3
    coarse_fraction: float = 0.2
    # Share of scenes whose objects are shown under stand-in names (see `ALIAS_NAMES`).
    rename_probability: float = 0.5
    # Share of fine scenes given one of `phrasing.EXTRA_INSTRUCTIONS` instead of SynthHOI's.
    paraphrase_probability: float = 0.5
    # A prepared GRAB/ARCTIC (or SynthHOI) episodes folder for the fine stage; only the
    # episodes of its splits.json "train" split are used.
    data: str | None = None
    # Which weights learn: "all", or "mask_head" (`MASK_HEAD`: the affordance decoder and the
    # point encoder's per-point branch; with init_from, every plan the model decodes stays
    # bit-identical while its masks change).
    trainable: str = "all"
    # Backbone: "default" (tiny LLaMA + MiniLM) or "pretrained" (local HF folder + LoRA).
    backbone: str = "default"
    pretrained_path: str | None = None
    dtype: str = "float32"
    use_accelerate: bool = False
    # torch device for single-process training ("cpu", "cuda", "cuda:1").
    device: str = "cpu"
    model: PlannerModelConfig = field(default_factory=PlannerModelConfig)
    default_backbone: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = PlannerModelConfig(**self.model)
        if self.stage not in ("coarse", "fine"):
            raise InputError(f"stage must be 'coarse' or 'fine', got {self.stage!r}")
        for name in ("steps", "batch_size", "log_interval", "checkpoint_interval"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise InputError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.warmup_steps < 0:
            raise InputError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 1 <= self.max_scene_objects <= self.model.max_objects:
            raise InputError(
                f"max_scene_objects must be 1..model.max_objects ({self.model.max_objects}), "
                f"got {self.max_scene_objects}"
            )
        if not 0 <= self.coarse_fraction <= 1:
            raise InputError(f"coarse_fraction must be in [0, 1], got {self.coarse_fraction}")
        if not 0 <= self.rename_probability <= 1:
            raise InputError(f"rename_probability must be in [0, 1], got {self.rename_probability}")
        if not 0 <= self.paraphrase_probability <= 1:
            raise InputError(
                f"paraphrase_probability must be in [0, 1], got {self.paraphrase_probability}"
            )
        if self.backbone not in ("default", "pretrained"):
            raise InputError(f"backbone must be 'default' or 'pretrained', got {self.backbone!r}")
        if self.trainable not in ("all", "mask_head"):
            raise InputError(f"trainable must be 'all' or 'mask_head', got {self.trainable!r}")

    def validate(self) -> None:
        """Run-wide checks before any expensive setup."""
        if self.backbone == "pretrained" and not self.pretrained_path:
            raise InputError("backbone=pretrained needs pretrained_path=<local HF folder>")
        for name in ("init_from", "data"):
            value = getattr(self, name)
            if value is not None and not Path(value).exists():
                raise MissingFileError(f"{name} {value!r} does not exist")

    def backbone_spec(self) -> dict:
        """The backbone dict stored in checkpoints."""
        if self.backbone == "default":
            return {"kind": "default", "config": dict(self.default_backbone)}
        return {"kind": "pretrained", "path": self.pretrained_path, "dtype": self.dtype}


# Parameter-name prefixes of the weights that only masks depend on: the affordance decoder,
# and the point encoder's per-point branch (its group tokens, which the language model reads,
# are computed before it).
MASK_HEAD = ("decoder.", "point_encoder.point_embed.", "point_encoder.point_fuse.")


# ------------------------------------------------------------------------------ data
@functools.cache
def _object(name: str):
    from openhoi.objects import load_object

    return load_object(name)


def object_cloud(name: str, *, use_normals: bool = True) -> np.ndarray:
    """`(2048, 3 or 6)` float32 normalised points (+ normals) of a built-in object."""
    points = _object(name).normalised_points
    parts = [points.points] + ([points.normals] if use_normals else [])
    return np.concatenate(parts, axis=1).astype(np.float32)


def _augment(cloud: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random z-rotation, tilt ≤ 10°, scale 0.85-1, jitter σ = 0.005 (xyz); normals rotated."""
    yaw = rng.uniform(0, 2 * np.pi)
    tilt_axis = rng.normal(size=3) * np.array([1.0, 1.0, 0.0])
    tilt_axis /= np.linalg.norm(tilt_axis) + 1e-9
    tilt = rng.uniform(0, np.deg2rad(10))
    cz, sz = np.cos(yaw), np.sin(yaw)
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    k = np.array(
        [
            [0, -tilt_axis[2], tilt_axis[1]],
            [tilt_axis[2], 0, -tilt_axis[0]],
            [-tilt_axis[1], tilt_axis[0], 0],
        ]
    )
    rt = np.eye(3) + np.sin(tilt) * k + (1 - np.cos(tilt)) * k @ k
    rotation = (rt @ rz).astype(np.float32)
    out = cloud.copy()
    out[:, :3] = cloud[:, :3] @ rotation.T * rng.uniform(0.85, 1.0)
    out[:, :3] += rng.normal(scale=0.005, size=(len(cloud), 3)).astype(np.float32)
    if cloud.shape[1] >= 6:
        out[:, 3:6] = cloud[:, 3:6] @ rotation.T
    return out


def region_mask(name: str, affordance: str, part: str | None = None) -> np.ndarray:
    """`(2048,)` float32 mask: affordance column on the normalised points, within `part`."""
    from openhoi.objects import affordance_index

    obj = _object(name)
    points = obj.normalised_points
    mask = points.affordance[:, affordance_index(affordance)].astype(np.float32)
    if part is not None:
        names = [p.name for p in obj.parts]
        if part in names:
            mask = mask * (points.part_ids == names.index(part))
    return mask


def _display_name(name: str) -> str:
    from openhoi.synth.language import object_words

    return object_words(name)


# Stand-in object names for the renaming augmentation. With only ~15 training objects a
# small LM learns "the cup is object 0 and is wrap-grasped" instead of "the object the
# instruction names is the one listed under that name, and its shape says how to hold
# it". Showing a scene's objects under random household nouns (consistently in the
# object list, the instruction and the target texts) makes it copy names from the
# prompt and read the geometry. Excludes every built-in object name and the held-out
# objects' synonyms, so the unseen-object evaluation stays unseen.
# fmt: off
ALIAS_NAMES: tuple[str, ...] = (
    "lamp", "vase", "clock", "candle", "kite", "drum", "ball", "brick", "shoe", "boot",
    "helmet", "glove", "wallet", "purse", "basket", "bucket", "tray", "plate", "dish",
    "pot", "lid", "funnel", "sponge", "brush", "comb", "mirror", "frame", "globe",
    "lantern", "torch", "radio", "camera", "remote", "mouse", "keyboard", "speaker",
    "charger", "cable", "battery", "stapler", "ruler", "pencil", "pen", "marker",
    "eraser", "folder", "envelope", "ticket", "card", "coin", "key", "lock", "chain",
    "rope", "ribbon", "button", "badge", "medal", "trophy", "statue", "doll", "puppet",
    "robot", "rocket", "boat", "train", "truck", "wheel", "pump", "valve", "pipe",
    "hose", "nozzle", "whistle", "bell", "flute", "violin", "guitar", "trumpet", "horn",
    "shell", "stone", "pebble", "crystal", "gem", "ring", "bracelet", "necklace",
    "watch", "compass", "magnet", "lens", "telescope", "microscope", "flask", "beaker",
    "tube", "syringe", "thermometer", "scale", "weight", "dumbbell", "racket", "bat",
    "paddle", "oar", "shovel", "rake", "broom", "mop", "ladle", "whisk", "grater",
    "peeler", "tongs", "skillet", "teapot", "carafe", "canteen", "thermos",
    "lunchbox", "crate", "chest", "drawer", "cabinet", "suitcase", "backpack",
    "umbrella", "fan", "heater", "iron", "kettlebell", "hourglass", "dice", "puzzle",
    "block", "cube", "cone", "cylinder", "sphere", "widget", "gadget", "device",
    "thing", "item", "object",
)
# fmt: on


def _rename(text: str, names: dict[str, str]) -> str:
    """`text` with every whole-word occurrence of a key (any case) replaced by its value.

    One pass over an alternation of the keys, longest first, so "spray bottle" is matched
    as a whole before a "bottle" in the same scene could take part of it.
    """
    lowered = {old.lower(): new for old, new in names.items()}
    pattern = "|".join(re.escape(old) for old in sorted(lowered, key=len, reverse=True))
    return re.sub(
        rf"\b(?:{pattern})\b", lambda m: lowered[m.group().lower()], text, flags=re.IGNORECASE
    )


def renamed(sample: PlannerSample, rng: np.random.Generator) -> PlannerSample:
    """`sample` with its objects shown under random distinct `ALIAS_NAMES` everywhere."""
    picks = rng.choice(len(ALIAS_NAMES), size=len(sample.names), replace=False)
    names = {old: ALIAS_NAMES[i] for old, i in zip(sample.names, picks, strict=True)}
    return dataclasses.replace(
        sample,
        names=tuple(names[n] for n in sample.names),
        instruction=_rename(sample.instruction, names),
        steps=tuple(dataclasses.replace(s, text=_rename(s.text, names)) for s in sample.steps),
    )


class SceneSampler:
    """Random coarse / fine training (or evaluation) scenes over a set of objects.

    Args:
        objects: built-in names the scenes use (targets and distractors).
        use_normals: feed normals to the point encoder.
        max_scene_objects: 1..N objects per fine scene.
        phrasing: SynthHOI template set ("train" or "held_out"); also picks the hand cues.
        augment: random rotation / scale / jitter.
        distractors: names other objects of a scene are drawn from (default: `objects`).
        paraphrase_probability: share of fine scenes whose (single-sentence) instruction is
            replaced by one of `phrasing.EXTRA_INSTRUCTIONS` (training only).
        hand_cues: state the dominant hand where the scene needs it (`phrasing.with_hand_cue`);
            off reproduces the protocol in which an unnamed hand was SynthHOI's coin flip.
    """

    def __init__(
        self,
        objects: list[str],
        *,
        use_normals: bool = True,
        max_scene_objects: int = 3,
        phrasing: str = "train",
        augment: bool = True,
        distractors: list[str] | None = None,
        paraphrase_probability: float = 0.0,
        hand_cues: bool = True,
    ) -> None:
        if not objects:
            raise InputError("SceneSampler needs at least one object")
        if max_scene_objects < 1:
            raise InputError(f"max_scene_objects must be >= 1, got {max_scene_objects}")
        if not 0 <= paraphrase_probability <= 1:
            raise InputError(
                f"paraphrase_probability must be in [0, 1], got {paraphrase_probability}"
            )
        self.objects = list(objects)
        self.distractors = list(distractors if distractors is not None else objects)
        self.use_normals = use_normals
        self.max_scene_objects = max_scene_objects
        self.phrasing = phrasing
        self.augment = augment
        self.paraphrase_probability = paraphrase_probability
        self.hand_cues = hand_cues
        self._coarse = {
            name: [
                a
                for a in COARSE_QUESTIONS
                if (_object(name).normalised_points.affordance[:, _aff_index(a)] >= 0.5).sum() >= 10
            ]
            for name in self.objects
        }

    def _cloud(self, name: str, rng: np.random.Generator) -> np.ndarray:
        cloud = object_cloud(name, use_normals=self.use_normals)
        return _augment(cloud, rng) if self.augment else cloud

    def coarse(self, rng: np.random.Generator) -> PlannerSample:
        """One object-level affordance question."""
        candidates = [n for n in self.objects if self._coarse[n]]
        name = candidates[int(rng.integers(len(candidates)))]
        affordance = self._coarse[name][int(rng.integers(len(self._coarse[name])))]
        primitive, phrase, questions = COARSE_QUESTIONS[affordance]
        words = _display_name(name)
        question = questions[int(rng.integers(len(questions)))].format(o=words)
        step = SubTask(primitive, "right", affordance, phrase.format(o=words))
        return PlannerSample(
            points=(self._cloud(name, rng),),
            names=(words,),
            instruction=question,
            steps=(step,),
            masks=(region_mask(name, affordance),),
        )

    def fine(
        self, rng: np.random.Generator, target: str | None = None
    ) -> tuple[PlannerSample, object]:
        """One SynthHOI instruction scene; returns (sample, TaskSpec)."""
        from openhoi.synth.tasks import kinds_for, sample_task

        if target is None:
            target = self.objects[int(rng.integers(len(self.objects)))]
        task = sample_task(_object(target), rng, phrasing=self.phrasing)
        instruction = task.instruction
        if (
            self.paraphrase_probability
            and task.style != "multi_step"
            and rng.random() < self.paraphrase_probability
        ):
            instruction = extra_instruction(task.kind, _display_name(target), rng)
        count = int(rng.integers(1, self.max_scene_objects + 1))
        others = [n for n in self.distractors if n != target]
        if not named_objects(instruction, [_display_name(target)])[0]:
            # An instruction that only implies its object ("my throat is dry") has one
            # answer only if no other object in the scene affords the same task.
            others = [n for n in others if task.kind not in kinds_for(_object(n))]
        chosen = list(rng.choice(others, size=min(count - 1, len(others)), replace=False))
        scene = [target, *chosen]
        order = rng.permutation(len(scene))
        scene = [scene[i] for i in order]
        index = scene.index(target)
        steps = tuple(generation_step(s, object_index=index) for s in task.plan)
        masks = tuple(
            region_mask(target, region.affordance, region.part) for region in task.regions
        )
        names = tuple(_display_name(n) for n in scene)
        if self.hand_cues:
            instruction = with_hand_cue(
                instruction,
                task.main_hand,
                [s.hands for s in task.plan],
                rng,
                phrasing=self.phrasing,
            )
        sample = PlannerSample(
            points=tuple(self._cloud(n, rng) for n in scene),
            names=names,
            instruction=instruction,
            steps=steps,
            masks=masks,
        )
        return sample, task


@functools.cache
def _aff_index(name: str) -> int:
    from openhoi.objects import affordance_index

    return affordance_index(name)


def episode_samples(
    folder: str, *, use_normals: bool = True, split: str = "train"
) -> list[PlannerSample]:
    """The episodes of a split of a prepared GRAB/ARCTIC (or SynthHOI) folder as samples.

    `split` names a split of the folder's splits.json ("train" for training, so the unseen
    objects and the held-out subject stay unseen); a folder without splits.json gives all
    its episodes, with a warning. Each episode is a single-object planner sample. Masks
    come from `segment.affordance` `(1, 1024)` on `HOIObject.points`, carried to the 2048
    normalised points by nearest neighbour; segments without masks fall back to the
    sub-task's affordance label on the object.

    Raises:
        InputError: the split holds no episodes, or is not in splits.json.
    """
    from scipy.spatial import cKDTree

    from openhoi.data import load_episode_object, load_episodes
    from openhoi.data.torch_dataset import SPLITS_FILE, split_episode_ids

    if (Path(folder) / SPLITS_FILE).is_file():
        episode_ids = split_episode_ids(folder, split)
    else:
        logger.warning("%s has no %s: the planner uses every episode", folder, SPLITS_FILE)
        episode_ids = None
    samples = []
    objects: dict[str, object] = {}  # episodes share objects: load each once
    for episode in load_episodes(folder, episode_ids):
        if episode.object not in objects:
            objects[episode.object] = load_episode_object(folder, episode.object)
        obj = objects[episode.object]
        dense = obj.normalised_points
        cloud = np.concatenate(
            [dense.points] + ([dense.normals] if use_normals else []), axis=1
        ).astype(np.float32)
        nearest = cKDTree(obj.points.points).query(dense.to_object_frame(dense.points))[1]
        masks = []
        for step, segment in zip(episode.plan, episode.segments, strict=True):
            if segment.affordance is not None:
                masks.append(np.clip(segment.affordance[0][nearest], 0, 1).astype(np.float32))
            else:
                masks.append(dense.affordance[:, _aff_index(step.affordance)].astype(np.float32))
        steps = tuple(generation_step(s, object_index=0) for s in episode.plan)
        name = _display_name(obj.name)
        samples.append(PlannerSample((cloud,), (name,), episode.instruction, steps, tuple(masks)))
    if not samples:
        raise InputError(f"the {split!r} split of {str(folder)!r} holds no episodes")
    return samples


def training_objects() -> list[str]:
    """Built-in objects minus SynthHOI's `HELD_OUT_OBJECTS`."""
    from openhoi.objects import list_objects
    from openhoi.synth.tasks import HELD_OUT_OBJECTS

    return [n for n in list_objects() if n not in HELD_OUT_OBJECTS]


def sample_stream(config: PlannerTrainConfig, rng: np.random.Generator) -> Iterator[PlannerSample]:
    """Endless training samples for `config.stage`."""
    sampler = SceneSampler(
        training_objects(),
        use_normals=config.model.point_encoder.use_normals,
        max_scene_objects=config.max_scene_objects,
        paraphrase_probability=config.paraphrase_probability,
    )
    episodes = (
        episode_samples(config.data, use_normals=config.model.point_encoder.use_normals)
        if config.data
        else []
    )
    while True:
        if config.stage == "coarse" or rng.random() < config.coarse_fraction:
            sample = sampler.coarse(rng)
        elif episodes and rng.random() < 0.5:
            sample = episodes[int(rng.integers(len(episodes)))]
        else:
            sample = sampler.fine(rng)[0]
        if rng.random() < config.rename_probability:
            sample = renamed(sample, rng)
        yield sample


# --------------------------------------------------------------------------- training
def _build_model(config: PlannerTrainConfig) -> PlannerModel:
    from openhoi.mllm.checkpoint import build_planner_model, load_checkpoint

    if config.init_from:
        model, _ = load_checkpoint(config.init_from)
        if config.model.lora.use_lora and not model.is_lora:
            model.config = config.model
            model._apply_lora()
        return model.train()
    return build_planner_model(config.model, config.backbone_spec()).train()


def run_train_mllm(
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    quiet: bool = False,
    progress: Callable[[int, dict], None] | None = None,
) -> Path:
    """`openhoi train planner stage=coarse|fine KEY=VALUE ...`: compose the stage config, train.

    `stage=coarse` composes configs/mllm/coarse.yaml, `stage=fine` (the default)
    configs/mllm/fine.yaml; the other overrides go on top (deprecated key spellings are
    renamed with a warning). `resume` and `quiet` (the CLI's `--resume`, `--quiet`) set the
    config keys of those names. Returns `out/final`.
    """
    from openhoi.training import compose_train_config

    overrides = list(overrides)
    stages = [o.split("=", 1)[1] for o in overrides if o.startswith("stage=")]
    stage = stages[-1] if stages else "fine"
    if stage not in ("coarse", "fine"):
        raise InputError(f"stage must be 'coarse' or 'fine', got {stage!r}")
    rest = [o for o in overrides if not o.startswith("stage=")]
    config = compose_train_config(f"mllm/{stage}", PlannerTrainConfig, rest)
    config.resume = config.resume or resume
    config.quiet = config.quiet or quiet
    return train_planner(config, progress=progress)


def train_planner(
    config: PlannerTrainConfig, *, progress: Callable[[int, dict], None] | None = None
) -> Path:
    """Train one stage; returns the final checkpoint folder (`out/final`).

    `progress(step, record)` is called every `log_interval` steps and at the first step.
    """
    from openhoi.mllm.checkpoint import load_checkpoint, save_checkpoint
    from openhoi.provenance import dataset_hand
    from openhoi.training import (
        RunLog,
        Runtime,
        capture_train_state,
        find_resume_point,
        restore_train_state,
        save_train_checkpoint,
        warmup_cosine_scheduler,
    )

    config.validate()
    torch.manual_seed(config.seed)
    out = Path(config.out)
    last = out / "last"
    runtime = Runtime(
        device=config.device, use_accelerate=config.use_accelerate, mixed_precision=None
    )
    resumed = find_resume_point(last, config.resume)
    if resumed is not None:
        model, _ = load_checkpoint(resumed[0])
        model.train()
    else:
        model = _build_model(config)
    model.to(runtime.device)
    if config.trainable == "mask_head":
        # The plan never reads these weights, and nothing upstream of them needs a gradient:
        # the language model and the point encoder's patch transformer run as plain forwards.
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith(MASK_HEAD))
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = warmup_cosine_scheduler(
        optimizer, warmup_steps=config.warmup_steps, total_steps=config.steps
    )
    # Under accelerate each process draws its own scenes.
    seed = config.seed if runtime.accelerator is None else [config.seed, runtime.process_index]
    rng = np.random.default_rng(seed)
    start_step = 0
    if resumed is not None:
        state = resumed[1]
        restore_train_state(state, optimizer, scheduler, generators={"data": rng}, runtime=runtime)
        start_step = state.step
    model, optimizer = runtime.prepare(model, optimizer)
    stream = sample_stream(config, rng)
    core = runtime.unwrap(model)
    backbone = config.backbone_spec()
    settings = json.dumps(dataclasses.asdict(config), indent=2).encode()
    # The episodes' hand made their contact masks; procedural scenes involve no hand.
    hand = dataset_hand(config.data).to_record() if config.data else None

    def checkpoint(step: int) -> None:
        if runtime.is_main:
            state = capture_train_state(
                step, optimizer, scheduler, generators={"data": rng}, runtime=runtime
            )
            save_train_checkpoint(
                last,
                state,
                lambda folder: save_checkpoint(
                    core, backbone, folder, extra_files={"train_config.json": settings}, hand=hand
                ),
            )
        runtime.wait()

    history: list[dict] = []
    started = time.time()
    log = RunLog(
        out,
        total_steps=config.steps,
        start_step=start_step,
        resume=resumed is not None,
        quiet=config.quiet,
        enabled=runtime.is_main,
        label="planner",
    )
    with log:
        for step in range(start_step, config.steps):
            batch = [next(stream) for _ in range(config.batch_size)]
            output = model(batch, config.task_weight, config.aff_weight, config.pointer_weight)
            optimizer.zero_grad(set_to_none=True)
            runtime.backward(output.loss)
            runtime.clip(parameters, config.grad_clip)
            optimizer.step()
            scheduler.step()
            done = step + 1
            record = {
                "step": done,
                "loss": output.loss.item(),
                "task_loss": output.task_loss.item(),
                "aff_loss": output.aff_loss.item(),
                "pointer_loss": output.pointer_loss.item(),
                "lr": scheduler.get_last_lr()[0],
                "elapsed_s": round(time.time() - started, 1),
            }
            history.append(record)
            if done % config.log_interval == 0 or done == config.steps:
                log.log(done, {k: v for k, v in record.items() if k != "step"})
            if progress is not None and (done % config.log_interval == 0 or step == start_step):
                progress(done, record)
            if done % config.checkpoint_interval == 0 or done == config.steps:
                checkpoint(done)
            log.advance(done, {"loss": record["loss"]})
    final = out / "final"
    if runtime.is_main:
        save_checkpoint(
            core,
            backbone,
            final,
            extra_files={
                "train_config.json": settings,
                "history.json": json.dumps(history[-200:]).encode(),
            },
            hand=hand,
        )
    return final
