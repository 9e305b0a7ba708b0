"""`openhoi render --pack`: bad inputs exit 2 with one line naming them; --list-packs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from openhoi.cli import main
from openhoi.render import PACK_FILES


@pytest.fixture(scope="module")
def saved(laptop_sequence, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    laptop_sequence.save(folder / "sequence.npz")
    (folder / "broken.npz").write_bytes(b"not an npz")
    (folder / "broken.json").write_text("{not json")
    (folder / "scaled.json").write_text(
        json.dumps({"width": 64, "height": 48, "K": [[50, 0, 32], [0, 50, 24], [0, 0, 1]],
                    "R": [[2, 0, 0], [0, 2, 0], [0, 0, 2]], "t": [0, 0, 1]})
    )  # fmt: skip
    return folder


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["render", *args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--pack", "video"), "unknown pack 'video'"),
        (("--pack", "pam", "--size", "720by480"), "'720by480'"),
        (("--pack", "pam", "--size", "721x480"), "even"),
        (("--pack", "pam", "--camera", "{dir}/missing.json"), "missing.json' does not exist"),
        (("--pack", "pam", "--camera", "{dir}/broken.json"), "broken.json' is not valid JSON"),
        (("--pack", "pam", "--camera", "{dir}/scaled.json"), "not a rotation matrix"),
        (("--pack", "pam", "--camera", "sideways"), "'sideways'"),
        (("--pack", "pam", "--clip", "50"), "fewer than one clip of 50"),
        (("--pack", "pam", "--stride", "0"), "stride"),
    ],
)
def test_bad_pack_inputs_exit_2_naming_the_input(capsys, saved, args, needle):
    out = saved / "out"
    args = [a.format(dir=saved) for a in args]
    code, _, err = _run(capsys, str(saved / "sequence.npz"), "--out", str(out), *args)
    assert code == 2 and needle in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in saved.iterdir() if p.name.startswith(".")) == []


def test_unreadable_sequence_exits_2_from_the_console(capsys, saved):
    result = subprocess.run(
        [sys.executable, "-m", "openhoi.cli", "render", str(saved / "broken.npz"), "--pack",
         "pam", "--out", str(saved / "out")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2 and "broken.npz" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    code, _, err = _run(capsys, str(saved / "absent.npz"), "--pack", "pam")
    assert code == 2 and "absent.npz" in err and err.count("\n") == 1
    assert not (saved / "out").exists() and not (saved / "pack_pam").exists()


def test_list_packs_prints_every_file(capsys):
    code, out, _ = _run(capsys, "--list-packs")
    assert code == 0
    lines = out.splitlines()
    for item in PACK_FILES:
        (line,) = [line for line in lines if line.split()[:1] == [item.name]]
        assert item.description in line
