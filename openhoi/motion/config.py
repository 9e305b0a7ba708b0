"""Typed configs of the motion diffusion model, its training run and its samplers.

Library code takes these dataclasses; hydra yaml (`openhoi/configs/model/*.yaml`,
`openhoi/configs/train_diffusion.yaml`) is composed onto them at the edges with
`openhoi.config.compose_config`. Each `__post_init__` rejects bad values by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from openhoi.errors import InputError
from openhoi.vocab import MAX_SEGMENT_FRAMES

__all__ = [
    "DDIMSamplerConfig",
    "DDPMSamplerConfig",
    "DenoiserConfig",
    "DiffusionConfig",
    "LossConfig",
    "RepresentationConfig",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
]

MIXED_PRECISION_CHOICES = ("no", "bf16", "fp16")
SCHEDULE_CHOICES = ("cosine",)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise InputError(f"{name} must be > 0, got {value!r}")


def _unit_interval(name: str, value: float, *, closed_high: bool = False) -> None:
    ok = 0 <= value <= 1 if closed_high else 0 <= value < 1
    if not ok:
        bound = "[0, 1]" if closed_high else "[0, 1)"
        raise InputError(f"{name} must lie in {bound}, got {value!r}")


@dataclass
class DenoiserConfig:
    """Sizes of the x0-predicting transformer (`MotionDenoiser`)."""

    # Transformer over 3 agent tokens per frame plus the condition tokens.
    d_model: int = 128
    num_layers: int = 4
    num_heads: int = 4
    ff_dim: int = 256
    dropout: float = 0.1
    # Dropout on the attention probabilities. 0 by default: any non-zero value makes
    # PyTorch leave its fused attention kernel for the materialised one, which made a
    # batch-64 training step on a 2-core CPU ~17x slower in the attention forward
    # (0.96 s vs 0.056 s per layer, B=64, 458 tokens, 2-core CPU). `dropout` still
    # applies to the residual and feed-forward paths.
    attention_dropout: float = 0.0
    # Point encoder: per-point MLP on (xyz, normal, affordance), then `num_point_tokens`
    # learned queries attend over the points (plus one max-pooled global token).
    point_hidden_dim: int = 64
    num_point_tokens: int = 4
    # Text embedding width (384 for MiniLM, 512 for CLIP ViT-B).
    text_dim: int = 384
    # Longest segment the frame positional encoding is built for.
    max_frames: int = MAX_SEGMENT_FRAMES

    def __post_init__(self) -> None:
        for name in ("d_model", "num_layers", "num_heads", "ff_dim", "point_hidden_dim"):
            _positive(name, getattr(self, name))
        for name in ("num_point_tokens", "text_dim", "max_frames"):
            _positive(name, getattr(self, name))
        if self.d_model % self.num_heads:
            raise InputError(
                f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})"
            )
        if self.d_model % 2:
            raise InputError(f"d_model must be even (sinusoidal encodings), got {self.d_model}")
        _unit_interval("dropout", self.dropout)
        _unit_interval("attention_dropout", self.attention_dropout)


@dataclass
class DiffusionConfig:
    """The forward noising process."""

    # Number of diffusion steps T (the paper: 1000).
    num_timesteps: int = 1000
    # Noise schedule name; "cosine" = Nichol & Dhariwal 2021 (the paper's choice).
    schedule: str = "cosine"
    # Offset s of the cosine schedule, and the cap on beta_t near t = T.
    cosine_offset: float = 0.008
    max_beta: float = 0.999

    def __post_init__(self) -> None:
        if not 2 <= self.num_timesteps <= 10_000:
            raise InputError(f"num_timesteps must be 2..10000, got {self.num_timesteps}")
        if self.schedule not in SCHEDULE_CHOICES:
            raise InputError(f"schedule must be one of {SCHEDULE_CHOICES}, got {self.schedule!r}")
        _positive("cosine_offset", self.cosine_offset)
        if not 0 < self.max_beta < 1:
            raise InputError(f"max_beta must lie in (0, 1), got {self.max_beta}")


@dataclass
class LossConfig:
    """Weights of the three training terms (paper Eq. 6) and the contact scale."""

    x0_weight: float = 1.0
    distance_weight: float = 1.0
    orientation_weight: float = 0.1
    # Distance-map weight exp(-d / sigma): errors near contact count most (metres).
    distance_sigma_m: float = 0.05
    # Cost control on CPU: frames per sequence and object points the geometric terms use.
    num_geometry_frames: int = 8
    num_geometry_points: int = 256

    def __post_init__(self) -> None:
        for name in ("x0_weight", "distance_weight", "orientation_weight"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        _positive("distance_sigma_m", self.distance_sigma_m)
        _positive("num_geometry_frames", self.num_geometry_frames)
        _positive("num_geometry_points", self.num_geometry_points)


@dataclass
class RepresentationConfig:
    """What the denoiser's frames are (`openhoi.motion.representation.FrameCodec`)."""

    # "world": the 208-D frames as stored; "object_centric": acting hands in the object's
    # frame relative to the affordance anchor. Model folders without this field are "world".
    kind: str = "world"
    # Left and right wrist pivots J0 (metres); filled in from the hand asset when a run
    # starts, then stored with the model so its frames decode exactly.
    wrist_pivot: list[list[float]] | None = None

    def __post_init__(self) -> None:
        from openhoi.motion.representation import REPRESENTATIONS

        if self.kind not in REPRESENTATIONS:
            raise InputError(
                f"representation.kind must be one of {REPRESENTATIONS}, got {self.kind!r}"
            )


