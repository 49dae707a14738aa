"""``make prove-rules`` can still break every rule: each mutant applies to the code as it stands.

The mutants (tests/mutants.py) are exact text replacements, so a change to the code can
leave one with nothing to replace; this says so in ``make test``, before anyone runs
``make prove-rules`` to show a newcomer the rules' tests at work.
"""

from __future__ import annotations

from .helpers import PROJECT_ROOT
from .mutants import MUTANTS
from .prove_rules import stale


def test_every_rule_has_one_mutant() -> None:
    assert sorted(int(mutant.rule.split()[0]) for mutant in MUTANTS) == list(range(1, 10))


def test_every_mutant_applies_to_the_code_once() -> None:
    assert stale(MUTANTS) == []


def test_every_mutant_names_a_test_that_exists() -> None:
    for mutant in MUTANTS:
        path, name = mutant.test.split("::")
        source = (PROJECT_ROOT / path).read_text(encoding="utf-8")
        assert f"def {name}(" in source, mutant.test
