"""Training loop of the HOI diffusion model: same code on CPU, one GPU or many (accelerate).

`train_diffusion(config, data_folder, out_dir)` trains on an episodes folder and writes
`out_dir/checkpoint/` (a model folder, see `openhoi.motion.checkpoint`, plus
`train_state.pt`) every `checkpoint_interval` steps and at the end, atomically.
`resume=True` continues exactly: weights, EMA, optimizer, LR scheduler, every RNG
(torch, CUDA, numpy, Python, the loop's own generator) and the data position. The
schedule, checkpoints, logging and devices are `openhoi.training`'s, shared with the
planner and the evaluator.

Multi-GPU: `accelerate launch -m openhoi.cli train motion data=... out=...`; each
process takes its slice of every global batch. Mixed precision (bf16/fp16 autocast) is
used on GPU only. Logs: `out_dir/log.jsonl` always, TensorBoard events in `out_dir/tb/`
when `tensorboard` is importable.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from openhoi._io import save_json_atomic
from openhoi.errors import InputError, MissingFileError
from openhoi.hand.identity import HandIdentity
from openhoi.motion.checkpoint import (
    CONFIG_FILE,
    EMA_FILE,
    MODEL_FILE,
    STATS_FILE,
    config_payload,
    load_weights_checked,
    read_model_folder,
)
from openhoi.motion.config import TrainConfig, config_to_dict
from openhoi.motion.denoiser import DenoiserCondition, MotionDenoiser
from openhoi.motion.losses import DiffusionLoss, LossOutput
from openhoi.motion.representation import FrameCodec, affordance_anchor, default_wrist_pivot
from openhoi.motion.schedule import NoiseSchedule
from openhoi.motion.text_encoder import PrecomputedTextEncoder, TextEncoder, load_text_encoder
from openhoi.provenance import check_training_hand, dataset_hand
from openhoi.training import (
    RunLog,
    Runtime,
    TrainState,
    capture_train_state,
    find_resume_point,
    restore_train_state,
    save_train_checkpoint,
    warmup_cosine_scheduler,
)

__all__ = ["TrainReport", "run_train_diffusion", "train_diffusion", "train_on_datasets"]

logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = "checkpoint"
VALIDATION_SEED = 12_345
# The learning rate decays to this share of its peak at the last step (`warmup_cosine`).
MIN_LR_FACTOR = 0.1
# Batches per length-sorted window in bucketed batching (_BatchOrder).
BUCKET_WINDOW = 16
# Model-frame features whose train std is below this keep std 1 (as the datasets do).
_MIN_STD = 1e-4


@dataclass(frozen=True)
class TrainReport:
    """What a training run did.

    losses: (step, total loss) every `log_interval` steps (main process, this run only).
    validation: (step, validation loss of the EMA model).
    """

    out_dir: Path
    checkpoint: Path
    start_step: int
    num_steps: int
    seconds: float
    seconds_per_step: float
    losses: list[tuple[int, float]] = field(default_factory=list)
    validation: list[tuple[int, float]] = field(default_factory=list)
    last_terms: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------- data order
class _BatchOrder:
    """Epoch-wise permutations from (seed, epoch): a position (epoch, batch) replays exactly.

    With `lengths`, batches are made of segments of similar length ("sortish" batching):
    the epoch's permutation is cut into windows of `BUCKET_WINDOW` batches, each window is
    sorted by length and cut into batches, and the batches are shuffled. Every segment is
    still seen once per epoch in a random batch, but a batch pads to its own longest
    segment. On SynthHOI (segments 31-121 frames, 5th-95th percentile; batch 64) random
    batches pad to 140 frames on average, 2.07x the real frames; bucketed ones to 73, 1.07x.
    """

    def __init__(
        self, num_items: int, global_batch: int, seed: int, lengths: Sequence[int] | None = None
    ) -> None:
        if num_items == 0:
            raise InputError("the training split holds no segments")
        self.num_items, self.global_batch, self.seed = num_items, global_batch, seed
        self.batches_per_epoch = max(1, num_items // global_batch)
        self.lengths = None if lengths is None else torch.as_tensor(list(lengths))
        if self.lengths is not None and len(self.lengths) != num_items:
            raise InputError(f"{len(self.lengths)} lengths for {num_items} segments")
        self._cache: tuple[int, Tensor] | None = None

    def _epoch_order(self, epoch: int) -> Tensor:
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.num_items, generator=generator)
        if self.num_items < self.global_batch:  # tiny sets: repeat to fill the batch
            order = order.repeat(math.ceil(self.global_batch / self.num_items))
        if self.lengths is not None:
            used = order[: self.batches_per_epoch * self.global_batch]
            window = BUCKET_WINDOW * self.global_batch
            chunks = []
            for start in range(0, len(used), window):
                chunk = used[start : start + window]
                chunks.append(chunk[torch.argsort(self.lengths[chunk], stable=True)])
            batches = torch.cat(chunks).view(self.batches_per_epoch, self.global_batch)
            order = batches[torch.randperm(self.batches_per_epoch, generator=generator)].flatten()
        self._cache = (epoch, order)
        return order

    def indices(self, epoch: int, batch: int) -> list[int]:
        start = batch * self.global_batch
        return self._epoch_order(epoch)[start : start + self.global_batch].tolist()

    def advance(self, epoch: int, batch: int) -> tuple[int, int]:
        batch += 1
        return (epoch + 1, 0) if batch >= self.batches_per_epoch else (epoch, batch)


# ------------------------------------------------------------------------- helpers
def _condition(batch: Any, text_encoder: TextEncoder, device: torch.device) -> DenoiserCondition:
    return DenoiserCondition(
        object_points=batch.object_points.float().to(device),
        affordance=batch.affordance.float().to(device),
        text_embedding=text_encoder.encode(list(batch.texts)).to(device),
        active_hands=batch.active_hands.bool().to(device),
        frame_mask=batch.frame_mask.bool().to(device),
    )


@dataclass(frozen=True)
class _Frames:
    """Turns a batch's world-normalised frames into the model's normalised frames.

    The datasets normalise world frames with their own stats (`world_mean/std`); the model
    is trained on `codec.encode`d frames normalised with `mean/std` (equal to the world
    ones for the world representation, where nothing is converted).
    """

    codec: FrameCodec
    world_mean: Tensor
    world_std: Tensor
    mean: Tensor
    std: Tensor

    def model_frames(self, batch: Any, device: torch.device) -> tuple[Tensor, Tensor | None]:
        """`(B, T, 208)` normalised model frames (0 on padded frames) and the anchors."""
        frames = batch.frames.float().to(device)
        if self.codec.is_identity:
            return frames, None
        anchor = affordance_anchor(batch.object_points.to(device), batch.affordance.to(device))
        world = frames * self.world_std.to(device) + self.world_mean.to(device)
        encoded = self.codec.encode(world, anchor, batch.active_hands.bool().to(device))
        normalised = (encoded - self.mean.to(device)) / self.std.to(device)
        mask = batch.frame_mask.bool().to(device)[..., None]
        return torch.where(mask, normalised, torch.zeros_like(normalised)), anchor


def _codec(config: TrainConfig) -> FrameCodec:
    """The run's codec (filled into `config.representation`, which checkpoints store).

    A fine-tune takes the initial model's pivots; a fresh object-centric run without
    pivots gets the hand asset's.
    """
    representation = config.representation
    if config.init_from:
        init = read_model_folder(config.init_from).config.representation
        if init.kind != representation.kind:
            raise InputError(
                f"init_from {config.init_from} is a {init.kind!r} model; the run asks for "
                f"representation.kind={representation.kind!r}"
            )
        representation.wrist_pivot = init.wrist_pivot
    if representation.kind != "world" and representation.wrist_pivot is None:
        representation.wrist_pivot = default_wrist_pivot()
    return FrameCodec(representation.kind, representation.wrist_pivot)


def _model_stats(
    train_set: Sequence[Any],
    collate: Callable[[list[Any]], Any],
    codec: FrameCodec,
    world_mean: Tensor,
    world_std: Tensor,
) -> tuple[Tensor, Tensor]:
    """(208,) mean and std of the training frames in the model's representation."""
    total = torch.zeros(world_mean.shape, dtype=torch.float64)
    square = torch.zeros_like(total)
    count = 0
    unit = torch.ones_like(world_std)
    identity = _Frames(codec, world_mean, world_std, torch.zeros_like(world_mean), unit)
    chunk = 256
    for start in range(0, len(train_set), chunk):
        batch = collate([train_set[i] for i in range(start, min(len(train_set), start + chunk))])
        encoded, _ = identity.model_frames(batch, torch.device("cpu"))
        real = encoded[batch.frame_mask.bool()].double()
        total += real.sum(dim=0)
        square += (real**2).sum(dim=0)
        count += real.shape[0]
    if count == 0:
        raise InputError("the training split holds no frames")
    mean = total / count
    std = (square / count - mean**2).clamp_min(0.0).sqrt()
    std = torch.where(std < _MIN_STD, torch.ones_like(std), std)
    return mean.float(), std.float()


