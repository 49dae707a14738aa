"""The code behind the rollout gate's interfaces: the ``...Impl`` classes.

Every worker registers them on each of its task queues (temporal/worker.py), so the
gate runs wherever the controller starts it, on the build it checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from temporalio import activity, workflow

# The activity's side, passed through the sandbox as the modules' workflow.py does.
with workflow.unsafe.imports_passed_through():
    from ..db import Database, connect_to_db_or_raise
    from ..loads.staging import SHARED_TABLE_NAMES, Staging
from ..temporal.retry import PermanentError
from .workflow_interface import (
    CHECK_OPTIONS,
    WORKFLOW_TYPE,
    GateReport,
    GateRequest,
    RolloutGateActivities,
    RolloutGateWorkflow,
)

if TYPE_CHECKING:
    from ..temporal.module import WorkflowModule

# The columns of a table as this connection's search_path finds it; none if it is absent.
# The name is quoted as an identifier, as the activities' statements quote it.
COLUMNS = (
    "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(%s)) "
    "AND attnum > 0 AND NOT attisdropped"
)


def written_tables(modules: Sequence[WorkflowModule]) -> dict[str, list[str]]:
    """Each table this build writes, with the columns it names; modules without a table
    (tests' own) write nothing to check."""
    tables: dict[str, list[str]] = {name: [] for name in SHARED_TABLE_NAMES}
    for module in modules:
        if module.table:
            tables[module.table] = module.fields.names
            staged = Staging(module.table, module.fields)
            tables[staged.rows_table] = ["_load", "_seq", "_line", *module.fields.names]
    return tables


class RolloutGateActivitiesImpl(RolloutGateActivities):
    """Checks the database a worker's modules write to, as this build's code sees it."""

    def __init__(self, database: Database, modules: Sequence[WorkflowModule]) -> None:
        self.database = database
        self.tables = written_tables(modules)

    @activity.defn(name="RolloutGateActivities.check")
    async def check(self, request: GateRequest) -> GateReport:
        # Here, not with the module: the sandbox re-imports this file, and the keys'
        # cryptography is the activity's alone.
        from ..temporal.encryption import keys_from_environment

        encrypted = bool(keys_from_environment())
        if request.get("require_encryption") and not encrypted:
            raise PermanentError("PAYLOAD_ENCRYPTION_KEYS is not set on this build's workers")
        missing = []
        async with connect_to_db_or_raise(self.database.url, pool=self.database.pool) as conn:
            for table, columns in self.tables.items():
                cursor = await conn.execute(COLUMNS, (table,))
                found = {name for (name,) in await cursor.fetchall()}
                if not found:
                    missing.append(f"table {table}")
                elif absent := [column for column in columns if column not in found]:
                    missing.append(f"{table}.{', '.join(absent)}")
        if missing:
            raise PermanentError(
                f"this build writes what the database lacks: {'; '.join(missing)}. "
                "Run init-db with this build's image before it takes traffic."
            )
        return {"tables": sorted(self.tables), "encrypted": encrypted}


@workflow.defn(name=WORKFLOW_TYPE)
class RolloutGateWorkflowImpl(RolloutGateWorkflow):
    """Runs the check on this workflow's task queue, so on the build being gated."""

    @workflow.run
    async def run(self, request: GateRequest | None = None) -> GateReport:
        return await workflow.execute_activity_method(
            RolloutGateActivities.check, request or {}, **CHECK_OPTIONS
        )
