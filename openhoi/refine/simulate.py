"""A physics check of a generated sequence in MuJoCo: does the hand really hold the object?

Two tests per holding phase in which the hands carry the whole object (`HoldPhase.kind ==
"carry"`, `part is None`; other phases are reported as not tested):

1. **Hold under gravity** (DexGraspNet's protocol, Wang et al. 2023; BODex does the same
   in MuJoCo). At `frames_per_phase` evenly spaced frames the holding hands are held in
   place (their convex pieces posed at that frame; touching pieces press, see "Grip
   force") and the object is a free body starting at its pose there; no table. Gravity
   (9.81 m/s²) points along +x, −x, +y, −y, +z, −z in turn, 0.5 s each from the same
   start. A direction holds while the object's displacement, the largest displacement of
   any of its collision-hull vertices (so a tilt counts, not only a shift of the centre),
   stays under 2 cm; a frame succeeds when all six hold. A direction stops as soon as it
   fails, so a failed direction reports the first displacement over the threshold, not
   the final one.
2. **Tracking.** Over the whole phase the hand pieces follow the generated hand motion
   exactly (each piece's joint transform per frame, linear / slerp interpolation over the
   whole substeps between frames, with the matching velocities so that friction drags the
   object along; the pieces' shapes are those of the phase's first frame), the object
   is free and starts at rest at its generated pose, gravity is −z and a table plane lies
   at z = 0. Success when the object's centre of mass stays within 2 cm of the generated
   one at every frame (a drop shows up as that deviation). Slip is the displacement of the
   centre of mass in the wrist frame of the first holding hand relative to the phase's
   first frame, max over the phase.

Grip force. A hand frozen at its generated pose presses on nothing, and a hand that only
touches one side of an object cannot hold it however it is posed; DexGraspNet and BODex
squeeze by driving the finger joints slightly inwards. Here every hand piece whose closest
vertex lies within `CONTACT_THRESHOLD_M` (5 mm) of the object, or inside it, is mounted on
a spring-loaded slide joint along the inward surface normal at that vertex's closest
point: the spring rests `squeeze_m` (2 mm) past first contact and pushes with
`squeeze_force_n` (1 N) there, and the piece can only move inwards from its generated pose
(by at most twice the spring's rest length); a joint cut into several pieces shares its
force among its pressing pieces. Pieces further away stay rigid. An open hand
therefore gets no grip: its palm pushes the object away instead of holding it.

MuJoCo settings (`SimConfig`): elliptic friction cones with impratio 10 and 20 no-slip
iterations (MuJoCo's advice for grasping: its soft contacts otherwise let a squeezed
object creep out), condim 4 (sliding friction 3.0 as DexGraspNet, plus torsional
friction 5 mm so two opposed contacts resist spinning), solref (0.01 s, 1.0), i.e.
contacts twice as stiff as MuJoCo's default, the default solimp, the implicit-fast
integrator at 2 ms, object density 500 kg/m³. MuJoCo runs single-threaded and is
deterministic: the same inputs give the same report.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from openhoi._deps import require
from openhoi._io import save_json_atomic
from openhoi.errors import InputError, MissingFileError
from openhoi.geometry.constants import CONTACT_THRESHOLD_M
from openhoi.refine.sim_model import (
    ContactSettings,
    HandPieceBody,
    HandSegmentation,
    hand_joint_frames,
    hand_pieces,
    hand_segmentation,
    object_pieces,
    scene_xml,
)

if TYPE_CHECKING:
    from openhoi.data import HOISequence
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject
    from openhoi.refine.phases import HoldPhase

__all__ = [
    "CHECK_FILE",
    "GRAVITY_DIRECTIONS",
    "HoldFrameResult",
    "PhaseSimResult",
    "SimConfig",
    "SimReport",
    "check_run",
    "hold_test",
    "simulate_sequence",
]

#: What `check_run` writes into a run folder.
CHECK_FILE = "check.json"
#: The six gravity directions of the hold test, in test order.
GRAVITY_DIRECTIONS = ("+x", "-x", "+y", "-y", "+z", "-z")
_GRAVITY_UNIT = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], np.float64
)
# Displacement is checked every this many simulation steps (a failure stops the run).
_CHECK_EVERY_STEPS = 10
# At most this many object hull vertices measure the hold displacement (evenly picked).
_MAX_MEASURE_VERTICES = 2000


@dataclass(frozen=True)
class SimConfig:
    """Settings of `simulate_sequence` (SI units; see the module docstring for the protocol)."""

    # Hold under gravity (DexGraspNet): frames per phase, duration and success threshold.
    frames_per_phase: int = 3
    hold_duration_s: float = 0.5
    hold_threshold_m: float = 0.02
    gravity_m_s2: float = 9.81
    # Grip: each hand piece touching the object presses on it with a spring that rests
    # squeeze_m past first contact and pushes with squeeze_force_n there (squeeze_m = 0: a
    # rigid hand, no pressing). The pressing bodies weigh press_mass_kg each, critically
    # damped.
    squeeze_m: float = 0.002
    squeeze_force_n: float = 1.0
    press_mass_kg: float = 0.01
    # Tracking: largest allowed distance to the generated object trajectory.
    tracking_threshold_m: float = 0.02
    # MuJoCo.
    timestep_s: float = 0.002
    friction: float = 3.0
    torsional_friction_m: float = 0.005
    condim: int = 4
    impratio: float = 10.0
    noslip_iterations: int = 20
    solref_timeconst_s: float = 0.01
    solref_dampratio: float = 1.0
    solimp: tuple[float, float, float] = (0.9, 0.95, 0.001)
    density_kg_m3: float = 500.0
    # Object convex decomposition (CoACD concavity threshold, relative to the part's size)
    # and its cache root (None: $OPENHOI_CACHE or ~/.cache/openhoi). At 0.05 the built-in
    # bottle's body is one hull whose shoulder stands 4 mm proud of the real surface, so
    # fingers on the shoulder start inside it; at 0.03 it is two pieces within 0.3 mm.
    coacd_threshold: float = 0.03
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        positive = {
            "hold_duration_s": self.hold_duration_s,
            "hold_threshold_m": self.hold_threshold_m,
            "gravity_m_s2": self.gravity_m_s2,
            "tracking_threshold_m": self.tracking_threshold_m,
            "timestep_s": self.timestep_s,
            "friction": self.friction,
            "solref_timeconst_s": self.solref_timeconst_s,
            "solref_dampratio": self.solref_dampratio,
            "density_kg_m3": self.density_kg_m3,
            "squeeze_force_n": self.squeeze_force_n,
            "press_mass_kg": self.press_mass_kg,
            "impratio": self.impratio,
        }
        for name, value in positive.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(f"SimConfig.{name} must be a positive number, got {value!r}")
        if not isinstance(self.frames_per_phase, int) or self.frames_per_phase < 1:
            raise InputError(
                f"SimConfig.frames_per_phase must be an integer >= 1, got {self.frames_per_phase!r}"
            )
        if not (math.isfinite(self.squeeze_m) and 0 <= self.squeeze_m <= 0.01):
            raise InputError(f"SimConfig.squeeze_m must lie in [0, 0.01] m, got {self.squeeze_m!r}")
        if not (math.isfinite(self.torsional_friction_m) and self.torsional_friction_m >= 0):
            raise InputError(
                f"SimConfig.torsional_friction_m must be >= 0, got {self.torsional_friction_m!r}"
            )
        if not isinstance(self.noslip_iterations, int) or self.noslip_iterations < 0:
            raise InputError(
                f"SimConfig.noslip_iterations must be an integer >= 0, got "
                f"{self.noslip_iterations!r}"
            )
        if self.condim not in (1, 3, 4, 6):
            raise InputError(f"SimConfig.condim must be 1, 3, 4 or 6, got {self.condim!r}")
        if self.timestep_s > 0.01 or self.hold_duration_s < self.timestep_s:
            raise InputError(
                f"SimConfig.timestep_s must be at most 0.01 s and at most hold_duration_s, got "
                f"timestep_s={self.timestep_s!r}, hold_duration_s={self.hold_duration_s!r}"
            )
        if self.solref_timeconst_s < 2 * self.timestep_s:
            raise InputError(
                "SimConfig.solref_timeconst_s must be at least twice timestep_s (MuJoCo's "
                f"stability limit), got {self.solref_timeconst_s!r} with timestep_s "
                f"{self.timestep_s!r}"
            )
        solimp = tuple(self.solimp)
        if len(solimp) != 3 or not (0 < solimp[0] <= solimp[1] < 1 and solimp[2] > 0):
            raise InputError(
                "SimConfig.solimp must be (dmin, dmax, width) with 0 < dmin <= dmax < 1 and "
                f"width > 0, got {self.solimp!r}"
            )
        if not (math.isfinite(self.coacd_threshold) and 0.01 <= self.coacd_threshold <= 1):
            raise InputError(
                f"SimConfig.coacd_threshold must lie in [0.01, 1], got {self.coacd_threshold!r}"
            )
        object.__setattr__(self, "solimp", tuple(float(v) for v in solimp))

    def contact_settings(self) -> ContactSettings:
        """The MuJoCo scene settings of this config."""
        stiffness = self.squeeze_force_n / self.squeeze_m if self.squeeze_m > 0 else 0.0
        return ContactSettings(
            timestep_s=self.timestep_s,
            friction=self.friction,
            torsional_friction_m=self.torsional_friction_m,
            condim=self.condim,
            impratio=self.impratio,
            noslip_iterations=self.noslip_iterations,
            solref=(self.solref_timeconst_s, self.solref_dampratio),
            solimp=self.solimp,
            density_kg_m3=self.density_kg_m3,
            press_stiffness_n_m=stiffness,
            press_damping_n_s_m=2.0 * math.sqrt(stiffness * self.press_mass_kg),
            press_mass_kg=self.press_mass_kg,
        )


@dataclass(frozen=True)
class HoldFrameResult:
    """The hold test at one frame.

    Attributes:
        frame: sequence frame index.
        displacement_mm: per direction of `GRAVITY_DIRECTIONS`, the largest object-vertex
            displacement (mm) reached (the first value over the threshold for a failure).
        held: per direction, whether the displacement stayed under the threshold.
        initial_penetration_mm: deepest interpenetration (mm, >= 0) of a hand piece and an
            object piece at the start, as MuJoCo sees the convex pieces; contacts resolve
            it by pushing the object, so a large value means the test starts with a kick.
    """

    frame: int
    displacement_mm: tuple[float, ...]
    held: tuple[bool, ...]
    initial_penetration_mm: float = 0.0

    @property
    def success(self) -> bool:
        """Whether the object held in all six directions."""
        return all(self.held)


@dataclass(frozen=True)
class PhaseSimResult:
    """The check of one holding phase (frames [start, end)).

    Attributes:
        start, end, sides, part, kind: the phase (see `openhoi.refine.phases.HoldPhase`).
        is_tested: False for phases the check does not simulate; then every result is None
            or empty and `reason` says why.
        hold: the hold test per tested frame.
        tracking_success: whether the object followed the generated trajectory.
        max_deviation_mm: largest distance of the simulated object's centre of mass to the
            generated one over the phase, mm.
        slip_mm: largest displacement of the object's centre of mass in the holding wrist's
            frame, relative to the phase's first frame, mm.
        reason: why the phase was not tested ("" when tested).
    """

    start: int
    end: int
    sides: tuple[str, ...]
    part: str | None
    kind: str
    is_tested: bool
    hold: tuple[HoldFrameResult, ...] = ()
    tracking_success: bool | None = None
    max_deviation_mm: float | None = None
    slip_mm: float | None = None
    reason: str = ""

    @property
    def initial_penetration_max_mm(self) -> float | None:
        """Deepest initial hand-object interpenetration over the tested frames (None: untested)."""
        if not self.hold:
            return None
        return max(frame.initial_penetration_mm for frame in self.hold)

    @property
    def hold_success_rate(self) -> float | None:
        """Fraction of tested frames that held in all six directions (None: untested)."""
        if not self.hold:
            return None
        return sum(frame.success for frame in self.hold) / len(self.hold)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "start": self.start,
            "end": self.end,
            "sides": list(self.sides),
            "part": self.part,
            "kind": self.kind,
            "is_tested": self.is_tested,
            "reason": self.reason,
            "hold_success_rate": self.hold_success_rate,
            "initial_penetration_max_mm": self.initial_penetration_max_mm,
            "hold": [
                {
                    "frame": frame.frame,
                    "success": frame.success,
                    "initial_penetration_mm": frame.initial_penetration_mm,
                    "held": dict(zip(GRAVITY_DIRECTIONS, frame.held, strict=True)),
                    "displacement_mm": dict(
                        zip(GRAVITY_DIRECTIONS, frame.displacement_mm, strict=True)
                    ),
                }
                for frame in self.hold
            ],
            "tracking_success": self.tracking_success,
            "max_deviation_mm": self.max_deviation_mm,
            "slip_mm": self.slip_mm,
        }


@dataclass(frozen=True)
class SimReport:
    """Result of `simulate_sequence`: one entry per holding phase, in time order."""

    phases: tuple[PhaseSimResult, ...]
    config: SimConfig = field(default_factory=SimConfig)

    def summary(self) -> dict[str, Any]:
        """JSON-ready overall figures; None where nothing was tested.

        hold_success: fraction of tested frames (all phases) that held in all six
        directions; tracking_success: fraction of tested phases tracked; slip_mean_mm /
        slip_max_mm over tested phases; initial_penetration_max_mm: deepest hand-object
        interpenetration of the convex pieces at the start of a hold test (mm);
        tested_phases / untested_phases: counts.
        """
        tested = [p for p in self.phases if p.is_tested]
        frames = [frame for p in tested for frame in p.hold]
        slips = [p.slip_mm for p in tested if p.slip_mm is not None]
        depths = [frame.initial_penetration_mm for frame in frames]
        return {
            "hold_success": (sum(f.success for f in frames) / len(frames) if frames else None),
            "tracking_success": (
                sum(bool(p.tracking_success) for p in tested) / len(tested) if tested else None
            ),
            "slip_mean_mm": float(np.mean(slips)) if slips else None,
            "slip_max_mm": float(np.max(slips)) if slips else None,
            "initial_penetration_max_mm": float(max(depths)) if depths else None,
            "tested_phases": len(tested),
            "untested_phases": len(self.phases) - len(tested),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: summary, phases and the config."""
        return {
            "summary": self.summary(),
            "phases": [phase.to_dict() for phase in self.phases],
            "config": asdict(self.config),
        }