def _training_text_encoder(config: TrainConfig) -> TextEncoder:
    def load() -> TextEncoder:
        return load_text_encoder(config.text_encoder, config.text_encoder_path)

    if config.text_embedding_cache:
        return PrecomputedTextEncoder(config.text_embedding_cache, fallback=load)
    return load()


def _init_weights(
    folder: str, model: torch.nn.Module, ema: torch.nn.Module, mean: Tensor, std: Tensor
) -> None:
    """Start `model` and `ema` from a model folder's (EMA) weights (`TrainConfig.init_from`)."""
    init = read_model_folder(folder)
    if not (torch.allclose(init.mean, mean.cpu()) and torch.allclose(init.std, std.cpu())):
        raise InputError(
            f"init_from {folder}: the data must be normalised with that model's own "
            "normalisation stats (its normalisation.safetensors)"
        )
    load_weights_checked(model, init.weights, init.weights_path)
    ema.load_state_dict(model.state_dict())
    logger.info("initialised from %s", init.weights_path)


def _update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for ema_p, p in zip(ema.parameters(), model.parameters(), strict=True):
            ema_p.lerp_(p.detach().to(ema_p.dtype), 1 - decay)


# ------------------------------------------------------------------------- public
def train_diffusion(
    config: TrainConfig,
    data_folder: str | Path,
    out_dir: str | Path,
    resume: bool = False,
    *,
    stop_at_step: int | None = None,
    text_encoder: TextEncoder | None = None,
) -> TrainReport:
    """Train the denoiser on an episodes folder (SynthHOI or a prepared real dataset).

    Args:
        config: the run (model, diffusion, loss and optimisation settings).
        data_folder: folder with `index.json` and shards.
        out_dir: where `checkpoint/`, `log.jsonl` (and `tb/`) go.
        resume: continue from `out_dir/checkpoint` exactly (from step 0, with a warning,
            when there is none yet).
        stop_at_step: stop (after a checkpoint) at this step, as a kill would; the LR
            schedule still follows `config.steps`. For time-boxed jobs and tests.
        text_encoder: use this encoder instead of `config.text_encoder` (tests).

    Raises:
        MissingFileError: no data folder.
        InputError: bad config or data, or a corrupted checkpoint.
    """
    from openhoi.data.torch_dataset import NormalisationStats, SegmentDataset, collate_segments

    data_folder = Path(data_folder)
    if not data_folder.is_dir():
        raise MissingFileError(f"data folder {data_folder} does not exist")
    stats = None
    if config.init_from and config.representation.kind == "world":
        # Fine-tuning keeps the normalisation the initial weights were trained with (an
        # object-centric model's stats are of its own frames; train_on_datasets takes them).
        init = read_model_folder(config.init_from)
        stats = NormalisationStats(init.mean.numpy(), init.std.numpy())
    train_set = SegmentDataset(
        data_folder, split="train", max_frames=config.max_frames, stats=stats
    )
    try:
        val_set = SegmentDataset(
            data_folder, split="val", max_frames=config.max_frames, stats=stats
        )
        if len(val_set) == 0:
            val_set = None
    except (InputError, MissingFileError, KeyError, ValueError):
        val_set = None
    mean, std = _dataset_stats(train_set)
    return train_on_datasets(
        config,
        train_set,
        val_set,
        collate_segments,
        mean,
        std,
        out_dir,
        resume=resume,
        stop_at_step=stop_at_step,
        text_encoder=text_encoder,
        data_hand=dataset_hand(data_folder),
        data_name=str(data_folder),
    )


