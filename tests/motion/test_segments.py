"""`sample_segments` with best-of-K candidates, on the shipped weights with 2 DDIM steps.

Tolerance: a candidate's noise does not depend on its batch, but the network's float
rounding does (batched matmuls), ~1e-5 on the frames (tests/test_api.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.data.transforms import smooth_frames
from openhoi.errors import InputError
from openhoi.motion import MotionCondition
from openhoi.motion.segments import (
    CandidateChoice,
    SamplingConfig,
    SegmentRequest,
    candidate_seed,
    continuation_start,
    hold_idle_hands,
    sample_segments,
)

SAMPLING = SamplingConfig(steps=2)
ATOL_ROUNDING = 1e-4
NUM_FRAMES = 30


@pytest.fixture(scope="module")
def generator():
    import torch

    from openhoi.motion import load_generator

    torch.set_num_threads(1)
    return load_generator(device="cpu")


@pytest.fixture(scope="module")
def condition():
    from openhoi.objects import load_object

    mug = load_object("mug")
    return MotionCondition(mug, np.full(1024, 0.5, np.float32), "grasp the mug", "right")


class PickLast:
    """A `choose` hook that keeps the last candidate and remembers what it was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[SegmentRequest, list]] = []

    def __call__(self, request, candidates) -> CandidateChoice:
        self.calls.append((request, list(candidates)))
        count = len(candidates)
        return CandidateChoice(index=count - 1, scores=tuple(float(k) for k in range(count)))


def test_one_candidate_is_the_plain_sample_bit_for_bit(generator, condition):
    request = SegmentRequest("a", condition, NUM_FRAMES, seed=7)
    chooser = PickLast()
    plain = sample_segments(generator, [request], SAMPLING)
    with_hook = sample_segments(generator, [request], SAMPLING, choose=chooser)
    # What sample_segments did before candidates: one sampler call, idle hand, smoothing.
    resolved = generator.resolve_sampling(SAMPLING)
    (raw,) = generator.sample(
        [condition], NUM_FRAMES, steps=2, sampler=resolved.sampler,
        guidance_scale=resolved.guidance_scale, seed=[7], eta=resolved.eta,
    )  # fmt: skip
    expected = smooth_frames(hold_idle_hands(raw, "right").frames, resolved.smooth_sigma_frames)
    np.testing.assert_array_equal(plain.segments["a"].frames, expected)
    np.testing.assert_array_equal(with_hook.segments["a"].frames, expected)
    assert chooser.calls == [] and plain.choices == {} and with_hook.choices == {}


def test_k_candidates_in_one_call_and_the_chosen_one_is_kept(generator, condition):
    calls = []
    single = sample_segments(generator, [SegmentRequest("a", condition, NUM_FRAMES, seed=7)],
                             SAMPLING)  # fmt: skip
    chooser = PickLast()
    request = SegmentRequest("a", condition, NUM_FRAMES, seed=7, num_candidates=3)
    batch = sample_segments(generator, [request], SAMPLING, choose=chooser, on_call=calls.append)
    assert calls == [1] and set(batch.segments) == {"a"} and batch.seconds["a"] > 0
    ((shown_request, candidates),) = chooser.calls
    assert shown_request is request and len(candidates) == 3
    # Candidate 0 is the K = 1 sample; the others are other noise draws.
    np.testing.assert_allclose(
        candidates[0].frames, single.segments["a"].frames, atol=ATOL_ROUNDING
    )
    assert not np.allclose(candidates[1].frames, candidates[0].frames, atol=1e-2)
    assert not np.allclose(candidates[2].frames, candidates[1].frames, atol=1e-2)
    # Candidate j drew its noise from candidate_seed(7, j): the same call with those seeds.
    resolved = generator.resolve_sampling(SAMPLING)
    direct = generator.sample(
        [condition] * 3, NUM_FRAMES, steps=2, sampler=resolved.sampler,
        guidance_scale=resolved.guidance_scale, seed=[candidate_seed(7, j) for j in range(3)],
        eta=resolved.eta,
    )  # fmt: skip
    for made, raw in zip(candidates, direct, strict=True):
        expected = smooth_frames(hold_idle_hands(raw, "right").frames, 2.0)
        np.testing.assert_array_equal(made.frames, expected)
    np.testing.assert_array_equal(batch.segments["a"].frames, candidates[2].frames)
    assert batch.choices["a"].index == 2 and batch.choices["a"].scores == (0.0, 1.0, 2.0)


def test_a_continued_segment_starts_from_the_chosen_candidate(generator, condition):
    sampling = SamplingConfig(steps=2, smooth_sigma_frames=0.0)
    both = MotionCondition(condition.object, condition.affordance, "lift the mug", "both")
    first = SegmentRequest("a", both, NUM_FRAMES, seed=1, num_candidates=2)
    second = SegmentRequest("b", both, NUM_FRAMES, seed=2, after="a")
    chooser = PickLast()
    batch = sample_segments(generator, [second, first], sampling, choose=chooser)
    ((_, candidates),) = chooser.calls  # only "a" has candidates
    chosen, other = continuation_start(candidates[1]), continuation_start(candidates[0])
    start = batch.segments["b"].frames[:1]
    np.testing.assert_allclose(start, chosen, atol=1e-5)
    assert not np.allclose(start, other, atol=1e-3)
    assert batch.segments["a"] is candidates[1]


def test_rows_count_against_the_batch_size(generator, condition):
    calls = []
    requests = [
        SegmentRequest(k, condition, NUM_FRAMES, seed=k, num_candidates=3) for k in range(3)
    ]
    batch = sample_segments(
        generator, requests, SAMPLING, choose=PickLast(), batch_size=6, on_call=calls.append
    )
    assert calls == [2, 1] and set(batch.segments) == {0, 1, 2}


def test_bad_candidates_and_choices_are_errors(generator, condition):
    with pytest.raises(InputError, match="num_candidates must be 1..16, got 0"):
        SegmentRequest("a", condition, NUM_FRAMES, seed=0, num_candidates=0)
    request = SegmentRequest("a", condition, NUM_FRAMES, seed=0, num_candidates=2)
    with pytest.raises(InputError, match="need a choose hook"):
        sample_segments(generator, [request], SAMPLING)

    def out_of_range(request, candidates):
        return CandidateChoice(index=5, scores=(0.0, 0.0))

    follow = SegmentRequest("b", condition, NUM_FRAMES, seed=0, after="a")
    batch = sample_segments(generator, [request, follow], SAMPLING, choose=out_of_range)
    assert batch.segments == {}
    assert isinstance(batch.failed["a"], InputError) and "index 0..1" in str(batch.failed["a"])
    assert batch.failed["b"] is batch.failed["a"]
