"""Checkpoints: LoRA adapters saved separately, reloaded exactly, mergeable; full save/load."""

from __future__ import annotations

import torch

from openhoi.mllm.checkpoint import build_planner_model, load_checkpoint, save_checkpoint

from .conftest import TINY_BACKBONE, make_sample, tiny_config


def _tiny_pretrained(folder):
    """A tiny random LLaMA saved like a Hugging Face checkpoint, with its tokenizer."""
    import transformers

    from openhoi.mllm.default_backbone import load_minilm_tokenizer

    tokenizer = load_minilm_tokenizer()
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return {"kind": "pretrained", "path": str(folder), "dtype": "float32"}


def _train(model, steps=3):
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(steps):
        loss = model([make_sample()]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_lora_adapter_save_load_merge(tmp_path):
    backbone = _tiny_pretrained(tmp_path / "base")
    model = build_planner_model(tiny_config(use_lora=True, rank=4, dropout=0.0), backbone)
    assert model.is_lora
    trainable = {n for n, p in model.language_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "trainable_tokens" in n for n in trainable)
    _train(model)
    model.eval()
    sample = make_sample()
    expected = model([sample])
    folder = save_checkpoint(model, backbone, tmp_path / "ckpt")
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    assert not (folder / "language_model.safetensors").exists()  # base stays at its path
    loaded, _ = load_checkpoint(folder)
    again = loaded([sample])
    assert torch.allclose(expected.mask_logits, again.mask_logits, atol=1e-4)
    assert torch.allclose(expected.task_loss, again.task_loss, atol=1e-4)
    loaded.merge_lora()
    assert not loaded.is_lora
    merged = loaded([sample])
    assert torch.allclose(expected.task_loss, merged.task_loss, atol=1e-4)
    assert torch.allclose(expected.mask_logits, merged.mask_logits, atol=1e-3)


def test_full_checkpoint_round_trip_is_atomic(tmp_path):
    torch.manual_seed(0)
    model = build_planner_model(tiny_config(), TINY_BACKBONE)
    _train(model, steps=1)
    model.eval()
    folder = save_checkpoint(model, TINY_BACKBONE, tmp_path / "ckpt")
    save_checkpoint(model, TINY_BACKBONE, tmp_path / "ckpt")  # replace in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temp folders left
    loaded, _ = load_checkpoint(folder)
    sample = make_sample()
    assert torch.allclose(model([sample]).mask_logits, loaded([sample]).mask_logits, atol=1e-5)


def test_checkpoint_records_the_hand_of_its_episodes(tmp_path):
    from openhoi.provenance import model_folder_hand

    model = build_planner_model(tiny_config(), TINY_BACKBONE)
    record = {"asset": "openhoi-hand-v1", "sha256": "ab" * 32}
    folder = save_checkpoint(model, TINY_BACKBONE, tmp_path / "ckpt", hand=record)
    assert model_folder_hand(folder).to_record() == record
    load_checkpoint(folder)  # the record does not disturb loading
    unrecorded = save_checkpoint(model, TINY_BACKBONE, tmp_path / "procedural")
    assert model_folder_hand(unrecorded).is_assumed