# ------------------------------------------------------------------------------ entry


def simulate_sequence(
    sequence: HOISequence,
    obj: HOIObject,
    hands: Mapping[str, HandModel] | None = None,
    *,
    phases: Sequence[HoldPhase] | None = None,
    config: SimConfig | None = None,
) -> SimReport:
    """Check a sequence's holding phases in MuJoCo: hold under gravity, tracking and slip.

    Args:
        sequence: the motion, world frame, z up.
        obj: its object (`HOIObject`).
        hands: side → `HandModel` (default: the embedded hand of each side).
        phases: the holding phases; None: `openhoi.refine.phases.holding_phases(sequence,
            obj, hands)`.
        config: settings (default `SimConfig()`).

    Returns:
        A `SimReport` with one `PhaseSimResult` per phase.

    Raises:
        InputError: a phase lies outside the sequence, or a bad config.
        DependencyError: mujoco or coacd is not installed.
    """
    from openhoi.objects import HOIObject

    config = config or SimConfig()
    if not isinstance(config, SimConfig):
        raise InputError(f"config must be a SimConfig, got {type(config).__name__}")
    if not isinstance(obj, HOIObject):
        raise InputError(f"obj must be an HOIObject, got {type(obj).__name__}")
    require("mujoco", "the simulator check")
    if phases is None:
        from openhoi.refine.phases import holding_phases

        phases = holding_phases(sequence, obj, hands)
    for phase in phases:
        if not 0 <= phase.start < phase.end <= sequence.num_frames:
            raise InputError(
                f"phase frames [{phase.start}, {phase.end}) lie outside the sequence's "
                f"{sequence.num_frames} frames"
            )
    results = []
    context: _Context | None = None
    for phase in phases:
        base = {"start": phase.start, "end": phase.end, "sides": tuple(phase.sides),
                "part": phase.part, "kind": phase.kind}  # fmt: skip
        if phase.kind != "carry" or phase.part is not None:
            what = f"part {phase.part!r}" if phase.part is not None else "the object"
            reason = f"{phase.kind} phase on {what}: only carrying the whole object is simulated"
            results.append(PhaseSimResult(**base, is_tested=False, reason=reason))
            continue
        if context is None:
            context = _Context.build(sequence, obj, hands, config)
        hold = tuple(
            _hold_frame(context, phase.sides, frame)
            for frame in _test_frames(phase.start, phase.end, config.frames_per_phase)
        )
        deviation_m, slip_m = _track_phase(context, phase.sides, phase.start, phase.end)
        results.append(
            PhaseSimResult(
                **base,
                is_tested=True,
                hold=hold,
                tracking_success=bool(deviation_m <= config.tracking_threshold_m),
                max_deviation_mm=1000.0 * deviation_m,
                slip_mm=1000.0 * slip_m,
            )
        )
    return SimReport(phases=tuple(results), config=config)