def run_train_diffusion(
    overrides: Sequence[str] = (), *, resume: bool = False, quiet: bool = False
) -> TrainReport:
    """`openhoi train motion KEY=VALUE ...`: compose `train_diffusion.yaml`, validate, train.

    `resume` and `quiet` (the CLI's `--resume`, `--quiet`) set the config keys of those names.
    Deprecated key spellings (`num_steps=`, ...) are renamed with a warning.
    """
    from openhoi.training import compose_train_config

    config = compose_train_config("train_diffusion", TrainConfig, list(overrides))
    config.resume = config.resume or resume
    config.quiet = config.quiet or quiet
    config.validate()
    return train_diffusion(config, config.data, config.out, resume=config.resume)


def _dataset_stats(dataset: Any) -> tuple[Tensor, Tensor]:
    """(208,) mean and std the dataset normalises with."""
    stats = getattr(dataset, "stats", None)
    if stats is None:
        raise InputError("SegmentDataset has no normalisation stats (.stats)")
    return (
        torch.as_tensor(np.asarray(stats.mean), dtype=torch.float32),
        torch.as_tensor(np.asarray(stats.std), dtype=torch.float32),
    )


def train_on_datasets(
    config: TrainConfig,
    train_set: Sequence[Any],
    val_set: Sequence[Any] | None,
    collate: Callable[[list[Any]], Any],
    mean: Tensor,
    std: Tensor,
    out_dir: str | Path,
    *,
    resume: bool = False,
    stop_at_step: int | None = None,
    text_encoder: TextEncoder | None = None,
    data_hand: HandIdentity | None = None,
    data_name: str | None = None,
) -> TrainReport:
    """The training loop over in-memory datasets whose items `collate` turns into a SegmentBatch.

    Items are indexed `train_set[i]`; batches need `frames (B,T,208)` (normalised with
    `mean`, `std`), `frame_mask`, `active_hands`, `object_points (B,P,6)`,
    `affordance (B,P)` and `texts`. `data_hand` is the hand the data was made with
    (recorded in the checkpoint; warned about when the losses' hand differs); None reads
    it from `train_set.folder` when there is one, else records none.
    """
    out_dir = Path(out_dir)
    if data_hand is None and getattr(train_set, "folder", None) is not None:
        data_hand, data_name = dataset_hand(train_set.folder), str(train_set.folder)
    if data_hand is not None:
        check_training_hand(data_hand, data_name or "used for training")
    hand_record = None if data_hand is None else data_hand.to_record()
    checkpoint_dir = out_dir / CHECKPOINT_FOLDER
    runtime = Runtime(mixed_precision=config.mixed_precision)
    device = runtime.device
    encoder = text_encoder or _training_text_encoder(config)
    if encoder.dim != config.model.text_dim:
        raise InputError(
            f"text encoder {encoder.name!r} gives {encoder.dim}-D embeddings but "
            f"model.text_dim is {config.model.text_dim}"
        )

    # 0. The model's representation and its normalisation (world stats pass through).
    codec = _codec(config)
    world_mean, world_std = mean, std
    if not codec.is_identity:
        if config.init_from:
            init = read_model_folder(config.init_from)
            mean, std = init.mean, init.std
        else:
            mean, std = _model_stats(train_set, collate, codec, world_mean, world_std)
    frames = _Frames(codec, world_mean, world_std, mean, std)

    # 1. Build everything from the seed (weights of a fresh run depend on it only).
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    model = MotionDenoiser(config.model).to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    loss_fn = DiffusionLoss(config.loss, mean, std, codec).to(device)
    schedule = NoiseSchedule(config.diffusion)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = warmup_cosine_scheduler(
        optimizer,
        warmup_steps=config.warmup_steps,
        total_steps=config.steps,
        min_factor=MIN_LR_FACTOR,
    )
    train_generator = torch.Generator().manual_seed(config.seed * 7919 + runtime.process_index)
    lengths = getattr(train_set, "lengths", None) if config.bucket_by_length else None
    order = _BatchOrder(
        len(train_set), config.batch_size * runtime.num_processes, config.seed, lengths
    )
    step, epoch, batch_index = 0, 0, 0
    resumed = find_resume_point(checkpoint_dir, resume)
    if config.init_from and resumed is None:
        _init_weights(config.init_from, model, ema, mean, std)

    # 2. Resume.
    if resumed is not None:
        step, epoch, batch_index = _load_train_state(
            *resumed, model, ema, optimizer, scheduler, train_generator, runtime
        )
    model, optimizer = runtime.prepare(model, optimizer)

    if runtime.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_json_atomic(out_dir / "train_config.json", config_to_dict(config))
    num_points = (
        int(train_set[0].object_points.shape[0]) if hasattr(train_set[0], "object_points") else 1024
    )

    def checkpoint() -> None:
        if runtime.is_main:
            _save_checkpoint(
                checkpoint_dir, config, num_points, runtime.unwrap(model), ema, mean, std,
                optimizer, scheduler, train_generator, runtime, step, epoch, batch_index,
                hand_record,
            )  # fmt: skip
        runtime.wait()

    # 3. Loop.
    end_step = config.steps if stop_at_step is None else min(stop_at_step, config.steps)
    losses: list[tuple[int, float]] = []
    validation: list[tuple[int, float]] = []
    last_terms: dict[str, float] = {}
    start_step, started = step, time.perf_counter()
    log = RunLog(
        out_dir,
        total_steps=end_step,
        start_step=start_step,
        resume=resumed is not None,
        quiet=config.quiet,
        enabled=runtime.is_main,
        label="motion",
    )
    with log:
        model.train()
        while step < end_step:
            indices = order.indices(epoch, batch_index)
            share = indices[runtime.process_index * config.batch_size :][: config.batch_size]
            batch = collate([train_set[i] for i in share])
            terms = _train_step(
                model, loss_fn, schedule, batch, frames, encoder, config, train_generator, runtime
            )
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            decay = min(config.ema_decay, (1 + step) / (10 + step))
            _update_ema(ema, runtime.unwrap(model), decay)
            step += 1
            epoch, batch_index = order.advance(epoch, batch_index)
            last_terms = {k: float(runtime.mean(v)) for k, v in terms.items()}
            if step % config.log_interval == 0 or step == end_step:
                losses.append((step, last_terms["total"]))
                log.log(step, {**last_terms, "lr": scheduler.get_last_lr()[0]}, "train")
            if val_set is not None and (step % config.validation_interval == 0 or step == end_step):
                value = _validation_loss(
                    ema, loss_fn, schedule, val_set, collate, frames, encoder, config, device
                )
                validation.append((step, value))
                log.log(step, {"total": value}, "val")
            if step % config.checkpoint_interval == 0 or step == end_step:
                checkpoint()
            log.advance(step, last_terms)
    seconds = time.perf_counter() - started
    done = max(1, step - start_step)
    return TrainReport(
        out_dir=out_dir,
        checkpoint=checkpoint_dir,
        start_step=start_step,
        num_steps=step,
        seconds=seconds,
        seconds_per_step=seconds / done,
        losses=losses,
        validation=validation,
        last_terms=last_terms,
    )


