"""How far the frozen MiniLM alone reads SynthHOI's held-out requests.

    python tools/probe_minilm_kinds.py

Each held-out kind-specific instruction template, written for every unseen object
(`HELD_OUT_OBJECTS`) and kind it supports, is matched to its nearest training sentence
(SynthHOI train templates plus `openhoi.mllm.phrasing.EXTRA_INSTRUCTIONS`, written for the
training objects) by cosine similarity of MiniLM sentence embeddings; prints each match and
the share whose nearest sentence asks for the same episode kind. A bound on what the
default planner's language side brings to requests it never saw, not a planner score.
"""

from __future__ import annotations

import sys

import torch


def main() -> int:
    from openhoi.data.synth.language import INSTRUCTION_TEMPLATES, object_words
    from openhoi.data.synth.tasks import EPISODE_KINDS, HELD_OUT_OBJECTS
    from openhoi.mllm.default_backbone import MiniLMInstructionEncoder
    from openhoi.mllm.phrasing import EXTRA_INSTRUCTIONS
    from openhoi.mllm.training import training_objects

    encoder = MiniLMInstructionEncoder.from_package()

    def embed(texts: list[str]) -> torch.Tensor:
        states, _ = encoder(texts)
        return torch.nn.functional.normalize(states[:, 0].float(), dim=-1)

    train, train_kinds = [], []
    for name in training_objects():
        for kind in EPISODE_KINDS[name]:
            templates = [t for _, t in INSTRUCTION_TEMPLATES[kind]["train"]]
            for template in templates + list(EXTRA_INSTRUCTIONS[kind]):
                train.append(template.format(object=object_words(name)))
                train_kinds.append(kind)
    tests = [
        (name, kind, template.format(object=object_words(name)))
        for name in HELD_OUT_OBJECTS
        for kind in EPISODE_KINDS[name]
        for _, template in INSTRUCTION_TEMPLATES[kind]["held_out"]
    ]
    similarity = embed([t for _, _, t in tests]) @ embed(train).T
    hits = 0
    for row, (name, kind, text) in enumerate(tests):
        best = int(similarity[row].argmax())
        hit = train_kinds[best] == kind
        hits += hit
        print(
            f"{'ok  ' if hit else 'MISS'} {name}/{kind}: {text!r} -> {train_kinds[best]} "
            f"({train[best]!r}, cos {similarity[row, best]:.2f})"
        )
    print(f"nearest training sentence asks for the same kind: {hits}/{len(tests)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
