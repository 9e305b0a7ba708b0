"""The evaluation protocols behind `openhoi eval`: the motion benchmark and the planner's.

This module stands above `openhoi.api` (it drives a `Pipeline`); `openhoi.eval` below it
holds only the metrics and the learned evaluator.

Motion (`openhoi eval motion`, `run_benchmark`)
-----------------------------------------------

One *prompt* is one sub-task segment of a test episode: its object, its own ground-truth
affordance mask, its sub-task text, its acting hands and its length. For every repeat
(a different seed, as in the paper's tables) every prompt is sampled with the motion
model (DSG refinement as `openhoi generate` runs it), each episode's segments are composed
into one sequence, and the repeat is measured as a whole:

==============================  ============================================================
metric                          definition (per repeat, then mean ± 95% interval over repeats)
==============================  ============================================================
MPJPE (mm), root-aligned MPJPE  21 keypoints of the acting hands, generated segment vs its
                                ground truth, both moved so the object starts at the origin
FOL (m)                         final object location error of each segment, same frames
FID, Diversity                  on motion-evaluator features of the segments
                                (`openhoi.eval.evaluator`); real set = the ground-truth
                                segments of the same prompts; Diversity over min(300, N) pairs
MModality                       within-prompt distances where the generations of a prompt
                                are its R repeats: all distinct pairs (one value, interval
                                over prompts)
R-precision top-1/3             generated segment features against the prompts' texts, pools
                                of 32 (Guo et al.)
raw FID                         Fréchet distance of raw 208-D frames (what the OpenHOI code
                                computes), for comparison with published numbers only
penetration, IV, contact        `sequence_physics` of each composed episode (acting hands;
                                affordance region = union of the episode's ground-truth masks)
SmoothRate, boundary jerk       over the joins of the composed episodes, on the 2×21
                                keypoints (see `smooth_rate` / `boundary_jerk`)
==============================  ============================================================

The ground-truth row holds the same statistics of the test episodes themselves (GT
Diversity, as the paper's tables print, plus the data's own physics and SmoothRate), so a
reader sees what "good" is on this split. The per-episode measurements are
`openhoi.eval.episode_metrics`.

Per-prompt records (paired statistics): besides the per-repeat metrics, each variant keeps
one record per (episode, repeat): the episode's seed, MPJPE, root-aligned MPJPE and FOL of
each prompt (`PROMPT_METRICS`) and the episode's physics, holding, MuJoCo and boundary-jerk
values (`EPISODE_METRICS`). `openhoi eval report` pairs each variant's records with the full
method's on the same prompt and seed (`openhoi.eval.paired.paired_lines`). FID, raw FID,
Diversity, MModality, R-precision and SmoothRate are properties of a set of samples, with no
value per prompt, and have no records.

Splitting (`--workers`, `--shard I/N`, launchers; `openhoi.shard`): a run is a fixed list
of units, each ground-truth episode and each (variant, repeat, episode), measured
independently (`_units`); episode e of repeat r samples with seed `(seed + r)·1000 + 16·e`
(segment k: + k), whichever process runs it. A shard measures its slice and writes the
units' raw measurements (`write_benchmark_shard`); `merge_benchmark_shards` summarises the
union exactly as one process does (`_summarise`), so the merged file equals the
single-process one. The evaluator embeds each episode's segments in one call, so a
segment's features do not depend on which other episodes share a process.

Splits: SynthHOI `seen` = `test_held_out_phrasing` (training objects, held-out phrasings),
`unseen` = `test_unseen_objects`, `all` = `test`. Without a data folder the SynthHOI test
set is generated on first use and cached (`openhoi.synth.eval_split`: exactly the test
episodes of `outputs/synthhoi-default`, the shipped models' training set, and only as many
as `limit` asks for). Prepared GRAB / ARCTIC / H2O folders carry split tags per episode
(`openhoi data prepare`): `seen` = seen objects by held-out subjects, `unseen` = unseen
objects (any subject), `all` = every episode (H2O as a completely unseen dataset, the
paper's Table A1).

Planner (`openhoi eval planner`, `run_planner_eval`)
----------------------------------------------------

`openhoi.mllm.evaluation.evaluate_planner` on SynthHOI scenes of the held-out objects
(`unseen`, `HELD_OUT_OBJECTS`) or the training objects (`seen`): affordance AUC / aIoU /
SIM / MAE of the plan steps' masks (teacher-forced) and of object-level questions, and
plan accuracy (exact plan, step, per field). See that module for the protocol.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openhoi.errors import InputError, MissingFileError
from openhoi.eval.episode_metrics import (
    episode_physics,
    join_features,
    raw_frames,
    segment_accuracy,
)
from openhoi.eval.paired import paired_lines
from openhoi.provenance import run_record

__all__ = [
    "ABLATION_VARIANTS",
    "DATASETS",
    "PHRASINGS",
    "PLANNER_SPLITS",
    "SPLITS",
    "VARIANTS",
    "BenchmarkConfig",
    "PlannerEvalConfig",
    "Variant",
    "benchmark_markdown",
    "episode_simulation",
    "finite_or_none",
    "generate_episode",
    "load_in_order",
    "parse_variants",
    "planner_report",
    "run_benchmark",
    "run_planner_eval",
    "select_episodes",
    "write_benchmark",
    "write_planner_eval",
]

logger = logging.getLogger(__name__)
DATASETS = ("synth", "grab", "arctic", "h2o")
SPLITS = ("seen", "unseen", "all")
SYNTH_SPLITS = {"seen": "test_held_out_phrasing", "unseen": "test_unseen_objects", "all": "test"}
# Guo et al.: 300 Diversity pairs (fewer when there are fewer samples).
DIVERSITY_PAIRS = 300
R_PRECISION_POOL = 32
# Feature statistics (FID's covariance, Diversity's pairs) need two prompts at least.
MIN_FEATURE_PROMPTS = 2


@dataclass(frozen=True)
class Variant:
    """A row of a table: `GenerateConfig` fields to change, and the affordance condition.

    changes: fields replaced in the base `GenerateConfig` (a loss is off when its weight is 0).
    affordance_condition: False gives the motion model an all-zero affordance mask (and no
        affordance loss can use one): the paper's "w/o Affordance".
    keep_anchor: with `affordance_condition` False, the object-centric frame is still
        anchored at the ground-truth mask's centroid (as in the full method), so the row
        removes the mask condition and nothing else.
    """

    description: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    affordance_condition: bool = True
    keep_anchor: bool = False


VARIANTS: dict[str, Variant] = {
    "full": Variant("as `openhoi generate` runs (DSG with penetration + affordance losses)"),
    # The paper's Table 4 rows.
    "no_affordance": Variant(
        "w/o Affordance: all-zero affordance condition, no affordance loss",
        {"affordance_weight": 0.0},
        affordance_condition=False,
    ),
    # The same with the frame kept: an empty mask would also move the object-centric anchor
    # to the centroid of all points (motion.representation.affordance_anchor).
    "no_affordance_anchor_kept": Variant(
        "w/o Affordance, anchor kept: zero mask condition, no affordance loss, the hands "
        "expressed about the true mask's centroid as in the full method",
        {"affordance_weight": 0.0},
        affordance_condition=False,
        keep_anchor=True,
    ),
    "no_cfg": Variant("w/o CFG: conditional model alone (s = 1)", {"guidance_scale": 1.0}),
    "no_penetration": Variant("w/o l_penetration", {"penetration_weight": 0.0}),
    "no_affordance_loss": Variant("w/o l_aff", {"affordance_weight": 0.0}),
    # No refinement at all (DSG off): the paper's unguided sampling, and the time baseline
    # of the refinement overhead.
    "no_guidance": Variant("w/o DSG refinement (plain sampling)", {"refine": False}),
    # Cheaper DSG: a guided step costs ~4-5 plain ones (backward through the network), so
    # the overhead scales with the number of guided steps.
    "dsg_every_3rd": Variant(
        "DSG on every 3rd instead of every 2nd step of the last half", {"guidance_interval": 3}
    ),
    # Ours: each segment starts where the previous one ended (in-filling), no bridges.
    "continued": Variant(
        "segments continue each other (in-filled start frame), joined without bridges",
        {"continue_segments": True},
    ),
    # Ours: DSG also pulls near-touching hand zones onto the surface (refine.ContactLoss).
    "contact_loss": Variant("DSG with the contact loss added", {"contact_weight": 0.05}),
    # Ours: sampled segments as the model makes them, without the temporal low-pass.
    "no_smoothing": Variant("w/o temporal smoothing of the segments", {"smooth_sigma_frames": 0.0}),
    # After sampling (refine/contact_opt.py): without the grasp fit, without the scene
    # rules (object at rest unless held, carried rigidly, landed on release), without both.
    "no_contact_opt": Variant(
        "w/o contact optimisation (generated grasps kept)", {"optimise_contacts": False}
    ),
    "no_kinematic_carry": Variant(
        "w/o kinematic carrying (generated object motion kept)", {"kinematic_carry": False}
    ),
    "no_post_sampling": Variant(
        "w/o either: the composed samples as they come",
        {"optimise_contacts": False, "kinematic_carry": False},
    ),
    # The simulator picks among the fitted grasps where the first fails its hold test
    # (ContactConfig.simulated_choice; what `generate --physics-sim` turns on).
    "sim_choice": Variant(
        "the simulator chooses among the fitted grasps (as with --physics-sim)",
        {"physics_sim": True},
    ),
    # Best-of-K: four candidates per sub-task, the best by the physics score kept.
    "best_of_4": Variant("best of K = 4 candidates per sub-task", {"candidates": 4}),
    # The paper's Tables A6/A7 (SmoothRate): segments joined directly.
    "no_inbetween": Variant(
        "w/o motion in-between: segments joined directly", {"bridge_frames": 0}
    ),
    # The paper's in-betweens: generated by the model under DSG's transition term; the same
    # without that term; "full" joins segments with interpolated bridges (ours).
    "model_inbetween": Variant(
        "model-generated in-betweens with the transition guidance (the paper's)",
        {"bridge": "model"},
    ),
    "model_inbetween_no_transition": Variant(
        "model-generated in-betweens without the transition term",
        {"bridge": "model", "transition_weight": 0.0},
    ),
}
ABLATION_VARIANTS = (
    "no_affordance",
    "no_cfg",
    "no_penetration",
    "no_affordance_loss",
    "no_inbetween",
    "no_smoothing",
    "no_guidance",
)


def parse_variants(variants: str | None = None, *, ablate: bool = False) -> tuple[str, ...]:
    """Table rows from a comma list (it wins), else "full" plus the ablations if `ablate`."""
    if variants:
        return tuple(v.strip() for v in variants.split(",") if v.strip())
    return ("full", *ABLATION_VARIANTS) if ablate else ("full",)


@dataclass(frozen=True)
class BenchmarkConfig:
    """What `run_benchmark` samples and how.

    data: episode folder (SynthHOI with splits.json, or a prepared real dataset); None for
        `synth`: the cached SynthHOI test set (`openhoi.synth.eval_split`), generated on
        first use.
    dataset: "synth", "grab", "arctic" or "h2o" (how `split` selects episodes).
    split: "seen", "unseen" or "all".
    repeats: samplings of the whole split with seeds `seed`, `seed + 1`, ...
    limit: the first `limit` episodes of the split (None: all).
    motion_path: motion checkpoint (None: shipped weights).
    evaluator_path: motion evaluator (None: the shipped SynthHOI one for `synth`, else none,
        and the evaluator metrics are left out).
    variants: names out of `VARIANTS`.
    device: "cpu" or "cuda[:k]" (motion model and evaluator).
    generate: `GenerateConfig.from_options` names (steps, sampler, guidance_scale, bridge,
        ...); unset sampling fields take the motion folder's defaults.
    simulate: run the MuJoCo check (`openhoi.refine.simulate`) on every episode's holding
        phases: hold under gravity, tracking and slip columns (a few seconds per episode).
    command: the command line that ran it, recorded in the result file (`settings.run`,
        with date, machine and version) for `openhoi eval report`.
    """

    data: str | None = None
    dataset: str = "synth"
    split: str = "unseen"
    repeats: int = 20
    limit: int | None = None
    seed: int = 0
    motion_path: str | None = None
    evaluator_path: str | None = None
    variants: tuple[str, ...] = ("full",)
    device: str = "cpu"
    generate: Mapping[str, Any] = field(default_factory=dict)
    simulate: bool = True
    command: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise InputError(f"dataset must be one of {list(DATASETS)}, got {self.dataset!r}")
        if self.split not in SPLITS:
            raise InputError(f"split must be one of {list(SPLITS)}, got {self.split!r}")
        if self.repeats < 1:
            raise InputError(f"repeats must be >= 1, got {self.repeats}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be >= 1, got {self.limit}")
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise InputError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
        if self.data is None and self.dataset != "synth":
            raise InputError(
                f"dataset {self.dataset!r} needs a data folder (--data DIR, written by "
                f"`openhoi data prepare {self.dataset}`); only synth is generated on demand"
            )
        for name, folder in (
            ("data", self.data),
            ("motion model", self.motion_path),
            ("evaluator", self.evaluator_path),
        ):
            if folder is not None and not Path(folder).is_dir():
                raise MissingFileError(f"{name} folder {str(folder)!r} does not exist")


# ----------------------------------------------------------------------------------------
# Episodes


def select_episodes(folder: str | Path, dataset: str, split: str, limit: int | None = None):
    """The test episodes of `split` (see the module docstring), in splits.json order.

    Both SynthHOI (`openhoi data synth`) and prepared folders (`openhoi data prepare`) carry
    a splits.json; the split names differ only in the seen test set.
    """
    from openhoi.data.torch_dataset import split_episode_ids

    folder = Path(folder)
    if dataset == "synth":
        name = SYNTH_SPLITS[split]
    else:
        name = {"seen": "test_seen", "unseen": "test_unseen_objects", "all": "all"}[split]
    ids = split_episode_ids(folder, name)
    if ids is None:  # "all": every episode of the folder
        from openhoi.data.episodes import read_index

        ids = [i for shard in read_index(folder)["shards"] for i in shard["episode_ids"]]
    episodes = load_in_order(folder, ids[:limit] if limit else ids)
    if not episodes:
        raise InputError(f"split {split!r} of {str(folder)!r} ({dataset}) has no episodes")
    wrong = {e.source for e in episodes} - {dataset}
    if wrong:
        raise InputError(f"{str(folder)!r} holds {sorted(wrong)} episodes, not {dataset!r}")
    return episodes


def load_in_order(folder: str | Path, ids: Sequence[str]) -> list:
    """The episodes `ids` of `folder`, in that order."""
    from openhoi.data import load_episodes

    loaded = {e.episode_id: e for e in load_episodes(folder, list(ids))}
    return [loaded[i] for i in ids]


def _data_folder(config: BenchmarkConfig, progress: bool) -> tuple[Path, dict | None]:
    """The episode folder to score and, for a cached SynthHOI test set, its provenance."""
    if config.data is not None:
        return Path(config.data), None
    from openhoi.synth import EvalSplitSpec, eval_split_folder, eval_split_manifest

    spec = EvalSplitSpec(test_set=SYNTH_SPLITS[config.split])
    folder = eval_split_folder(spec, config.limit, progress=progress)
    manifest = eval_split_manifest(folder)
    keys = ("test_set", "seed", "num_episodes", "objects", "data_version")
    return folder, {key: manifest[key] for key in keys}


# ----------------------------------------------------------------------------------------
# Generation


def generate_episode(
    pipeline, config, obj, episode, seed: int, *, affordance_condition=True, keep_anchor=False
):
    """Every segment of `episode` from its ground-truth condition, then the composition
    and the contact optimisation (as `openhoi generate` runs them).

    Returns `(segments, sequence, seconds)`: the generated canonical segments (as sampled),
    the composed and contact-optimised episode and the wall time of it all.
    """
    from openhoi.motion import MotionCondition
    from openhoi.refine import TRANSITION_TEXT

    clock = time.perf_counter()
    segments = []
    for k, (subtask, truth) in enumerate(zip(episode.plan, episode.segments, strict=True)):
        empty = np.zeros(len(obj.points.points), np.float32)
        true_mask = empty
        if truth.affordance is not None:
            true_mask = np.asarray(truth.affordance, np.float32).max(axis=0)
        condition = MotionCondition(
            object=obj,
            affordance=true_mask if affordance_condition else empty,
            text=subtask.text,
            hands=subtask.hands,
            anchor=true_mask if keep_anchor and not affordance_condition else None,
        )
        num_frames = min(truth.num_frames, pipeline.generator.max_frames)
        previous = segments[-1] if segments else None
        segments.append(
            pipeline.generate_segment(
                obj, condition, num_frames, config, seed=seed + k, previous=previous
            )
        )
    sequence = pipeline.compose(obj, segments, config)
    ranges = [r for r, t in zip(sequence.segment_ranges, sequence.texts, strict=True)
              if t != TRANSITION_TEXT]  # fmt: skip
    contact = pipeline.optimise_contacts(obj, sequence, episode.plan, ranges, config)
    if contact is not None:
        sequence = contact.sequence
    return segments, sequence, time.perf_counter() - clock


# ----------------------------------------------------------------------------------------
# Protocol

# All that this module knows of `openhoi.api` is in these helpers: a `GenerateConfig` from
# flat option names and copies with options changed, the pipeline, the settings recorded.


def _generate_config(config: BenchmarkConfig):
    """The base `GenerateConfig` from `config.generate` (an unknown name is an InputError)."""
    from openhoi.api import GenerateConfig

    return GenerateConfig.from_options(**dict(config.generate))


def _with_changes(generate, changes: Mapping[str, Any]):
    """A copy of a `GenerateConfig` with flat options (a variant's changes) replaced."""
    return generate.with_options(**dict(changes))


def _load_pipeline(config: BenchmarkConfig, device: str):
    """The motion model `config.motion_path` (None: shipped), hands, on `device`."""
    from openhoi.api import Pipeline

    return Pipeline.from_pretrained(motion=config.motion_path, device=device)


def _generate_settings(pipeline, generate, device: str) -> dict[str, Any]:
    """What the base generation ran with, flat (the tables read it) and in full."""
    sampling = pipeline.generator.resolve_sampling(generate.sampling)
    return {
        "sampler": sampling.sampler,
        "steps": sampling.steps,
        "eta": sampling.eta,
        "guidance_scale": sampling.guidance_scale,
        "refine": generate.refine.use_guidance,
        "bridge": generate.refine.bridge,
        "bridge_frames": generate.refine.bridge_frames,
        "device": device,
        "config": {"sampling": asdict(sampling), "refine": asdict(generate.refine)},
    }


# Every run is a list of *units*, measured independently and then summarised:
#   ("truth", e)            ground-truth episode e: its physics, joins and features
#   (variant, r, e)         episode e generated by `variant` with repeat r's seed
# in that fixed order (`_units`). A unit's seed comes from (run seed, r, e) alone, so the
# summary of the same units is the same whichever process measured them (`openhoi.shard`).

# The per-prompt columns (one value per sub-task segment) and the per-episode columns of the
# records kept for paired statistics. Set-level metrics (FID, raw FID, Diversity,
# MModality, R-precision, SmoothRate) have no per-prompt value and are not in the records.
PROMPT_METRICS = ("mpjpe_mm", "root_aligned_mpjpe_mm", "fol_m")
EPISODE_METRICS = (
    "penetration_depth_mean_mm",
    "penetration_depth_max_mm",
    "intersection_volume_mean_cm3",
    "contact_ratio",
    "affordance_contact_ratio",
    "holding_ratio",
    "penetration_holding_mean_mm",
    "affordance_holding_ratio",
    "hold_success",
    "tracking_success",
    "slip_max_mm",
    "boundary_jerk_max_m_s3",
)
TRUTH = "truth"
SHARD_FORMAT = "openhoi-benchmark-shard"
SHARD_VERSION = 1


def _units(variants: Sequence[str], repeats: int, num_episodes: int) -> list[tuple]:
    """The run's units in their fixed order (see above)."""
    units: list[tuple] = [(TRUTH, e) for e in range(num_episodes)]
    for name in variants:
        units += [(name, r, e) for r in range(repeats) for e in range(num_episodes)]
    return units


def _episode_seed(config: BenchmarkConfig, repeat: int, episode: int) -> int:
    """The seed of episode `episode` in repeat `repeat` (segment k samples with seed + k)."""
    return (config.seed + repeat) * 1000 + episode * 16


@dataclass(frozen=True)
class _Reference:
    """What every variant and repeat is compared with: the ground-truth segments' sub-task
    texts, raw-FID frames `(N, 30, 208)` and evaluator features `(N, D)` (None without an
    evaluator), in prompt order."""

    texts: list[str]
    raw: np.ndarray
    features: np.ndarray | None
    text_features: np.ndarray | None

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> _Reference:
        """From the truth units' records, in episode order."""
        has_features = records[0].get("features") is not None
        return cls(
            texts=[text for r in records for text in r["texts"]],
            raw=np.concatenate([r["raw"] for r in records]),
            features=np.concatenate([r["features"] for r in records]) if has_features else None,
            text_features=(
                np.concatenate([r["text_features"] for r in records]) if has_features else None
            ),
        )


def _all_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys of every row, first-seen order: a metric one row lacks (affordance contact when
    holding, for a prompt without a holding frame) must not be dropped for the others."""
    return list(dict.fromkeys(key for row in rows for key in row))


def _mean_over(rows: Sequence[Mapping[str, float | None]]) -> dict[str, float]:
    """Per key of any row, the NaN-skipping mean of the rows that have a value."""
    out = {}
    for key in _all_keys(rows):
        values = [row[key] for row in rows if row.get(key) is not None]
        out[key] = float(np.nanmean(values)) if values else math.nan
    return out


def _feature_metrics(features, reference: _Reference, seed: int) -> dict[str, float]:
    """Evaluator-feature metrics of one set of features (generated, or the data itself)."""
    from openhoi.eval.evaluator import r_precision
    from openhoi.eval.motion_metrics import diversity

    out = {"diversity": diversity(features, min(DIVERSITY_PAIRS, len(features)), seed=seed)}
    if len(reference.texts) >= 3:
        # Top-1/3 retrieval of the prompts' texts, pools of min(32, N), 20 reshuffles.
        precision = r_precision(
            features,
            reference.text_features,
            top_k=3,
            pool_size=min(R_PRECISION_POOL, len(reference.texts)),
            seed=seed,
            num_repeats=20,
        )
        out["r_precision_top1"] = float(precision["top_1"])
        out["r_precision_top3"] = float(precision["top_3"])
        out["matching_score"] = float(precision["matching_score"])
    return out


def _join_record(sequence, hands) -> dict[str, Any]:
    """What the transition metrics need of one composed episode: the `(W, 2·5 + 1, 126)`
    keypoint windows around its joins that fit (SmoothRate's), its largest boundary jerk
    (None without a join) and its fps. `_transition_metrics` of these records equals
    `episode_metrics.transition_metrics` of the sequences."""
    from openhoi.eval.motion_metrics import DEFAULT_BOUNDARY_WINDOW_FRAMES as W
    from openhoi.eval.motion_metrics import boundary_jerk

    positions, starts = join_features(sequence, hands)
    windows = [
        positions[b - W : b + W + 1] for b in starts if b - W >= 0 and b + W < len(positions)
    ]
    jerk = None
    if starts:
        jerk = boundary_jerk(positions.reshape(len(positions), -1, 3), starts, sequence.fps)
        jerk = jerk.max_jerk_m_s3
    return {
        "windows": np.stack(windows) if windows else np.zeros((0, 2 * W + 1, positions.shape[1])),
        "boundary_jerk_max_m_s3": jerk,
        "fps": float(sequence.fps),
    }


def _transition_metrics(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """SmoothRate over all the records' join windows, mean of their boundary jerks."""
    from openhoi.eval.motion_metrics import DEFAULT_BOUNDARY_WINDOW_FRAMES as W
    from openhoi.eval.motion_metrics import smooth_rate

    windows = [w for r in records for w in r["windows"]]
    jerks = [
        r["boundary_jerk_max_m_s3"] for r in records if r["boundary_jerk_max_m_s3"] is not None
    ]
    rate = math.nan
    if windows:
        rate = smooth_rate(windows, [[W]] * len(windows), records[0]["fps"]).smooth_rate
    return {
        "smooth_rate": rate,
        "boundary_jerk_max_m_s3": float(np.mean(jerks)) if jerks else math.nan,
    }


class _Measurer:
    """Measures units in one process: the split, the pipeline and the evaluator, loaded once.

    Args:
        config: the run.
        folder: the episode folder (resolved by the parent, so workers share one cache).
        device: this process's device (`openhoi.shard.device_for`).
    """

    def __init__(self, config: BenchmarkConfig, folder: str | Path, device: str) -> None:
        from openhoi.data.episodes import load_episode_object

        self.config = config
        self.episodes = select_episodes(folder, config.dataset, config.split, config.limit)
        self.objects = [load_episode_object(folder, e.object) for e in self.episodes]
        # Loaded (so a bad --evaluator is an error) even when too few prompts leave it unused.
        evaluator = _load_evaluator(config, device)
        if sum(len(e.plan) for e in self.episodes) < MIN_FEATURE_PROMPTS:
            evaluator = None
        self.evaluator = evaluator
        self.pipeline = _load_pipeline(config, device)
        self.base = _generate_config(config)
        self._warm = False
        self._embed_texts_alone()

    def _embed_texts_alone(self) -> None:
        """Fill the text encoders' caches one text per call, before anything else.

        An encoder caches each text's embedding, and one computed in a batch with other
        texts differs in the last bits from one computed alone; DSG can amplify that. So a
        unit's numbers would depend on the units this process ran before it. Embedded alone,
        every text has the same embedding in every process.
        """
        from openhoi.refine import TRANSITION_TEXT

        texts = sorted({step.text for e in self.episodes for step in e.plan} | {TRANSITION_TEXT})
        for text in texts:
            self.pipeline.generator.text_encoder.encode([text])
            if self.evaluator is not None:
                self.evaluator.text_features([text])

    def settings(self) -> dict[str, Any]:
        """The settings that come from the loaded models (the same in every process)."""
        return {
            "generate": _generate_settings(self.pipeline, self.base, self.config.device),
            "provenance": dict(self.pipeline.provenance),
            "has_evaluator": self.evaluator is not None,
        }

    def measure(self, unit: tuple) -> dict[str, Any]:
        """The record of one unit (see `_units`)."""
        if unit[0] == TRUTH:
            return self._truth(unit[1])
        if not self._warm:
            # Untimed warm-up: kernel compilation and per-object distance structures.
            warm_up = _with_changes(self.base, {"steps": 2})
            generate_episode(self.pipeline, warm_up, self.objects[0], self.episodes[0], 0)
            self._warm = True
        name, repeat, index = unit
        variant = VARIANTS[name]
        episode, obj, hands = self.episodes[index], self.objects[index], self.pipeline.hands
        seed = _episode_seed(self.config, repeat, index)
        segments, sequence, seconds = generate_episode(
            self.pipeline, _with_changes(self.base, variant.changes), obj, episode, seed,
            affordance_condition=variant.affordance_condition, keep_anchor=variant.keep_anchor,
        )  # fmt: skip
        mpjpe, aligned, fol = segment_accuracy(episode, segments, hands)
        physics = episode_physics(sequence, obj, episode, hands)
        if self.config.simulate:
            physics.update(episode_simulation(sequence, obj, episode, hands))
        return {
            "seed": seed,
            "physics": physics,
            "prompts": {"mpjpe_mm": mpjpe, "root_aligned_mpjpe_mm": aligned, "fol_m": fol},
            "seconds": seconds,
            "raw": raw_frames(segments, hands),
            "features": self._features(segments),
            **_join_record(sequence, hands),
        }

    def _truth(self, index: int) -> dict[str, Any]:
        episode, obj, hands = self.episodes[index], self.objects[index], self.pipeline.hands
        sequence = episode.sequence()
        physics = episode_physics(sequence, obj, episode, hands)
        if self.config.simulate:
            physics.update(episode_simulation(sequence, obj, episode, hands))
        texts = [step.text for step in episode.plan]
        evaluator = self.evaluator
        return {
            "physics": physics,
            "texts": texts,
            "raw": raw_frames(episode.segments, hands),
            "features": self._features(episode.segments),
            "text_features": evaluator.text_features(texts) if evaluator else None,
            **_join_record(sequence, hands),
        }

    def _features(self, segments) -> np.ndarray | None:
        # One evaluator call per episode, so a segment's features do not depend on the
        # other episodes a process happens to hold (the batch pads to its longest segment).
        return None if self.evaluator is None else self.evaluator.motion_features(segments)


def _measure_units(config: BenchmarkConfig, folder: str, positions: Sequence[int], slot: int):
    """Worker body: `(settings, {position: record})` of the units at `positions`.

    Module level, so `openhoi.shard.run_workers` can run it in a spawned process; `slot`
    picks the GPU when the device is a bare "cuda".
    """
    from openhoi.shard import device_for

    measurer = _Measurer(config, folder, device_for(config.device, slot))
    units = _units(config.variants, config.repeats, len(measurer.episodes))
    records = {}
    for position in positions:
        records[position] = measurer.measure(units[position])
        logger.info("unit %s done", units[position])
    return measurer.settings(), records


def _summarise(settings: Mapping[str, Any], records: Mapping[int, Any], log) -> tuple[dict, dict]:
    """`(variants, ground_truth)` of the results from every unit's record, by position in
    `_units` of the run `settings` describe."""
    from openhoi.eval.motion_metrics import fid, raw_parameter_fid
    from openhoi.eval.statistics import mean_confidence_interval

    num_repeats, seed = settings["repeats"], settings["seed"]
    units = _units(settings["variants"], num_repeats, settings["num_episodes"])
    position = {unit: k for k, unit in enumerate(units)}
    truth = [records[position[TRUTH, e]] for e in range(settings["num_episodes"])]
    reference = _Reference.from_records(truth)
    ground_truth = _mean_over([r["physics"] for r in truth])
    ground_truth.update(_transition_metrics(truth))
    if reference.features is not None:
        ground_truth.update(_feature_metrics(reference.features, reference, seed))
    rows: dict[str, Any] = {}
    for name in settings["variants"]:
        repeats, features, kept = [], [], []
        for r in range(num_repeats):
            mine = [records[position[name, r, e]] for e in range(len(truth))]
            metrics = _mean_over([m["physics"] for m in mine])
            for key in PROMPT_METRICS:  # over segments, not episodes
                metrics[key] = float(np.mean([v for m in mine for v in m["prompts"][key]]))
            raw = np.concatenate([m["raw"] for m in mine])
            if len(raw) >= MIN_FEATURE_PROMPTS:
                metrics["raw_fid"] = raw_parameter_fid(reference.raw, raw)
            metrics.update(_transition_metrics(mine))
            metrics["seconds_per_prompt"] = sum(m["seconds"] for m in mine) / len(raw)
            if reference.features is not None:
                generated = np.concatenate([m["features"] for m in mine])
                features.append(generated)
                metrics["fid"] = fid(reference.features, generated)
                metrics.update(_feature_metrics(generated, reference, seed + r))
            repeats.append(metrics)
            kept += [_paired_record(m, r, e) for e, m in enumerate(mine)]
            log(
                f"{name} repeat {r + 1}/{num_repeats}: MPJPE {metrics['mpjpe_mm']:.1f} mm, "
                f"FOL {metrics['fol_m']:.3f} m, "
                + (f"FID {metrics['fid']:.2f}, " if "fid" in metrics else "")
                + f"pen {metrics.get('penetration_depth_mean_mm', math.nan):.2f} mm, "
                f"{metrics['seconds_per_prompt'] * len(raw):.0f} s"
            )
        summary: dict[str, Any] = {}
        for key in _all_keys(repeats):
            values = [r[key] for r in repeats if math.isfinite(r.get(key, math.nan))]
            if values:
                mean, half = mean_confidence_interval(np.asarray(values))
                summary[key] = {"mean": mean, "ci95": half, "n": len(values)}
        summary["multimodality"] = _multimodality(np.stack(features) if features else None)
        rows[name] = {"summary": summary, "repeats": repeats, "records": kept}
    return rows, ground_truth


def _paired_record(record: Mapping[str, Any], repeat: int, episode: int) -> dict[str, Any]:
    """The per-prompt and per-episode values of one generated episode (`PROMPT_METRICS`,
    `EPISODE_METRICS`), what `openhoi.eval.statistics.paired_differences` pairs."""
    values = {**record["physics"], "boundary_jerk_max_m_s3": record["boundary_jerk_max_m_s3"]}
    num_prompts = len(record["prompts"]["mpjpe_mm"])
    return {
        "episode": episode,
        "repeat": repeat,
        "seed": record["seed"],
        "prompts": [
            {key: record["prompts"][key][k] for key in PROMPT_METRICS} for k in range(num_prompts)
        ],
        "episode_metrics": {key: values[key] for key in EPISODE_METRICS if key in values},
    }


def _multimodality(features: np.ndarray | None) -> dict[str, float] | None:
    """MModality with the repeats as a prompt's generations; interval over prompts.

    Per prompt: the mean distance over all pairs of distinct generations (Guo et al. draw
    10 random pairs, which may pair a generation with itself; with few repeats that would
    pull the value towards 0). Then mean ± 95% interval over the prompts.
    """
    from openhoi.eval.statistics import mean_confidence_interval

    if features is None or features.shape[0] < 2:
        return None
    per_prompt = features.transpose(1, 0, 2)  # (C prompts, G = repeats, D)
    first, second = np.triu_indices(per_prompt.shape[1], k=1)
    distances = np.linalg.norm(per_prompt[:, first] - per_prompt[:, second], axis=-1).mean(1)
    mean, half = mean_confidence_interval(distances)
    return {"mean": mean, "ci95": half, "n": len(distances)}


def episode_simulation(sequence, obj, episode, hands) -> dict[str, float | None]:
    """The MuJoCo check of an episode's holding phases (found from its plan): fraction of
    tested frames held under gravity in all six directions, of phases tracked, and the
    largest slip (mm)."""
    from openhoi.refine import TRANSITION_TEXT
    from openhoi.refine.phases import holding_phases
    from openhoi.refine.simulate import simulate_sequence

    ranges = [r for r, t in zip(sequence.segment_ranges, sequence.texts, strict=True)
              if t != TRANSITION_TEXT]  # fmt: skip
    spans = [(s.primitive, s.hands, tuple(r)) for s, r in zip(episode.plan, ranges, strict=True)]
    phases = holding_phases(sequence, obj, hands, subtasks=spans)
    summary = simulate_sequence(sequence, obj, hands, phases=phases).summary()
    return {key: summary[key] for key in ("hold_success", "tracking_success", "slip_max_mm")}


def _load_evaluator(config: BenchmarkConfig, device: str):
    from openhoi.eval.evaluator import load_evaluator

    if config.evaluator_path is not None:
        return load_evaluator(config.evaluator_path, device=device)
    if config.dataset == "synth":
        return load_evaluator(None, device=device)
    return None


def run_benchmark(
    config: BenchmarkConfig,
    *,
    log=print,
    progress: bool = False,
    shard=None,
    workers: int = 1,
) -> dict[str, Any] | None:
    """Sample and measure the split once per repeat and variant; JSON-ready results.

    Args:
        config: what to sample and how.
        log: called with one line per repeat (and notes).
        progress: show a progress bar while a SynthHOI test set is generated for the cache.
        shard: an `openhoi.shard.Shard`: measure only that slice of the units and return a
            shard result (`write_benchmark_shard`, joined by `merge_benchmark_shards`);
            None: the whole run.
        workers: processes on this machine (each loads the models once).

    Under a launcher (RANK / WORLD_SIZE set) each rank measures its part of the shard and
    rank 0 returns the result; the other ranks return None.

    Returns:
        The results (settings, variants with their per-repeat metrics and per-prompt
        records, ground truth), or for a shard the records of its units.
    """
    from openhoi.shard import Shard, gather_to_main, launcher_rank, one_thread, run_workers

    shard = shard or Shard()
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    _generate_config(config)  # an unknown option fails before any work
    if config.data is None:
        log(f"SynthHOI {SYNTH_SPLITS[config.split]}: the cached test set (generated if needed)")
    folder, provenance = _data_folder(config, progress)
    episodes = select_episodes(folder, config.dataset, config.split, config.limit)
    num_prompts = sum(len(e.plan) for e in episodes)
    if num_prompts < MIN_FEATURE_PROMPTS:
        log(
            f"{num_prompts} prompt: FID, raw FID, Diversity, MModality and R-precision need "
            f"at least {MIN_FEATURE_PROMPTS} and are left out (raise --limit)"
        )
    elif config.evaluator_path is None and config.dataset != "synth":
        log(
            f"no motion evaluator for {config.dataset!r}: FID, Diversity, MModality and "
            "R-precision are left out (train one with `openhoi train evaluator data=DIR "
            "out=DIR` and pass --evaluator)"
        )
    log(f"{len(episodes)} episodes, {num_prompts} prompts, {config.repeats} repeats")
    units = _units(config.variants, config.repeats, len(episodes))
    rank, world, local_rank = launcher_rank()
    mine = shard.part(rank, world)
    # A worker without units would only load the models; one always runs (it reports the
    # settings that come from the models).
    parts = [mine.part(w, workers).positions(len(units)) for w in range(workers)]
    slots = [local_rank * workers + w for w, part in enumerate(parts) if part] or [local_rank]
    parts = [part for part in parts if part] or [[]]
    outcomes = run_workers(
        _measure_units, [(config, str(folder), part) for part in parts], slots=slots
    )
    gathered = gather_to_main(outcomes)
    if gathered is None:
        return None
    records: dict[int, Any] = {}
    for rank_outcomes in gathered:
        for _, part in rank_outcomes:
            records.update(part)
    models = gathered[0][0][0]
    settings = {
        "data": str(folder),
        "data_provenance": provenance,
        "dataset": config.dataset,
        "split": config.split,
        "repeats": config.repeats,
        "limit": config.limit,
        "seed": config.seed,
        "motion": config.motion_path or "shipped",
        "evaluator": (
            (config.evaluator_path or "shipped synthhoi") if models["has_evaluator"] else None
        ),
        "generate": models["generate"],
        "provenance": models["provenance"],
        "variants": list(config.variants),
        "simulate": config.simulate,
        "num_episodes": len(episodes),
        "num_prompts": num_prompts,
        "episodes": [e.episode_id for e in episodes],
        "run": run_record(config.command),
    }
    if not shard.is_whole:
        return {
            "format": SHARD_FORMAT,
            "version": SHARD_VERSION,
            "shard": [shard.index, shard.count],
            "num_units": len(units),
            "settings": settings,
            "records": records,
        }
    with one_thread():  # the same float sums as a merge's (see openhoi.shard)
        variants, truth = _summarise(settings, records, log)
    return {"settings": settings, "variants": variants, "ground_truth": truth}


# ----------------------------------------------------------------------------------------
# Shards

_ARRAYS = ("raw", "windows", "features", "text_features")


def shard_path(out: str | Path, settings: Mapping[str, Any], shard: Sequence[int]) -> Path:
    """`<out>/benchmark_<dataset>_<split>.shard-<I>-of-<N>.npz`."""
    index, count = shard
    return (
        Path(out)
        / f"benchmark_{settings['dataset']}_{settings['split']}.shard-{index}-of-{count}.npz"
    )


def write_benchmark_shard(result: Mapping[str, Any], out: str | Path) -> Path:
    """A shard result of `run_benchmark` as one `.npz` (no pickle): its JSON header (format,
    shard, settings, each unit's scalar values) and each unit's arrays (`u<k>.<name>`)."""
    from openhoi._io import atomic_open

    arrays, scalars = {}, {}
    for position, record in result["records"].items():
        scalars[str(position)] = {k: v for k, v in record.items() if k not in _ARRAYS}
        for name in _ARRAYS:
            if record.get(name) is not None:
                arrays[f"u{position}.{name}"] = np.asarray(record[name])
    header = {key: result[key] for key in ("format", "version", "shard", "num_units", "settings")}
    header["records"] = scalars
    text = json.dumps(_json_ready(header))
    path = shard_path(out, result["settings"], result["shard"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as handle:
        np.savez_compressed(handle, header=np.frombuffer(text.encode("utf-8"), np.uint8), **arrays)
    return path


def _json_ready(value):
    """JSON-ready copy that keeps NaN (a shard's header is read back by Python only)."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def read_benchmark_shard(path: str | Path) -> dict[str, Any]:
    """A shard written by `write_benchmark_shard`, records with their arrays.

    Raises:
        MissingFileError: `path` does not exist.
        InputError: it is not such a shard (or is damaged).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"shard result {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            arrays = {key: data[key] for key in data.files if key != "header"}
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as error:
        raise InputError(
            f"{str(path)!r} is not a shard result of `openhoi eval motion --shard I/N` ({error})"
        ) from None
    if header.get("format") != SHARD_FORMAT or header.get("version") != SHARD_VERSION:
        raise InputError(
            f"{str(path)!r} is not a shard result of `openhoi eval motion --shard I/N` "
            f"(format {header.get('format')!r} version {header.get('version')!r})"
        )
    records = {}
    for position, scalars in header.pop("records").items():
        record = dict(scalars)
        for name in _ARRAYS:
            record[name] = arrays.get(f"u{position}.{name}")
        records[int(position)] = record
    return {**header, "records": records, "path": str(path)}


def merge_benchmark_shards(
    paths: Sequence[str | Path], *, command: Sequence[str] | None = None, log=print
) -> dict[str, Any]:
    """Join the N shard results of one run into what one process would have written.

    All N shards (`--shard 0/N` .. `N-1/N`) must be given, each once, made with the same
    settings (everything `settings` records but the command line and date).

    Raises:
        InputError: no paths; shards of different runs or settings; a shard given twice;
            a shard missing. Nothing is written by this function.
    """
    if not paths:
        raise InputError("eval merge needs the shard results of one run (benchmark_*.shard-*.npz)")
    shards = [read_benchmark_shard(path) for path in paths]
    first = shards[0]
    count = first["shard"][1]
    expected = {k: v for k, v in first["settings"].items() if k != "run"}
    seen: dict[int, str] = {}
    for shard in shards:
        name, (index, total) = shard["path"], shard["shard"]
        if total != count or shard["num_units"] != first["num_units"]:
            raise InputError(
                f"{name} is shard {index}/{total} but {first['path']} is shard "
                f"{first['shard'][0]}/{count}: shards of different runs cannot be merged"
            )
        mine = {k: v for k, v in shard["settings"].items() if k != "run"}
        if mine != expected:
            differ = sorted(
                k for k in expected.keys() | mine.keys() if expected.get(k) != mine.get(k)
            )
            raise InputError(
                f"{name} was run with other settings than {first['path']} (they differ in "
                f"{', '.join(differ)}): shards of different runs cannot be merged"
            )
        if index in seen:
            raise InputError(f"{seen[index]} and {name} are both shard {index}/{count}")
        seen[index] = name
    missing = [i for i in range(count) if i not in seen]
    if missing:
        given = ", ".join(f"{seen[i]} = {i}/{count}" for i in sorted(seen))
        raise InputError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{i}/{count}' for i in missing)} "
            f"missing (given: {given})"
        )
    records = {k: v for shard in shards for k, v in shard["records"].items()}
    settings = dict(first["settings"])
    settings["run"] = {
        **run_record(command),
        "shards": [
            s["settings"]["run"].get("command") for s in sorted(shards, key=lambda s: s["shard"][0])
        ],
    }
    from openhoi.shard import one_thread

    with one_thread():
        variants, truth = _summarise(settings, records, log)
    return {"settings": settings, "variants": variants, "ground_truth": truth}


# ----------------------------------------------------------------------------------------
# Tables and files

MAIN_COLUMNS = (
    ("mpjpe_mm", "MPJPE (mm) ↓", "{:.1f}"),
    ("fol_m", "FOL (m) ↓", "{:.3f}"),
    ("fid", "FID ↓", "{:.2f}"),
    ("diversity", "Diversity →", "{:.2f}"),
    ("multimodality", "MModality ↑", "{:.2f}"),
    ("r_precision_top3", "R-prec. top-3 ↑", "{:.2f}"),
)
HOLDING_COLUMNS = (
    ("holding_ratio", "holding ↑", "{:.2f}"),
    ("penetration_holding_mean_mm", "pen. holding mean (mm) ↓", "{:.2f}"),
    ("penetration_holding_max_mm", "pen. holding max (mm) ↓", "{:.1f}"),
    ("affordance_holding_ratio", "aff. contact when holding ↑", "{:.2f}"),
    ("object_start_height_mm", "start height (mm) →0", "{:.1f}"),
    ("object_rest_height_max_mm", "free height max (mm) →0", "{:.1f}"),
    ("untouched_motion_max_mm", "untouched motion (mm) ↓", "{:.1f}"),
    ("hold_success", "MuJoCo hold ↑", "{:.2f}"),
    ("tracking_success", "MuJoCo tracking ↑", "{:.2f}"),
    ("slip_max_mm", "slip (mm) ↓", "{:.1f}"),
)
PHYSICS_COLUMNS = (
    ("penetration_depth_mean_mm", "pen. mean (mm) ↓", "{:.2f}"),
    ("penetration_depth_max_mm", "pen. max (mm) ↓", "{:.1f}"),
    ("intersection_volume_mean_cm3", "IV (cm³) ↓", "{:.2f}"),
    ("contact_ratio", "contact ↑", "{:.2f}"),
    ("affordance_contact_ratio", "aff. contact ↑", "{:.2f}"),
    ("smooth_rate", "SmoothRate ↓", "{:.3f}"),
    ("boundary_jerk_max_m_s3", "boundary jerk (m/s³) ↓", "{:.0f}"),
    ("root_aligned_mpjpe_mm", "RA-MPJPE (mm) ↓", "{:.1f}"),
    ("raw_fid", "raw FID ↓", "{:.1f}"),
    ("seconds_per_prompt", "s / prompt", "{:.2f}"),
)


# The columns of the paired-difference table: the metrics with per-prompt records.
PAIRED_COLUMNS = tuple(
    column
    for column in (*MAIN_COLUMNS, *PHYSICS_COLUMNS, *HOLDING_COLUMNS)
    if column[0] in PROMPT_METRICS + EPISODE_METRICS
)


def _cell(stats, fmt: str) -> str:
    if stats is None:
        return "–"
    if isinstance(stats, (int, float)):
        return "–" if not math.isfinite(stats) else fmt.format(stats)
    if stats.get("mean") is None:
        return "–"
    text = fmt.format(stats["mean"])
    half = stats.get("ci95")
    return text + (f" ± {fmt.format(half)}" if half is not None and math.isfinite(half) else "")


def _table(results: Mapping[str, Any], columns: Sequence[tuple[str, str, str]]) -> list[str]:
    lines = [
        "| | " + " | ".join(header for _, header, _ in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
        "| GT | " + " | ".join(_cell(results["ground_truth"].get(k), f) for k, _, f in columns)
        + " |",
    ]  # fmt: skip
    for name, row in results["variants"].items():
        label = "ours" if name == "full" else name
        cells = [_cell(row["summary"].get(key), fmt) for key, _, fmt in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def benchmark_markdown(results: Mapping[str, Any]) -> str:
    """The paper-style table and the physics/transition table of `run_benchmark` results."""
    from openhoi.provenance import hand_clause

    s = results["settings"]
    g = s["generate"]
    source = f"`{s['data']}`"
    if s.get("data_provenance"):
        p = s["data_provenance"]
        source = (
            f"the cached SynthHOI set (seed {p['seed']}, {p['num_episodes']} episodes, data "
            f"{p['data_version']}: the test episodes of outputs/synthhoi-default)"
        )
    header = (
        f"`{s['dataset']}` {s['split']} split of {source}: {s['num_episodes']} episodes, "
        f"{s['num_prompts']} prompts, {s['repeats']} repeats (seeds {s['seed']}.."
        f"{s['seed'] + s['repeats'] - 1}); {g['sampler'].upper()}-{g['steps']}, CFG "
        f"{g['guidance_scale']}, refinement {'on' if g['refine'] else 'off'}, bridges "
        f"{g['bridge']} ({g['bridge_frames']} frames); motion {s['motion']}, evaluator "
        f"{s['evaluator'] or 'none'}{hand_clause(s.get('provenance'))}. Mean ± 95% interval "
        "over repeats (MModality: over "
        "prompts, the repeats being the generations of a prompt). GT: the test episodes "
        "themselves."
    )
    lines = [header, "", *_table(results, MAIN_COLUMNS), "", *_table(results, PHYSICS_COLUMNS)]
    lines += ["", *_table(results, HOLDING_COLUMNS)]
    paired = paired_lines(results, PAIRED_COLUMNS, PROMPT_METRICS)
    if paired:  # result files with per-prompt records (older ones have none)
        lines += ["", *paired]
    described = [n for n in results["variants"] if n != "full"]
    if described:
        lines += ["", *[f"- {n}: {VARIANTS[n].description}" for n in described]]
    return "\n".join(lines) + "\n"


def finite_or_none(value):
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python numbers."""
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _write_pair(stem: Path, data: Mapping[str, Any], text: str) -> tuple[Path, Path]:
    """`<stem>.json` (NaN → null) and `<stem>.md`, each written atomically."""
    from openhoi._io import atomic_open, save_json_atomic

    stem.parent.mkdir(parents=True, exist_ok=True)
    save_json_atomic(stem.with_suffix(".json"), finite_or_none(dict(data)))
    with atomic_open(stem.with_suffix(".md")) as handle:
        handle.write(text.encode("utf-8"))
    return stem.with_suffix(".json"), stem.with_suffix(".md")


def write_benchmark(results: Mapping[str, Any], out: str | Path) -> tuple[Path, Path]:
    """`<out>/benchmark_<dataset>_<split>.json` (every repeat and per-prompt record) and
    `.md` (the tables); an `out` ending in `.json` names the JSON file itself."""
    s = results["settings"]
    stem = Path(out) / f"benchmark_{s['dataset']}_{s['split']}"
    if Path(out).suffix == ".json":
        stem = Path(out).with_suffix("")
    return _write_pair(stem, results, benchmark_markdown(results))


# ----------------------------------------------------------------------------------------
# Planner

PLANNER_SPLITS = ("unseen", "seen")
PHRASINGS = ("held_out", "train")


@dataclass(frozen=True)
class PlannerEvalConfig:
    """What `run_planner_eval` scores.

    checkpoint: planner folder (None: the shipped planner).
    split: "unseen" (SynthHOI's HELD_OUT_OBJECTS, never seen in training) or "seen"
        (the training objects).
    phrasing: SynthHOI instruction templates, "held_out" or "train".
    num_scenes / num_coarse / max_scene_objects / seed / hand_cues: `evaluate_planner`'s.
    device: "cpu" or "cuda[:k]".
    """

    checkpoint: str | None = None
    split: str = "unseen"
    phrasing: str = "held_out"
    num_scenes: int = 60
    num_coarse: int = 60
    max_scene_objects: int = 2
    seed: int = 0
    device: str = "cpu"
    hand_cues: bool = True

    def __post_init__(self) -> None:
        if self.split not in PLANNER_SPLITS:
            raise InputError(f"split must be one of {list(PLANNER_SPLITS)}, got {self.split!r}")
        if self.phrasing not in PHRASINGS:
            raise InputError(f"phrasing must be one of {list(PHRASINGS)}, got {self.phrasing!r}")


def run_planner_eval(config: PlannerEvalConfig) -> dict[str, Any]:
    """Score the planner (see the module docstring); JSON-ready results.

    The result holds `PlannerEvaluation.as_dict()`'s keys plus "settings" and "seconds".
    """
    from openhoi.mllm import load_planner
    from openhoi.mllm.evaluation import evaluate_planner
    from openhoi.mllm.training import training_objects
    from openhoi.synth.tasks import HELD_OUT_OBJECTS

    objects = tuple(HELD_OUT_OBJECTS) if config.split == "unseen" else tuple(training_objects())
    planner = load_planner(config.checkpoint, device=config.device)
    started = time.perf_counter()
    result = evaluate_planner(
        planner.model,
        objects=objects,
        phrasing=config.phrasing,
        num_scenes=config.num_scenes,
        num_coarse=config.num_coarse,
        max_scene_objects=config.max_scene_objects,
        seed=config.seed,
        hand_cues=config.hand_cues,
    )
    settings = {**asdict(config), "checkpoint": config.checkpoint or "shipped"}
    return {"settings": settings, **result.as_dict(), "seconds": time.perf_counter() - started}


def planner_report(results: Mapping[str, Any], *, show_errors: bool = False) -> str:
    """The scores of `run_planner_eval` as text (and every wrong plan, if `show_errors`)."""
    s = results["settings"]
    cues = "hand cues" if s["hand_cues"] else "no hand cues"
    lines = [
        f"planner {s['checkpoint']}, split {s['split']} objects {', '.join(results['objects'])}; "
        f"phrasing {s['phrasing']}; {cues}; seed {s['seed']}"
    ]
    for name in ("plan_affordance", "coarse_affordance"):
        m = results[name]
        lines.append(
            f"{name:18s} AUC {m['auc']:.3f}  aIoU {m['aiou']:.3f}  SIM {m['sim']:.3f}  "
            f"MAE {m['mae']:.3f}  (n={m['n']})"
        )
    named = results["hand_named_accuracy"]
    lines.append(
        f"plans ({results['num_scenes']} scenes): exact {results['exact_match']:.3f}  step "
        f"{results['step_accuracy']:.3f}  step w/o hand {results['step_accuracy_hand_free']:.3f}"
        f"  hand (named) {'n/a' if math.isnan(named) else f'{named:.3f}'}"
    )
    fields = "  ".join(f"{k} {v:.3f}" for k, v in results["field_accuracy"].items())
    lines.append(f"fields: {fields}; constrained retries {results['num_constrained']}")
    if show_errors:
        for error in results["errors"]:
            lines += [
                "",
                f"[{error['target_object']}] objects {error['objects']}: {error['instruction']}",
                f"  want {[tuple(step) for step in error['want']]}",
                f"  got  {[tuple(step) for step in error['got']]}",
            ]
    lines.append(f"evaluated in {results['seconds']:.0f}s")
    return "\n".join(lines) + "\n"


def write_planner_eval(results: Mapping[str, Any], out: str | Path) -> tuple[Path, Path]:
    """`<out>/planner_<split>_<phrasing>.json` (scores, every wrong plan) and `.md`."""
    s = results["settings"]
    stem = Path(out) / f"planner_{s['split']}_{s['phrasing']}"
    return _write_pair(stem, results, planner_report(results, show_errors=True))


def run_heldout_eval(checkpoint: str | None, name: str, device: str = "cpu"):
    """A planner (None: shipped) on a frozen held-out request set (`openhoi.mllm.heldout`),
    scored separately on SynthHOI's seen and unseen objects."""
    from openhoi.mllm import load_planner
    from openhoi.mllm.heldout import evaluate_heldout
    from openhoi.synth.tasks import HELD_OUT_OBJECTS

    planner = load_planner(checkpoint, device=device)
    return evaluate_heldout(planner, name, unseen_objects=HELD_OUT_OBJECTS)


def write_heldout_eval(result, out: str | Path) -> tuple[Path, Path]:
    """`<out>/planner_<set>.json` (scores, every request) and `.md` (tables, wrong plans)."""
    from openhoi.mllm.heldout import heldout_report

    stem = Path(out) / f"planner_{result.name}"
    return _write_pair(stem, result.as_dict(), heldout_report(result, show_errors=True))
