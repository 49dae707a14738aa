"""Turn the histories a default bake records into the service template's history files.

``make histories`` bakes the defaults, runs their ``record-history --examples`` on
embedded servers, and hands the recordings to this script. The names become template
variables again; the example's records, which only the defaults' story may tell,
become the example file of whatever service is baked (base64-encoded, as a payload's
data is); the recording machine's identity is replaced. A name the script could not
turn back into a variable stops it.

Usage: python tools/history_templates.py BAKED_SERVICE TEMPLATE_HISTORIES_DIR
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_MODULE = "kardashian"
NAMES = [
    ("KardashianWorkflow", "{{ cookiecutter.workflow_name }}Workflow"),
    ("KardashianActivities", "{{ cookiecutter.workflow_name }}Activities"),
    ("kardashian-tracker.kardashian", "{{ cookiecutter.task_queue }}"),
]
EXAMPLE_MARK = "@EXAMPLE-PAYLOAD@"
EXAMPLE_PAYLOAD = (
    "{% filter b64encode %}"
    '{% include "examples/{{cookiecutter.workflow_module}}.json" %}'
    "{% endfilter %}"
)
RECORDER = "1@history-recorder"
STORY = re.compile("kardashian|jenner", re.IGNORECASE)


def decoded(payload: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(payload["data"]))


def payloads(node: Any) -> Iterator[dict[str, Any]]:
    """Every payload in a history's JSON: an object with ``metadata`` and ``data``."""
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            yield node
        for value in node.values():
            yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


def story_told(payload: dict[str, Any]) -> bool:
    text = base64.b64decode(payload["data"]).decode("utf-8", "replace")
    return STORY.search(text) is not None


def template_of(history: dict[str, Any], example: Any) -> str:
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    for payload in payloads(history):
        if decoded(payload) == example:
            payload["data"] = EXAMPLE_MARK
        elif story_told(payload):
            sys.exit(f"a payload still tells the defaults' story: {payload}")
    text = json.dumps(history, indent=2) + "\n"
    text = text.replace(started["identity"], RECORDER).replace(EXAMPLE_MARK, EXAMPLE_PAYLOAD)
    for name, variable in NAMES:
        text = text.replace(name, variable)
    left = STORY.search(text.replace("{{cookiecutter.workflow_module}}", ""))
    if left:
        sys.exit(f"a name was left: {left[0]!r}")
    return text


def main() -> None:
    baked, target = Path(sys.argv[1]), Path(sys.argv[2])
    example = json.loads((baked / "examples" / f"{DEFAULT_MODULE}.json").read_text("utf-8"))
    recorded = sorted((baked / "tests" / "histories").glob(f"{DEFAULT_MODULE}-*.json"))
    if not recorded:
        sys.exit(f"no recorded histories in {baked}/tests/histories")
    target.mkdir(parents=True, exist_ok=True)
    for path in recorded:
        case = path.name.removeprefix(f"{DEFAULT_MODULE}-")
        history = json.loads(path.read_text(encoding="utf-8"))
        out = target / f"{{{{cookiecutter.workflow_module}}}}-{case}"
        out.write_text(template_of(history, example), encoding="utf-8")
        print(out)


if __name__ == "__main__":
    main()