def hold_test(
    sequence: HOISequence,
    obj: HOIObject,
    sides: Sequence[str],
    frames: Sequence[int],
    hands: Mapping[str, HandModel] | None = None,
    *,
    config: SimConfig | None = None,
) -> tuple[HoldFrameResult, ...]:
    """The six-direction hold test (module docstring, test 1) of `sides` at `frames`.

    `simulate_sequence` runs it at evenly spaced frames of each carrying phase; this runs
    it where the caller asks, e.g. on candidate grasps stacked as the frames of one
    sequence (`refine.contact_opt` picks grasps so).
    """
    from openhoi.objects import HOIObject

    config = config or SimConfig()
    if not isinstance(obj, HOIObject):
        raise InputError(f"obj must be an HOIObject, got {type(obj).__name__}")
    require("mujoco", "the simulator check")
    bad = [f for f in frames if not 0 <= int(f) < sequence.num_frames]
    if bad:
        raise InputError(
            f"hold_test frames {bad} lie outside the sequence's {sequence.num_frames} frames"
        )
    context = _Context.build(sequence, obj, hands, config)
    return tuple(_hold_frame(context, tuple(sides), int(frame)) for frame in frames)


def check_run(
    run_dir: str | os.PathLike,
    *,
    config: SimConfig | None = None,
    hands: Mapping[str, HandModel] | None = None,
) -> SimReport:
    """Check a run folder's `sequence.npz` and write `check.json` (atomically) beside it.

    The holding phases come from `plan.json`'s sub-tasks ("primitive", "hands", "frames")
    when the plan records frame ranges, else they are detected from the motion.

    Raises:
        MissingFileError: the folder or its sequence.npz does not exist.
        InputError: an unreadable plan.json, or what `simulate_sequence` raises.
    """
    from openhoi.data import HOISequence
    from openhoi.hand import HandModel, hand_identity
    from openhoi.provenance import hand_model_description, package_version
    from openhoi.refine.phases import holding_phases

    folder = Path(run_dir)
    if not folder.is_dir():
        raise MissingFileError(f"run folder {str(folder)!r} does not exist")
    sequence_path = folder / "sequence.npz"
    if not sequence_path.is_file():
        raise MissingFileError(
            f"run folder {str(folder)!r} has no sequence.npz; point this at a folder written "
            "by openhoi generate"
        )
    sequence = HOISequence.load(sequence_path)
    obj = sequence.load_object()
    hands = {side: (hands or {}).get(side) or HandModel(side=side) for side in ("left", "right")}
    subtasks = _plan_subtasks(folder / "plan.json")
    phases = holding_phases(sequence, obj, hands, subtasks=subtasks)
    report = simulate_sequence(sequence, obj, hands, phases=phases, config=config)
    mujoco = require("mujoco", "the simulator check")
    save_json_atomic(
        folder / CHECK_FILE,
        {
            **report.to_dict(),
            "phases_from": "detected" if subtasks is None else "plan.json",
            "provenance": {
                "openhoi": package_version(),
                "mujoco": mujoco.__version__,
                "coacd": _version("coacd"),
                "hand_model": hand_model_description(hands),
                "hand": hand_identity(hands).to_record(),
            },
        },
    )
    return report


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _subtask(entry: dict[str, Any]) -> tuple[str, str, tuple[int, int] | None]:
    frames = entry.get("frames")
    span = None if frames is None else (int(frames[0]), int(frames[1]))
    return str(entry["primitive"]), str(entry["hands"]), span


