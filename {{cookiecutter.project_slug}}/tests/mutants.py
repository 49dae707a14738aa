"""One broken version of each of the guide's nine rules, and the test that must catch it.

``make prove-rules`` (tests/prove_rules.py) applies each mutant in turn to a scratch copy
of the service and runs its test: a rule whose mutant survives fails the command. Each
mutant is one exact text replacement in one file; ``{module}`` in a path is the workflow
module's folder. When a change to the code moves the text a mutant looks for, the command
(and tests/test_mutants.py, in ``make test``) says which mutant no longer applies: write
its ``find`` anew from the code as it now stands.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    rule: str
    broken: str
    """What the mutant breaks, in a few words."""
    file: str
    """The file it changes, from the package's folder."""
    find: str
    replace: str
    test: str
    """The test that must fail, as pytest names it."""


MUTANTS = (
    Mutant(
        rule="1 Interface/Impl naming",
        broken="the Impl registers under its own class name",
        file="{module}/workflow.py",
        find="@workflow.defn(name=WORKFLOW_TYPE)\nclass ",
        replace="@workflow.defn\nclass ",
        test="tests/test_rule1_naming.py::test_server_knows_interface_names",
    ),
    Mutant(
        rule="2 Idempotent upserts",
        broken="the upsert becomes a plain INSERT",
        file="bulk.py",
        find="def on_conflict(fields: Fields, *, skip_unchanged: bool = True) -> sql.Composed:\n",
        replace="def on_conflict(fields: Fields, *, skip_unchanged: bool = True) -> sql.Composed:\n"
        "    return sql.Composed([])\n",
        test="tests/test_rule2_idempotent.py::test_each_batch_twice_leaves_the_same_rows",
    ),
    Mutant(
        rule="3 At most 1000 activities",
        broken="the limit becomes 5000",
        file="temporal/fanout.py",
        find="MAX_ACTIVITIES_PER_RUN = 1000\n",
        replace="MAX_ACTIVITIES_PER_RUN = 5000\n",
        test="tests/test_rule3_activity_limit.py::test_past_1000_activities_the_default_limit_fans_out",
    ),
    Mutant(
        rule="4 Payloads under 200 KB",
        broken="the payload limit becomes 2 MB",
        file="temporal/payloads.py",
        find="MAX_PAYLOAD_BYTES = 200 * 1024\n",
        replace="MAX_PAYLOAD_BYTES = 2 * 1024 * 1024\n",
        test="tests/test_rule4_payload_limit.py::test_converter_refuses_one_byte_over_200_kib",
    ),
    Mutant(
        rule="5 Positional arguments",
        broken="a start with any number of arguments is let through",
        file="temporal/inputs.py",
        find="        if arity is not None and not arity[0] <= len(input.args) <= arity[1]:\n",
        replace="        if False:\n",
        test="tests/test_rule5_6_payloads.py::test_wrong_arity_from_the_python_client_fails_at_once",
    ),
    Mutant(
        rule="6 Plain JSON arguments",
        broken="to_dict() returns the record object, not JSON",
        file="{module}/record.py",
        find="FIELDS.dump(self))\n",
        replace="self)\n",
        test="tests/test_rule5_6_payloads.py::test_record_round_trips_through_json",
    ),
    Mutant(
        rule="7 connect_to_db_or_raise()",
        broken="a failed connection is tried a second time",
        file="db.py",
        find="        conn = await psycopg.AsyncConnection.connect(resolved, "
        "connect_timeout=CONNECT_TIMEOUT)\n",
        replace="        try:\n"
        "            conn = await psycopg.AsyncConnection.connect(resolved)\n"
        "        except psycopg.OperationalError:\n"
        "            conn = await psycopg.AsyncConnection.connect(resolved)\n",
        test="tests/test_rule7_db.py::test_connect_to_db_or_raise_makes_one_attempt_and_raises",
    ),
    Mutant(
        rule="8 stop_worker_faster()",
        broken="stop_worker_faster looks every 5 s",
        file="temporal/worker.py",
        find="STOP_POLL_SECONDS = 0.5\n",
        replace="STOP_POLL_SECONDS = 5.0\n",
        test="tests/test_rule8_stop_worker.py::test_raises_when_the_worker_is_not_down_in_time",
    ),
    Mutant(
        rule="9 Client reuse",
        broken="every call connects a new client",
        file="temporal/client.py",
        find="    task = _clients.get(loop)\n",
        replace="    task = None\n",
        test="tests/test_rule9_client.py::test_two_calls_return_the_same_client",
    ),
)
