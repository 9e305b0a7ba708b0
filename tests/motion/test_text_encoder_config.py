"""Text encoders (registry, CLIP from a local folder, precomputed file) and hydra configs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from openhoi.errors import InputError, MissingFileError
from openhoi.motion.text_encoder import (
    PrecomputedTextEncoder,
    available_text_encoders,
    load_text_encoder,
    write_text_embeddings,
)


def _tiny_clip(folder):
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["[PAD]", "[UNK]", "grasp", "the", "mug", "lift", "cup", "handle"]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]"
    )
    fast.save_pretrained(folder)
    config = transformers.CLIPTextConfig(
        vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=16, eos_token_id=1, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.CLIPTextModel(config).save_pretrained(folder)


def test_registry_names_and_unknown_name():
    assert available_text_encoders() == ("minilm", "clip")
    with pytest.raises(InputError, match="known: minilm, clip"):
        load_text_encoder("bert")


def test_clip_from_a_local_folder_only(tmp_path):
    _tiny_clip(tmp_path / "clip")
    encoder = load_text_encoder("clip", tmp_path / "clip")
    out = encoder.encode(["grasp the mug", "lift the cup", "grasp the mug"])
    assert out.shape == (3, 32) and encoder.dim == 32
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(3))
    assert torch.equal(out[0], out[2]) and not torch.allclose(out[0], out[1])
    with pytest.raises(MissingFileError, match="no config.json"):
        load_text_encoder("clip", tmp_path / "missing")
    with pytest.raises(InputError, match="local model folder"):
        load_text_encoder("clip")


def test_precomputed_embeddings_round_trip_and_refuse_unknown_texts(tmp_path):
    _tiny_clip(tmp_path / "clip")
    encoder = load_text_encoder("clip", tmp_path / "clip")
    path = write_text_embeddings(["lift the cup", "grasp the mug"], encoder, tmp_path / "te.st")
    cached = PrecomputedTextEncoder(path)
    torch.testing.assert_close(cached.encode(["grasp the mug"]), encoder.encode(["grasp the mug"]))
    with pytest.raises(InputError, match="lacks 1 text"):
        cached.encode(["grasp the handle"])
    with_fallback = PrecomputedTextEncoder(path, fallback=lambda: encoder)
    assert with_fallback.encode(["grasp the handle"]).shape == (1, 32)
    path.write_bytes(b"broken")
    with pytest.raises(InputError, match="corrupted"):
        PrecomputedTextEncoder(path)


def test_hydra_configs_compose_onto_the_dataclasses():
    from openhoi.config import compose_config
    from openhoi.motion.config import TrainConfig

    small = compose_config("train_diffusion", TrainConfig, [])
    paper = compose_config("train_diffusion", TrainConfig, ["model=paper", "batch_size=8"])
    assert small.model.d_model == 128 and small.diffusion.num_timesteps == 1000
    assert paper.model.d_model == 512 and paper.model.num_layers == 8 and paper.batch_size == 8
    assert small.condition_drop_prob == 0.1
    with pytest.raises(InputError, match="divisible"):
        compose_config("train_diffusion", TrainConfig, ["model.num_heads=3"])


def test_importing_the_package_loads_no_torch():
    code = "import sys, openhoi.motion; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
