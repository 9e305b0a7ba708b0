"""`PlannerModel`: point encoder → projector → causal LM (+LoRA) → `<AFF>` → affordance decoder.

Sequence layout fed to the language model as `inputs_embeds` (one row per scene)::

    [bos] "objects:" ( " {i} {name} :" [G point tokens of object i] )*  [instruction tokens]?
          " instruction: {text} plan:"  | target: header text <AFF> header text <AFF> ... [eos]

Point tokens are the point encoder's G group tokens through the MLP projector plus a
learned object-slot embedding (so the LM can tell object i from object j). The optional
instruction tokens come from a frozen sentence encoder (the default backbone's MiniLM, see
`default_backbone.py`) through a linear projector. Only target tokens carry CE labels.

Hidden-state convention (LISA's off-by-one pitfall): the affordance query of a `<AFF>`
token is the last-layer hidden state **at the position whose input is `<AFF>`** — not the
state at the previous position, which *predicts* `<AFF>`. The state at `<AFF>` has read
the whole sub-task (header, text and the `<AFF>` embedding itself), and it is not also
needed to predict `<AFF>` (its CE target is the next sub-task's header or EOS), so the mask
information does not compete with the token prediction. In generation, the state is taken
when the sampled `<AFF>` is fed back in. :func:`gather_aff_states` implements it and
tests pin it.

Affordance decoder (Eq. 2 of the paper): the `<AFF>` state(s) → projection (with K > 1
tokens, PixelLM-style multi-token fusion: their concatenation → linear φ) → a query plus
learned auxiliary queries; a small two-way transformer decoder in which the queries
cross-attend over all P per-point features (keys/values) and the points cross-attend back
to the queries; mask logit per point = ⟨MLP(point), refined query⟩/√D + b → sigmoid. The
query selects points through P-way attention, so it is not a single-key softmax.

Object selection (`config.object_pointer`, on by default): the object index in each header
is chosen by `object_pointer.ObjectPointer` from the state that predicts it, scored against
each listed object (its last point-token state, its name, whether the instruction names
it), and that choice replaces the LM's token in generation; its CE joins the loss.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from openhoi._deps import require
from openhoi.errors import InputError
from openhoi.mllm.object_pointer import ObjectPointer, named_objects
from openhoi.mllm.plan import (
    AFF_TOKEN,
    PlanGrammar,
    PlanParseError,
    check_step_text,
    format_header,
    header_object_slot,
    parse_plan_text,
)
from openhoi.mllm.point_encoder import PointEncoder, PointEncoderConfig
from openhoi.vocab import SubTask

__all__ = [
    "AffordanceDecoder",
    "AffordanceDecoderConfig",
    "GenerationOutput",
    "LoraSettings",
    "PlannerForwardOutput",
    "PlannerModel",
    "PlannerModelConfig",
    "PlannerSample",
    "add_aff_token",
    "gather_aff_states",
]

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # CE label of prompt / point / instruction positions
NON_TOKEN_ID = -1  # input id recorded at positions filled by embeddings, not tokens


@dataclass
class AffordanceDecoderConfig:
    """The mask decoder that attends over per-point features."""

    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    # Learned queries that refine alongside the <AFF> query (SAM-style output tokens).
    num_extra_queries: int = 2
    # <AFF> tokens per mask (PixelLM multi-token fusion); 1 = one token per sub-task.
    num_aff_tokens: int = 1

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise InputError(
                f"decoder hidden_size ({self.hidden_size}) must be divisible by num_heads "
                f"({self.num_heads})"
            )
        if self.num_aff_tokens < 1 or self.num_layers < 1 or self.num_extra_queries < 0:
            raise InputError(
                "decoder num_aff_tokens and num_layers must be >= 1 and num_extra_queries "
                f">= 0, got {self.num_aff_tokens}, {self.num_layers}, {self.num_extra_queries}"
            )


@dataclass
class LoraSettings:
    """LoRA on the language model (for pretrained backbones; off for the from-scratch default)."""

    use_lora: bool = False
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    # Module names LoRA wraps (LLaMA/Qwen attention projections by default).
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    # Modules trained in full besides LoRA (e.g. "lm_head" for untied heads).
    modules_to_save: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rank < 1 or self.alpha <= 0 or not 0 <= self.dropout < 1:
            raise InputError(
                f"lora rank must be >= 1, alpha > 0 and dropout in [0, 1), got "
                f"{self.rank}, {self.alpha}, {self.dropout}"
            )
        if self.use_lora and not self.target_modules:
            raise InputError("lora target_modules must name at least one module")


@dataclass
class PlannerModelConfig:
    """Everything the planner heads need besides the language model."""

    point_encoder: PointEncoderConfig = field(default_factory=PointEncoderConfig)
    decoder: AffordanceDecoderConfig = field(default_factory=AffordanceDecoderConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    # Scenes hold 1..max_objects objects of num_points points each.
    max_objects: int = 4
    num_points: int = 2048
    # Constrained decoding limits.
    max_steps: int = 8
    max_text_tokens: int = 24
    # Choose each sub-task's object with `object_pointer.ObjectPointer` instead of letting
    # the LM write the index as a free token.
    object_pointer: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.point_encoder, dict):
            self.point_encoder = PointEncoderConfig(**self.point_encoder)
        if isinstance(self.decoder, dict):
            self.decoder = AffordanceDecoderConfig(**self.decoder)
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        if not 1 <= self.max_objects <= 16:
            raise InputError(f"max_objects must be 1..16, got {self.max_objects}")
        if self.max_steps < 1 or self.max_text_tokens < 1:
            raise InputError("max_steps and max_text_tokens must be >= 1")


@dataclass(frozen=True)
class PlannerSample:
    """One training / evaluation scene.

    Attributes:
        points: per object `(P, C)` float32: normalised xyz then normals (as configured).
        names: per object, the name shown to the LM.
        instruction: the high-level instruction.
        steps: target sub-tasks (empty for inference).
        masks: per step `(P,)` float32 target mask on object `steps[i].object_index`.
    """

    points: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    instruction: str
    steps: tuple[SubTask, ...] = ()
    masks: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class PlannerForwardOutput:
    """Teacher-forced losses and mask predictions of a batch."""

    loss: Tensor  # () λ_task·CE + λ_aff·(Dice + BCE) + λ_pointer·CE(object pointer)
    task_loss: Tensor  # () mean token CE over target tokens
    aff_loss: Tensor  # () mean Dice + BCE over masks (0 when the batch has none)
    mask_logits: Tensor  # (M, P) one row per target step, batch order
    pointer_loss: Tensor  # () mean object-pointer CE over steps of scenes with >= 2 objects


@dataclass(frozen=True)
class GenerationOutput:
    """A generated plan for one scene before it becomes a `Plan`."""

    text: str  # decoded generation (special tokens except <AFF> removed)
    steps: tuple[SubTask, ...]
    masks: np.ndarray  # (S, P) float32 in [0, 1], one per step
    constrained: bool  # whether constrained decoding produced it


def add_aff_token(tokenizer: object, language_model: nn.Module) -> int:
    """Add `<AFF>` as one special token and resize the LM embeddings; returns its id.

    Raises:
        InputError: the tokenizer still splits `<AFF>` into several ids.
    """
    tokenizer.add_special_tokens({"additional_special_tokens": [AFF_TOKEN]})
    ids = tokenizer(AFF_TOKEN, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise InputError(f"{AFF_TOKEN} must tokenize to one id after adding it, got {ids}")
    old_size = language_model.get_input_embeddings().num_embeddings
    if old_size < len(tokenizer):
        language_model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        # Deterministic new rows (mean of the old ones), so a reloaded pretrained backbone
        # gets the same rows before its saved adapter / trainable-token deltas apply.
        with torch.no_grad():
            for table in (
                language_model.get_input_embeddings(),
                language_model.get_output_embeddings(),
            ):
                if table is not None and table.weight.shape[0] >= len(tokenizer):
                    table.weight[old_size:] = table.weight[:old_size].mean(0)
    return int(ids[0])


def gather_aff_states(hidden: Tensor, input_ids: Tensor, aff_token_id: int) -> Tensor:
    """Last-layer states at the positions whose input token is `<AFF>` (module docstring).

    Args:
        hidden: `(B, L, H)` last-layer hidden states.
        input_ids: `(B, L)` input ids aligned with `hidden` (position i holds token i).
        aff_token_id: id of `<AFF>`.

    Returns:
        `(M, H)` states in row-major order (scene by scene, left to right).
    """
    return hidden[input_ids == aff_token_id]


def _cache_keyword(lm: nn.Module) -> str:
    """The forward keyword that takes the KV cache: `cache` from transformers 5.x on
    (`past_key_values` still works there but warns on every token), else `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"


def _output_cache(output: object) -> object:
    """The KV cache of an LM output: `.cache` from transformers 5.x on (reading the old
    `.past_key_values` name there logs a deprecation warning), else `.past_key_values`."""
    cache = getattr(output, "cache", None) if "cache" in output else None
    return cache if cache is not None else output.past_key_values


def _special_ids(tokenizer: object) -> tuple[int | None, int]:
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if eos is None:
        raise InputError("the tokenizer has neither an EOS nor a SEP token to end plans with")
    return bos, int(eos)


class _TwoWayLayer(nn.Module):
    """Queries: self-attn → cross-attn to points → MLP; points: cross-attn to queries."""

    def __init__(self, size: int, num_heads: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(size, num_heads, batch_first=True)
        self.query_to_points = nn.MultiheadAttention(size, num_heads, batch_first=True)
        self.points_to_query = nn.MultiheadAttention(size, num_heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(size, 4 * size), nn.GELU(), nn.Linear(4 * size, size))
        self.norms = nn.ModuleList(nn.LayerNorm(size) for _ in range(5))

    def forward(self, queries: Tensor, points: Tensor) -> tuple[Tensor, Tensor]:
        """queries `(M, Q, D)`, points `(M, P, D)` → updated (queries, points)."""
        q = self.norms[0](queries)
        queries = queries + self.self_attn(q, q, q, need_weights=False)[0]
        q, k = self.norms[1](queries), self.norms[2](points)
        queries = queries + self.query_to_points(q, k, k, need_weights=False)[0]
        queries = queries + self.mlp(self.norms[3](queries))
        q = self.norms[4](queries)
        points = points + self.points_to_query(k, q, q, need_weights=False)[0]
        return queries, points


class AffordanceDecoder(nn.Module):
    """`<AFF>` state(s) + per-point features → per-point mask logits (module docstring)."""

    def __init__(self, config: AffordanceDecoderConfig, query_size: int, point_size: int) -> None:
        super().__init__()
        self.config = config
        size = config.hidden_size
        self.fuse = nn.Sequential(
            nn.Linear(query_size * config.num_aff_tokens, size), nn.GELU(), nn.Linear(size, size)
        )
        self.extra_queries = nn.Parameter(torch.randn(config.num_extra_queries, size) * 0.02)
        self.point_in = nn.Sequential(nn.LayerNorm(point_size), nn.Linear(point_size, size))
        self.layers = nn.ModuleList(
            _TwoWayLayer(size, config.num_heads) for _ in range(config.num_layers)
        )
        self.query_out = nn.Sequential(nn.LayerNorm(size), nn.Linear(size, size))
        self.point_out = nn.Sequential(
            nn.LayerNorm(size), nn.Linear(size, size), nn.GELU(), nn.Linear(size, size)
        )
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, aff_states: Tensor, point_features: Tensor) -> Tensor:
        """Mask logits.

        Args:
            aff_states: `(M, K, H)` the K `<AFF>` states of each of M masks.
            point_features: `(M, P, D)` per-point features of each mask's object.

        Returns:
            `(M, P)` logits (sigmoid → mask).
        """
        num_masks = aff_states.shape[0]
        query = self.fuse(aff_states.reshape(num_masks, -1)).unsqueeze(1)  # (M, 1, D)
        extra = self.extra_queries.unsqueeze(0).expand(num_masks, -1, -1)
        queries = torch.cat([query, extra], dim=1)
        points = self.point_in(point_features)
        for layer in self.layers:
            queries, points = layer(queries, points)
        refined = self.query_out(queries[:, 0])  # (M, D)
        scale = 1.0 / math.sqrt(refined.shape[-1])
        return torch.einsum("mpd,md->mp", self.point_out(points), refined) * scale + self.bias


class PlannerModel(nn.Module):
    """The 3D MLLM planner (module docstring for the layout and conventions).

    Args:
        config: head sizes, LoRA settings, decoding limits.
        language_model: any Hugging Face causal LM (`AutoModelForCausalLM`).
        tokenizer: its tokenizer; `<AFF>` is added here and the embeddings resized.
        instruction_encoder: optional frozen sentence encoder with `output_size` and
            `forward(list[str]) -> (states (B, L, E), mask (B, L))`.
    """

    def __init__(
        self,
        config: PlannerModelConfig,
        language_model: nn.Module,
        tokenizer: object,
        instruction_encoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self.aff_token_id = add_aff_token(tokenizer, language_model)
        self.bos_token_id, self.eos_token_id = _special_ids(tokenizer)
        lm_size = language_model.get_input_embeddings().embedding_dim
        point_size = config.point_encoder.hidden_size
        self.point_encoder = PointEncoder(config.point_encoder)
        self.projector = nn.Sequential(
            nn.Linear(point_size, lm_size), nn.GELU(), nn.Linear(lm_size, lm_size)
        )
        self.object_slots = nn.Embedding(config.max_objects, lm_size)
        nn.init.normal_(self.object_slots.weight, std=0.02)
        self.instruction_encoder = instruction_encoder
        self.instruction_projector = None
        if instruction_encoder is not None:
            for parameter in instruction_encoder.parameters():
                parameter.requires_grad_(False)
            self.instruction_projector = nn.Sequential(
                nn.Linear(instruction_encoder.output_size, lm_size),
                nn.GELU(),
                nn.Linear(lm_size, lm_size),
            )
        self.decoder = AffordanceDecoder(config.decoder, lm_size, point_size)
        self.object_pointer = None
        if config.object_pointer:
            name_size = instruction_encoder.output_size if instruction_encoder else None
            self.object_pointer = ObjectPointer(lm_size, name_size, config.decoder.hidden_size)
        self.language_model = language_model
        self.is_lora = False
        if config.lora.use_lora:
            self._apply_lora()
        self._text_cache: dict[str, list[int]] = {}
        self._name_cache: dict[str, Tensor] = {}

    # ----------------------------------------------------------------------------- LoRA
    def _apply_lora(self) -> None:
        peft = require("peft", "LoRA fine-tuning of the planner")
        settings = self.config.lora
        lora_config = peft.LoraConfig(
            r=settings.rank,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=list(settings.target_modules),
            modules_to_save=list(settings.modules_to_save) or None,
            trainable_token_indices=[self.aff_token_id],
            task_type="CAUSAL_LM",
        )
        self.language_model = peft.get_peft_model(self.language_model, lora_config)
        self.is_lora = True

    def merge_lora(self) -> None:
        """Fold the LoRA adapters into the base weights (no-op without LoRA)."""
        if self.is_lora:
            self.language_model = self.language_model.merge_and_unload()
            self.is_lora = False

    def head_state_dict(self) -> dict[str, Tensor]:
        """Weights of everything but the language model and the frozen instruction encoder."""
        skip = ("language_model.", "instruction_encoder.")
        return {k: v for k, v in self.state_dict().items() if not k.startswith(skip)}

    # ------------------------------------------------------------------------- sequences
    def _text_ids(self, text: str) -> list[int]:
        ids = self._text_cache.get(text)
        if ids is None:
            ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(self._text_cache) < 100_000:
                self._text_cache[text] = ids
        return ids

    def target_ids(self, steps: Sequence[SubTask]) -> list[int]:
        """Token ids of a plan's generation text, each header and text tokenised on its own.

        This piecewise tokenisation is the one `PlanGrammar` constrains decoding to.
        """
        return self._target_layout(steps)[0]

    def _target_layout(self, steps: Sequence[SubTask]) -> tuple[list[int], list[int | None]]:
        """`target_ids` and, per step, the position of its object-index token (None if merged)."""
        ids: list[int] = []
        slots: list[int | None] = []
        for step in steps:
            slot = header_object_slot(
                self.tokenizer, step.primitive, step.hands, step.affordance, self.config.max_objects
            )
            slots.append(None if slot is None else len(ids) + slot[0])
            ids += self._text_ids(format_header(step))
            ids += self._text_ids(" " + check_step_text(step.text))
            ids += [self.aff_token_id] * self.config.decoder.num_aff_tokens
        return [*ids, self.eos_token_id], slots

    def _embed_ids(self, ids: Sequence[int]) -> Tensor:
        table = self.language_model.get_input_embeddings()
        device = table.weight.device
        return table(torch.tensor(list(ids), dtype=torch.long, device=device))

    def _prefix(
        self, group_tokens: Tensor, names: Sequence[str], instruction: str, encoded: Tensor | None
    ) -> tuple[list[int], list[Tensor], list[int]]:
        """Prompt input ids (NON_TOKEN_ID where embeddings go), those embeddings in order,
        and per object the position of its last point token."""
        ids: list[int] = []
        extras: list[Tensor] = []
        object_ends: list[int] = []

        def add_text(text: str, *, bos: bool = False) -> None:
            token_ids = self._text_ids(text)
            if bos and self.bos_token_id is not None:
                token_ids = [self.bos_token_id, *token_ids]
            ids.extend(token_ids)

        def add_embeds(embeds: Tensor) -> None:
            extras.append(embeds)
            ids.extend([NON_TOKEN_ID] * embeds.shape[0])

        add_text("objects:", bos=True)
        for index, name in enumerate(names):
            add_text(f" {index} {name} :")
            add_embeds(group_tokens[index])
            object_ends.append(len(ids) - 1)
        if encoded is not None:
            add_embeds(encoded)
        add_text(f" instruction: {instruction} plan:")
        return ids, extras, object_ends

    def _assemble(
        self, id_rows: Sequence[Sequence[int]], extra_rows: Sequence[Sequence[Tensor]]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Right-padded `inputs_embeds (B, L, H)`, `input_ids (B, L)`, `attention (B, L)`.

        Token positions are looked up in one embedding call (one sparse-row gradient);
        NON_TOKEN_ID positions are filled with the point / instruction embeddings.
        """
        table = self.language_model.get_input_embeddings()
        device = table.weight.device
        length = max(len(ids) for ids in id_rows)
        input_ids = torch.full((len(id_rows), length), NON_TOKEN_ID, dtype=torch.long)
        attention = torch.zeros(len(id_rows), length, dtype=torch.long)
        for row, ids in enumerate(id_rows):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention[row, : len(ids)] = 1
        input_ids, attention = input_ids.to(device), attention.to(device)
        embeds = table(input_ids.clamp(min=0))
        slots = (input_ids == NON_TOKEN_ID) & attention.bool()
        pieces = [piece for row in extra_rows for piece in row]
        if pieces:
            source = torch.cat(pieces).to(embeds.dtype)
            embeds = embeds.masked_scatter(slots.unsqueeze(-1), source)
        return embeds * attention.unsqueeze(-1).to(embeds.dtype), input_ids, attention

    def _lm_hidden(self, embeds: Tensor, attention: Tensor | None) -> Tensor:
        """Last-layer hidden states `(B, L, H)` (float32), without full-vocabulary logits."""
        out = self.language_model(
            inputs_embeds=embeds,
            attention_mask=attention,
            output_hidden_states=True,
            logits_to_keep=1,
        )
        return out.hidden_states[-1].float()

    def _encode_scenes(
        self, samples: Sequence[PlannerSample]
    ) -> tuple[Tensor, list[list[Tensor]], list[Tensor | None], list[Tensor | None]]:
        """Point features, projected point tokens per scene, instruction tokens per scene,
        and the instruction's sentence embedding per scene (None without an encoder)."""
        device = self.object_slots.weight.device
        for sample in samples:
            if not 1 <= len(sample.points) <= self.config.max_objects:
                raise InputError(
                    f"a scene needs 1..{self.config.max_objects} objects, got {len(sample.points)}"
                )
        clouds = torch.as_tensor(
            np.stack([p for s in samples for p in s.points]), dtype=torch.float32, device=device
        )
        encoded = self.point_encoder(clouds)
        projected = self.projector(encoded.group_tokens)  # (O, G, H)
        tokens: list[list[Tensor]] = []
        start = 0
        for sample in samples:
            count = len(sample.points)
            slots = self.object_slots.weight[:count].unsqueeze(1)
            tokens.append(list(projected[start : start + count] + slots))
            start += count
        instructions: list[Tensor | None] = [None] * len(samples)
        sentences: list[Tensor | None] = [None] * len(samples)
        if self.instruction_encoder is not None:
            raw, mask = self.instruction_encoder([s.instruction for s in samples])
            raw = raw.to(device).float()
            sentences = list(raw[:, 0])
            states = self.instruction_projector(raw)
            instructions = [states[i][mask[i].bool()] for i in range(len(samples))]
        return encoded.point_features, tokens, instructions, sentences

    def _name_embeddings(self, names: Sequence[str]) -> Tensor | None:
        """`(N, E)` frozen sentence embeddings of object names (cached), None without encoder."""
        if self.instruction_encoder is None:
            return None
        missing = [n for n in dict.fromkeys(names) if n not in self._name_cache]
        if missing:
            states, _ = self.instruction_encoder(missing)
            for name, row in zip(missing, states[:, 0].float().cpu(), strict=True):
                self._name_cache[name] = row
        device = self.object_slots.weight.device
        return torch.stack([self._name_cache[n] for n in names]).to(device)

    def _pointer_scene(
        self, sample: PlannerSample, object_states: Tensor, sentence: Tensor | None
    ) -> Callable[[Tensor], Tensor]:
        """The pointer over one scene: queries `(S, H)` → logits `(S, N)`.

        What depends only on the scene (which objects the instruction names, the name
        embeddings) is computed once, not per sub-task.
        """
        named = torch.as_tensor(
            named_objects(sample.instruction, sample.names), device=object_states.device
        )
        names = self._name_embeddings(sample.names)
        return functools.partial(
            self.object_pointer,
            object_states=object_states,
            named=named,
            name_embeddings=names,
            instruction_embedding=sentence,
        )

    # --------------------------------------------------------------------------- training
    def forward(
        self,
        samples: Sequence[PlannerSample],
        task_weight: float = 1.0,
        aff_weight: float = 1.0,
        pointer_weight: float = 1.0,
    ) -> PlannerForwardOutput:
        """Teacher-forced loss: λ_task·CE(plan tokens) + λ_aff·(Dice + BCE)(masks), Eq. 3,
        plus λ_pointer·CE of the object pointer (when the config has one)."""
        if not samples:
            raise InputError("forward needs at least one sample")
        point_features, tokens, instructions, sentences = self._encode_scenes(samples)
        id_rows, extra_rows, label_rows, layouts = [], [], [], []
        for sample, scene_tokens, encoded in zip(samples, tokens, instructions, strict=True):
            if len(sample.masks) != len(sample.steps):
                raise InputError(
                    f"sample has {len(sample.steps)} steps but {len(sample.masks)} masks"
                )
            prefix_ids, extras, object_ends = self._prefix(
                torch.stack(scene_tokens), sample.names, sample.instruction, encoded
            )
            target, slots = self._target_layout(sample.steps)
            id_rows.append(prefix_ids + target)
            extra_rows.append(extras)
            label_rows.append([IGNORE_INDEX] * len(prefix_ids) + target)
            slots = [None if p is None else len(prefix_ids) + p for p in slots]
            layouts.append((object_ends, slots))
        lm_dtype = self.language_model.get_input_embeddings().weight.dtype
        embeds, input_ids, attention = self._assemble(id_rows, extra_rows)
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        for row, labs in enumerate(label_rows):
            labels[row, : len(labs)] = torch.tensor(labs, device=labels.device)
        hidden = self._lm_hidden(embeds.to(lm_dtype), attention)
        # Position i predicts token i + 1: logits only where a target token follows.
        predicts = labels[:, 1:] != IGNORE_INDEX
        head = self.language_model.get_output_embeddings()
        logits = head(hidden[:, :-1][predicts].to(head.weight.dtype)).float()
        task_loss = F.cross_entropy(logits, labels[:, 1:][predicts])
        aff_states = gather_aff_states(hidden, input_ids, self.aff_token_id)
        mask_logits, aff_loss = self._mask_loss(samples, aff_states, point_features)
        pointer_loss = self._pointer_loss(samples, hidden, layouts, sentences)
        loss = task_weight * task_loss + aff_weight * aff_loss + pointer_weight * pointer_loss
        return PlannerForwardOutput(loss, task_loss, aff_loss, mask_logits, pointer_loss)

    def _pointer_loss(
        self,
        samples: Sequence[PlannerSample],
        hidden: Tensor,
        layouts: Sequence[tuple[list[int], list[int | None]]],
        sentences: Sequence[Tensor | None],
    ) -> Tensor:
        """Mean CE of the pointer over the steps of scenes with several objects."""
        logits, targets = [], []
        if self.object_pointer is not None:
            rows = zip(samples, layouts, sentences, strict=True)
            for row, (sample, (object_ends, slots), sentence) in enumerate(rows):
                steps = zip(slots, sample.steps, strict=True)
                picked = [(p, s.object_index) for p, s in steps if p is not None]
                if len(sample.names) < 2 or not picked:
                    continue
                # The state one position before the index token predicts it.
                queries = hidden[row, [p - 1 for p, _ in picked]]
                pointer = self._pointer_scene(sample, hidden[row, object_ends], sentence)
                logits += list(pointer(queries))
                targets += [index for _, index in picked]
        if not logits:
            return hidden.sum() * 0.0
        target = torch.tensor(targets, device=hidden.device)
        return F.cross_entropy(torch.stack(logits), target)

    def _mask_loss(
        self, samples: Sequence[PlannerSample], aff_states: Tensor, point_features: Tensor
    ) -> tuple[Tensor, Tensor]:
        num_tokens = self.config.decoder.num_aff_tokens
        object_rows, targets = [], []
        offset = 0
        for sample in samples:
            for step, mask in zip(sample.steps, sample.masks, strict=True):
                object_rows.append(offset + step.object_index)
                targets.append(np.asarray(mask, dtype=np.float32))
            offset += len(sample.points)
        if not targets:
            zero = aff_states.sum() * 0.0
            return point_features.new_zeros(0, point_features.shape[1]), zero
        states = aff_states.reshape(len(targets), num_tokens, -1)
        logits = self.decoder(states, point_features[torch.tensor(object_rows)])
        target = torch.as_tensor(np.stack(targets), device=logits.device)
        return logits, dice_bce_loss(logits, target)

    # ------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        sample: PlannerSample,
        *,
        constrained: bool = True,
        max_new_tokens: int | None = None,
    ) -> GenerationOutput:
        """Greedy-decode a plan for one scene and decode its masks.

        Args:
            sample: the scene (steps/masks ignored).
            constrained: restrict tokens with :class:`PlanGrammar` (always parseable).
            max_new_tokens: budget; default fits `max_steps` full sub-tasks.

        Returns:
            :class:`GenerationOutput`.

        Raises:
            PlanParseError: unconstrained text did not parse.
        """
        config = self.config
        num_objects = len(sample.points)
        grammar = PlanGrammar(
            self.tokenizer,
            num_objects,
            aff_token_id=self.aff_token_id,
            eos_token_id=self.eos_token_id,
            num_aff_tokens=config.decoder.num_aff_tokens,
            max_steps=config.max_steps,
            max_text_tokens=config.max_text_tokens,
        )
        if max_new_tokens is None:
            max_new_tokens = config.max_steps * (
                32 + config.max_text_tokens + config.decoder.num_aff_tokens
            )
        point_features, tokens, instructions, sentences = self._encode_scenes([sample])
        prefix_ids, extras, object_ends = self._prefix(
            torch.stack(tokens[0]), sample.names, sample.instruction, instructions[0]
        )
        prefix, _, _ = self._assemble([prefix_ids], [extras])
        lm = self.language_model
        lm_dtype = lm.get_input_embeddings().weight.dtype
        pointing = self.object_pointer is not None and num_objects > 1
        out = lm(inputs_embeds=prefix.to(lm_dtype), use_cache=True, output_hidden_states=pointing)
        pointer = None
        if pointing:
            object_states = out.hidden_states[-1][0, object_ends].float()
            pointer = self._pointer_scene(sample, object_states, sentences[0])
        # The grammar state is followed in both modes: it tells where the object field is.
        state: tuple | None = grammar.start()
        generated: list[int] = []
        aff_states: list[Tensor] = []
        # Object-index tokens while the next token is a header's object field (pointing only),
        # and the state that predicts it.
        choices: tuple[int, ...] | None = None
        last_state: Tensor | None = None
        vocab = out.logits.shape[-1]
        for _ in range(max_new_tokens):
            logits = out.logits[0, -1].float()
            if constrained:
                logits = logits + self._grammar_bias(grammar, state, vocab, logits.device)
            if choices is not None:
                token = choices[int(pointer(last_state[None])[0].argmax())]
            else:
                token = int(logits.argmax())
            if token == self.eos_token_id:
                break
            generated.append(token)
            if state is not None:
                accepted = constrained or grammar.accepts(state, token)
                state = grammar.advance(state, token) if accepted else None
            choices = grammar.object_tokens(state) if pointing and state is not None else None
            out = lm(
                inputs_embeds=self._embed_ids([token])[None].to(lm_dtype),
                **{_cache_keyword(lm): _output_cache(out)},
                use_cache=True,
                output_hidden_states=token == self.aff_token_id or choices is not None,
            )
            if token == self.aff_token_id:
                aff_states.append(out.hidden_states[-1][0, -1].float())
            if choices is not None:
                last_state = out.hidden_states[-1][0, -1].float()
        text = self._decode(generated)
        steps = parse_plan_text(text, num_objects, config.decoder.num_aff_tokens)
        if len(aff_states) != len(steps) * config.decoder.num_aff_tokens:
            raise PlanParseError(
                f"generation has {len(aff_states)} {AFF_TOKEN} states for {len(steps)} sub-tasks"
            )
        stacked = torch.stack(aff_states).reshape(len(steps), config.decoder.num_aff_tokens, -1)
        rows = torch.tensor([s.object_index for s in steps])
        masks = torch.sigmoid(self.decoder(stacked, point_features[rows]))
        return GenerationOutput(text, steps, masks.cpu().numpy().astype(np.float32), constrained)

    @torch.no_grad()
    def predict_masks(self, sample: PlannerSample) -> np.ndarray:
        """Masks `(S, P)` for the given target steps, teacher-forced (evaluation)."""
        output = self.forward([sample])
        return torch.sigmoid(output.mask_logits).cpu().numpy()

    def _grammar_bias(self, grammar: PlanGrammar, state: tuple, vocab: int, device) -> Tensor:
        key = (id(grammar), state) if state[0] != "text" else ("text", min(state[1], 1))
        if state[0] == "text" and state[1] >= grammar.max_text_tokens:
            key = ("text-full",)
        cache = self.__dict__.setdefault("_bias_cache", {})
        if key[0] in ("text", "text-full") and key in cache:
            return cache[key]
        bias = torch.full((vocab,), float("-inf"), device=device)
        allowed = [t for t in grammar.allowed(state) if t < vocab]
        bias[torch.tensor(allowed, dtype=torch.long, device=device)] = 0.0
        if key[0] in ("text", "text-full"):
            cache[key] = bias
        return bias

    def _decode(self, ids: Sequence[int]) -> str:
        text = self.tokenizer.decode(list(ids), skip_special_tokens=False)
        for token in self.tokenizer.all_special_tokens:
            if token != AFF_TOKEN:
                text = text.replace(token, " ")
        return " ".join(text.replace(AFF_TOKEN, f" {AFF_TOKEN} ").split())


def dice_bce_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Mean over masks of Dice + BCE (LISA's segmentation loss) for `(M, P)` logits/targets."""
    probability = torch.sigmoid(logits)
    intersection = (probability * target).sum(-1)
    dice = 1.0 - (2.0 * intersection + 1.0) / (probability.sum(-1) + target.sum(-1) + 1.0)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1)
    return (dice + bce).mean()
