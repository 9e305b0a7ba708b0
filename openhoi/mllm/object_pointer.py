"""Object selection: which listed object a sub-task acts on, chosen by a pointer.

Why a pointer: the plan header `[primitive|hands|object|affordance]` holds the object as an
index, and a language model writing it as one more free token has to bind "the knife" in
the instruction to "1 knife :" in the object list and then to the digit `1`. The shipped
4-layer LM did that badly (13 of 31 two-object scenes with unseen objects wrong, most of
them naming the target; nine of the 13 answered 0). Pointer networks (Vinyals et al.
2015) score the candidates directly instead, and they work for any number of objects and
any object name.

Score of object i for one sub-task (`ObjectPointer.forward`)::

    s_i = <W_q h, W_o o_i + W_e e_i> / sqrt(D) + a * named_i + b * cos(u, e_i)

- `h`: the LM's last-layer state at the position that predicts the header's object index
  (it has read the prompt, the instruction and the header so far);
- `o_i`: the LM state at the last point token of object i in the prompt (it has read
  "i name :" and the object's points);
- `e_i`, `u`: frozen MiniLM sentence embeddings of the name and of the instruction (only
  when the planner has the MiniLM instruction encoder; pretrained LMs go without);
- `named_i`: 1 when the instruction names object i (:func:`named_objects`), else 0;
- `a`, `b`: learned weights.

The explicit `named` and similarity terms carry over to names never seen in training,
which a bilinear score learned on ~15 training objects (plus stand-in names) would not.
An instruction that names nothing ("My throat is dry.") is left to the learned terms.

At generation the pointer's choice replaces the LM's token at the object field
(`PlannerModel.generate`); training adds its cross-entropy to the loss.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["ObjectPointer", "named_objects"]

_WORD = re.compile(r"[a-z0-9]+")


def named_objects(instruction: str, names: Sequence[str]) -> np.ndarray:
    """`(N,)` float32: 1 where the instruction names the object, as whole words.

    Case and punctuation are ignored and a plural "s"/"es" is allowed ("bottles" names
    "bottle"). Where a longer name covers the words of a shorter one ("spray bottle" and
    "bottle"), the match counts for the longer name only.
    """
    text = " ".join(_WORD.findall(instruction.lower()))
    spans: list[list[tuple[int, int]]] = []
    for name in names:
        words = " ".join(_WORD.findall(str(name).lower()))
        if not words:
            spans.append([])
            continue
        pattern = rf"(?<![a-z0-9]){re.escape(words)}(?:e?s)?(?![a-z0-9])"
        spans.append([m.span() for m in re.finditer(pattern, text)])
    named = np.zeros(len(names), dtype=np.float32)
    for i, own in enumerate(spans):
        for start, end in own:
            covered = any(
                other_start <= start and end <= other_end and other_end - other_start > end - start
                for j, other in enumerate(spans)
                if j != i
                for other_start, other_end in other
            )
            if not covered:
                named[i] = 1.0
                break
    return named


class ObjectPointer(nn.Module):
    """Scores the objects of a scene for its sub-tasks (module docstring).

    Args:
        lm_size: hidden size of the language model.
        name_size: size of the sentence embeddings of names and instruction; None when
            the planner has no sentence encoder.
        size: width of the query / key space.
    """

    def __init__(self, lm_size: int, name_size: int | None, size: int = 64) -> None:
        super().__init__()
        self.query = nn.Sequential(nn.LayerNorm(lm_size), nn.Linear(lm_size, size))
        self.object_key = nn.Sequential(nn.LayerNorm(lm_size), nn.Linear(lm_size, size))
        self.name_key = nn.Linear(name_size, size, bias=False) if name_size else None
        # Weights of the "named" and the similarity terms.
        self.term_weights = nn.Parameter(torch.tensor([1.0, 1.0]))

    def forward(
        self,
        queries: Tensor,
        object_states: Tensor,
        named: Tensor,
        name_embeddings: Tensor | None = None,
        instruction_embedding: Tensor | None = None,
    ) -> Tensor:
        """Logits over one scene's objects.

        Args:
            queries: `(S, H)` LM states predicting the object index of S sub-tasks.
            object_states: `(N, H)` LM states at the last point token of each object.
            named: `(N,)` 1 where the instruction names the object.
            name_embeddings: `(N, E)` sentence embeddings of the names.
            instruction_embedding: `(E,)` sentence embedding of the instruction.

        Returns:
            `(S, N)` logits.
        """
        keys = self.object_key(object_states)
        if self.name_key is not None and name_embeddings is not None:
            keys = keys + self.name_key(name_embeddings)
        query = self.query(queries)
        logits = query @ keys.T / math.sqrt(query.shape[-1])
        logits = logits + self.term_weights[0] * named
        if name_embeddings is not None and instruction_embedding is not None:
            similarity = torch.nn.functional.cosine_similarity(
                name_embeddings, instruction_embedding.unsqueeze(0), dim=-1
            )
            logits = logits + self.term_weights[1] * similarity
        return logits
