"""Production settings from a ``temporal.toml`` profile, read by ``temporalio.envconfig``.

A worker process and ``run`` find the test session's server, on a non-default port,
in a namespace the test creates, from ``TEMPORAL_CONFIG_FILE`` and ``TEMPORAL_PROFILE`` alone: no
``TEMPORAL_ADDRESS`` is set. docs/operating.md shows the same for a self-hosted cluster
and for Temporal Cloud.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from .helpers import (
    EXAMPLE,
    background,
    cli,
    example_input,
    run_cli,
    temporal_cli,
)
from .module_under_test import MODULE

pytestmark = pytest.mark.processes

PROFILE = """\
[profile.staging]
address = "{address}"
namespace = "{namespace}"
"""


def test_a_profile_points_a_worker_at_another_server_and_namespace(
    temporal_address: str, database_url: str, tmp_path: Path
) -> None:
    # The session's server: started on a free port, never the default 7233.
    address = temporal_address
    assert not address.endswith(":7233")
    namespace = f"profile-{uuid.uuid4().hex[:8]}"
    created = temporal_cli(address, "operator", "namespace", "create", "--namespace", namespace)
    assert created.returncode == 0, created.stderr
    config = tmp_path / "temporal.toml"
    config.write_text(PROFILE.format(address=address, namespace=namespace), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TEMPORAL_")}
    env |= {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "staging"}
    env |= {"DATABASE_URL": database_url}
    queue = f"profile-{uuid.uuid4()}"

    with background(cli("worker", "--task-queue", queue), env=env):
        ran = run_cli("run", "--input-file", str(EXAMPLE), "--task-queue", queue, env=env)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"upserted": len(example_input()["records"])}

    # The run lives in the profile's namespace, and not in the default one.
    listed = temporal_cli(address, "workflow", "list", "--namespace", namespace, "-o", "json")
    assert [run["type"]["name"] for run in json.loads(listed.stdout)] == [MODULE.workflow_type]
    query = f"TaskQueue = '{queue}'"
    default = temporal_cli(address, "workflow", "list", "--query", query, "-o", "json")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout or "[]") == []