@dataclass
class DDPMSamplerConfig:
    """Ancestral DDPM (paper Eq. 8); num_steps < T uses a strided (respaced) chain."""

    num_steps: int = 1000


@dataclass
class DDIMSamplerConfig:
    """DDIM (Song et al. 2021); eta = 0 is deterministic, eta = 1 matches DDPM's variance."""

    num_steps: int = 50
    eta: float = 0.0

    def __post_init__(self) -> None:
        if self.eta < 0:
            raise InputError(f"eta must be >= 0, got {self.eta}")


@dataclass
class TrainConfig:
    """`openhoi train motion`: data, model, optimisation, logging and checkpoints.

    The shared keys (`data`, `out`, `resume`, `steps`, `batch_size`, `log_interval`,
    `checkpoint_interval`, `warmup_steps`, `quiet`) are spelled as in the other trainers
    (`openhoi.training.config`; old spellings such as `num_steps` are deprecated aliases).
    """

    # Model and noising process (hydra group `model`: small | paper).
    model: DenoiserConfig = field(default_factory=DenoiserConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    representation: RepresentationConfig = field(default_factory=RepresentationConfig)
    # Data: an episodes folder (SynthHOI or a prepared GRAB/ARCTIC/H2O set).
    data: str | None = None
    out: str | None = None
    max_frames: int = MAX_SEGMENT_FRAMES
    # Text encoder registry name ("minilm" | "clip") and, for "clip", a local model folder.
    text_encoder: str = "minilm"
    text_encoder_path: str | None = None
    # Optional safetensors file of precomputed text embeddings (`write_text_embeddings`);
    # texts missing from it are embedded with `text_encoder`.
    text_embedding_cache: str | None = None
    # Optimisation.
    batch_size: int = 32
    learning_rate: float = 2e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    steps: int = 20_000
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    # Fraction of samples whose condition C is replaced by the learned null condition.
    condition_drop_prob: float = 0.1
    # Batches of segments of similar length (less padding; see training._BatchOrder).
    bucket_by_length: bool = True
    # Fine-tuning: a model folder (shipped weights or a run's checkpoint/) whose EMA weights
    # start both the model and its EMA, and whose normalisation the data then uses. The
    # optimiser, LR schedule and step count start fresh. The model config must match.
    init_from: str | None = None
    # Logging, validation, checkpoints (under `out`: log.jsonl, checkpoint/).
    log_interval: int = 50
    validation_interval: int = 1000
    num_validation_batches: int = 4
    checkpoint_interval: int = 1000
    # "no" | "bf16" | "fp16"; applied on GPU only (CPU always runs float32).
    mixed_precision: str = "bf16"
    seed: int = 0
    # Continue from out/checkpoint (weights, optimizer, schedule, RNG, data position).
    resume: bool = False
    # No progress bar.
    quiet: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.max_frames <= MAX_SEGMENT_FRAMES:
            raise InputError(f"max_frames must be 1..{MAX_SEGMENT_FRAMES}, got {self.max_frames}")
        if self.max_frames > self.model.max_frames:
            raise InputError(
                f"max_frames ({self.max_frames}) exceeds model.max_frames ({self.model.max_frames})"
            )
        for name in ("batch_size", "learning_rate", "steps", "log_interval"):
            _positive(name, getattr(self, name))
        for name in ("validation_interval", "checkpoint_interval", "num_validation_batches"):
            _positive(name, getattr(self, name))
        for name in ("warmup_steps", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        _unit_interval("ema_decay", self.ema_decay)
        _unit_interval("condition_drop_prob", self.condition_drop_prob)
        if self.mixed_precision not in MIXED_PRECISION_CHOICES:
            raise InputError(
                f"mixed_precision must be one of {MIXED_PRECISION_CHOICES}, "
                f"got {self.mixed_precision!r}"
            )

    def validate(self) -> None:
        """Run-wide checks before any expensive setup (paths given, text encoder known)."""
        from openhoi.motion.text_encoder import available_text_encoders

        if not self.data:
            raise InputError("data must name an episodes folder (data=PATH), got nothing")
        if not self.out:
            raise InputError("out must name an output folder (out=PATH), got nothing")
        if self.text_encoder not in available_text_encoders():
            raise InputError(
                f"text_encoder must be one of {available_text_encoders()}, "
                f"got {self.text_encoder!r}"
            )
        if self.text_encoder == "clip" and not self.text_encoder_path:
            raise InputError("text_encoder=clip needs text_encoder_path=<local CLIP folder>")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as plain JSON-able data."""
    return dataclasses.asdict(config)


def config_from_dict(schema: type, data: dict[str, Any], source: str) -> Any:
    """Rebuild `schema` from `config_to_dict` output, rejecting unknown keys by name."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a JSON object for {schema.__name__}")
    if schema is TrainConfig:
        from openhoi.training.config import upgrade_config_dict

        data = upgrade_config_dict(data)  # configs saved before the shared key names
    known = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"{source}: unknown {schema.__name__} field(s) {unknown}")
    kwargs = {}
    for name, value in data.items():
        sub = _nested_schema(schema, name)
        kwargs[name] = config_from_dict(sub, value, source) if sub is not None else value
    try:
        return schema(**kwargs)
    except TypeError as exc:
        raise InputError(f"{source}: bad {schema.__name__}: {exc}") from exc


def _nested_schema(schema: type, name: str) -> type | None:
    nested = {
        (TrainConfig, "model"): DenoiserConfig,
        (TrainConfig, "diffusion"): DiffusionConfig,
        (TrainConfig, "loss"): LossConfig,
        (TrainConfig, "representation"): RepresentationConfig,
    }
    return nested.get((schema, name))
