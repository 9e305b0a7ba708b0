"""One training infrastructure for the motion model, the planner and the evaluator.

- `warmup_cosine`, `warmup_cosine_scheduler`: the learning-rate schedule (schedule.py).
- `TrainState`, `save_train_checkpoint`, `load_train_checkpoint`, `find_resume_point`,
  `capture_train_state`, `restore_train_state`: atomic checkpoints with exact resume
  (checkpoint.py).
- `RunLog`: `log.jsonl`, TensorBoard when installed, a rich progress bar (log.py).
- `Runtime`: device, processes and mixed precision, `accelerate` when installed (runtime.py).
- `compose_train_config`, `DEPRECATED_KEYS`: one key grammar, old spellings as aliases
  (config.py).

Each trainer keeps its own loop, losses and model files; this package holds what they
share. Names are imported lazily, so `openhoi.training.config` stays free of torch.
"""

from __future__ import annotations

from openhoi._lazy import lazy_attributes

_LAZY = {
    "DEPRECATED_KEYS": "openhoi.training.config",
    "DeprecatedKey": "openhoi.training.config",
    "compose_train_config": "openhoi.training.config",
    "upgrade_config_dict": "openhoi.training.config",
    "LOG_FILE": "openhoi.training.log",
    "RunLog": "openhoi.training.log",
    "read_log": "openhoi.training.log",
    "Runtime": "openhoi.training.runtime",
    "warmup_cosine": "openhoi.training.schedule",
    "warmup_cosine_scheduler": "openhoi.training.schedule",
    "TRAIN_STATE_FILE": "openhoi.training.checkpoint",
    "TrainState": "openhoi.training.checkpoint",
    "capture_rng": "openhoi.training.checkpoint",
    "capture_train_state": "openhoi.training.checkpoint",
    "find_resume_point": "openhoi.training.checkpoint",
    "load_train_checkpoint": "openhoi.training.checkpoint",
    "resolve_checkpoint": "openhoi.training.checkpoint",
    "restore_rng": "openhoi.training.checkpoint",
    "restore_train_state": "openhoi.training.checkpoint",
    "save_train_checkpoint": "openhoi.training.checkpoint",
    "write_folder_atomic": "openhoi.training.checkpoint",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
