"""A baked service's `dev` in a real browser: the guide's million items, watched in a pipe
and then on the Web UI's own page for the run; and with PAYLOAD_ENCRYPTION_KEYS, the
Web UI decoding the sealed input through the service's codec server.

Chromium comes from the system's packages; the template's `make test` installs it
where it is missing (the `chromium` target).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import DEV_READY, Cookies, DevRun, bake_ok, dev_running, make, wait_for_line

# The large example: six records and a range of a million, so two children of at
# most 1,000 batches of 1,000 items each.
LARGE_TOTAL = 1_000_006
FIRST_CHILD_SUMMARY = "items 1 to 1,000,000 of 1,000,006"
SECOND_CHILD_SUMMARY = "items 1,000,001 to 1,000,006 of 1,000,006"
PROGRESS_LINE = re.compile(r"^progress: ([0-9,]+)/", re.MULTILINE)
RUN_LINE = re.compile(r"workflow (\S+) running \(run ([0-9a-f-]+)\)")
LARGE_RUN_TIMEOUT_SECONDS = 600
# As the machine's probe runs it: no background traffic to hosts this machine cannot reach.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Time for the page's scripts to fetch the history and draw it before the DOM is read.
    "--virtual-time-budget=20000",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: `make test` installs it (make chromium)")
    return found


def page_text(url: str, profile: Path) -> str:
    """The page's DOM as Chromium has it once its scripts have run."""
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    loaded = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    return loaded.stdout


def installed_bake(cookies: Cookies, baked_venv: Path) -> Path:
    """The defaults, baked and installed in the shared venv."""
    project = bake_ok(cookies, {})
    installed = make(project, baked_venv)
    assert installed.returncode == 0, installed.stdout[-3000:]
    return project


@dataclass(frozen=True)
class RunPage:
    printed: str
    """What dev printed up to "Worker running"."""
    ui: str
    workflow_id: str
    history: str
    """The DOM of the Web UI's history page of the run dev started."""


def run_page(dev: DevRun, timeout: float, profile: Path) -> RunPage:
    """Once dev's example is done, the Web UI's page for it, as Chromium draws it."""
    printed = wait_for_line(dev.output, dev.process, DEV_READY, timeout)
    run = RUN_LINE.search(printed)
    assert run is not None, printed[-3000:]
    workflow_id, run_id = run.groups()
    ui = f"http://localhost:{dev.port + 1000}"
    history = page_text(
        f"{ui}/namespaces/default/workflows/{workflow_id}/{run_id}/history", profile
    )
    return RunPage(printed, ui, workflow_id, history)


@pytest.mark.slow
def test_the_large_example_shows_its_progress_and_its_story_in_the_web_ui(
    cookies: Cookies, baked_venv: Path, tmp_path: Path
) -> None:
    project = installed_bake(cookies, baked_venv)
    large = project / "examples" / "kardashian_large.json"
    dev_args = ("--input-file", str(large))
    with dev_running(
        project, baked_venv, "kardashian_tracker", tmp_path / "dev.log", *dev_args
    ) as dev:
        seen = run_page(dev, LARGE_RUN_TIMEOUT_SECONDS, tmp_path / "chr")
    printed, ui, workflow_id, history = seen.printed, seen.ui, seen.workflow_id, seen.history

    # The banner and the workflow's link come first, then progress, then the result.
    link = f"Workflow:  {ui}/namespaces/default/workflows/{workflow_id}"
    assert printed.index("Temporal UI:") < printed.index(link) < printed.index("progress: ")
    progress = PROGRESS_LINE.findall(printed)
    # How many lines a run prints depends on the machine's speed (one per tenth, or per
    # 30 s); what may not depend on it: counts shown while it runs, never going back.
    counts = [int(count.replace(",", "")) for count in progress]
    assert counts == sorted(counts), progress
    assert any(0 < count < LARGE_TOTAL for count in counts), progress
    assert counts[-1] == LARGE_TOTAL, progress
    assert f"progress: {LARGE_TOTAL:,}/{LARGE_TOTAL:,} items (100%)" in printed
    assert f'Result:    {{"upserted": {LARGE_TOTAL}}}' in printed
    # The Web UI's page for the run lists its children by their summaries.
    assert FIRST_CHILD_SUMMARY in history
    assert SECOND_CHILD_SUMMARY in history


@pytest.mark.slow
def test_with_keys_the_web_ui_shows_the_input_decoded_by_the_codec_server(
    cookies: Cookies, baked_venv: Path, tmp_path: Path
) -> None:
    project = installed_bake(cookies, baked_venv)
    keys = {"PAYLOAD_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode()}
    with dev_running(
        project, baked_venv, "kardashian_tracker", tmp_path / "dev.log", extra_env=keys
    ) as dev:
        seen = run_page(dev, 120, tmp_path / "chr")
        served = dev.output.read_text(encoding="utf-8")
        # dev applied the module's schedule: the Schedules page lists it, paused.
        schedules = page_text(f"{seen.ui}/namespaces/default/schedules", tmp_path / "chr")
    # The page shows the example's records as JSON text: each value in its quotes.
    shown = html.unescape(re.sub(r"<[^>]+>", "", seen.history))
    example = json.loads((project / "examples" / "kardashian.json").read_text(encoding="utf-8"))
    values = [value for record in example["records"] for value in record.values()]
    missing = [value for value in values if json.dumps(value, ensure_ascii=False) not in shown]
    assert missing == [], shown[-3000:]
    # ... which only the codec server could have given it: dev started one, and the
    # browser's page asked it to decode for the namespace.
    assert "Codec:     http://127.0.0.1:" in seen.printed
    assert "decode: 1 payloads for namespace default" in served
    assert "Schedules: 1 schedule: 1 created" in seen.printed
    assert "kardashian-tracker.kardashian" in schedules
    assert "Paused" in schedules
