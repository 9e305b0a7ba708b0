"""Training of the motion evaluator (`openhoi train evaluator data=DIR out=DIR`).

Data: the "train" split of an episode folder (`SegmentDataset`, whose train-split stats the
evaluator keeps), validated on the "val" split; a folder without splits.json (written by
hand) trains on all its episodes and gets no validation metrics. Each step draws
`batch_size` segments; each segment's text is its sub-task text or, for SynthHOI, a random
phrasing of the same sub-task (`episode.metadata["subtask_paraphrases"]`).

Loss: symmetric InfoNCE (CLIP-style) on L2-normalised embeddings, where in-batch pairs
describing the same sub-task are masked out of the negatives (see :func:`contrastive_loss`).
AdamW, linear warm-up then cosine decay (`openhoi.training.warmup_cosine`). At the end,
validation R-precision (top-1..3, pools of 32) and matching score go into the evaluator's
config.json. Same seed, data and device → same weights.

The run folder `work` (default `<out>.train`, beside the evaluator folder, which stays as
it is shipped) holds `log.jsonl` and `checkpoint/` (every `checkpoint_interval` steps and
at the end: weights, optimizer, schedule, RNG and data position); `resume=true` continues
from it exactly. One process, on `device`: the loss takes its negatives from the batch, so
splitting a batch over GPUs would change what it computes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from openhoi._io import save_json_atomic
from openhoi.errors import InputError, MissingFileError
from openhoi.eval.evaluator import (
    DEFAULT_POOL_SIZE,
    EvaluatorConfig,
    MotionEvaluator,
    r_precision,
    save_evaluator,
)
from openhoi.training import (
    RunLog,
    Runtime,
    capture_train_state,
    find_resume_point,
    restore_train_state,
    save_train_checkpoint,
    warmup_cosine_scheduler,
)

__all__ = [
    "EvaluatorTrainConfig",
    "EvaluatorTrainReport",
    "contrastive_loss",
    "run_train_evaluator",
    "train_evaluator",
]

logger = logging.getLogger(__name__)

# Validation R-precision is averaged over this many reshuffles of the pools (the val split
# is small; Guo et al. repeat their evaluation 20 times).
VALIDATION_REPEATS = 10
# In the run folder: the training checkpoint, and its weights file.
CHECKPOINT_FOLDER = "checkpoint"
CHECKPOINT_WEIGHTS = "model.safetensors"


@dataclass
class EvaluatorTrainConfig:
    """`openhoi train evaluator`: data, network, optimisation, logging and checkpoints.

    The shared keys (`data`, `out`, `resume`, `steps`, `batch_size`, `log_interval`,
    `checkpoint_interval`, `warmup_steps`, `quiet`) are spelled as in the other trainers
    (`openhoi.training.config`; `num_steps` is a deprecated alias of `steps`).
    """

    # Episode folder (index.json + splits.json) and the evaluator folder to write.
    data: str | None = None
    out: str | None = None
    # Run folder (log.jsonl, checkpoint/); None = "<out>.train" beside `out`.
    work: str | None = None
    # Name saved in config.json; None = the folder's generator ("synthhoi") or source.
    dataset: str | None = None
    model: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    # Draw a random phrasing of each sub-task (SynthHOI `subtask_paraphrases`) per sample.
    use_paraphrases: bool = True
    # Optional safetensors file of precomputed text embeddings (`write_text_embeddings`).
    text_embedding_cache: str | None = None
    # Optimisation.
    batch_size: int = 64
    steps: int = 3000
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    # Logging, validation (R-precision on the val split) and checkpoints, in steps.
    log_interval: int = 100
    validation_interval: int = 1000
    checkpoint_interval: int = 500
    # Continue from the run folder's checkpoint exactly; no progress bar.
    resume: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        names = (
            "batch_size",
            "steps",
            "log_interval",
            "validation_interval",
            "checkpoint_interval",
        )
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be an integer >= 1, got {value!r}")
        if self.batch_size < 2:
            raise InputError(f"batch_size must be >= 2 (in-batch negatives), got {self.batch_size}")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, got {self.learning_rate}")
        for name in ("weight_decay", "warmup_steps", "grad_clip"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")

    def validate(self) -> None:
        """Run-wide checks before any expensive setup."""
        from openhoi.motion.text_encoder import available_text_encoders

        if not self.data:
            raise InputError("data must name an episodes folder (data=PATH), got nothing")
        if not self.out:
            raise InputError("out must name the evaluator folder to write (out=PATH), got nothing")
        if self.model.text_encoder not in available_text_encoders():
            raise InputError(
                f"model.text_encoder must be one of {available_text_encoders()}, "
                f"got {self.model.text_encoder!r}"
            )
        if not self.device.startswith(("cpu", "cuda")):
            raise InputError(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")

    def run_folder(self) -> Path:
        """Where log.jsonl and checkpoint/ go: `work`, or `<out>.train` beside `out`."""
        if self.work:
            return Path(self.work)
        out = Path(str(self.out))
        return out.with_name(out.name + ".train")


@dataclass(frozen=True)
class EvaluatorTrainReport:
    """What a training run did.

    losses: (step, training loss) every `log_interval` steps (this run's steps only).
    validation: the final validation metrics (empty when the folder has no val segments).
    history: (step, validation metrics) every `validation_interval` steps and at the end.
    start_step: the step the run resumed from (0 for a fresh run).
    """

    out: Path
    num_steps: int
    seconds: float
    num_train_segments: int
    num_val_segments: int
    losses: list[tuple[int, float]]
    validation: dict[str, float]
    history: list[tuple[int, dict[str, float]]]
    start_step: int = 0


def contrastive_loss(
    motion_embeddings: Tensor, text_embeddings: Tensor, group_ids: Tensor, temperature: float
) -> Tensor:
    """Symmetric InfoNCE on L2-normalised embeddings, same-text pairs masked from negatives.

    With m_i, t_j the unit embeddings and s_ij = m_i·t_j / τ, the motion→text term of sample
    i is −log(exp s_ii / Σ_{j ∈ N(i)} exp s_ij) with N(i) = {i} ∪ {j : group_j ≠ group_i}
    (CLIP, Radford et al. 2021, with false negatives removed); the text→motion term is the
    same on the transposed matrix, and the loss is their mean over the batch and directions.
    A batch whose samples all share one group has loss 0.

    Args:
        motion_embeddings: `(B, D)`.
        text_embeddings: `(B, D)`, row i describes motion i.
        group_ids: `(B,)` int; equal ids mean the same description (never a negative).
        temperature: τ > 0.

    Returns:
        Scalar loss.
    """
    if motion_embeddings.shape != text_embeddings.shape or motion_embeddings.ndim != 2:
        raise InputError(
            f"embeddings must both be (B, D), got {tuple(motion_embeddings.shape)} and "
            f"{tuple(text_embeddings.shape)}"
        )
    if group_ids.shape != motion_embeddings.shape[:1]:
        raise InputError(f"group_ids must have shape (B,), got {tuple(group_ids.shape)}")
    motion = F.normalize(motion_embeddings, dim=-1)
    text = F.normalize(text_embeddings, dim=-1)
    logits = motion @ text.T / temperature  # (B, B) motion × text
    eye = torch.eye(len(group_ids), dtype=torch.bool, device=logits.device)
    same = group_ids[:, None] == group_ids[None, :]
    logits = logits.masked_fill(same & ~eye, float("-inf"))
    targets = torch.arange(len(group_ids), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


# ------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class _Segments:
    """A split as arrays: normalised frames, each segment's phrasings and group id."""

    frames: list[np.ndarray]  # each (T, 208) normalised
    phrasings: list[tuple[int, ...]]  # indices into the text table
    groups: np.ndarray  # (N,) int


def _split_phrasings(folder: Path, split: str) -> dict[str, set[str]]:
    """Sub-task text → all its phrasings, from the split's episode metadata."""
    from openhoi.data.episodes import load_episodes
    from openhoi.data.torch_dataset import split_episode_ids

    phrasings: dict[str, set[str]] = {}
    for episode in load_episodes(folder, split_episode_ids(folder, split)):
        variants = episode.metadata.get("subtask_paraphrases") or []
        for k, segment in enumerate(episode.segments):
            text = segment.texts[0] if segment.texts else ""
            entry = phrasings.setdefault(text, {text})
            if k < len(variants):
                entry.update(str(v) for v in variants[k] if v)
    return phrasings


def _group_ids(texts: Sequence[str], phrasings: dict[str, set[str]]) -> np.ndarray:
    """Texts sharing a phrasing (transitively) get one id: they describe the same sub-task."""
    parent: dict[str, str] = {}

    def root(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]
            text = parent[text]
        return text

    for text, variants in phrasings.items():
        for variant in variants:
            parent[root(variant)] = root(text)
    roots = [root(t) for t in texts]
    ids = {r: k for k, r in enumerate(sorted(set(roots)))}
    return np.asarray([ids[r] for r in roots], np.int64)


def _load_segments(
    dataset: Any, phrasings: dict[str, set[str]]
) -> tuple[_Segments, dict[str, int]]:
    """The split's segments and the table of every distinct text (its row in the embeddings)."""
    frames, texts = [], []
    for k in range(len(dataset)):
        sample = dataset[k]
        frames.append(sample.frames.numpy())
        texts.append(sample.text)
    variants = {t: phrasings.get(t, {t}) | {t} for t in texts}
    table = {text: k for k, text in enumerate(sorted(set().union(*variants.values())))}
    options = [tuple(sorted(table[p] for p in variants[t])) for t in texts]
    return _Segments(frames, options, _group_ids(texts, phrasings)), table


def _batch(
    segments: _Segments,
    indices: np.ndarray,
    rng: np.random.Generator,
    stride: int,
) -> tuple[Tensor, Tensor, np.ndarray, Tensor]:
    """Padded `(B, T, 208)` frames, `(B, T)` mask, `(B,)` text rows and `(B,)` group ids."""
    lengths = [len(segments.frames[i]) for i in indices]
    # A random phase of the temporal subsampling (0..stride-1) augments the motion.
    offset = int(rng.integers(stride)) if min(lengths) > stride else 0
    longest = max(lengths) - offset
    frames = np.zeros((len(indices), longest, segments.frames[0].shape[1]), np.float32)
    mask = np.zeros((len(indices), longest), bool)
    rows = np.empty(len(indices), np.int64)
    for k, i in enumerate(indices):
        clip = segments.frames[i][offset:]
        frames[k, : len(clip)] = clip
        mask[k, : len(clip)] = True
        options = segments.phrasings[i]  # the stored text and any paraphrases of it
        rows[k] = options[int(rng.integers(len(options)))]
    groups = torch.from_numpy(segments.groups[indices])
    return torch.from_numpy(frames), torch.from_numpy(mask), rows, groups


def _dataset_name(folder: Path) -> str:
    from openhoi.data.episodes import read_index

    index = read_index(folder)
    info = index.get("info") or {}
    return str(info.get("generator") or index.get("source") or folder.name)


# ------------------------------------------------------------------------------ training
def train_evaluator(
    config: EvaluatorTrainConfig,
    *,
    text_encoder: Any | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> EvaluatorTrainReport:
    """Train an evaluator on `config.data` and write it to `config.out` (see module docstring).

    Args:
        config: the run.
        text_encoder: anything with `.encode(texts) -> (N, text_dim)`; default: the
            registered `config.model.text_encoder` (or `config.text_embedding_cache`).
        progress: called with (step, {"loss", "lr", "elapsed_s"}) every `log_interval`
            steps and (step, validation metrics) at each validation.

    Raises:
        MissingFileError: no data folder, or not an episode folder.
        InputError: bad config or data, or a corrupted checkpoint.
    """
    from openhoi.data.torch_dataset import SPLITS_FILE, SegmentDataset
    from openhoi.provenance import dataset_hand

    config.validate()
    folder = Path(config.data)
    if not folder.is_dir():
        raise MissingFileError(f"data folder {str(folder)!r} does not exist")
    model_config = config.model
    # A folder without splits.json (one written by hand, or prepared before `openhoi data
    # prepare` wrote splits) trains on every episode, with no validation.
    data_hand = dataset_hand(folder)  # recorded with the evaluator: it learns this hand's motion
    has_splits = (folder / SPLITS_FILE).is_file()
    train_split = "train" if has_splits else "all"
    train_set = SegmentDataset(folder, split=train_split, max_frames=model_config.max_frames)
    if len(train_set) < 2:
        raise InputError(
            f"split {train_split!r} of {str(folder)!r} has {len(train_set)} segment(s); "
            "need at least 2"
        )
    val_set: Any = ()
    if has_splits:
        val_set = SegmentDataset(
            folder, split="val", max_frames=model_config.max_frames, stats=train_set.stats
        )
    else:
        logger.warning(
            "%s has no %s: training on every episode, no validation metrics", folder, SPLITS_FILE
        )
    phrasings = _split_phrasings(folder, train_split) if config.use_paraphrases else {}
    if text_encoder is None:
        text_encoder = _text_encoder(config)

    # 1. Embed every distinct text once (the sentence encoder is frozen).
    train, table = _load_segments(train_set, phrasings)
    text_table = text_encoder.encode(list(table)).float()  # (V, text_dim), table order
    logger.info(
        "evaluator: %d train segments, %d val segments, %d distinct train phrasings",
        len(train.frames),
        len(val_set),
        len(table),
    )

    # 2. Model, optimiser, schedule; everything seeded.
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = Runtime(device=config.device, use_accelerate=False).device
    stats = train_set.stats
    model = MotionEvaluator(
        model_config,
        stats.mean,
        stats.std,
        dataset=config.dataset or _dataset_name(folder),
    ).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = warmup_cosine_scheduler(
        optimizer, warmup_steps=config.warmup_steps, total_steps=config.steps
    )
    text_table = text_table.to(device)
    batch_size = min(config.batch_size, len(train.frames))
    order = rng.permutation(len(train.frames))
    position = 0

    # 3. Resume: weights, optimiser, schedule, every RNG and the epoch's order and position.
    work = config.run_folder()
    checkpoint_dir = work / CHECKPOINT_FOLDER
    resumed = find_resume_point(checkpoint_dir, config.resume)
    start_step = 0
    if resumed is not None:
        found, state = resumed
        _load_weights(model, found / CHECKPOINT_WEIGHTS)
        restore_train_state(state, optimizer, scheduler, generators={"data": rng})
        order, position = state.data["order"].numpy(), int(state.data["position"])
        start_step = state.step

    def checkpoint(step: int) -> None:
        from safetensors.torch import save_file

        def write_model(target: Path) -> None:
            weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(weights, str(target / CHECKPOINT_WEIGHTS))
            save_json_atomic(target / "train_config.json", asdict(config))

        data = {"order": torch.from_numpy(np.asarray(order, np.int64)), "position": position}
        state = capture_train_state(step, optimizer, scheduler, generators={"data": rng}, data=data)
        save_train_checkpoint(checkpoint_dir, state, write_model)

    # 4. Loop over shuffled epochs.
    start = time.perf_counter()
    losses: list[tuple[int, float]] = []
    history: list[tuple[int, dict[str, float]]] = []
    log = RunLog(
        work,
        total_steps=config.steps,
        start_step=start_step,
        resume=resumed is not None,
        quiet=config.quiet,
        label="evaluator",
    )
    with log:
        model.train()
        for step in range(start_step + 1, config.steps + 1):
            if position + batch_size > len(order):
                order, position = rng.permutation(len(train.frames)), 0
            indices = order[position : position + batch_size]
            position += batch_size
            frames, mask, rows, groups = _batch(train, indices, rng, model_config.frame_stride)
            motion = model.encode_motion(frames.to(device), mask.to(device))
            text = model.encode_text(text_table[torch.from_numpy(rows).to(device)])
            loss = contrastive_loss(motion, text, groups.to(device), model_config.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            if step % config.log_interval == 0 or step == config.steps:
                losses.append((step, value))
                record = {
                    "loss": value,
                    "lr": float(scheduler.get_last_lr()[0]),
                    "elapsed_s": time.perf_counter() - start,
                }
                log.log(step, record)
                logger.info("evaluator step %d: loss %.4f", step, value)
                if progress is not None:
                    progress(step, record)
            if step % config.validation_interval == 0 or step == config.steps:
                metrics = _validate(model, val_set, text_encoder)
                history.append((step, metrics))
                if metrics:
                    log.log(step, metrics, kind="val")
                    logger.info("evaluator step %d: validation %s", step, metrics)
                    if progress is not None:
                        progress(step, {f"val_{k}": v for k, v in metrics.items()})
            if step % config.checkpoint_interval == 0 or step == config.steps:
                checkpoint(step)
            log.advance(step, {"loss": value})
    seconds = time.perf_counter() - start

    # 5. Save with the final validation metrics.
    model.eval()
    model.validation = history[-1][1] if history else {}
    training = {
        "config": asdict(config),
        "num_train_segments": len(train.frames),
        "num_val_segments": len(val_set),
        "seconds": round(seconds, 1),
        "final_loss": losses[-1][1] if losses else None,
        "train_split": train_split,
        "validation_split": "val" if has_splits else None,
    }
    out = save_evaluator(model.cpu(), config.out, training=training, hand=data_hand.to_record())
    return EvaluatorTrainReport(
        out=out,
        num_steps=config.steps,
        seconds=seconds,
        num_train_segments=len(train.frames),
        num_val_segments=len(val_set),
        losses=losses,
        validation=model.validation,
        history=history,
        start_step=start_step,
    )


def _load_weights(model: MotionEvaluator, path: Path) -> None:
    """The checkpoint's weights into `model` (InputError when they are corrupted or differ)."""
    from safetensors.torch import load_file

    try:
        model.load_state_dict(load_file(str(path)))
    except Exception as exc:  # safetensors and load_state_dict raise several types
        raise InputError(
            f"checkpoint weights {path} are corrupted or do not match the model ({exc}); "
            "delete the checkpoint folder or start fresh"
        ) from exc


def _validate(model: MotionEvaluator, val_set: Any, text_encoder: Any) -> dict[str, float]:
    """R-precision and matching score on the val split (stored texts, no paraphrases)."""
    if len(val_set) < 2:
        return {}
    was_training = model.training
    model.eval()
    try:
        device = model.mean.device
        samples = [val_set[k] for k in range(len(val_set))]
        lengths = torch.tensor([len(s.frames) for s in samples])
        frames = torch.zeros(len(samples), int(lengths.max()), samples[0].frames.shape[1])
        for k, sample in enumerate(samples):
            frames[k, : len(sample.frames)] = sample.frames
        mask = torch.arange(frames.shape[1])[None] < lengths[:, None]
        with torch.no_grad():
            motion = model.encode_motion(frames.to(device), mask.to(device)).cpu().numpy()
        texts = [s.text for s in samples]
        text = model.text_features(texts, text_encoder)
    finally:
        model.train(was_training)
    pool = min(DEFAULT_POOL_SIZE, len(samples))
    metrics = r_precision(motion, text, pool_size=pool, num_repeats=VALIDATION_REPEATS)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def _text_encoder(config: EvaluatorTrainConfig) -> Any:
    from openhoi.motion.text_encoder import PrecomputedTextEncoder, load_text_encoder

    def load() -> Any:
        return load_text_encoder(config.model.text_encoder)

    if config.text_embedding_cache:
        return PrecomputedTextEncoder(config.text_embedding_cache, fallback=load)
    return load()


def run_train_evaluator(
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    quiet: bool = False,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> EvaluatorTrainReport:
    """`openhoi train evaluator KEY=VALUE ...`: compose `train_evaluator.yaml`, validate, train.

    `resume` and `quiet` (the CLI's `--resume`, `--quiet`) set the config keys of those names.
    Deprecated key spellings (`num_steps=`, ...) are renamed with a warning.
    """
    from openhoi.training import compose_train_config

    config = compose_train_config("train_evaluator", EvaluatorTrainConfig, list(overrides))
    config.resume = config.resume or resume
    config.quiet = config.quiet or quiet
    config.validate()
    return train_evaluator(config, progress=progress)
