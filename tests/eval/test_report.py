"""Tables written from result files: `openhoi eval report` and the documents' table blocks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from openhoi.errors import InputError, MissingFileError
from openhoi.eval.report import render_report, run_record, stale_tables, table_blocks, update_tables

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "docs" / "results" / "contact_unseen_2026-12-07.json"


@pytest.mark.parametrize("document", ["README.md", "BENCHMARKS.md"])
def test_every_table_in_the_docs_matches_its_result_file(document):
    blocks = table_blocks((ROOT / document).read_text(encoding="utf-8"))
    assert blocks, f"{document} embeds no table from a result file"
    assert stale_tables(ROOT / document) == [], (
        f"regenerate with: openhoi eval report --update {document}"
    )


def _document(tmp_path: Path) -> Path:
    (tmp_path / "results").mkdir()
    shutil.copy(RESULT, tmp_path / "results" / "r.json")
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n<!-- table: results/r.json -->\nold text\n<!-- /table -->\n\nEnd.\n")
    return doc


def test_a_hand_edited_number_is_caught_and_update_rewrites_it(tmp_path):
    doc = _document(tmp_path)
    assert stale_tables(doc) == ["results/r.json"]
    assert update_tables(doc) == 1
    assert stale_tables(doc) == []
    text = doc.read_text()
    assert text.startswith("# Title\n\n") and text.endswith("<!-- /table -->\n\nEnd.\n")
    assert "| ours | 0.58 |" in text  # the holding ratio of the result file
    doc.write_text(text.replace("| ours | 0.58 |", "| ours | 0.68 |"))
    assert stale_tables(doc) == ["results/r.json"]
    # ... and so is a result file changed without regenerating the text.
    update_tables(doc)
    data = json.loads(RESULT.read_text())
    data["variants"]["full"]["summary"]["holding_ratio"]["mean"] = 0.9
    (tmp_path / "results" / "r.json").write_text(json.dumps(data))
    assert stale_tables(doc) == ["results/r.json"]


def test_the_report_names_its_source_and_renders_every_table():
    text = render_report([RESULT])
    first = text.splitlines()[0]
    assert first.startswith("Made by `openhoi eval motion --dataset synth --split unseen")
    assert "2026-12-07" in first and "2 CPU cores" in first
    assert text.count("| GT |") == 3  # accuracy, physics and holding tables


def test_run_record_says_when_where_and_what():
    record = run_record(["openhoi", "eval", "motion"])
    assert record["command"] == "openhoi eval motion"
    assert len(record["date"]) == 10 and "CPU cores" in record["machine"] and record["openhoi"]


def test_bad_result_files_are_one_clear_error(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        render_report([tmp_path / "nope.json"])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not readable JSON"):
        render_report([tmp_path / "bad.json"])
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(InputError, match="not an `openhoi eval motion` result"):
        render_report([tmp_path / "other.json"])


def _exit_code(*args: str) -> int:
    from openhoi.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "report", *args])
    return exit_info.value.code


def test_cli_prints_checks_and_updates(tmp_path, capsys):
    assert _exit_code(str(RESULT)) == 0
    assert capsys.readouterr().out == render_report([RESULT])
    doc = _document(tmp_path)
    assert _exit_code("--check", str(doc)) == 2
    assert "regenerate with: openhoi eval report --update" in capsys.readouterr().err
    assert _exit_code("--update", str(doc)) == 0
    assert _exit_code("--check", str(doc)) == 0
    assert "every table matches" in capsys.readouterr().out
    for args in (["--format", "html", str(RESULT)], [str(tmp_path / "missing.json")], []):
        assert _exit_code(*args) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 3  # one line each
    out = tmp_path / "tables.md"
    assert _exit_code(str(RESULT), "--out", str(out)) == 0
    assert out.read_text() == render_report([RESULT])