def _train_step(
    model: torch.nn.Module,
    loss_fn: DiffusionLoss,
    schedule: NoiseSchedule,
    batch: Any,
    frames: _Frames,
    encoder: TextEncoder,
    config: TrainConfig,
    generator: torch.Generator,
    runtime: Runtime,
) -> dict[str, Tensor]:
    device = runtime.device
    x0, anchor = frames.model_frames(batch, device)
    condition = _condition(batch, encoder, device)
    size = x0.shape[0]
    # Every random draw of the step comes from `generator` (CPU), in a fixed order.
    t = torch.randint(0, schedule.num_timesteps, (size,), generator=generator).to(device)
    noise = torch.randn(x0.shape, generator=generator).to(device)
    drop = (torch.rand(size, generator=generator) < config.condition_drop_prob).to(device)
    mask = condition.frame_mask[..., None].to(x0.dtype)
    x_t = schedule.add_noise(x0, noise, t) * mask
    with runtime.autocast():
        x0_pred = model(x_t, t, condition, drop)
    out: LossOutput = loss_fn(
        x0_pred,
        x0,
        condition.frame_mask,
        condition.active_hands,
        condition.object_points,
        generator,
        anchor,
    )
    runtime.backward(out.total)
    runtime.clip(model, config.grad_clip)
    return {"total": out.total.detach(), "x0": out.x0.detach(),
            "distance": out.distance.detach(), "orientation": out.orientation.detach()}  # fmt: skip


