"""Run the Khronos glTF validator on `.glb`/`.gltf` files and print its report.

    python tools/validate_gltf.py out/sequence.glb [--json]

Needs Node.js and the npm package `gltf-validator` (the official validator compiled to
JavaScript), installed globally (`npm install -g gltf-validator`) or in a folder given with
`--validator-dir DIR` (the folder holding `node_modules/gltf-validator`). Exit code 0 when
every file has no errors (and, with `--strict`, no warnings), 1 otherwise, 2 when the
validator cannot be run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ValidatorUnavailable", "find_validator", "validate"]

_SCRIPT = """
const fs = require('fs');
const validator = require('gltf-validator');
const data = new Uint8Array(fs.readFileSync(process.argv[1]));
validator.validateBytes(data, {maxIssues: 100})
  .then((report) => { process.stdout.write(JSON.stringify(report)); })
  .catch((error) => { process.stderr.write(String(error)); process.exit(3); });
"""


class ValidatorUnavailable(RuntimeError):
    """Node.js or the `gltf-validator` npm package cannot be found."""


def _node_path(validator_dir: str | os.PathLike | None) -> str:
    paths = []
    if validator_dir is not None:
        paths.append(str(Path(validator_dir) / "node_modules"))
    npm = shutil.which("npm")
    if npm is not None:
        result = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            paths.append(result.stdout.strip())
    if os.environ.get("NODE_PATH"):
        paths.append(os.environ["NODE_PATH"])
    return os.pathsep.join(paths)


def find_validator(validator_dir: str | os.PathLike | None = None) -> tuple[str, dict[str, str]]:
    """`(node executable, environment)` able to `require('gltf-validator')`.

    Raises:
        ValidatorUnavailable: no node, or the package is not installed.
    """
    node = shutil.which("node")
    if node is None:
        raise ValidatorUnavailable("Node.js ('node') is not on PATH; install Node.js")
    env = {**os.environ, "NODE_PATH": _node_path(validator_dir)}
    probe = subprocess.run(
        [node, "-e", "require.resolve('gltf-validator')"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if probe.returncode != 0:
        raise ValidatorUnavailable(
            "the npm package 'gltf-validator' is not installed; run: npm install -g gltf-validator"
        )
    return node, env


def validate(path: str | os.PathLike, validator_dir: str | os.PathLike | None = None) -> dict:
    """The validator's JSON report for one file (keys `issues`, `info`, ...)."""
    node, env = find_validator(validator_dir)
    result = subprocess.run(
        [node, "-e", _SCRIPT, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise ValidatorUnavailable(f"the validator failed on {path}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--validator-dir", type=Path, default=None)
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--json", action="store_true", help="print the full JSON reports")
    args = parser.parse_args(argv)
    failed = False
    for path in args.files:
        try:
            report = validate(path, args.validator_dir)
        except ValidatorUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        issues = report["issues"]
        print(
            f"{path}: {issues['numErrors']} errors, {issues['numWarnings']} warnings, "
            f"{issues['numInfos']} infos, {issues['numHints']} hints"
        )
        for message in issues["messages"]:
            print(f"  [{message['severity']}] {message['code']} {message.get('pointer', '')}: "
                  f"{message['message']}")  # fmt: skip
        if args.json:
            print(json.dumps(report, indent=1))
        failed |= issues["numErrors"] > 0 or (args.strict and issues["numWarnings"] > 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
