"""Finding a Python of a given minor version on this machine, as uv or pyenv would: on the
PATH, then among pyenv's versions, then among the Pythons uv manages. Nothing is downloaded.

pyenv puts shims on the PATH for every version it holds, but a shim runs only the versions
`pyenv global` selects; each candidate is therefore run and asked its version, never trusted
by its name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

VERSION = re.compile(r"^3\.\d+$")
# uv beside this interpreter (requirements.txt pins it), for the Pythons it manages.
UV = Path(sys.executable).parent / "uv"


class PythonNotFoundError(LookupError):
    """No working interpreter of the version the baked service claims."""


def runs_as(candidate: Path, version: str) -> bool:
    """True if ``candidate`` starts and reports ``version`` (a shim may refuse to)."""
    try:
        reported = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except OSError:
        return False
    return reported.returncode == 0 and reported.stdout.strip() == version


def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def version_key(version: str) -> tuple[int, ...]:
    """A version as numbers, so that 3.10 sorts after 3.9: "3.10.13" → (3, 10, 13)."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def candidates(version: str) -> Iterator[Path]:
    """Where an interpreter of ``version`` may be, in the order it is looked for."""
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield Path(on_path)
    installed = (pyenv_root() / "versions").glob(f"{version}.*")
    for directory in sorted(installed, key=lambda path: version_key(path.name), reverse=True):
        yield directory / "bin" / f"python{version}"
    if UV.exists():
        found = subprocess.run(
            [str(UV), "python", "find", "--managed-python", "--no-python-downloads", version],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if found.returncode == 0 and found.stdout.strip():
            yield Path(found.stdout.strip())


def find_python(version: str) -> Path:
    """The first working interpreter of ``version`` ("3.10"), or an error that names it."""
    if not VERSION.match(version):
        raise ValueError(f"not a Python minor version: {version!r}")
    for candidate in candidates(version):
        if runs_as(candidate, version):
            return candidate
    raise PythonNotFoundError(
        f"Python {version} is not on this machine, and the baked service claims it. Looked "
        f"for python{version} on the PATH, in pyenv's {pyenv_root() / 'versions'} and among "
        f"uv's managed Pythons. Install it (`pyenv install {version}` or "
        f"`uv python install {version}`) and run the tests again."
    )
