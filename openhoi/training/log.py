"""What a training run reports: `log.jsonl`, TensorBoard when installed, a progress bar.

`log.jsonl` holds one JSON object per logged step, `{"kind": "train", "step": 100,
"loss": ..., "lr": ...}` (kind "val" for validation records), appended as the run goes.
A fresh run starts the file over; a resumed run keeps the records up to the step it
resumes from, so the file reads as one uninterrupted run. TensorBoard scalars go to
`tb/` beside it when `tensorboard` imports (the `train` extra).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["LOG_FILE", "RunLog", "read_log"]

logger = logging.getLogger(__name__)

LOG_FILE = "log.jsonl"


class RunLog:
    """The log of one run; a context manager that shows a rich progress bar while open.

    Args:
        folder: where `log.jsonl` (and `tb/`) go; created on open.
        total_steps: the step the run ends at (the bar's total).
        start_step: the step it starts from (0, or the resumed checkpoint's).
        resume: keep the records up to `start_step`; otherwise start the file over.
        quiet: no progress bar.
        enabled: False in all but the main process: nothing is written or shown.
        label: the bar's title ("motion", "planner", "evaluator").
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        total_steps: int,
        start_step: int = 0,
        resume: bool = False,
        quiet: bool = False,
        enabled: bool = True,
        label: str = "train",
    ) -> None:
        self.path = Path(folder) / LOG_FILE
        self.enabled = enabled
        self.total_steps, self.start_step = total_steps, start_step
        self.resume, self.quiet, self.label = resume, quiet, label
        self._writer = None
        self._bar = None
        self._task = None

    def __enter__(self) -> RunLog:
        if not self.enabled:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if self.resume and self.path.is_file():
            kept = [r for r in read_log(self.path) if int(r.get("step", 0)) <= self.start_step]
        with self.path.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(record) + "\n" for record in kept)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.path.parent / "tb"))
        except ImportError:
            logger.info("tensorboard not installed; logging to %s only", self.path)
        if not self.quiet:
            self._bar = _progress_bar(self.label)
            self._bar.start()
            self._task = self._bar.add_task(
                self.label, total=self.total_steps, completed=self.start_step, values=""
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self._writer is not None:
            self._writer.close()

    def log(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        """Append one record `{"kind": kind, "step": step, **values}`."""
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")
        if self._writer is not None:
            for key, value in values.items():
                self._writer.add_scalar(f"{kind}/{key}", value, step)

    def advance(self, step: int, values: dict[str, float] | None = None) -> None:
        """Move the bar to `step` and show `values` (e.g. the last losses) beside it."""
        if self._bar is None:
            return
        text = " ".join(f"{k}={v:.4f}" for k, v in (values or {}).items())
        self._bar.update(self._task, completed=step, values=text)


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a `log.jsonl` (a torn last line, from a kill mid-write, is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _progress_bar(label: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[values]}"),
        transient=False,
    )