@torch.no_grad()
def _validation_loss(
    ema: torch.nn.Module,
    loss_fn: DiffusionLoss,
    schedule: NoiseSchedule,
    val_set: Sequence[Any],
    collate: Callable[[list[Any]], Any],
    frames: _Frames,
    encoder: TextEncoder,
    config: TrainConfig,
    device: torch.device,
) -> float:
    """Mean loss of the EMA model on fixed validation batches with fixed noise (comparable)."""
    generator = torch.Generator().manual_seed(VALIDATION_SEED)
    total, count = 0.0, 0
    for k in range(config.num_validation_batches):
        start = k * config.batch_size
        if start >= len(val_set):
            break
        batch = collate(
            [val_set[i] for i in range(start, min(len(val_set), start + config.batch_size))]
        )
        x0, anchor = frames.model_frames(batch, device)
        condition = _condition(batch, encoder, device)
        t = torch.randint(0, schedule.num_timesteps, (x0.shape[0],), generator=generator).to(device)
        noise = torch.randn(x0.shape, generator=generator).to(device)
        x_t = schedule.add_noise(x0, noise, t) * condition.frame_mask[..., None].to(x0.dtype)
        x0_pred = ema(x_t, t, condition)
        out = loss_fn(x0_pred, x0, condition.frame_mask, condition.active_hands,
                      condition.object_points, generator, anchor)  # fmt: skip
        total += float(out.total)
        count += 1
    return total / max(1, count)


