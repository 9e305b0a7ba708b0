"""A reach-and-grasp sequence on a static object: what `openhoi demo` shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi.config import DemoConfig
from openhoi.data.sequence import HAND_SIDES, HOISequence
from openhoi.hand import HandModel
from openhoi.synth.grasp import GraspFailure, synthesize_grasp
from openhoi.synth.motion import blend_poses, minimum_jerk, rest_transl_away

__all__ = ["DemoResult", "reach_and_grasp", "run_demo"]

# Preferred affordance per grasp type, in order; the first the object has is used.
_GRASP_CHOICES = (
    ("grasp", "power"),
    ("wrap-grasp", "power"),
    ("lift", "power"),
    ("open", "pinch"),
    ("press", "poke"),
)
# How far from the surface (along the normal) the reach starts, metres.
_REACH_START_M = 0.15
# Share of the frames spent reaching; the rest closes the fingers.
_REACH_SHARE = 0.6


def reach_and_grasp(
    obj, hand: HandModel, *, num_frames: int, rng: np.random.Generator
) -> tuple[HOISequence, str]:
    """One hand reaches the object's grasp region and closes its fingers; object static.

    Returns:
        The sequence (object at the origin, identity pose) and the affordance it grasps.
    """
    choice = next(((a, g) for a, g in _GRASP_CHOICES if a in obj.affordance_names), None)
    if choice is None:
        raise GraspFailure(
            f"object {obj.name!r} has no graspable affordance (it has {list(obj.affordance_names)})"
        )
    affordance, grasp_type = choice
    grasp = synthesize_grasp(
        obj, hand, obj.affordance_mask(affordance), grasp_type=grasp_type, rng=rng
    )
    num_reach = max(2, round(num_frames * _REACH_SHARE))
    reach = minimum_jerk(num_reach)
    close = minimum_jerk(num_frames - num_reach)
    start_transl = grasp.transl + _REACH_START_M * grasp.normal
    transl = np.concatenate(
        [
            start_transl + reach[:, None] * (grasp.transl - start_transl),
            np.repeat(grasp.transl[None], num_frames - num_reach, axis=0),
        ]
    )
    pose = np.concatenate(
        [
            np.repeat(grasp.open_pose[None], num_reach, axis=0),
            blend_poses(grasp.open_pose, grasp.pose, close),
        ]
    )
    idle = "left" if hand.side == "right" else "right"
    active = np.zeros((num_frames, len(HAND_SIDES)), bool)
    active[:, HAND_SIDES.index(hand.side)] = True
    betas = np.zeros((len(HAND_SIDES), 10), np.float32)
    betas[HAND_SIDES.index(hand.side)] = grasp.betas
    sequence = HOISequence.from_parameters(
        **{
            f"{hand.side}_pose": pose,
            f"{hand.side}_transl": transl,
            f"{idle}_transl": np.repeat(rest_transl_away(idle)[None], num_frames, axis=0),
        },
        object_rotation=np.repeat(np.eye(3)[None], num_frames, axis=0),
        betas=betas,
        active_hands=active,
        object_name=obj.name if obj.ref is None else str(obj.ref),
        texts=(f"reach for the {obj.name} and grasp it by its {affordance} region",),
        affordance=obj.affordance_mask(affordance)[None],
    )
    return sequence, affordance


@dataclass(frozen=True)
class DemoResult:
    """What `run_demo` made: the sequence, its physics report and any files written."""

    sequence: HOISequence
    report: object  # openhoi.geometry.PhysicsReport
    affordance: str
    written: tuple[Path, ...]


def run_demo(config: DemoConfig) -> DemoResult:
    """Approach an object's grasp region with one hand, close the fingers, measure physics."""
    from openhoi._io import save_json_atomic
    from openhoi.eval import sequence_physics
    from openhoi.hand import HandModel
    from openhoi.objects import load_object

    obj = load_object(config.object)
    hand = HandModel(side=config.side, mano_dir=config.mano_dir)
    sequence, affordance = reach_and_grasp(
        obj, hand, num_frames=config.num_frames, rng=np.random.default_rng(config.seed)
    )
    report = sequence_physics(sequence, obj, {config.side: hand})
    written: list[Path] = []
    if config.out:
        out = Path(config.out)
        written.append(sequence.save(out / "sequence.npz"))
        save_json_atomic(out / "metrics.json", report.summary())
        written.append(out / "metrics.json")
    return DemoResult(sequence, report, affordance, tuple(written))
