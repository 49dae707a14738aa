"""Record where the service came from, and tell the person who baked it what to run next.

Like the pre-generation hook, this reads the answers as JSON data from one raw string
literal (Jinja's ``tojson`` escapes every quote), so no answer is ever run as code.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from cookiecutter.config import BUILTIN_ABBREVIATIONS
from cookiecutter.repository import expand_abbreviations, is_repo_url

# The only places Jinja touches this file; the unrendered hook stays valid Python. The
# path sits in a JSON list so that its closing quote never meets the literal's own.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
TEMPLATE_DIR_JSON = r"""[{{ template_directory() | tojson }}]"""


def answer(answers: object, name: str) -> str:
    """One answer as text, or a placeholder if it is missing."""
    if isinstance(answers, dict):
        return str(answers.get(name, f"<{name}>"))
    return f"<{name}>"


def cd_target(project_dir: Path) -> str:
    """The path to ``cd`` to, relative to the shell's directory when the project is inside it.

    Cookiecutter runs this hook in the new project directory, but a person reads the
    message in the directory they ran cookiecutter from, which the inherited $PWD still
    names. A short relative path is friendlier; the absolute one always works.
    """
    shell_dir = os.environ.get("PWD")
    if shell_dir and project_dir.is_relative_to(Path(shell_dir).resolve()):
        return shlex.quote(os.path.relpath(project_dir, Path(shell_dir).resolve()))
    return shlex.quote(str(project_dir))


def template_origin(template: str | None, commit: str | None) -> list[str]:
    """What the message says about where `make update-template` will look for the template.

    A URL works from anywhere. A local path works only while it holds the template: say
    so now, when the person who baked still knows where it came from.
    """
    if template is None or is_repo_url(template):
        return []
    lines = [
        f"The template came from a local path, {template}, and .cruft.json records it:",
        '  `make update-template` needs the template there later, or set "template" in',
        "  .cruft.json to its URL.",
    ]
    if commit is None:
        lines.append(
            "  That path is not a git checkout, so no commit was recorded: an update needs one."
        )
    return lines


def next_steps(
    project_name: str, project_dir: Path, template: str | None = None, commit: str | None = None
) -> str:
    """The message printed after a successful bake."""
    return "\n".join(
        [
            f"Baked {project_name} in {project_dir}.",
            "Next:",
            f"  cd {cd_target(project_dir)}",
            "  make dev        # embedded Temporal + PostgreSQL, a worker, the example workflow;"
            " Ctrl-C stops",
            "  make test-all   # ruff, mypy --strict, and every test against real Temporal and"
            " PostgreSQL (make test: all but the fault and process tests, the quick loop)",
            "See README.md: every rule of the workflow guide, where it lives and which test"
            " proves it; `make prove-rules` breaks each in turn and shows its test catch it.",
            *template_origin(template, commit),
        ]
    )


# Context entries that describe one machine's run of cookiecutter, not the service.
MACHINE_ENTRIES = ("_output_dir", "_repo_dir", "_checkout")


def template_commit(repo_dir: str) -> str | None:
    """The commit the template was baked from, or None if it is not a git checkout."""
    completed = subprocess.run(
        ["git", "-C", repo_dir, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else None


def cruft_state(answers: dict[str, Any], template_dir: str) -> dict[str, Any]:
    """What ``cruft create`` would have written to ``.cruft.json`` for this bake.

    The template is recorded as a URL or an absolute path, so that ``cruft update`` and
    the ``workflow/`` sub-template find it again from anywhere.
    """
    given = expand_abbreviations(str(answers.get("_template", "")), BUILTIN_ABBREVIATIONS)
    template = given if is_repo_url(given) else template_dir
    context = {k: v for k, v in answers.items() if k not in MACHINE_ENTRIES}
    context["_template"] = template
    return {
        "template": template,
        "commit": template_commit(template_dir),
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
    }


def main() -> None:
    """Record the bake in .cruft.json and print the next steps."""
    answers: object = json.loads(ANSWERS_JSON)
    template, commit = None, None
    # Under `cruft create` or `cruft update` (they add _commit), cruft writes the file.
    if isinstance(answers, dict) and "_commit" not in answers:
        state = cruft_state(answers, json.loads(TEMPLATE_DIR_JSON)[0])
        text = json.dumps(state, indent=2, ensure_ascii=False) + "\n"
        Path(".cruft.json").write_text(text, encoding="utf-8")
        template, commit = state["template"], state["commit"]
    print(next_steps(answer(answers, "project_name"), Path.cwd().resolve(), template, commit))


if __name__ == "__main__":
    main()
