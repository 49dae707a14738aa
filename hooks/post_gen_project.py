"""Tell the person who baked the service what to run next.

Like the pre-generation hook, this reads the answers as JSON data from one raw string
literal (Jinja's ``tojson`` escapes every quote), so no answer is ever run as code.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

# The only place Jinja touches this file; the unrendered hook stays valid Python.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""


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


def next_steps(project_name: str, project_dir: Path) -> str:
    """The message printed after a successful bake."""
    return "\n".join(
        [
            f"Baked {project_name} in {project_dir}.",
            "Next:",
            f"  cd {cd_target(project_dir)}",
            "  make dev    # embedded Temporal + PostgreSQL, a worker, the example workflow;"
            " Ctrl-C stops",
            "  make test   # ruff, mypy --strict, and the tests against real Temporal and"
            " PostgreSQL",
            "See README.md: every rule of the workflow guide, where it lives and which test"
            " proves it.",
        ]
    )


def main() -> None:
    """Print the next steps for the project that cookiecutter just wrote."""
    answers: object = json.loads(ANSWERS_JSON)
    print(next_steps(answer(answers, "project_name"), Path.cwd().resolve()))


if __name__ == "__main__":
    main()
