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


def mark_example_payloads(node: Any, example: Any) -> None:
    """Put EXAMPLE_MARK in place of every payload whose data is the example input."""
    if isinstance(node, dict):
        if "metadata" in node and "data" in node and decoded(node) == example:
            node["data"] = EXAMPLE_MARK
        for value in node.values():
            mark_example_payloads(value, example)
    elif isinstance(node, list):
        for value in node:
            mark_example_payloads(value, example)


def story_left(node: Any) -> list[str]:
    """Payloads that still tell the defaults' story after marking."""
    found = []
    if isinstance(node, dict):
        if "metadata" in node and node.get("data") not in (None, EXAMPLE_MARK):
            text = base64.b64decode(node["data"]).decode("utf-8", "replace")
            found += [text] if STORY.search(text) else []
        for value in node.values():
            found += story_left(value)
    elif isinstance(node, list):
        for value in node:
            found += story_left(value)
    return found


def template_of(history: dict[str, Any], example: Any) -> str:
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    mark_example_payloads(history, example)
    left = story_left(history)
    if left:
        sys.exit(f"payloads still tell the defaults' story: {left}")
    text = json.dumps(history, indent=2) + "\n"
    text = text.replace(started["identity"], RECORDER).replace(EXAMPLE_MARK, EXAMPLE_PAYLOAD)
    for name, variable in NAMES:
        text = text.replace(name, variable)
    if STORY.search(text.replace("{{cookiecutter.workflow_module}}", "")):
        sys.exit(f"a name was left: {STORY.search(text)}")
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