def _save_checkpoint(
    target: Path,
    config: TrainConfig,
    num_points: int,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    mean: Tensor,
    std: Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    train_generator: torch.Generator,
    runtime: Runtime,
    step: int,
    epoch: int,
    batch_index: int,
    hand: dict[str, Any] | None,
) -> None:
    """A model folder (weights, EMA, stats, config.json) + train_state.pt, atomically."""
    from safetensors.torch import save_file

    def write_model(folder: Path) -> None:
        save_file(_cpu_state(model), str(folder / MODEL_FILE))
        save_file(_cpu_state(ema), str(folder / EMA_FILE))
        save_file({"mean": mean.float().cpu().contiguous(), "std": std.float().cpu().contiguous()},
                  str(folder / STATS_FILE))  # fmt: skip
        save_json_atomic(folder / CONFIG_FILE, config_payload(config, num_points, hand))

    state = capture_train_state(
        step,
        optimizer,
        scheduler,
        generators={"train": train_generator},
        data={"epoch": epoch, "batch_index": batch_index},
        runtime=runtime,
    )
    save_train_checkpoint(target, state, write_model)


def _cpu_state(module: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _load_train_state(
    folder: Path,
    state: TrainState,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    train_generator: torch.Generator,
    runtime: Runtime,
) -> tuple[int, int, int]:
    """Weights and EMA from `folder`, the rest from `state`; returns (step, epoch, batch)."""
    from safetensors.torch import load_file

    try:
        load_weights_checked(model, load_file(str(folder / MODEL_FILE)), folder / MODEL_FILE)
        load_weights_checked(ema, load_file(str(folder / EMA_FILE)), folder / EMA_FILE)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"checkpoint {folder} is corrupted ({exc}); delete it or start fresh"
        ) from exc
    restore_train_state(
        state, optimizer, scheduler, generators={"train": train_generator}, runtime=runtime
    )
    return state.step, int(state.data["epoch"]), int(state.data["batch_index"])
