"""The `openhoi` command line: thin verbs over `openhoi.api`.

Only typer and the standard library are imported here at module level, so
`openhoi --help` starts fast and loads no torch. Each command imports its code
inside the function. User errors (`OpenHOIError`) become one line on stderr and
exit code 2; Ctrl-C exits with 130 and no traceback.
"""

from __future__ import annotations

import functools
import math
import shutil
import sys
from typing import Annotated

import typer

app = typer.Typer(
    name="openhoi",
    help="Open-world 3D hand-object interaction synthesis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
objects_app = typer.Typer(help="Built-in objects and mesh files.", no_args_is_help=True)
app.add_typer(objects_app, name="objects")
train_app = typer.Typer(help="Train models (hydra overrides: key=value).", no_args_is_help=True)
app.add_typer(train_app, name="train")
data_app = typer.Typer(
    help="Datasets: prepare GRAB / ARCTIC / H2O, synthesize SynthHOI.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
eval_app = typer.Typer(
    help="Evaluate: the motion benchmark and the planner evaluation.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# Sampling options shared by `generate` and `eval motion` (None: the model folder's own).
SamplerOption = Annotated[
    str | None,
    typer.Option(help="ddim (fast) or ddpm (the paper's); default: the model folder's."),
]
StepsOption = Annotated[
    int | None,
    typer.Option(help="Sampler steps (default: the model folder's for DDIM, all for DDPM)."),
]
GuidanceScaleOption = Annotated[
    float | None, typer.Option(help="Classifier-free guidance scale (default: the model's).")
]
# Splitting a run (openhoi.shard), shared by `eval motion`, `generate --prompts`, `data synth`.
WorkersOption = Annotated[
    int, typer.Option(help="Processes on this machine (with --device cuda: one GPU each).")
]
ShardOption = Annotated[
    str | None,
    typer.Option(
        help="Run only slice I of N (e.g. 0/4), for job arrays or several machines; join "
        "the slices with `openhoi eval merge` / `openhoi data merge`."
    ),
]


def _print_version(value: bool) -> None:
    if value:
        from openhoi import __version__

        print(f"openhoi {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Open-world 3D hand-object interaction synthesis."""


def _console():
    from rich.console import Console

    return Console()


@objects_app.command("list")
def objects_list() -> None:
    """List the built-in objects with their parts and affordances."""
    from rich.table import Table

    from openhoi.objects import list_objects, load_object

    table = Table(title="Built-in objects")
    for column in ("name", "parts", "affordances", "size (cm)", "articulated"):
        table.add_column(column)
    for name in list_objects():
        summary = load_object(name).summary()
        table.add_row(
            name,
            ", ".join(part["name"] for part in summary["parts"]),
            ", ".join(summary["affordances"]),
            " × ".join(f"{100 * s:.1f}" for s in summary["size_m"]),
            "yes" if summary["articulation"] else "no",
        )
    _console().print(table)


@objects_app.command("show")
def objects_show(
    name: Annotated[str, typer.Argument(help="Built-in object name or mesh file path.")],
) -> None:
    """Show one object: parts, affordances per part, size, mesh facts, articulation."""
    from rich.table import Table

    from openhoi.objects import load_object

    summary = load_object(name).summary()
    console = _console()
    console.print(f"[bold]{summary['name']}[/bold]  {summary.get('description', '')}")
    size = " × ".join(f"{100 * s:.1f}" for s in summary["size_m"])
    console.print(
        f"size {size} cm, {summary['faces']} faces, {summary['vertices']} vertices, "
        f"watertight: {summary['watertight']}, source: {summary['source']}"
    )
    table = Table()
    table.add_column("part")
    table.add_column("faces", justify="right")
    table.add_column("affordances")
    for part in summary["parts"]:
        table.add_row(part["name"], str(part["faces"]), ", ".join(part["affordances"]) or "-")
    console.print(table)
    articulation = summary["articulation"]
    if articulation:
        low, high = (round(math.degrees(a)) for a in articulation["angle_range_rad"])
        console.print(
            f"articulated: part {articulation['part']!r} turns about axis "
            f"{articulation['axis']} through {articulation['origin_m']} m, "
            f"from {low} to {high} degrees"
        )


_TRAIN_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}
_RESUME_HELP = "Continue from the run's last checkpoint exactly (same as resume=true)."
_QUIET_HELP = "No progress bar (same as quiet=true)."


@train_app.command("motion", context_settings=_TRAIN_CONTEXT)
def train_motion(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="configs/train_diffusion.yaml overrides, e.g. data=DIR out=DIR steps=20000 "
            "model=paper"
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help=_RESUME_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Train the motion diffusion model (multi-GPU: `accelerate launch -m openhoi.cli ...`)."""
    from openhoi.motion.training import run_train_diffusion

    report = run_train_diffusion(list(overrides or []), resume=resume, quiet=quiet)
    if report.num_steps:
        _console().print(
            f"checkpoint: {report.checkpoint} (step {report.num_steps}, "
            f"{report.seconds_per_step:.3f} s/step)"
        )


@train_app.command("planner", context_settings=_TRAIN_CONTEXT)
def train_planner(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="stage=coarse|fine and configs/mllm/*.yaml overrides, e.g. "
            "stage=coarse out=runs/coarse steps=500 device=cuda"
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help=_RESUME_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Train the 3D MLLM planner, one stage at a time (coarse: object affordance; fine: plans)."""
    from openhoi.mllm.training import run_train_mllm

    final = run_train_mllm(list(overrides or []), resume=resume, quiet=quiet)
    _console().print(f"checkpoint: {final}")


@train_app.command("evaluator", context_settings=_TRAIN_CONTEXT)
def train_evaluator(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="configs/train_evaluator.yaml overrides, e.g. data=DIR out=DIR steps=1500"
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help=_RESUME_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Train the motion evaluator (text–motion encoders) whose features FID/R-precision use."""
    from openhoi.eval.evaluator_training import run_train_evaluator

    report = run_train_evaluator(list(overrides or []), resume=resume, quiet=quiet)
    console = _console()
    console.print(f"evaluator: {report.out} ({report.num_steps} steps, {report.seconds:.0f} s)")
    if report.validation:
        val = report.validation
        console.print(
            f"validation R-precision top-1 {val['top_1']:.3f}, top-3 {val['top_3']:.3f}, "
            f"matching score {val['matching_score']:.3f}"
        )


def _deprecated_verb(old: str, new: str) -> None:
    print(
        f"openhoi: `openhoi train {old}` is deprecated; use `openhoi train {new}` (same arguments)",
        file=sys.stderr,
    )


@train_app.command("diffusion", context_settings=_TRAIN_CONTEXT)
def train_diffusion(
    overrides: Annotated[list[str] | None, typer.Argument(help="As `train motion`.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help=_RESUME_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Deprecated alias of `openhoi train motion`."""
    _deprecated_verb("diffusion", "motion")
    train_motion(overrides, resume=resume, quiet=quiet)


@train_app.command("mllm", context_settings=_TRAIN_CONTEXT)
def train_mllm(
    overrides: Annotated[list[str] | None, typer.Argument(help="As `train planner`.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help=_RESUME_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Deprecated alias of `openhoi train planner`."""
    _deprecated_verb("mllm", "planner")
    train_planner(overrides, resume=resume, quiet=quiet)


@data_app.command("synth")
def data_synth(
    out: Annotated[str, typer.Option(help="Output episode folder (resumes if it exists).")],
    episodes: Annotated[int, typer.Option(help="Number of episodes to write.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed; same seed → same episodes.")] = 0,
    objects: Annotated[
        list[str] | None,
        typer.Option(
            "--objects",
            help="Built-in object or mesh file with a <stem>.affordance.json sidecar "
            "(repeatable; default: all built-ins).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    shard: ShardOption = None,
    version: Annotated[
        str,
        typer.Option(
            "--version",
            help="v1: the built-in objects (or --objects); v3: the procedural object "
            "families, a variant drawn per episode, unseen = held-out families.",
        ),
    ] = "v1",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate SynthHOI: physically checked episodes with instructions and affordances.

    With --shard I/N only episodes I, I+N, ... are written (join the N folders with `openhoi
    data merge`). Under `accelerate launch` / `torchrun` each rank writes its part next to
    --out and rank 0 joins them into --out (one machine or a shared file system).
    """
    from pathlib import Path

    from openhoi.errors import InputError
    from openhoi.shard import gather_to_main, launcher_rank, parse_shard
    from openhoi.synth import synthesize_dataset
    from openhoi.synth.merge import merge_synth_shards

    part = parse_shard(shard)
    if episodes < 1 or workers < 1:
        raise InputError(f"--episodes and --workers must be >= 1, got {episodes} and {workers}")
    if version not in ("v1", "v3") or (version == "v3" and objects):
        raise InputError(
            f"--version must be v1 or v3 (v3 takes no --objects), got {version!r}"
            + (" with --objects" if objects else "")
        )
    rank, world, _ = launcher_rank()
    folder = Path(out)
    if world > 1:
        folder = folder.with_name(f".{folder.name}.rank-{rank}-of-{world}")
    if version == "v3":
        from openhoi.synth.v3 import synthesize_v3 as synthesize
    else:
        synthesize = functools.partial(synthesize_dataset, objects=objects or None)
    report = synthesize(
        folder,
        episodes,
        seed=seed,
        workers=workers,
        progress=not quiet and rank == 0,
        shard=part.part(rank, world),
    )
    if world > 1:
        if gather_to_main(None) is None:
            return
        ranks = [folder.with_name(f".{Path(out).name}.rank-{r}-of-{world}") for r in range(world)]
        merge_synth_shards(ranks, out, overwrite=True, target=part)
        for rank_folder in ranks:
            shutil.rmtree(rank_folder)
        _console().print(f"{world} ranks joined → {out}")
        return
    _console().print(
        f"{report.num_written} episodes written ({report.num_episodes} in the folder) in "
        f"{report.seconds:.0f} s, {report.episodes_per_minute:.1f} episodes/min; "
        f"segment rejection rate {report.segment_rejection_rate:.0%} → {report.folder}"
    )


@data_app.command("merge")
def data_merge(
    folders: Annotated[
        list[str], typer.Argument(help="The slice folders of one `data synth --shard I/N` run.")
    ],
    out: Annotated[str, typer.Option(help="The joined episode folder to write.")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output folder whole.")
    ] = False,
) -> None:
    """Join the slices of `openhoi data synth --shard I/N` into one SynthHOI folder."""
    from openhoi.data.episodes import read_index
    from openhoi.synth.merge import merge_synth_shards

    folder = merge_synth_shards(folders, out, overwrite=overwrite)
    typer.echo(
        f"{read_index(folder)['num_episodes']} episodes from {len(folders)} slices → {folder}"
    )


@data_app.command("prepare")
def data_prepare(
    dataset: Annotated[str, typer.Argument(help="grab, arctic or h2o.")],
    root: Annotated[str, typer.Option(help="The dataset folder as released.")],
    out: Annotated[str, typer.Option(help="Output episode folder (resumes if it exists).")],
    mano_dir: Annotated[
        str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
    ] = None,
    rewrite_with: Annotated[
        str | None,
        typer.Option(
            help="Paraphrase instructions with a local HF causal-LM folder or an "
            "OpenAI-compatible http(s) URL (default: templates only)."
        ),
    ] = None,
    assume_flat_mean: Annotated[
        bool,
        typer.Option(help="ARCTIC without MANO files: keep finger poses as stored."),
    ] = False,
    zero_betas: Annotated[bool, typer.Option(help="Write zero hand shapes.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Convert a released GRAB / ARCTIC / H2O folder into an openhoi episode folder."""
    from openhoi.data.prepare import prepare_dataset

    report = prepare_dataset(
        dataset,
        root,
        out,
        mano_dir=mano_dir,
        rewriter=rewrite_with,
        keep_betas=not zero_betas,
        progress=not quiet,
        assume_flat_mean=assume_flat_mean,
    )
    console = _console()
    console.print(
        f"{report.dataset}: {report.num_sequences} sequences read, {report.num_written} "
        f"episodes written, {report.num_skipped} already present → {report.out}"
    )
    for note in report.mano_notes:
        console.print(f"note: {note}")


# Options shared by `interpolate` and `forecast` (the in-filling verbs).
InfillRefineOption = Annotated[
    bool, typer.Option("--refine/--no-refine", help="DSG guidance while sampling.")
]
InfillRenderOption = Annotated[
    bool, typer.Option("--render/--no-render", help="Write preview.mp4.")
]
InfillDeviceOption = Annotated[str, typer.Option(help="cpu or cuda.")]
InfillMotionOption = Annotated[
    str | None, typer.Option(help="Motion model folder (default: shipped).")
]
InfillManoOption = Annotated[
    str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
]
InfillOverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output folder whole.")
]


PlannerLLMOption = Annotated[
    str | None,
    typer.Option(
        "--planner-llm",
        help="Decompose the instruction with an LLM: a local Hugging Face causal-LM folder or "
        "an OpenAI-compatible chat URL (model from --llm-model or $OPENHOI_LLM_MODEL, key "
        "from $OPENAI_API_KEY); the built-in planner still grounds the masks.",
    ),
]
LLMModelOption = Annotated[
    str | None, typer.Option("--llm-model", help="Model name sent to --planner-llm's URL.")
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Accept the planner's best guess for a request it cannot ground (nonsense, a "
        "part or action the object does not have) instead of exiting with an error.",
    ),
]


def _llm_config(planner_llm: str | None, llm_model: str | None):
    """The LLM front end's config (checked before any model loads), or None."""
    if planner_llm is None:
        return None
    from openhoi.mllm.llm_frontend import LLMFrontEndConfig

    return LLMFrontEndConfig(source=planner_llm, model=llm_model)


def _plan_notes(plan) -> list[str]:
    """Lines saying which requested steps were dropped and why, and grounding doubts."""
    lines = []
    if plan.ungrounded:
        lines.append(f"[yellow]best guess, not grounded[/yellow]: {plan.ungrounded}")
    for item in plan.dropped:
        lines.append(f"[yellow]dropped[/yellow] {item.request!r}: {item.reason}")
    return lines


@app.command()
def generate(
    out: Annotated[
        str, typer.Option(help="Output folder (one subfolder per prompt in batch mode).")
    ],
    instruction: Annotated[str | None, typer.Option(help="What the hands should do.")] = None,
    object: Annotated[
        list[str] | None,
        typer.Option(
            "--object",
            help="Built-in object (name or name@scale), mesh file or object reference "
            "(repeatable; objects not manipulated stand beside the one that is).",
        ),
    ] = None,
    prompts: Annotated[
        str | None,
        typer.Option(help='Batch: a JSONL file of {"instruction": ..., "objects": [...]} lines.'),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed → same output.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    sampler: SamplerOption = None,
    steps: StepsOption = None,
    guidance_scale: GuidanceScaleOption = None,
    refine: Annotated[
        bool, typer.Option("--refine/--no-refine", help="DSG physical refinement while sampling.")
    ] = True,
    mano_dir: Annotated[
        str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
    ] = None,
    render: Annotated[bool, typer.Option("--render/--no-render", help="Write preview.mp4.")] = True,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Measure penetration and contact.")
    ] = True,
    bridge: Annotated[
        str, typer.Option(help="Transitions: interpolation (default) or model (the paper's).")
    ] = "interpolation",
    candidates: Annotated[
        int,
        typer.Option(
            help="Best-of-K: sample K variants of each sub-task in one batch and keep the one "
            "with the best physics score (penetration, affordance contact, holding); 1..16.",
        ),
    ] = 1,
    physics_sim: Annotated[
        bool,
        typer.Option(
            "--physics-sim",
            help="Check the holding phases in MuJoCo (hold under gravity, tracking, slip) "
            "and add the results to report.json; where a fitted grip fails the hold test, "
            "the simulator also picks among the fit's other grasps. A few seconds per phase.",
        ),
    ] = False,
    planner: Annotated[str | None, typer.Option(help="Planner folder (default: shipped).")] = None,
    motion: Annotated[
        str | None, typer.Option(help="Motion model folder (default: shipped).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Batch mode: most sub-task segments per sampler call.")
    ] = 64,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output folder whole.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Per-stage timings.")] = False,
    view: Annotated[
        bool,
        typer.Option("--view", help="When done, write viewer.html and serve it (`openhoi view`)."),
    ] = False,
    planner_llm: PlannerLLMOption = None,
    llm_model: LLMModelOption = None,
    force: ForceOption = False,
    workers: WorkersOption = 1,
    shard: ShardOption = None,
) -> None:
    """Instruction + object(s) → plan, HOI sequence, glb/bvh/meshes, preview and report.

    With --prompts, the prompts are taken in groups of --batch-size / 4 consecutive
    prompts: a group is planned first and its sub-task segments sampled together, in
    batches of up to --batch-size, before its prompts' files are written. --workers,
    --shard I/N and a launcher's ranks split the groups, so the output is the same
    however the run is split; with --shard (or ranks) each slice adds its prompt_NNNN
    folders to --out, which the slices share.
    """
    import time
    from pathlib import Path

    from openhoi.api import GenerateConfig, Pipeline
    from openhoi.errors import InputError, OpenHOIError
    from openhoi.export.run_folder import check_output_folder, fresh_folder, write_generation_files
    from openhoi.mllm import read_plan_requests
    from openhoi.mllm.api import check_instruction
    from openhoi.objects import load_object
    from openhoi.shard import launcher_rank, parse_shard

    if (prompts is None) == (instruction is None):
        raise InputError("give either --instruction (with --object) or --prompts FILE.jsonl")
    if not 1 <= batch_size <= 4096:
        raise InputError(f"--batch-size must be 1..4096, got {batch_size}")
    if prompts is not None:
        requests = read_plan_requests(prompts)
    else:
        if not object:
            raise InputError("--instruction needs at least one --object")
        # Cheap checks first, so a bad input fails before any model loads.
        check_instruction(instruction)
        requests = [(instruction, [load_object(name) for name in object])]
    part = parse_shard(shard)
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if prompts is None and (workers > 1 or not part.is_whole):
        raise InputError(
            "--workers and --shard split a --prompts batch; one --instruction is one job"
        )
    if prompts is None or (part.is_whole and launcher_rank()[1] == 1):
        check_output_folder(out, overwrite=overwrite)
    config = GenerateConfig.from_options(
        seed=seed,
        sampler=sampler,
        steps=steps,
        guidance_scale=guidance_scale,
        refine=refine,
        bridge=bridge,
        report=report,
        candidates=candidates,
        physics_sim=physics_sim,
    )
    llm = _llm_config(planner_llm, llm_model)
    console = _console()
    if prompts is not None:
        load = {"planner": planner, "motion": motion, "device": device, "mano_dir": mano_dir,
                "planner_llm": llm, "require_grounding": not force}  # fmt: skip
        writing = {"render": render, "verbose": verbose, "overwrite": overwrite}
        failures = _generate_prompts(
            requests, config, out, load, writing, batch_size, workers, part, console, quiet
        )
        if failures:
            console.print(f"{failures} of {len(requests)} prompts failed; the others were written")
            raise typer.Exit(EXIT_USER_ERROR)
        if view and part.is_whole and launcher_rank()[1] == 1:
            first = Path(out) / "prompt_0000"
            _view([str(first)], html_only=False, port=0, browser=True, mano_dir=mano_dir)
        return
    with _StageProgress(console, quiet) as progress:
        clock = time.perf_counter()
        progress("load", 0, 1)
        pipeline = Pipeline.from_pretrained(
            planner,
            motion,
            device=device,
            mano_dir=mano_dir,
            planner_llm=llm,
            require_grounding=not force,
        )
        progress("load", 1, 1)
        load_s = time.perf_counter() - clock
        results = pipeline.generate_many(requests, config, batch_size=batch_size, progress=progress)
        if prompts is None and isinstance(results[0], OpenHOIError):
            raise results[0]
        lines, failures = [], 0
        with fresh_folder(out, overwrite=overwrite) as temp:
            for index, result in enumerate(results):
                name = f"prompt_{index:04d}" if prompts is not None else ""
                if isinstance(result, OpenHOIError):
                    failures += 1
                    lines.append(f"[red]prompt {index} failed[/red]: {result}")
                    continue
                (temp / name).mkdir(exist_ok=True)
                written = write_generation_files(
                    result, temp / name, hands=pipeline.hands, render=render
                )
                progress("write", index + 1, len(results))
                lines.append(_result_line(Path(out) / name, result, len(written)))
                lines += ["  " + note for note in _plan_notes(result.plan)]
                if verbose:
                    timings = {"load_s": load_s, **result.timings}
                    lines.append("  " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    for line in lines:
        console.print(line)
    if failures:
        console.print(f"{failures} of {len(requests)} prompts failed; the others were written")
        raise typer.Exit(EXIT_USER_ERROR)
    if view:
        first = Path(out) / ("prompt_0000" if prompts is not None else "")
        _view([str(first)], html_only=False, port=0, browser=True, mano_dir=mano_dir)


# A group of --prompts: batch_size // this many consecutive prompts share sampler calls
# (a prompt's plan has a few sub-tasks), and groups are what --workers / --shard split.
SEGMENTS_PER_PROMPT = 4


def _generate_prompts(
    requests, config, out, load, writing, batch_size, workers, part, console, quiet
) -> int:
    """`generate --prompts`: the groups of this process's slice, in `workers` processes;
    prints each prompt's line and returns how many failed."""
    from contextlib import nullcontext
    from pathlib import Path

    from openhoi.errors import InputError
    from openhoi.export.run_folder import fresh_folder
    from openhoi.shard import launcher_rank, run_workers

    size = max(1, batch_size // SEGMENTS_PER_PROMPT)
    groups = [list(range(s, min(s + size, len(requests)))) for s in range(0, len(requests), size)]
    rank, world, local_rank = launcher_rank()
    mine = part.part(rank, world)
    slices = [mine.part(w, workers).select(groups) for w in range(workers)]
    slots = [local_rank * workers + w for w, chunk in enumerate(slices) if chunk]
    slices = [chunk for chunk in slices if chunk]
    shared = not mine.is_whole  # slices of one run add their prompt folders to one --out
    if shared:
        taken = [i for chunk in slices for group in chunk for i in group
                 if (Path(out) / f"prompt_{i:04d}").exists()]  # fmt: skip
        if taken and not writing["overwrite"]:
            raise InputError(
                f"{Path(out) / f'prompt_{taken[0]:04d}'} already exists; pass --overwrite to "
                "replace this slice's prompt folders"
            )
        Path(out).mkdir(parents=True, exist_ok=True)
    if not slices:
        console.print(f"slice {mine} of the {len(groups)} prompt groups is empty")
        return 0
    with (
        _StageProgress(console, quiet or workers > 1) as progress,
        nullcontext(Path(out)) if shared else fresh_folder(out) as root,
    ):
        jobs = [(requests, config, chunk, str(root), str(out), load, writing, batch_size,
                 progress if len(slices) == 1 else None) for chunk in slices]  # fmt: skip
        done = run_workers(_prompt_groups, jobs, slots=slots)
    failures = 0
    for index, error, lines in sorted(item for outcome in done for item in outcome):
        if error is not None:
            failures += 1
            console.print(f"[red]prompt {index} failed[/red]: {error}")
        for line in lines:
            console.print(line)
    return failures


def _prompt_groups(requests, config, groups, root, out, load, writing, batch_size, progress, slot):
    """Worker body of `_generate_prompts`: each group of prompt indices through
    `Pipeline.generate_many`, each result written to `<root>/prompt_NNNN`. Returns
    `(index, error text or None, lines to print)` per prompt."""
    import time
    from pathlib import Path

    from openhoi.api import Pipeline
    from openhoi.errors import OpenHOIError
    from openhoi.export.run_folder import fresh_folder, write_generation_files
    from openhoi.shard import device_for

    tick = progress or (lambda stage, done, total: None)
    clock = time.perf_counter()
    tick("load", 0, 1)
    pipeline = Pipeline.from_pretrained(
        load["planner"],
        load["motion"],
        device=device_for(load["device"], slot),
        mano_dir=load["mano_dir"],
        planner_llm=load["planner_llm"],
        require_grounding=load["require_grounding"],
    )
    tick("load", 1, 1)
    load_s = time.perf_counter() - clock
    outcomes = []
    for group in groups:
        batch = [requests[i] for i in group]
        results = pipeline.generate_many(batch, config, batch_size=batch_size, progress=progress)
        for index, result in zip(group, results, strict=True):
            if isinstance(result, OpenHOIError):
                outcomes.append((index, str(result), []))
                continue
            name = f"prompt_{index:04d}"
            with fresh_folder(Path(root) / name, overwrite=writing["overwrite"]) as temp:
                written = write_generation_files(
                    result, temp, hands=pipeline.hands, render=writing["render"]
                )
            tick("write", group.index(index) + 1, len(group))
            lines = [_result_line(Path(out) / name, result, len(written))]
            lines += ["  " + note for note in _plan_notes(result.plan)]
            if writing["verbose"]:
                timings = {"load_s": load_s, **result.timings}
                lines.append("  " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
            outcomes.append((index, None, lines))
    return outcomes


def _result_line(folder, result, num_files: int) -> str:
    """One summary line of a written run."""
    text = f"{folder}: {result.sequence.num_frames} frames, {len(result.plan.subtasks)} sub-tasks"
    if result.physics is not None:
        physics = result.physics.summary()
        text += (
            f"; penetration max {physics['penetration_depth_max_mm']:.1f} mm, contact ratio "
            f"{physics['contact_ratio']:.2f}"
        )
        if physics.get("holding_ratio") is not None:
            text += f", holding {physics['holding_ratio']:.2f}"
    if result.simulation is not None:
        sim = result.simulation.summary()
        if sim["hold_success"] is not None:
            text += (
                f"; MuJoCo: held under gravity {sim['hold_success']:.0%} of tested frames, "
                f"tracked {sim['tracking_success']:.0%} of phases"
            )
    if result.weak_masks:
        text += f"; low-confidence masks (top region used): sub-tasks {list(result.weak_masks)}"
    return f"{text}; {num_files} files"


class _StageProgress:
    """A rich progress display with one bar per stage; a no-op when quiet.

    Called as `progress(stage, done, total)` (`openhoi.api.Progress`).
    """

    def __init__(self, console, quiet: bool) -> None:
        self.quiet = quiet
        self.console = console
        self.tasks: dict[str, int] = {}
        self.bar = None

    def __enter__(self):
        if not self.quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description:>8}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self.bar.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc_info)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=max(total, 1))
        self.bar.update(self.tasks[stage], completed=done, total=max(total, 1))


@app.command("plan")
def plan(
    instruction: Annotated[str | None, typer.Option(help="What the hands should do.")] = None,
    object: Annotated[
        list[str] | None,
        typer.Option("--object", help="Built-in object name or mesh path (repeatable)."),
    ] = None,
    out: Annotated[str | None, typer.Option(help="Write plan.json, masks and PLY here.")] = None,
    batch: Annotated[
        str | None,
        typer.Option(help='JSONL of {"instruction": ..., "objects": [...]}; writes plans.jsonl.'),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    planner: Annotated[str | None, typer.Option(help="Planner folder (default: shipped).")] = None,
    planner_llm: PlannerLLMOption = None,
    llm_model: LLMModelOption = None,
    force: ForceOption = False,
) -> None:
    """Split an instruction into sub-tasks with hands, object and affordance masks."""
    from rich.table import Table

    from openhoi.errors import InputError
    from openhoi.mllm import load_planner, read_plan_requests, write_plan, write_plans_jsonl

    if (batch is None) == (instruction is None):
        raise InputError("give either --instruction (with --object) or --batch FILE.jsonl")
    if batch is not None and out is None:
        raise InputError("--batch needs --out for plans.jsonl")
    requests = read_plan_requests(batch) if batch else [(instruction, list(object or []))]
    if batch is None and not object:
        raise InputError("--instruction needs at least one --object")
    llm = _llm_config(planner_llm, llm_model)
    model = load_planner(planner, device=device, require_grounding=not force)
    if llm is not None:
        from openhoi.mllm.llm_frontend import load_llm_planner

        model = load_llm_planner(model, llm)
    plans = [model.plan(text, objects) for text, objects in requests]
    console = _console()
    for made in plans:
        table = Table(title=made.instruction)
        targets = any(sub.target_index is not None for sub in made.subtasks)
        columns = ("#", "sub-task", "primitive", "hands", "object", "affordance")
        for column in columns + (("target",) if targets else ()):
            table.add_column(column)
        for k, sub in enumerate(made.subtasks):
            row = [str(k), sub.text, sub.primitive, sub.hands]
            row += [made.objects[sub.object_index], sub.affordance]
            if targets:
                target = sub.target_index
                row.append("" if target is None else f"{sub.relation} {made.objects[target]}")
            table.add_row(*row)
        console.print(table)
        for note in _plan_notes(made):
            console.print(note)
    if out is not None:
        path = write_plans_jsonl(plans, out) if batch else write_plan(plans[0], out)
        console.print(f"wrote {path}")


@app.command("export")
def export(
    sequence: Annotated[str, typer.Argument(help="A sequence.npz written by openhoi.")],
    format: Annotated[str, typer.Option("--format", "-f", help="glb, bvh, meshes, mp4 or npz.")],
    out: Annotated[
        str | None,
        typer.Option(help="Output file or folder (default: beside the sequence)."),
    ] = None,
    mano_dir: Annotated[
        str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
    ] = None,
) -> None:
    """Export a sequence for Blender (glb), motion tools (bvh), plain geometry or video."""
    from pathlib import Path

    from openhoi.data import HOISequence
    from openhoi.export import export_sequence

    seq = HOISequence.load(sequence)
    target = Path(out) if out else Path(sequence).parent
    written = export_sequence(seq, target, format, hands=_hands(mano_dir))
    _console().print(f"wrote {written}")


@app.command("render")
def render(
    sequence: Annotated[
        str | None, typer.Argument(help="A sequence.npz written by openhoi.")
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            help="Output .mp4 (default: preview.mp4 beside it); with --pack, the output "
            "folder (default: pack_<PACK> beside it)."
        ),
    ] = None,
    width: Annotated[int, typer.Option(help="Video width in pixels.")] = 1280,
    height: Annotated[int, typer.Option(help="Video height in pixels.")] = 720,
    conditions: Annotated[
        bool,
        typer.Option(help="Also write depth / mask / 2D keypoint renders for video models."),
    ] = False,
    pack: Annotated[
        str | None,
        typer.Option(
            help="Write a condition pack per clip instead of the preview: pam, scar, "
            "handworld, cointeract or all (files: --list-packs)."
        ),
    ] = None,
    size: Annotated[
        str | None, typer.Option(help="Pack image size WIDTHxHEIGHT (default 720x480).")
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Pack frame rate (default: the sequence's).")
    ] = None,
    clip: Annotated[int, typer.Option(help="Frames per pack clip.")] = 49,
    stride: Annotated[
        int | None, typer.Option(help="Frames between clip starts (default: --clip).")
    ] = None,
    camera: Annotated[
        str, typer.Option(help="Pack camera: third, orbit, ego or a camera.json file.")
    ] = "third",
    seed: Annotated[int, typer.Option(help="Seed of the pack camera's jitter and motion.")] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing pack folder.")
    ] = False,
    list_packs: Annotated[
        bool, typer.Option("--list-packs", help="Print every file of every pack and exit.")
    ] = False,
    mano_dir: Annotated[
        str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
    ] = None,
) -> None:
    """Render a preview video (and optionally condition maps) or condition packs, headless."""
    from pathlib import Path

    from openhoi.errors import InputError

    console = _console()
    if list_packs:
        from openhoi.render.pack import PACK_FILES, PACK_NAMES, PACKS

        typer.echo(f"packs: {', '.join(PACKS)} (all: every file below); per clip folder:")
        for item in PACK_FILES:
            packs = ",".join(item.packs) if item.packs else "all"
            packs = "every pack" if set(item.packs) == set(PACK_NAMES) else packs
            typer.echo(f"  {item.name:<20} {packs:<22} {item.description}")
        return
    if sequence is None:
        raise InputError("render needs a SEQUENCE (a sequence.npz), or --list-packs")
    if pack is not None:
        from openhoi.render import PackConfig, parse_size, render_pack

        config = PackConfig(
            pack=pack,
            size=None if size is None else parse_size(size),
            fps=fps,
            clip=clip,
            stride=stride,
            camera=camera,
            seed=seed,
        )
        folder = Path(out) if out else Path(sequence).parent / f"pack_{pack}"
        written = render_pack(
            sequence, folder, config=config, hands=_hands(mano_dir), overwrite=overwrite
        )
        console.print(f"wrote {len(written.clips)} clip(s) of pack {pack} to {written.out_dir}")
        return
    if size is not None:
        raise InputError("--size applies to --pack; the preview takes --width and --height")
    from openhoi.data import HOISequence
    from openhoi.render import render_conditions, render_preview

    seq = HOISequence.load(sequence)
    target = Path(out) if out else Path(sequence).parent / "preview.mp4"
    hands = _hands(mano_dir)
    console.print(f"wrote {render_preview(seq, target, hands=hands, size=(width, height))}")
    if conditions:
        folder = target.parent / "conditions"
        render_conditions(seq, folder, hands=hands, size=(width, height))
        console.print(f"wrote {folder}")


@app.command("view")
def view(
    run: Annotated[str, typer.Argument(help="A run folder written by `openhoi generate`.")],
    compare: Annotated[
        str | None, typer.Option(help="A second run folder, played side by side in sync.")
    ] = None,
    html_only: Annotated[
        bool, typer.Option("--html-only", help="Only write the page; do not serve it.")
    ] = False,
    port: Annotated[int, typer.Option(help="Local port to serve on (0: any free one).")] = 0,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the page in a web browser.")
    ] = True,
    mano_dir: Annotated[
        str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
    ] = None,
) -> None:
    """Write a self-contained viewer.html (three.js, works offline) and serve it locally."""
    _view([run] if compare is None else [run, compare], html_only, port, browser, mano_dir)


def _view(runs: list[str], html_only: bool, port: int, browser: bool, mano_dir) -> None:
    from openhoi.errors import InputError
    from openhoi.viewer import build_viewer, check_run_folder, serve_page

    if not 0 <= port <= 65535:
        raise InputError(f"--port must be 0..65535, got {port}")
    for run in runs:
        check_run_folder(run)
    console = _console()
    page = build_viewer(runs, hands=_hands(mano_dir))
    console.print(f"wrote {page}")
    if html_only:
        return
    serve_page(
        page,
        port=port,
        use_browser=browser,
        on_ready=lambda url: console.print(f"viewer at {url} (Ctrl-C stops)"),
    )


@app.command("check")
def check(
    run_dir: Annotated[
        str, typer.Argument(help="A run folder written by openhoi generate (sequence.npz).")
    ],
    frames_per_phase: Annotated[
        int, typer.Option(help="Frames per holding phase in the gravity hold test.")
    ] = 3,
    mano_dir: Annotated[
        str | None, typer.Option(help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only where check.json went.")
    ] = False,
) -> None:
    """Simulate the run's holding phases in MuJoCo (hold under gravity, tracking, slip)."""
    from pathlib import Path

    from rich.table import Table

    from openhoi.refine.simulate import CHECK_FILE, SimConfig, check_run

    config = SimConfig(frames_per_phase=frames_per_phase)
    report = check_run(run_dir, config=config, hands=_hands(mano_dir))
    console = _console()
    if not quiet:
        table = Table(title=f"openhoi check {run_dir}")
        for column in ("frames", "hands", "kind", "hold", "tracking", "deviation mm", "slip mm"):
            table.add_column(column)
        for phase in report.phases:
            frames = f"{phase.start}-{phase.end - 1}"
            kind = phase.kind if phase.part is None else f"{phase.kind} {phase.part}"
            if not phase.is_tested:
                table.add_row(frames, "+".join(phase.sides), kind, "not tested", "-", "-", "-")
                continue
            held = sum(frame.success for frame in phase.hold)
            table.add_row(
                frames,
                "+".join(phase.sides),
                kind,
                f"{held}/{len(phase.hold)} frames",
                "ok" if phase.tracking_success else "failed",
                f"{phase.max_deviation_mm:.1f}",
                f"{phase.slip_mm:.1f}",
            )
        console.print(table)
        for key, value in report.summary().items():
            shown = f"{value:.3f}" if isinstance(value, float) else value
            console.print(f"  {key}: {'n/a' if value is None else shown}")
    console.print(f"wrote {Path(run_dir) / CHECK_FILE}")


@app.command("interpolate")
def interpolate(
    object: Annotated[str, typer.Option("--object", help="Built-in object, mesh or reference.")],
    start: Annotated[str, typer.Option(help="START.npz (HOISequence); its last frame starts.")],
    target: Annotated[
        str, typer.Option(help="TARGET.npz (HOISequence); its first frame's hands are the target.")
    ],
    out: Annotated[str, typer.Option(help="Output folder.")],
    frames: Annotated[int, typer.Option(help="Frames of the result, both ends included.")] = 30,
    candidates: Annotated[
        int, typer.Option(help="Best-of-K by the candidate physics score; 1..16.")
    ] = 1,
    target_object: Annotated[
        bool,
        typer.Option(
            "--target-object", help="Also reach the target's object pose (default: it stays)."
        ),
    ] = False,
    instruction: Annotated[
        str | None, typer.Option(help="Sub-task text (default: the target's own).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed → same output.")] = 0,
    steps: StepsOption = None,
    refine: InfillRefineOption = True,
    contact: Annotated[
        bool, typer.Option("--contact/--no-contact", help="The contact stage after sampling.")
    ] = True,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Measure penetration and contact.")
    ] = True,
    render: InfillRenderOption = False,
    device: InfillDeviceOption = "cpu",
    motion: InfillMotionOption = None,
    mano_dir: InfillManoOption = None,
    overwrite: InfillOverwriteOption = False,
) -> None:
    """Start state → target hand pose, in-filled by the motion model (PAM's Stage I)."""
    from openhoi.data import HOISequence
    from openhoi.errors import InputError
    from openhoi.export.run_folder import check_output_folder
    from openhoi.generate_config import GenerateConfig
    from openhoi.infill import Infiller, check_made_for, write_infill
    from openhoi.objects import load_object

    if frames < 2:
        raise InputError(f"--frames must be >= 2, got {frames}")
    obj = load_object(object)
    first, last = HOISequence.load(start), HOISequence.load(target)
    check_made_for(f"--start {start!r}", first, obj)
    check_made_for(f"--target {target!r}", last, obj)
    config = GenerateConfig.from_options(
        seed=seed, candidates=candidates, steps=steps, refine=refine, report=report,
        optimise_contacts=contact, kinematic_carry=contact,
    )  # fmt: skip
    check_output_folder(out, overwrite=overwrite)
    infiller = Infiller.from_pretrained(motion, device=device, mano_dir=mano_dir)
    result = infiller.interpolate(
        obj, first, last, frames, config, use_target_object=target_object, instruction=instruction
    )
    written = write_infill(result, out, hands=infiller.hands, render=render, overwrite=overwrite)
    line = f"{out}: {result.sequence.num_frames} frames, {len(written)} files"
    if result.physics is not None:
        physics = result.physics.summary()
        line += (
            f"; penetration max {physics['penetration_depth_max_mm']:.1f} mm, contact ratio "
            f"{physics['contact_ratio']:.2f}"
        )
    _console().print(line)


@app.command("forecast")
def forecast(
    history: Annotated[str, typer.Option(help="SEQUENCE.npz (HOISequence) to continue.")],
    out: Annotated[str, typer.Option(help="Output folder.")],
    frames: Annotated[int, typer.Option(help="Frames to forecast.")] = 30,
    samples: Annotated[int, typer.Option(help="K forecasts, 1..16.")] = 1,
    history_frames: Annotated[
        int, typer.Option(help="The model is conditioned on the history's last H frames.")
    ] = 10,
    instruction: Annotated[
        str | None,
        typer.Option(help="Sub-task text (default: the history's own, from its meta)."),
    ] = None,
    object: Annotated[
        str | None, typer.Option("--object", help="The object (default: the history's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed → same output.")] = 0,
    steps: StepsOption = None,
    refine: InfillRefineOption = True,
    render: InfillRenderOption = False,
    device: InfillDeviceOption = "cpu",
    motion: InfillMotionOption = None,
    mano_dir: InfillManoOption = None,
    overwrite: InfillOverwriteOption = False,
) -> None:
    """Continue a sequence from its last frames: K forecasts (HandWorld's task)."""
    from openhoi.data import HOISequence
    from openhoi.errors import InputError
    from openhoi.export.run_folder import check_output_folder
    from openhoi.generate_config import GenerateConfig
    from openhoi.infill import Infiller, check_made_for, write_infill
    from openhoi.objects import load_object

    if frames < 2:
        raise InputError(f"--frames must be >= 2, got {frames}")
    past = HOISequence.load(history)
    if history_frames < 1 or past.num_frames < history_frames:
        raise InputError(
            f"--history {history!r} has {past.num_frames} frames; --history-frames "
            f"{history_frames} needs at least {max(history_frames, 1)}"
        )
    if not (object or past.object_name):
        raise InputError(f"--history {history!r} names no object; pass --object")
    obj = load_object(object or past.object_name)
    check_made_for(f"--history {history!r}", past, obj)
    config = GenerateConfig.from_options(seed=seed, candidates=samples, steps=steps, refine=refine)
    check_output_folder(out, overwrite=overwrite)
    infiller = Infiller.from_pretrained(motion, device=device, mano_dir=mano_dir)
    result = infiller.forecast(
        past, frames, config, history_frames=history_frames, instruction=instruction, obj=obj
    )
    written = write_infill(
        result, out, history=past, hands=infiller.hands, render=render, overwrite=overwrite
    )
    _console().print(
        f"{out}: {len(result.samples)} forecasts of {frames} frames, {len(written)} files"
    )


@eval_app.command("forecast")
def eval_forecast(
    data: Annotated[
        str | None,
        typer.Option(help="SynthHOI episode folder (default: the cached SynthHOI test set)."),
    ] = None,
    split: Annotated[str, typer.Option(help="seen, unseen or all.")] = "unseen",
    limit: Annotated[int | None, typer.Option(help="Only the first N test episodes.")] = None,
    frames: Annotated[int, typer.Option(help="Frames forecast per window.")] = 30,
    history_frames: Annotated[int, typer.Option(help="History frames the model sees.")] = 10,
    samples: Annotated[int, typer.Option(help="Largest K (rows: K = 1 and K).")] = 5,
    steps: StepsOption = None,
    refine: InfillRefineOption = True,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    checkpoint: Annotated[
        str | None, typer.Option(help="Motion model folder (default: shipped).")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    out: Annotated[str, typer.Option(help="Folder for the JSON + Markdown.")] = "outputs/benchmark",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the table only.")] = False,
) -> None:
    """Hand forecasting: best-of-K keypoint errors against constant-velocity and copy-last."""
    from openhoi.benchmark_forecast import (
        ForecastEvalConfig,
        forecast_markdown,
        run_forecast_eval,
        write_forecast_eval,
    )

    config = ForecastEvalConfig(
        data=data, split=split, limit=limit, history_frames=history_frames, num_frames=frames,
        samples=samples, seed=seed, steps=steps, refine=refine, motion_path=checkpoint,
        device=device,
    )  # fmt: skip
    console = _console()
    results = run_forecast_eval(
        config, log=(lambda _: None) if quiet else console.print, progress=not quiet
    )
    print(forecast_markdown(results), end="")
    json_path, md_path = write_forecast_eval(results, out)
    console.print(f"wrote {json_path} and {md_path}")


@eval_app.command("motion")
def eval_motion(
    dataset: Annotated[str, typer.Option(help="synth, grab, arctic or h2o.")] = "synth",
    data: Annotated[
        str | None,
        typer.Option(
            help="Episode folder (default for synth: the SynthHOI test set, generated on first "
            "use and cached in $OPENHOI_CACHE or ~/.cache/openhoi)."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="seen, unseen or all.")] = "unseen",
    limit: Annotated[int | None, typer.Option(help="Only the first N test episodes.")] = None,
    repeats: Annotated[
        int, typer.Option(help="Samplings of the split, seeds seed, seed+1, ..")
    ] = 20,
    checkpoint: Annotated[
        str | None, typer.Option(help="Motion model folder (default: shipped).")
    ] = None,
    evaluator: Annotated[
        str | None,
        typer.Option(help="Motion evaluator folder (default: the shipped one for synth)."),
    ] = None,
    out: Annotated[str, typer.Option(help="Folder for the JSON + Markdown.")] = "outputs/benchmark",
    ablate: Annotated[
        bool, typer.Option("--ablate", help="Add the paper's ablation rows (Table 4, A6/A7).")
    ] = False,
    variants: Annotated[
        str | None, typer.Option(help="Comma list of table rows (overrides --ablate).")
    ] = None,
    sampler: SamplerOption = None,
    steps: StepsOption = None,
    guidance_scale: GuidanceScaleOption = None,
    seed: Annotated[int, typer.Option(help="First sampling seed.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    sim: Annotated[
        bool,
        typer.Option(
            "--sim/--no-sim",
            help="MuJoCo check of every episode's holding phases (hold under gravity, "
            "tracking, slip columns); a few seconds per episode.",
        ),
    ] = True,
    workers: WorkersOption = 1,
    shard: ShardOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the tables only.")] = False,
) -> None:
    """Benchmark the motion model on a test split: the paper's tables, rerunnable.

    With --shard I/N it writes one shard (benchmark_*.shard-I-of-N.npz) for `openhoi eval
    merge`; under `accelerate launch` / `torchrun` rank 0 writes what all ranks measured.
    """
    from openhoi.benchmark import (
        BenchmarkConfig,
        benchmark_markdown,
        parse_variants,
        run_benchmark,
        write_benchmark,
        write_benchmark_shard,
    )
    from openhoi.errors import InputError
    from openhoi.shard import parse_shard

    part = parse_shard(shard)
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")

    config = BenchmarkConfig(
        data=data,
        dataset=dataset,
        split=split,
        repeats=repeats,
        limit=limit,
        seed=seed,
        motion_path=checkpoint,
        evaluator_path=evaluator,
        variants=parse_variants(variants, ablate=ablate),
        device=device,
        generate={"sampler": sampler, "steps": steps, "guidance_scale": guidance_scale},
        simulate=sim,
        command=("openhoi", *_ARGV),
    )
    console = _console()
    log = (lambda _: None) if quiet else console.print
    results = run_benchmark(config, log=log, progress=not quiet, shard=part, workers=workers)
    if results is None:  # a launcher's rank other than 0: rank 0 writes
        return
    if not part.is_whole:
        console.print(f"wrote {write_benchmark_shard(results, out)} (shard {part})")
        return
    print(benchmark_markdown(results))
    json_path, md_path = write_benchmark(results, out)
    console.print(f"wrote {json_path} and {md_path}")


@eval_app.command("merge")
def eval_merge(
    shards: Annotated[
        list[str],
        typer.Argument(help="The shard results of one run (benchmark_*.shard-I-of-N.npz)."),
    ],
    out: Annotated[str, typer.Option(help="The result file to write (RESULT.json + .md).")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the tables only.")] = False,
) -> None:
    """Join the shards of `openhoi eval motion --shard I/N` into the run's result."""
    from openhoi.benchmark import benchmark_markdown, merge_benchmark_shards, write_benchmark

    console = _console()
    log = (lambda _: None) if quiet else console.print
    results = merge_benchmark_shards(shards, command=("openhoi", *_ARGV), log=log)
    print(benchmark_markdown(results))
    json_path, md_path = write_benchmark(results, out)
    console.print(f"wrote {json_path} and {md_path}")


@eval_app.command("report")
def eval_report(
    results: Annotated[
        list[str] | None,
        typer.Argument(help="Result files of `openhoi eval motion` (benchmark_*.json)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: md.")] = "md",
    out: Annotated[str | None, typer.Option(help="Write to this file instead of printing.")] = None,
    update: Annotated[
        list[str] | None,
        typer.Option(
            "--update",
            help="Rewrite the `<!-- table: RESULT.json -->` blocks of this Markdown file "
            "from their result files (repeatable).",
        ),
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="Exit 2 when a table block of this Markdown file is stale."),
    ] = None,
) -> None:
    """Tables written from result files, with the command, date, machine and version."""
    from openhoi.errors import InputError
    from openhoi.eval.report import render_report, stale_tables, update_tables

    if fmt != "md":
        raise InputError(f"--format {fmt!r} is not supported; the one format is md")
    for document in check or []:
        _existing_file(document, "--check")
        stale = stale_tables(document)
        if stale:
            raise InputError(
                f"{document}: the tables of {', '.join(stale)} differ from their result files "
                f"(regenerate with: openhoi eval report --update {document})"
            )
        typer.echo(f"{document}: every table matches its result file")
    for document in update or []:
        _existing_file(document, "--update")
        typer.echo(f"{document}: rewrote {update_tables(document)} table(s)")
    if not results:
        if check or update:
            return
        raise InputError("eval report needs RESULT.json files, --update DOC or --check DOC")
    text = render_report(results)
    if out is None:
        typer.echo(text, nl=False)
        return
    from openhoi._io import atomic_open

    with atomic_open(out) as handle:
        handle.write(text.encode("utf-8"))
    typer.echo(f"wrote {out}")


def _existing_file(path: str, option: str) -> None:
    from pathlib import Path

    from openhoi.errors import MissingFileError

    if not Path(path).is_file():
        raise MissingFileError(f"{option} {path}: no such file")


@eval_app.command("planner")
def eval_planner(
    checkpoint: Annotated[
        str | None, typer.Option(help="Planner folder (default: shipped).")
    ] = None,
    split: Annotated[
        str, typer.Option(help="unseen (held-out objects) or seen (training objects).")
    ] = "unseen",
    phrasing: Annotated[str, typer.Option(help="Instruction templates: held_out or train.")] = (
        "held_out"
    ),
    num_scenes: Annotated[int, typer.Option(help="Instruction scenes scored.")] = 60,
    num_coarse: Annotated[
        int, typer.Option(help="Object-level affordance questions scored (0: none).")
    ] = 60,
    max_scene_objects: Annotated[
        int, typer.Option(help="Scenes hold the target and up to N-1 distractors.")
    ] = 2,
    seed: Annotated[int, typer.Option(help="Scene seed; same seed → same scenes.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    hand_cues: Annotated[
        bool,
        typer.Option(
            "--hand-cues/--no-hand-cues",
            help="State a non-default dominant hand in the instruction.",
        ),
    ] = True,
    show_errors: Annotated[
        bool, typer.Option("--show-errors", help="List every scene whose plan is wrong.")
    ] = False,
    out: Annotated[str, typer.Option(help="Folder for the JSON + Markdown.")] = "outputs/benchmark",
    requests: Annotated[
        str | None,
        typer.Option(
            help="Score the frozen held-out requests instead (heldout_v1, heldout_multi_v1); "
            "report once per shipped model, never tune on it. Choose settings on "
            "validation_v1 / validation_multi_v1."
        ),
    ] = None,
) -> None:
    """Evaluate the planner: affordance AUC / aIoU / SIM / MAE and plan accuracy."""
    if requests is not None:
        _eval_heldout(checkpoint, requests, device, show_errors, out)
        return
    from openhoi.benchmark import (
        PlannerEvalConfig,
        planner_report,
        run_planner_eval,
        write_planner_eval,
    )

    config = PlannerEvalConfig(
        checkpoint=checkpoint,
        split=split,
        phrasing=phrasing,
        num_scenes=num_scenes,
        num_coarse=num_coarse,
        max_scene_objects=max_scene_objects,
        seed=seed,
        device=device,
        hand_cues=hand_cues,
    )
    results = run_planner_eval(config)
    print(planner_report(results, show_errors=show_errors), end="")
    json_path, md_path = write_planner_eval(results, out)
    _console().print(f"wrote {json_path} and {md_path}")


def _eval_heldout(checkpoint, name: str, device: str, show_errors: bool, out: str) -> None:
    """`eval planner --requests NAME`: the frozen held-out requests (`openhoi.benchmark`)."""
    from openhoi.benchmark import run_heldout_eval, write_heldout_eval
    from openhoi.mllm.heldout import heldout_report

    result = run_heldout_eval(checkpoint, name, device)
    print(heldout_report(result, show_errors=show_errors), end="")
    json_path, md_path = write_heldout_eval(result, out)
    _console().print(f"wrote {json_path} and {md_path}")


def _hands(mano_dir: str | None):
    """Both hand models from `mano_dir` (None: $OPENHOI_MANO_DIR or the embedded hand)."""
    from openhoi.hand import HandModel

    return {side: HandModel(side=side, mano_dir=mano_dir) for side in ("left", "right")}


@app.command()
def doctor(
    mano_dir: Annotated[
        str | None,
        typer.Option(
            help="MANO folder (MANO_*.pkl), or embedded:v1 / embedded:v2 (default: "
            "$OPENHOI_MANO_DIR)."
        ),
    ] = None,
) -> None:
    """Report versions, compute devices and whether real MANO files are configured."""
    from rich.table import Table

    from openhoi.provenance import diagnose

    report = diagnose(mano_dir=mano_dir)
    table = Table(title="openhoi doctor", show_header=False)
    table.add_column("item")
    table.add_column("value")
    for key, value in report.items():
        table.add_row(key, str(value))
    _console().print(table)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": False},
)
def demo(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Config overrides, e.g. object=bottle side=left out=demo_out"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
) -> None:
    """Grasp a built-in object with the hand model and print contact and penetration figures."""
    from openhoi.config import DemoConfig, compose_config
    from openhoi.synth.demo import run_demo

    config = compose_config("demo", DemoConfig, overrides or [])
    result = run_demo(config)
    console = _console()
    summary = result.report.summary()
    if not quiet:
        console.print(
            f"{config.side} hand grasps the {config.object!r} on its "
            f"{result.affordance!r} region over {result.sequence.num_frames} frames"
        )
    for key, value in summary.items():
        shown = "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else value
        console.print(f"  {key}: {shown}")
    for path in result.written:
        console.print(f"wrote {path}")


# The command line of this run, recorded in result files (`openhoi eval report`).
_ARGV: list[str] = []


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning user errors into exit code 2."""
    import signal

    from openhoi.errors import OpenHOIError

    # Ctrl-C raises `_Interrupted`, which click lets through: it would turn a
    # KeyboardInterrupt into "Aborted!" and exit code 1. Work in progress is dropped by the
    # writers' `except BaseException` clean-ups, so nothing half-written stays.
    previous = signal.signal(signal.SIGINT, _raise_interrupted)
    _ARGV[:] = sys.argv[1:] if argv is None else argv
    try:
        app(args=argv, standalone_mode=True)
    except OpenHOIError as exc:
        print(f"openhoi: error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None
    except (_Interrupted, KeyboardInterrupt):
        print("openhoi: interrupted", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGINT, previous)


class _Interrupted(BaseException):
    """Ctrl-C, raised by our SIGINT handler (not a KeyboardInterrupt, which click eats)."""


def _raise_interrupted(signum, frame) -> None:
    raise _Interrupted


if __name__ == "__main__":
    main()