def _plan_subtasks(path: Path) -> list[tuple[str, str, tuple[int, int] | None]] | None:
    """plan.json's `(primitive, hands, (start, end) | None)` per sub-task; None when there
    is no plan or it records no frame ranges (a plan written before generation)."""
    if not path.is_file():
        return None
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["subtasks"]
        if not any("frames" in entry for entry in entries):
            return None
        return [_subtask(entry) for entry in entries]
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise InputError(
            f"{path}: cannot read its sub-tasks ({type(error).__name__}: {error}); expected "
            '"subtasks" entries with "primitive", "hands" and "frames" [start, end] or null'
        ) from error


def _test_frames(start: int, end: int, count: int) -> list[int]:
    """Up to `count` evenly spaced frames of [start, end), first and last included."""
    return sorted(set(np.linspace(start, end - 1, count).round().astype(int).tolist()))


# ---------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Context:
    """What every phase of one sequence shares: poses, hands, object pieces, settings."""

    sequence: HOISequence
    obj: HOIObject
    hands: dict[str, HandModel]
    segmentation: dict[str, HandSegmentation]
    part_pieces: dict[str, tuple[np.ndarray, ...]]
    object_rotation: np.ndarray  # (T, 3, 3)
    object_translation: np.ndarray  # (T, 3)
    object_angle: np.ndarray  # (T,)
    config: SimConfig

    @classmethod
    def build(cls, sequence, obj, hands, config: SimConfig) -> _Context:
        from openhoi.hand import HandModel

        models = {}
        for side in ("left", "right"):
            model = (hands or {}).get(side) or HandModel(side=side)
            if model.side != side:
                raise InputError(f"hands[{side!r}] is a {model.side} hand")
            models[side] = model
        pieces = object_pieces(obj, threshold=config.coacd_threshold, cache_dir=config.cache_dir)
        return cls(
            sequence=sequence,
            obj=obj,
            hands=models,
            segmentation={
                side: hand_segmentation(
                    model.mano.lbs_weights.detach().cpu().numpy(),
                    model.mano.v_template.detach().cpu().numpy(),
                    np.asarray(model.faces),
                )
                for side, model in models.items()
            },
            part_pieces={name: tuple(p.vertices for p in ps) for name, ps in pieces.items()},
            object_rotation=sequence.object_rotation().astype(np.float64),
            object_translation=sequence.object_translation().astype(np.float64),
            object_angle=np.asarray(sequence.object_angle(), np.float64),
            config=config,
        )

    def object_body(self, frame: int) -> list[np.ndarray]:
        """Object pieces in the body (canonical) frame at the frame's articulation angle."""
        out = []
        for name, pieces in self.part_pieces.items():
            transform = np.asarray(
                self.obj.part_transform(name, float(self.object_angle[frame])), np.float64
            )
            out.extend(v @ transform[:3, :3].T + transform[:3, 3] for v in pieces)
        return out

    def hand_state(self, side: str, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(F, V, 3)` world vertices and `(F, 16, 4, 4)` joint frames of `side` at `frames`."""
        import torch

        from openhoi.data import HAND_SIDES

        model = self.hands[side]
        pose = np.asarray(self.sequence.hand_pose_6d(side)[frames])
        transl = np.asarray(self.sequence.hand_translation(side)[frames])
        betas = np.asarray(self.sequence.betas[HAND_SIDES.index(side)])
        with torch.no_grad():
            vertices = model(
                torch.as_tensor(pose, dtype=model.dtype),
                torch.as_tensor(transl, dtype=model.dtype),
                betas=torch.as_tensor(np.tile(betas, (len(frames), 1)), dtype=model.dtype),
            ).vertices
        joints = hand_joint_frames(model, pose, transl, betas)
        return vertices.double().cpu().numpy(), joints

    def hand_at(
        self, sides: Sequence[str], frame: int
    ) -> tuple[list[HandPieceBody], list[tuple[str, int]], np.ndarray]:
        """The holding hands' pieces at `frame` in their joints' frames, the (side, joint) of
        each and `(P, 4, 4)` those joints' world transforms.

        A piece whose closest vertex lies within `CONTACT_THRESHOLD_M` of the object (or
        inside it) presses: it slides along the inward surface normal at that vertex's
        closest point, pushed by a spring that rests `squeeze_m` past first contact.
        """
        import torch

        from openhoi.geometry import signed_distance

        config = self.config
        mesh = self._mesh_at(frame)
        rotation = torch.as_tensor(self.object_rotation[frame])[None]
        translation = torch.as_tensor(self.object_translation[frame])[None]
        pieces, keys, poses = [], [], []
        for side in sides:
            vertices, joint_frames = self.hand_state(side, np.array([frame]))
            for joint, piece in hand_pieces(vertices[0], self.segmentation[side]):
                pose = joint_frames[0, joint]
                local = (piece.vertices - pose[:3, 3]) @ pose[:3, :3]
                body = HandPieceBody(local)
                if config.squeeze_m > 0:
                    query = signed_distance(
                        torch.as_tensor(piece.vertices)[None], mesh,
                        rotation=rotation, translation=translation,
                    )  # fmt: skip
                    nearest = int(torch.argmin(query.sdf[0]))
                    gap = float(query.sdf[0, nearest])
                    if gap <= CONTACT_THRESHOLD_M:
                        inward = -query.normal[0, nearest].numpy() @ pose[:3, :3]
                        rest = max(gap, 0.0) + config.squeeze_m
                        body = HandPieceBody(local, inward / np.linalg.norm(inward), rest)
                pieces.append(body)
                keys.append((side, joint))
                poses.append(pose)
        # A joint's squeeze force is shared by its pressing pieces.
        pressing = Counter(k for k, b in zip(keys, pieces, strict=True) if b.press_axis is not None)
        pieces = [
            replace(body, press_share=1.0 / pressing[key]) if body.press_axis is not None else body
            for key, body in zip(keys, pieces, strict=True)
        ]
        return pieces, keys, np.stack(poses)

    def _mesh_at(self, frame: int):
        import trimesh

        if self.obj.articulation is None:
            return self.obj.mesh
        vertices = self.obj.vertices_at(float(self.object_angle[frame]))
        return trimesh.Trimesh(vertices, np.asarray(self.obj.mesh.faces), process=False)


# ------------------------------------------------------------------------------ tests


def _quat(rotation: np.ndarray) -> np.ndarray:
    """(…, 3, 3) rotation matrices → (…, 4) unit quaternions w, x, y, z (w >= 0)."""
    from scipy.spatial.transform import Rotation

    flat = Rotation.from_matrix(rotation.reshape(-1, 3, 3)).as_quat()  # x, y, z, w
    quat = np.concatenate([flat[:, 3:], flat[:, :3]], axis=1)
    quat *= np.where(quat[:, :1] < 0, -1.0, 1.0)
    return quat.reshape(*rotation.shape[:-2], 4)


def _compile(xml: str):
    import mujoco

    model = mujoco.MjModel.from_xml_string(xml)
    return model, mujoco.MjData(model)


def _measure_vertices(pieces: list[np.ndarray]) -> np.ndarray:
    vertices = np.concatenate(pieces)
    if len(vertices) > _MAX_MEASURE_VERTICES:
        vertices = vertices[np.linspace(0, len(vertices) - 1, _MAX_MEASURE_VERTICES).astype(int)]
    return vertices


def _scene(context: _Context, sides: Sequence[str], frame: int, *, is_tracking: bool):
    """Compile the scene of `frame`: hand pieces (at that frame) and the object, plus a
    table and driven hand bodies when tracking; returns the model, its data, the (side,
    joint) of each hand piece and the object's body vertices."""
    config = context.config
    hand, keys, poses = context.hand_at(sides, frame)
    body = context.object_body(frame)
    xml = scene_xml(
        contact=config.contact_settings(),
        hand=hand,
        hand_position=poses[:, :3, 3],
        hand_quat=_quat(poses[:, :3, :3]),
        is_hand_moving=is_tracking,
        object_pieces_body=body,
        object_position=context.object_translation[frame],
        object_quat=_quat(context.object_rotation[frame]),
        has_table=is_tracking,
    )
    model, data = _compile(xml)
    return model, data, keys, body


def _hold_frame(context: _Context, sides: Sequence[str], frame: int) -> HoldFrameResult:
    """The six-direction hold test at one frame (see the module docstring)."""
    import mujoco

    config = context.config
    model, data, _, body = _scene(context, sides, frame, is_tracking=False)
    object_id = model.body("object").id
    measure = _measure_vertices(body)
    num_steps = max(1, round(config.hold_duration_s / config.timestep_s))
    mujoco.mj_forward(model, data)
    # Only hand-object pairs collide in this scene (no table), so every contact is one.
    depth = max([0.0] + [-float(data.contact[i].dist) for i in range(data.ncon)])
    displacements, held = [], []
    for direction in _GRAVITY_UNIT:
        mujoco.mj_resetData(model, data)
        model.opt.gravity[:] = config.gravity_m_s2 * direction
        mujoco.mj_forward(model, data)
        start = measure @ data.xmat[object_id].reshape(3, 3).T + data.xpos[object_id]
        worst, done = 0.0, 0
        while done < num_steps and worst <= config.hold_threshold_m:
            count = min(_CHECK_EVERY_STEPS, num_steps - done)
            mujoco.mj_step(model, data, nstep=count)
            done += count
            now = measure @ data.xmat[object_id].reshape(3, 3).T + data.xpos[object_id]
            worst = max(worst, float(np.linalg.norm(now - start, axis=1).max()))
        displacements.append(1000.0 * worst)
        held.append(worst <= config.hold_threshold_m)
    return HoldFrameResult(
        frame=frame,
        displacement_mm=tuple(displacements),
        held=tuple(held),
        initial_penetration_mm=1000.0 * depth,
    )


def _rotation_vector(rotation: np.ndarray) -> np.ndarray:
    """(…, 3, 3) rotation matrices → (…, 3) rotation vectors (axis × angle, radians)."""
    from scipy.spatial.transform import Rotation

    flat = Rotation.from_matrix(rotation.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape(*rotation.shape[:-2], 3)


def _slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    """Row-wise slerp of (N, 4) unit quaternions at fraction t."""
    dot = np.sum(q0 * q1, axis=1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot).clip(max=1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    near = sin < 1e-6
    safe = np.where(near, 1.0, sin)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(near, t, np.sin(t * theta) / safe)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _track_phase(
    context: _Context, sides: Sequence[str], start: int, end: int
) -> tuple[float, float]:
    """Tracking run over frames [start, end): (max deviation m, slip m)."""
    import mujoco

    config = context.config
    frames = np.arange(start, end)
    # 1. The scene at the first frame; every frame's joint transforms drive the hand bodies.
    model, data, keys, _ = _scene(context, sides, start, is_tracking=True)
    joint_frames = {side: context.hand_state(side, frames)[1] for side in sides}
    targets = np.stack([joint_frames[side][:, joint] for side, joint in keys], axis=1)
    positions = targets[..., :3, 3]  # (F, P, 3)
    quats = _quat(targets[..., :3, :3])  # (F, P, 4)
    # 2. Whole substeps per frame: the timestep shrinks to fit the frame interval. Over a
    #    frame interval each body moves at constant linear velocity (world frame) and
    #    constant angular velocity (body frame, MuJoCo's free-joint convention).
    frame_dt = 1.0 / context.sequence.fps
    substeps = max(1, math.ceil(frame_dt / config.timestep_s - 1e-9))
    model.opt.timestep = frame_dt / substeps
    model.opt.gravity[:] = (0.0, 0.0, -config.gravity_m_s2)
    linear = np.diff(positions, axis=0) / frame_dt  # (F - 1, P, 3)
    relative = np.einsum("fpji,fpjk->fpik", targets[:-1, :, :3, :3], targets[1:, :, :3, :3])
    angular = _rotation_vector(relative) / frame_dt  # (F - 1, P, 3)
    qpos = np.array([model.jnt_qposadr[model.joint(f"hand_{i}").id] for i in range(len(keys))])
    qvel = np.array([model.jnt_dofadr[model.joint(f"hand_{i}").id] for i in range(len(keys))])
    qpos_index, qvel_index = qpos[:, None] + np.arange(7), qvel[:, None] + np.arange(6)
    object_id = model.body("object").id
    mujoco.mj_forward(model, data)
    # 3. Generated centre of mass per frame, and the wrist frame of the first holding hand.
    com_body = model.body_ipos[object_id].copy()
    rotation = context.object_rotation[frames]
    generated = np.einsum("fij,j->fi", rotation, com_body) + context.object_translation[frames]
    wrist = joint_frames[sides[0]][:, 0]
    simulated = [data.xipos[object_id].copy()]
    velocity = np.zeros((len(keys), 6))
    for index in range(len(frames) - 1):
        velocity[:, :3], velocity[:, 3:] = linear[index], angular[index]
        for step in range(substeps):
            fraction = step / substeps
            data.qpos[qpos_index[:, :3]] = (1 - fraction) * positions[index] + fraction * positions[
                index + 1
            ]
            data.qpos[qpos_index[:, 3:]] = _slerp(quats[index], quats[index + 1], fraction)
            data.qvel[qvel_index] = velocity
            mujoco.mj_step(model, data)
        simulated.append(data.xipos[object_id].copy())
    simulated = np.asarray(simulated)
    deviation = float(np.linalg.norm(simulated - generated, axis=1).max())
    in_wrist = np.einsum("fji,fj->fi", wrist[:, :3, :3], simulated - wrist[:, :3, 3])
    slip = float(np.linalg.norm(in_wrist - in_wrist[0], axis=1).max())
    return deviation, slip
