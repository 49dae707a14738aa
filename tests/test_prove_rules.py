"""A fresh bake's ``make prove-rules`` catches all nine broken rules, and fails the command
when a broken rule survives or a mutant no longer applies to the code.

The command is what a newcomer runs to watch the rules' tests at work, so this runs it as
they would: in a new bake, then with a mutant made harmless, then with code changed
under a mutant.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers import Cookies, bake_ok, make

MUTANTS = Path("tests/mutants.py")
FANOUT = Path("src/kardashian_tracker/temporal/fanout.py")
CAUGHT = re.compile(r"^(\d) .+  (test_rule\S+)\s+(\d+\.\d)$", re.MULTILINE)


def test_a_fresh_bake_catches_every_broken_rule(cookies: Cookies, baked_venv: Path) -> None:
    project = bake_ok(cookies, {})

    proved = make(project, baked_venv, "prove-rules")

    assert proved.returncode == 0, proved.stdout[-3000:]
    caught = CAUGHT.findall(proved.stdout)
    assert [int(rule) for rule, _, _ in caught] == list(range(1, 10)), proved.stdout[-3000:]
    for rule, test, _ in caught:
        assert test.startswith(f"test_rule{rule}") or (
            rule in "56" and test.startswith("test_rule5_6")
        ), (rule, test)
    assert "All 9 broken rules were caught." in proved.stdout


def test_a_surviving_mutant_and_a_stale_one_fail_the_command(
    cookies: Cookies, baked_venv: Path
) -> None:
    project = bake_ok(cookies, {})
    # Rule 4's mutant made harmless: it replaces the limit with itself.
    mutants = project / MUTANTS
    text = mutants.read_text(encoding="utf-8")
    harmless = text.replace(
        'replace="MAX_PAYLOAD_BYTES = 2 * 1024 * 1024\\n"',
        'replace="MAX_PAYLOAD_BYTES = 200 * 1024\\n"',
    )
    assert harmless != text
    mutants.write_text(harmless, encoding="utf-8")

    survived = make(project, baked_venv, "prove-rules", "PROVE_ARGS=--rule 4")

    assert survived.returncode != 0
    assert "NOT CAUGHT (survived: its test passed)" in survived.stdout
    assert "1 of 1 broken rules were not caught." in survived.stdout

    # The code rule 3's mutant looks for is changed: the command says so, runs nothing.
    fanout = project / FANOUT
    code = fanout.read_text(encoding="utf-8")
    fanout.write_text(
        code.replace("MAX_ACTIVITIES_PER_RUN = 1000", "MAX_ACTIVITIES_PER_RUN = (1000)")
    )

    stale = make(project, baked_venv, "prove-rules", "PROVE_ARGS=--rule 3")

    assert stale.returncode != 0
    assert "rule 3 At most 1000 activities: the mutant 'the limit becomes 5000' no longer " in (
        stale.stdout
    )
    assert "unbroken" not in stale.stdout
