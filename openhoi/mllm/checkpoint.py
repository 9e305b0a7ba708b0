"""Planner checkpoints: one folder, written atomically, rebuilt from its saved config.

Layout::

    planner_config.json        {"format", "model": PlannerModelConfig, "backbone": {...},
                                "hand": {asset, sha256} of the episodes it trained on, or
                                null (procedural scenes only, or an older checkpoint)}
    heads.safetensors          point encoder, projectors, object slots, affordance decoder
    language_model.safetensors full LM weights (from-scratch default, or merged / full FT)
    adapter/                   LoRA adapter (adapter_model.safetensors + adapter_config.json)
    tokenizer/                 tokenizer files, `<AFF>` included

`backbone` is `{"kind": "default", "config": DefaultBackboneConfig}` (built in code) or
`{"kind": "pretrained", "path": local HF folder, "dtype": "float32"|"bfloat16"|...}`.
A LoRA checkpoint of a pretrained backbone stores only the adapter (base stays at `path`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from pathlib import Path

import torch

from openhoi._deps import require
from openhoi.errors import InputError, MissingFileError
from openhoi.mllm.model import PlannerModel, PlannerModelConfig

__all__ = ["CHECKPOINT_FORMAT", "build_planner_model", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def build_planner_model(
    model_config: PlannerModelConfig,
    backbone: dict,
    *,
    initialise: bool = True,
    tokenizer_path: str | os.PathLike | None = None,
) -> PlannerModel:
    """Build a fresh `PlannerModel` for a backbone spec (see module docstring)."""
    transformers = require("transformers", "the planner")
    kind = backbone.get("kind")
    if kind == "default":
        from openhoi.mllm.default_backbone import (
            DefaultBackboneConfig,
            MiniLMInstructionEncoder,
            build_default_language_model,
            load_minilm_tokenizer,
        )

        config = DefaultBackboneConfig(**backbone.get("config", {}))
        tokenizer = (
            load_minilm_tokenizer()
            if tokenizer_path is None
            else transformers.AutoTokenizer.from_pretrained(
                str(tokenizer_path), local_files_only=True
            )
        )
        language_model = build_default_language_model(config, tokenizer, initialise=initialise)
        encoder = (
            MiniLMInstructionEncoder.from_package() if config.use_instruction_encoder else None
        )
        return PlannerModel(model_config, language_model, tokenizer, encoder)
    if kind == "pretrained":
        path = Path(str(backbone.get("path", "")))
        if not path.is_dir():
            raise MissingFileError(
                f"pretrained backbone folder {str(path)!r} not found; give a local Hugging Face "
                "causal-LM folder (config.json + weights + tokenizer)"
            )
        dtype_name = backbone.get("dtype", "float32")
        if dtype_name not in _DTYPES:
            raise InputError(f"backbone dtype must be one of {list(_DTYPES)}, got {dtype_name!r}")
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(tokenizer_path or path), local_files_only=True
        )
        language_model = transformers.AutoModelForCausalLM.from_pretrained(
            str(path), local_files_only=True, dtype=_DTYPES[dtype_name]
        )
        return PlannerModel(model_config, language_model, tokenizer, None)
    raise InputError(f"backbone kind must be 'default' or 'pretrained', got {kind!r}")


def save_checkpoint(
    model: PlannerModel,
    backbone: dict,
    out_dir: str | os.PathLike,
    *,
    weights_dtype: str = "float32",
    extra_files: dict[str, bytes] | None = None,
    hand: dict | None = None,
) -> Path:
    """Write `model` to `out_dir` atomically (temp folder, then rename); returns the path.

    Args:
        model: the planner.
        backbone: the spec it was built from.
        out_dir: target folder (replaced if it exists).
        weights_dtype: storage dtype of floating weights ("float32" or "float16").
        extra_files: more files to put in the folder (e.g. optimizer state), name → bytes.
        hand: hand record (`openhoi.hand.identity`) of the episodes it was trained on.
    """
    from safetensors.torch import save_file

    if weights_dtype not in ("float32", "float16"):
        raise InputError(f"weights_dtype must be 'float32' or 'float16', got {weights_dtype!r}")
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:

        def tensors(state: dict) -> dict:
            result = {}
            for key, value in state.items():
                value = value.detach().cpu()
                if value.is_floating_point():
                    value = value.to(_DTYPES[weights_dtype])
                result[key] = value.contiguous()
            return result

        save_file(tensors(model.head_state_dict()), str(temp / "heads.safetensors"))
        is_scratch = backbone.get("kind") == "default"
        if model.is_lora:
            peft = require("peft", "saving LoRA adapters")
            adapter = peft.get_peft_model_state_dict(
                model.language_model, save_embedding_layers=False
            )
            (temp / "adapter").mkdir()
            save_file(tensors(adapter), str(temp / "adapter" / "adapter_model.safetensors"))
            model.language_model.peft_config["default"].save_pretrained(str(temp / "adapter"))
        if is_scratch or not model.is_lora:
            base = model.language_model
            if model.is_lora:
                base = base.get_base_model()
            state = {k: v for k, v in base.state_dict().items() if "lora_" not in k}
            if getattr(base.config, "tie_word_embeddings", False):
                state.pop("lm_head.weight", None)
            save_file(tensors(state), str(temp / "language_model.safetensors"))
        model.tokenizer.save_pretrained(str(temp / "tokenizer"))
        config = {
            "format": CHECKPOINT_FORMAT,
            "model": dataclasses.asdict(model.config),
            "backbone": backbone,
            "is_lora": model.is_lora,
            "hand": hand,
        }
        (temp / "planner_config.json").write_text(json.dumps(config, indent=2))
        for name, data in (extra_files or {}).items():
            (temp / name).write_bytes(data)
        for file in temp.rglob("*"):
            if file.is_file():
                file.chmod(0o644)  # readable when shipped inside the package
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
        os.replace(temp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out


def load_checkpoint(path: str | os.PathLike, *, device: str = "cpu") -> tuple[PlannerModel, dict]:
    """Rebuild a planner from a checkpoint folder; returns (model, backbone spec).

    Raises:
        MissingFileError: the folder or one of its files is missing.
        InputError: unknown checkpoint format.
    """
    from safetensors.torch import load_file

    folder = Path(path)
    config_path = folder / "planner_config.json"
    if not config_path.is_file():
        raise MissingFileError(
            f"planner checkpoint {str(folder)!r} has no planner_config.json; pass a folder "
            "written by save_checkpoint / the training recipe"
        )
    saved = json.loads(config_path.read_text())
    if saved.get("format") != CHECKPOINT_FORMAT:
        raise InputError(
            f"planner checkpoint format {saved.get('format')!r} is not {CHECKPOINT_FORMAT}"
        )
    # Checkpoints from before the object pointer let the LM write the object index.
    model_config = PlannerModelConfig(**{"object_pointer": False, **saved["model"]})
    backbone = saved["backbone"]
    model = build_planner_model(
        dataclasses.replace(
            model_config, lora=dataclasses.replace(model_config.lora, use_lora=False)
        ),
        backbone,
        initialise=False,
        tokenizer_path=folder / "tokenizer",
    )
    lm_file = folder / "language_model.safetensors"
    if lm_file.is_file():
        state = load_file(str(lm_file))
        target = model.language_model
        dtype = target.get_input_embeddings().weight.dtype
        missing, unexpected = target.load_state_dict(
            {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()},
            strict=False,
        )
        missing = [k for k in missing if k != "lm_head.weight"]
        if missing or unexpected:
            raise InputError(
                f"{lm_file}: weights do not match the backbone (missing {missing[:3]}, "
                f"unexpected {unexpected[:3]})"
            )
    if saved.get("is_lora"):
        model.config = model_config
        model._apply_lora()
        peft = require("peft", "loading LoRA adapters")
        adapter = load_file(str(folder / "adapter" / "adapter_model.safetensors"))
        peft.set_peft_model_state_dict(model.language_model, adapter)
    heads = {k: v.float() for k, v in load_file(str(folder / "heads.safetensors")).items()}
    missing, unexpected = model.load_state_dict(heads, strict=False)
    bad_missing = [
        k for k in missing if not k.startswith(("language_model.", "instruction_encoder."))
    ]
    if bad_missing or unexpected:
        raise InputError(
            f"{folder}/heads.safetensors does not match the planner config (missing "
            f"{bad_missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.config = model_config
    return model.to(device).eval(), backbone
