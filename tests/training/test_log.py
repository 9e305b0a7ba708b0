"""log.jsonl (one record per logged step, restarted or continued) and the quiet switch."""

from __future__ import annotations

from openhoi.training import LOG_FILE, RunLog, read_log


def _run(folder, start, end, *, resume=False, quiet=True, every=2):
    with RunLog(folder, total_steps=end, start_step=start, resume=resume, quiet=quiet) as log:
        for step in range(start + 1, end + 1):
            if step % every == 0:
                log.log(step, {"loss": 1.0 / step, "lr": 0.1})
            log.advance(step, {"loss": 1.0 / step})
        log.log(end, {"top_1": 0.5}, kind="val")


def test_one_record_per_log_step_and_resume_continues_the_file(tmp_path):
    _run(tmp_path, 0, 6)
    records = read_log(tmp_path / LOG_FILE)
    assert [(r["kind"], r["step"]) for r in records] == [
        ("train", 2), ("train", 4), ("train", 6), ("val", 6)
    ]  # fmt: skip
    assert records[0] == {"kind": "train", "step": 2, "loss": 0.5, "lr": 0.1}
    # Killed after step 5 with a checkpoint at step 4: the records after 4 are dropped.
    _run(tmp_path, 0, 5)
    _run(tmp_path, 4, 8, resume=True)
    steps = [(r["kind"], r["step"]) for r in read_log(tmp_path / LOG_FILE)]
    assert steps == [("train", 2), ("train", 4), ("train", 6), ("train", 8), ("val", 8)]
    # A fresh run in the same folder starts the file over.
    _run(tmp_path, 0, 2)
    assert [r["step"] for r in read_log(tmp_path / LOG_FILE)] == [2, 2]


def test_a_torn_last_line_is_skipped(tmp_path):
    _run(tmp_path, 0, 2)
    with (tmp_path / LOG_FILE).open("a") as handle:
        handle.write('{"kind": "train", "st')
    assert len(read_log(tmp_path / LOG_FILE)) == 2


def test_quiet_silences_the_progress_bar(tmp_path, capsys):
    _run(tmp_path / "a", 0, 3, quiet=False)
    shown = capsys.readouterr().out
    assert "train" in shown and "3/3" in shown
    _run(tmp_path / "b", 0, 3, quiet=True)
    assert capsys.readouterr().out == ""


def test_a_disabled_log_writes_nothing(tmp_path):
    with RunLog(tmp_path / "rank1", total_steps=2, enabled=False) as log:
        log.log(1, {"loss": 1.0})
    assert not (tmp_path / "rank1").exists()
