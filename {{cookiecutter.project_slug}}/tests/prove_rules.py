"""``make prove-rules``: break each of the guide's rules in turn and watch its test catch it.

In a scratch copy of the service, each mutant of tests/mutants.py is applied alone and
its test is run against the real servers, as ``make test`` runs it. The table says, for
each rule, what was broken, the test that caught it and in how many seconds. A mutant
that survives (its test passes), hangs past the bound, or no longer applies to the code
fails the command. The tests first run once unbroken, so a catch means the mutant.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .helpers.jobs import MODULE_NAME, PACKAGE, PROJECT_ROOT
from .mutants import MUTANTS, Mutant

# A mutant's test runs within this bound or counts as not caught: a broken rule must
# fail its test, not hang it.
TEST_TIMEOUT_SECONDS = 300
# What a scratch copy leaves behind: environments, caches, dev's servers' data.
NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".dev", ".git", "build", "__pycache__", ".*_cache", "*.egg-info"
)
FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)


def path_of(mutant: Mutant, root: Path) -> Path:
    """The file ``mutant`` changes, under the project at ``root``."""
    return root / "src" / PACKAGE / mutant.file.format(module=MODULE_NAME)


def stale(mutants: Sequence[Mutant], root: Path = PROJECT_ROOT) -> list[str]:
    """Why each mutant that no longer applies does not: its text is not in its file once."""
    problems = []
    for mutant in mutants:
        path = path_of(mutant, root)
        found = path.read_text(encoding="utf-8").count(mutant.find) if path.is_file() else 0
        if found != 1:
            where = f"{found} times" if path.is_file() else "no such file"
            problems.append(
                f"rule {mutant.rule}: the mutant '{mutant.broken}' no longer applies: "
                f"its text is in {path.relative_to(root)} {where}, not once"
            )
    return problems


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    caught_by: str | None
    seconds: float
    why: str = ""


def run_tests(root: Path, tests: Sequence[str]) -> tuple[int, str, float]:
    """pytest on ``tests`` in the copy at ``root``, its package first on the path."""
    env = os.environ | {"PYTHONPATH": str(root / "src")}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-rf", "-p", "no:cacheprovider"]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [*command, *tests],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=TEST_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, f"no result within {TEST_TIMEOUT_SECONDS} s", time.monotonic() - started
    return completed.returncode, completed.stdout + completed.stderr, time.monotonic() - started


def prove(mutant: Mutant, root: Path) -> Outcome:
    """Apply ``mutant`` alone in the copy at ``root``, run its test, and put the file back."""
    path = path_of(mutant, root)
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace(mutant.find, mutant.replace, 1), encoding="utf-8")
    try:
        code, output, seconds = run_tests(root, [mutant.test])
    finally:
        path.write_text(original, encoding="utf-8")
    if code == 1:  # pytest's "some tests failed"
        failed = FAILED.findall(output)
        # Every test is under tests/: the table shows the rest, to stay narrow.
        caught = failed[0] if failed else mutant.test
        return Outcome(mutant, caught.removeprefix("tests/"), seconds)
    why = "survived: its test passed" if code == 0 else f"not run (exit {code}): {output[-500:]}"
    return Outcome(mutant, None, seconds, why)


def table(outcomes: Sequence[Outcome]) -> str:
    rows = [("rule", "what was broken", "caught by", "seconds")]
    for outcome in outcomes:
        caught = outcome.caught_by or f"NOT CAUGHT ({outcome.why.splitlines()[0]})"
        rows.append((outcome.mutant.rule, outcome.mutant.broken, caught, f"{outcome.seconds:.1f}"))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = []
    for row in rows:
        # The three text columns padded to their widest cell; the seconds right-aligned.
        cells = [row[column].ljust(widths[column]) for column in range(3)]
        lines.append("  ".join([*cells, row[3].rjust(7)]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make prove-rules",
        description="Break each of the guide's rules in turn, in a scratch copy of the service "
        "(the mutants are in tests/mutants.py), and show the test that catches it.",
    )
    parser.add_argument(
        "--rule", action="append", default=[], help="only the rules whose name starts so (e.g. 3)"
    )
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.rule or m.rule.startswith(tuple(args.rule))]
    problems = stale(mutants)
    if problems:
        print(*problems, sep="\n", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="prove-rules-") as scratch:
        root = Path(scratch) / PROJECT_ROOT.name
        shutil.copytree(PROJECT_ROOT, root, ignore=NOT_COPIED)
        tests = sorted({mutant.test for mutant in mutants})
        print(f"The {len(tests)} tests, unbroken, in {root} ...", flush=True)
        code, output, seconds = run_tests(root, tests)
        if code != 0:
            print(output[-3000:], file=sys.stderr)
            print("The tests fail before any rule is broken: fix them first.", file=sys.stderr)
            return 1
        print(f"... pass in {seconds:.1f} s. Now each rule, broken alone:", flush=True)
        outcomes = []
        for mutant in mutants:
            outcomes.append(prove(mutant, root))
            print(f"  rule {mutant.rule}: {outcomes[-1].seconds:.1f} s", flush=True)
    print()
    print(table(outcomes))
    survivors = [outcome for outcome in outcomes if outcome.caught_by is None]
    print()
    if survivors:
        print(f"{len(survivors)} of {len(outcomes)} broken rules were not caught.")
        return 1
    print(f"All {len(outcomes)} broken rules were caught.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
