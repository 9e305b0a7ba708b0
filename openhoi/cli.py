"""The `openhoi` command line: thin verbs over `openhoi.api`.

Only typer and the standard library are imported here at module level, so
`openhoi --help` starts fast and loads no torch. Each command imports its code
inside the function. User errors (`OpenHOIError`) become one line on stderr and
exit code 2; Ctrl-C exits with 130 and no traceback.
"""

from __future__ import annotations

import math
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate SynthHOI: physically checked episodes with instructions and affordances."""
    from openhoi.errors import InputError
    from openhoi.synth import synthesize_dataset

    if episodes < 1 or workers < 1:
        raise InputError(f"--episodes and --workers must be >= 1, got {episodes} and {workers}")
    report = synthesize_dataset(
        out, episodes, seed=seed, objects=objects or None, workers=workers, progress=not quiet
    )
    _console().print(
        f"{report.num_written} episodes written ({report.num_episodes} in the folder) in "
        f"{report.seconds:.0f} s, {report.episodes_per_minute:.1f} episodes/min; "
        f"segment rejection rate {report.segment_rejection_rate:.0%} → {report.folder}"
    )


@data_app.command("prepare")
def data_prepare(
    dataset: Annotated[str, typer.Argument(help="grab, arctic or h2o.")],
    root: Annotated[str, typer.Option(help="The dataset folder as released.")],
    out: Annotated[str, typer.Option(help="Output episode folder (resumes if it exists).")],
    mano_dir: Annotated[
        str | None, typer.Option(help="Folder with MANO_RIGHT.pkl / MANO_LEFT.pkl.")
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
        str | None, typer.Option(help="Folder with MANO_RIGHT.pkl / MANO_LEFT.pkl.")
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
            "and add the results to report.json; a few seconds per phase.",
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
) -> None:
    """Instruction + object(s) → plan, HOI sequence, glb/bvh/meshes, preview and report.

    With --prompts, all prompts are planned first and their sub-task segments sampled
    together, in batches of up to --batch-size, before each prompt's files are written.
    """
    import time
    from pathlib import Path

    from openhoi.api import GenerateConfig, Pipeline
    from openhoi.errors import InputError, OpenHOIError
    from openhoi.export.run_folder import check_output_folder, fresh_folder, write_generation_files
    from openhoi.mllm import read_plan_requests
    from openhoi.mllm.api import check_instruction
    from openhoi.objects import load_object

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
    console = _console()
    with _StageProgress(console, quiet) as progress:
        clock = time.perf_counter()
        progress("load", 0, 1)
        pipeline = Pipeline.from_pretrained(planner, motion, device=device, mano_dir=mano_dir)
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
                if verbose:
                    timings = {"load_s": load_s, **result.timings}
                    lines.append("  " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    for line in lines:
        console.print(line)
    if failures:
        console.print(f"{failures} of {len(requests)} prompts failed; the others were written")
        raise typer.Exit(EXIT_USER_ERROR)


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
    model = load_planner(planner, device=device)
    plans = [model.plan(text, objects) for text, objects in requests]
    console = _console()
    for made in plans:
        table = Table(title=made.instruction)
        for column in ("#", "sub-task", "primitive", "hands", "object", "affordance"):
            table.add_column(column)
        for k, sub in enumerate(made.subtasks):
            table.add_row(
                str(k),
                sub.text,
                sub.primitive,
                sub.hands,
                made.objects[sub.object_index],
                sub.affordance,
            )
        console.print(table)
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
        str | None, typer.Option(help="Folder with MANO_RIGHT.pkl / MANO_LEFT.pkl.")
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
    sequence: Annotated[str, typer.Argument(help="A sequence.npz written by openhoi.")],
    out: Annotated[
        str | None, typer.Option(help="Output .mp4 (default: preview.mp4 beside it).")
    ] = None,
    width: Annotated[int, typer.Option(help="Video width in pixels.")] = 320,
    height: Annotated[int, typer.Option(help="Video height in pixels.")] = 240,
    conditions: Annotated[
        bool,
        typer.Option(help="Also write depth / mask / 2D keypoint renders for video models."),
    ] = False,
    mano_dir: Annotated[
        str | None, typer.Option(help="Folder with MANO_RIGHT.pkl / MANO_LEFT.pkl.")
    ] = None,
) -> None:
    """Render a preview video (and optionally condition maps) of a sequence, headless."""
    from pathlib import Path

    from openhoi.data import HOISequence
    from openhoi.render import render_conditions, render_preview

    seq = HOISequence.load(sequence)
    target = Path(out) if out else Path(sequence).parent / "preview.mp4"
    hands = _hands(mano_dir)
    console = _console()
    console.print(f"wrote {render_preview(seq, target, hands=hands, size=(width, height))}")
    if conditions:
        folder = target.parent / "conditions"
        render_conditions(seq, folder, hands=hands, size=(width, height))
        console.print(f"wrote {folder}")


@app.command("check")
def check(
    run_dir: Annotated[
        str, typer.Argument(help="A run folder written by openhoi generate (sequence.npz).")
    ],
    frames_per_phase: Annotated[
        int, typer.Option(help="Frames per holding phase in the gravity hold test.")
    ] = 3,
    mano_dir: Annotated[
        str | None, typer.Option(help="Folder with MANO_RIGHT.pkl / MANO_LEFT.pkl.")
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the tables only.")] = False,
) -> None:
    """Benchmark the motion model on a test split: the paper's tables, rerunnable."""
    from openhoi.benchmark import (
        BenchmarkConfig,
        benchmark_markdown,
        parse_variants,
        run_benchmark,
        write_benchmark,
    )

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
    )
    console = _console()
    log = (lambda _: None) if quiet else console.print
    results = run_benchmark(config, log=log, progress=not quiet)
    print(benchmark_markdown(results))
    json_path, md_path = write_benchmark(results, out)
    console.print(f"wrote {json_path} and {md_path}")


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
            help="Score the frozen held-out requests instead (heldout_v1); report once per "
            "shipped model, never tune on it."
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
            help="Folder with MANO_RIGHT.pkl / MANO_LEFT.pkl (default: $OPENHOI_MANO_DIR)."
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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning user errors into exit code 2."""
    import signal

    from openhoi.errors import OpenHOIError

    # Ctrl-C raises `_Interrupted`, which click lets through: it would turn a
    # KeyboardInterrupt into "Aborted!" and exit code 1. Work in progress is dropped by the
    # writers' `except BaseException` clean-ups, so nothing half-written stays.
    previous = signal.signal(signal.SIGINT, _raise_interrupted)
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
