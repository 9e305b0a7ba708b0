"""Sampling HOI segments from a trained model: `load_generator(path)` → `MotionGenerator.sample`.

The generator owns the denoiser, its noise schedule, the text encoder and the
normalisation stats a model folder ships with (`openhoi.motion.checkpoint`); the
sampler is picked by name per call. Determinism: sample i of a call draws all its noise
from its own generator seeded from (seed, i), so sample i does not depend on the other
prompts of the batch (same seed, position and device → same motion). With one seed per
sample (`seed=[s_0, s_1, ...]`), sample i draws exactly what the only sample of a call
with `seed=s_i` draws, so a segment sampled in any batch can be reproduced alone.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from openhoi.data import HOISequence
from openhoi.errors import InputError, MissingFileError
from openhoi.motion.cfg import ClassifierFreeGuidance
from openhoi.motion.checkpoint import ModelFolder, load_weights_checked, read_model_folder
from openhoi.motion.config import DDIMSamplerConfig, DDPMSamplerConfig, TrainConfig
from openhoi.motion.denoiser import DenoiserCondition, MotionDenoiser
from openhoi.motion.guidance import Guidance, GuidanceContext
from openhoi.motion.representation import FrameCodec
from openhoi.motion.samplers import available_samplers, make_sampler
from openhoi.motion.sampling import StartFrames, sample_loop
from openhoi.motion.schedule import NoiseSchedule
from openhoi.motion.text_encoder import TextEncoder, load_text_encoder
from openhoi.vocab import HAND_CHOICES

__all__ = [
    "HAND_CHOICES",
    "MotionCondition",
    "MotionGenerator",
    "default_model_path",
    "load_generator",
]

logger = logging.getLogger(__name__)

_ACTIVE = {"left": (True, False), "right": (False, True), "both": (True, True)}
_ASSET_PACKAGE = "openhoi.assets"
_ASSET_FOLDER = "motion"
RECIPE = "python tools/train_diffusion_default.py"


@dataclass(frozen=True, eq=False)
class MotionCondition:
    """One segment to generate.

    object: a built-in object name or mesh path, or an `HOIObject`.
    affordance: `(P,)` per-point mask in [0, 1] on the object's P = 1024 condition points.
    text: the sub-task text ("grasp the mug by its handle").
    hands: "left", "right" or "both".
    anchor: `(P,)` mask whose centroid anchors the object-centric frame instead of
        `affordance` (None: `affordance`); for the ablation that removes the mask condition
        but keeps the frame ("w/o affordance, anchor kept").
    """

    object: object
    affordance: np.ndarray | Tensor
    text: str
    hands: str = "right"
    anchor: np.ndarray | Tensor | None = None

    def __post_init__(self) -> None:
        if self.hands not in HAND_CHOICES:
            raise InputError(f"hands must be one of {HAND_CHOICES}, got {self.hands!r}")
        if not isinstance(self.text, str):
            raise InputError(f"text must be a string, got {type(self.text).__name__}")

    @classmethod
    def from_subtask(cls, obj, subtask) -> MotionCondition:
        """The condition of a planned sub-task on `obj` (an `HOIObject`): its text, hands
        and mask, moved from the planner's 2048 normalised points to the 1024 condition
        points (nearest point)."""
        normalised = obj.normalised_points
        source = torch.tensor(normalised.to_object_frame(normalised.points), dtype=torch.float32)
        target = torch.tensor(np.asarray(obj.points.points), dtype=torch.float32)
        nearest = torch.cdist(target, source).argmin(dim=1).numpy()
        mask = np.asarray(subtask.mask, np.float32)[nearest]
        return cls(object=obj, affordance=mask, text=subtask.text, hands=subtask.hands)


def default_model_path() -> Path:
    """The folder of the shipped default weights (inside the installed package)."""
    return Path(str(importlib.resources.files(_ASSET_PACKAGE).joinpath(_ASSET_FOLDER)))


def load_generator(
    path: str | os.PathLike | None = None,
    *,
    device: str | torch.device | None = None,
    text_encoder: TextEncoder | None = None,
    prefer_ema: bool = True,
) -> MotionGenerator:
    """Load a model folder (None: the shipped default under `openhoi/assets/motion/`).

    Raises:
        MissingFileError: the folder or a file in it is missing.
        InputError: a file is corrupted or does not match its config.
    """
    folder = Path(path) if path is not None else default_model_path()
    if path is None and not (folder / "config.json").is_file():
        raise MissingFileError(
            f"the default motion weights are not installed in {folder}; train them with: {RECIPE}"
        )
    model_folder = read_model_folder(folder, prefer_ema=prefer_ema)
    return MotionGenerator.from_model_folder(model_folder, device=device, text_encoder=text_encoder)


class MotionGenerator:
    """A trained denoiser ready to sample segments (build with `load_generator`)."""

    def __init__(
        self,
        model: MotionDenoiser,
        config: TrainConfig,
        mean: Tensor,
        std: Tensor,
        text_encoder: TextEncoder,
        num_points: int,
        sampling_defaults: dict | None = None,
    ) -> None:
        self.model = model.eval()
        self.config = config
        self.schedule = NoiseSchedule(config.diffusion)
        self.mean = mean.float()
        self.std = std.float()
        self.text_encoder = text_encoder
        self.num_points = num_points
        # The folder's inference defaults (config.json "sampling"; see motion.segments).
        self.sampling_defaults = dict(sampling_defaults or {})
        self.codec = FrameCodec(config.representation.kind, config.representation.wrist_pivot)

    @classmethod
    def from_model_folder(
        cls,
        folder: ModelFolder,
        *,
        device: str | torch.device | None = None,
        text_encoder: TextEncoder | None = None,
    ) -> MotionGenerator:
        """Build the denoiser from the folder's config and load its weights."""
        config = folder.config
        model = MotionDenoiser(config.model)
        load_weights_checked(model, folder.weights, folder.weights_path)
        device = (
            torch.device(device)
            if device is not None
            else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
        encoder = text_encoder or load_text_encoder(config.text_encoder, config.text_encoder_path)
        if encoder.dim != config.model.text_dim:
            raise InputError(
                f"model folder {folder.path} expects {config.model.text_dim}-D text embeddings, "
                f"text encoder {encoder.name!r} gives {encoder.dim}"
            )
        num_points = int(folder.data_spec.get("num_points", 1024))
        return cls(
            model.to(device),
            config,
            folder.mean,
            folder.std,
            encoder,
            num_points,
            folder.sampling,
        )

    @property
    def device(self) -> torch.device:
        """Where the denoiser runs."""
        return next(self.model.parameters()).device

    def resolve_sampling(self, sampling=None):
        """`sampling` (a `SamplingConfig`, None: all defaults) with every field set from
        this model folder's defaults."""
        from openhoi.motion.segments import SamplingConfig

        sampling = sampling if sampling is not None else SamplingConfig()
        return sampling.resolve(self.sampling_defaults, self.schedule.num_timesteps)

    @property
    def max_frames(self) -> int:
        """Longest segment the model was trained for."""
        return self.config.max_frames

    # ------------------------------------------------------------------ conditions
    def condition(
        self, conditions: Sequence[MotionCondition], num_frames: int
    ) -> DenoiserCondition:
        """The batched `DenoiserCondition` of `conditions` (all frames real)."""
        points, masks, anchors, actives = [], [], [], []
        for k, cond in enumerate(conditions):
            obj_points = self._object_points(cond.object)
            num = obj_points.shape[0]
            mask = _checked_mask(cond.affordance, num, f"conditions[{k}].affordance")
            anchor = mask
            if cond.anchor is not None:
                anchor = _checked_mask(cond.anchor, num, f"conditions[{k}].anchor")
            points.append(obj_points)
            masks.append(mask)
            anchors.append(anchor)
            actives.append(torch.tensor(_ACTIVE[cond.hands]))
        texts = [c.text for c in conditions]
        batch = len(conditions)
        return DenoiserCondition(
            object_points=torch.stack(points),
            affordance=torch.stack(masks),
            text_embedding=self.text_encoder.encode(texts),
            active_hands=torch.stack(actives),
            frame_mask=torch.ones(batch, num_frames, dtype=torch.bool),
            anchor_mask=(
                None if all(c.anchor is None for c in conditions) else torch.stack(anchors)
            ),
        ).to(self.device)

    def _object_points(self, obj: object) -> Tensor:
        from openhoi.objects import HOIObject, load_object

        if not isinstance(obj, HOIObject):
            obj = load_object(obj)
        pts = obj.points
        xyzn = np.concatenate([pts.points, pts.normals], axis=1).astype(np.float32)
        if xyzn.shape[0] != self.num_points:
            raise InputError(
                f"object has {xyzn.shape[0]} condition points, the model expects {self.num_points}"
            )
        return torch.from_numpy(xyzn)

    def guidance_context(self, condition: DenoiserCondition) -> GuidanceContext:
        """The context guidance hooks receive for `condition`."""
        return GuidanceContext(
            condition=condition,
            mean=self.mean.to(self.device),
            std=self.std.to(self.device),
            codec=self.codec,
        )

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        conditions: Sequence[MotionCondition],
        num_frames: int,
        steps: int | None = None,
        sampler: str | None = None,
        guidance_scale: float | None = None,
        seed: int | Sequence[int] = 0,
        guidance: Guidance | None = None,
        *,
        eta: float | None = None,
        use_batched_cfg: bool = True,
        on_step: Callable[[int, int], None] | None = None,
        start_frames: Sequence[np.ndarray | None] | None = None,
        start_blend_frames: int = 0,
        end_frames: Sequence[np.ndarray | None] | None = None,
    ) -> list[HOISequence]:
        """Generate one segment per condition.

        Args:
            conditions: the prompts (object, affordance mask, text, hands); one batch.
            num_frames: frames per segment (30 fps), 1..max_frames.
            steps: sampler steps (None: the folder's default for DDIM, T for DDPM).
            sampler: "ddim" or "ddpm" (None: the folder's default, `resolve_sampling`).
            guidance_scale: CFG scale s (Eq. 7; None: the folder's, 2.5 as in the paper).
            seed: noise seed; same seed, prompt and device → same motion. An int seeds
                sample k from (seed, k); a sequence gives one seed per condition, and
                sample k then equals the single-condition call with `seed=seed[k]`.
            guidance: optional sampling-time guidance (refine's DSG).
            eta: DDIM stochasticity (None: the folder's, 1); 1 has DDPM's step variance, 0 is
                deterministic DDIM, which leaves a frame-to-frame ripple in the motion
                (8x the jerk on 60-frame segments, BENCHMARKS.md). DSG needs eta > 0.
            use_batched_cfg: False runs CFG as two passes (reference, benchmarks).
            on_step: progress callback (step_index, num_steps).
            start_frames: per condition None or `(n, 208)` world frames (n < num_frames)
                that sample k starts with exactly, in the segment's own frame (the object
                as the segment starts); the model continues from them (in-filling, see
                `openhoi.motion.sampling`). Segments of a plan continue each other this way.
            start_blend_frames: frames over which the jump after the start frames is faded
                out of every clean estimate (0: the start frames are only put in); the same
                count fades the jump into the end frames.
            end_frames: per condition None or `(m, 208)` world frames (same frame as
                `start_frames`) that sample k ends with exactly; start and end frames
                together must leave at least one frame to generate (start→target
                in-filling, `openhoi.infill`).

        Returns:
            One `HOISequence` per condition, in order.
        """
        if not conditions:
            raise InputError("sample needs at least one MotionCondition")
        if not 1 <= num_frames <= self.max_frames:
            raise InputError(f"num_frames must be 1..{self.max_frames}, got {num_frames}")
        if sampler is not None and sampler not in available_samplers():
            raise InputError(
                f"unknown sampler {sampler!r}; known: {', '.join(available_samplers())}"
            )
        if steps is not None and not 1 <= steps <= self.schedule.num_timesteps:
            raise InputError(f"steps must be 1..{self.schedule.num_timesteps}, got {steps}")
        from openhoi.motion.segments import SamplingConfig

        chosen = self.resolve_sampling(
            SamplingConfig(sampler=sampler, steps=steps, eta=eta, guidance_scale=guidance_scale)
        )
        if chosen.sampler == "ddim":
            sampler_obj = make_sampler("ddim", self.schedule, DDIMSamplerConfig(eta=chosen.eta))
        else:
            sampler_obj = make_sampler("ddpm", self.schedule, DDPMSamplerConfig())
        num_steps = chosen.steps
        cfg = ClassifierFreeGuidance(chosen.guidance_scale)
        condition = self.condition(conditions, num_frames)
        if isinstance(seed, Sequence):
            if len(seed) != len(conditions):
                raise InputError(
                    f"got {len(seed)} seeds for {len(conditions)} conditions; pass one seed "
                    "per condition, or a single int"
                )
            streams = [(int(s), 0) for s in seed]
        else:
            streams = [(int(seed), k) for k in range(len(conditions))]
        generators = [torch.Generator().manual_seed(s * 1_000_003 + k) for s, k in streams]
        shape = (num_frames, self.mean.shape[0])
        x_T = torch.stack([torch.randn(shape, generator=g) for g in generators]).to(self.device)
        start = self._start_frames(
            start_frames, condition, num_frames, start_blend_frames, end_frames
        )
        x0 = sample_loop(
            self.model,
            sampler_obj,
            condition,
            x_T,
            num_steps=num_steps,
            cfg=cfg,
            generator=generators,
            guidance=guidance,
            context=self.guidance_context(condition) if guidance is not None else None,
            use_batched_cfg=use_batched_cfg,
            on_step=on_step,
            start=start,
        )
        with torch.no_grad():
            frames = self.guidance_context(condition).to_physical(x0.float()).cpu().numpy()
        return [
            self._to_sequence(frames[k], cond, condition.active_hands[k].cpu().numpy())
            for k, cond in enumerate(conditions)
        ]

    def _start_frames(
        self,
        start_frames: Sequence[np.ndarray | None] | None,
        condition: DenoiserCondition,
        num_frames: int,
        blend_frames: int,
        end_frames: Sequence[np.ndarray | None] | None = None,
    ) -> StartFrames | None:
        """The normalised model frames of `start_frames` and `end_frames` (None when no
        sample has any)."""
        batch = condition.batch_size
        has_end = end_frames is not None and any(f is not None for f in end_frames)
        if (start_frames is None or all(f is None for f in start_frames)) and not has_end:
            return None
        start_frames = [None] * batch if start_frames is None else start_frames
        if len(start_frames) != batch:
            raise InputError(f"got {len(start_frames)} start_frames for {batch} conditions")
        if has_end and len(end_frames) != batch:
            raise InputError(f"got {len(end_frames)} end_frames for {batch} conditions")
        if blend_frames < 0:
            raise InputError(f"start_blend_frames must be >= 0, got {blend_frames}")
        values = torch.zeros(batch, num_frames, self.mean.shape[0])
        counts = torch.zeros(batch, dtype=torch.long)
        for k, frames in enumerate(start_frames):
            if frames is None:
                continue
            frames = torch.as_tensor(np.asarray(frames, np.float32))
            if frames.ndim != 2 or frames.shape[1] != self.mean.shape[0]:
                raise InputError(
                    f"start_frames[{k}] must have shape (n, {self.mean.shape[0]}), "
                    f"got {tuple(frames.shape)}"
                )
            if not 1 <= frames.shape[0] < num_frames or not torch.isfinite(frames).all():
                raise InputError(
                    f"start_frames[{k}] must hold 1..{num_frames - 1} finite frames, "
                    f"got {frames.shape[0]}"
                )
            values[k, : frames.shape[0]] = frames
            counts[k] = frames.shape[0]
        end_counts = torch.zeros(batch, dtype=torch.long) if has_end else None
        for k, frames in enumerate(end_frames if has_end else ()):
            if frames is None:
                continue
            frames = torch.as_tensor(np.asarray(frames, np.float32))
            free = num_frames - int(counts[k])
            if frames.ndim != 2 or frames.shape[1] != self.mean.shape[0]:
                raise InputError(
                    f"end_frames[{k}] must have shape (m, {self.mean.shape[0]}), "
                    f"got {tuple(frames.shape)}"
                )
            if not 1 <= frames.shape[0] < free or not torch.isfinite(frames).all():
                raise InputError(
                    f"end_frames[{k}] must hold 1..{free - 1} finite frames (after "
                    f"{int(counts[k])} start frames of {num_frames}), got {frames.shape[0]}"
                )
            values[k, num_frames - frames.shape[0] :] = frames
            end_counts[k] = frames.shape[0]
        context = self.guidance_context(condition)
        with torch.no_grad():
            normalised = context.to_normalised(values.to(self.device))
        frame = torch.arange(num_frames)[None]
        given = frame < counts[:, None]
        if end_counts is not None:
            given |= frame >= num_frames - end_counts[:, None]
        normalised = torch.where(given.to(self.device)[..., None], normalised, 0.0)
        return StartFrames(normalised, counts, blend_frames, end_counts)

    def _to_sequence(
        self, frames: np.ndarray, cond: MotionCondition, active: np.ndarray
    ) -> HOISequence:
        from openhoi.objects import HOIObject

        # The object's reference (built-in name, or mesh file + hash), never a bare stem.
        name = str(cond.object)
        if isinstance(cond.object, HOIObject):
            name = cond.object.name if cond.object.ref is None else str(cond.object.ref)
        return HOISequence(
            frames=frames,
            active_hands=np.broadcast_to(active, (frames.shape[0], 2)).copy(),
            object_name=name,
            texts=(cond.text,),
            affordance=np.asarray(cond.affordance, dtype=np.float32)[None],
        )


def _checked_mask(values, num_points: int, what: str) -> Tensor:
    """A `(P,)` per-point mask in [0, 1] as a float tensor, or InputError naming `what`."""
    mask = torch.tensor(np.asarray(values), dtype=torch.float32)
    if mask.shape != (num_points,):
        raise InputError(
            f"{what} must have shape ({num_points},) (one value per condition point), "
            f"got {tuple(mask.shape)}"
        )
    if not torch.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
        raise InputError(f"{what} must lie in [0, 1]")
    return mask
