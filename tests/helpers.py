"""Helpers of the template's tests: typed views of pytest-cookies, and checks of a baked project."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Jinja that should have been rendered: a placeholder or a block tag left in a baked file.
UNRENDERED = re.compile(r"\{\{\s*cookiecutter\.|\{%")
# How much of a failing `make test` to show: enough for the error, not the whole install.
LOG_TAIL_LINES = 200
# A baked suite's lines that name a failing test: its section header, or the summary's.
FAILED_TEST = re.compile(r"^(_{3,} \S.* _{3,}|(FAILED|ERROR) \S+)")
# Installing the shared venv the first time downloads temporalio and PostgreSQL.
MAKE_TEST_TIMEOUT_SECONDS = 3600


class BakeResult(Protocol):
    """What pytest-cookies' ``Result`` offers (the package ships no type hints)."""

    exception: BaseException | None
    exit_code: int | str | None

    @property
    def project_path(self) -> Path | None: ...


class Cookies(Protocol):
    """What pytest-cookies' ``cookies`` fixture offers."""

    def bake(self, extra_context: dict[str, str] | None = None) -> BakeResult: ...


def bake_ok(cookies: Cookies, answers: dict[str, str]) -> Path:
    """Bake ``answers`` and return the project directory, failing loudly if the bake fails."""
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, f"bake failed: {result.exception!r}"
    assert result.exception is None
    assert result.project_path is not None
    return result.project_path


def make(
    project: Path, venv: Path, *targets: str, python: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``make TARGETS`` in a baked project with the shared venv, installing it first;
    ``python``, if given, is the interpreter that creates the venv (the Makefile's PYTHON)."""

    # Type-checking temporalio and friends is most of a cold mypy run: the bakes share
    # one cache beside their shared venv (mypy re-checks any module whose source differs).
    env = os.environ | {"MYPY_CACHE_DIR": str(venv / ".mypy_cache")}
    if python is not None:
        env["PYTHON"] = str(python)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", *args, f"VENV={venv}"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=MAKE_TEST_TIMEOUT_SECONDS,
            check=False,
        )

    install = run("install")
    return run(*targets) if install.returncode == 0 else install


def run_make_test(
    project: Path,
    venv: Path,
    *options: str,
    target: str = "test-all",
    python: Path | None = None,
) -> None:
    """The baked project's own `make test-all` (lint, types, every test), or ``target``,
    in the shared venv (or one that ``python`` creates); ``options`` such as PYTEST_ARGS
    choose the tests."""
    completed = make(project, venv, target, *options, python=python)
    # pytest.fail rather than assert: the assertion rewriter would also print the whole log.
    if completed.returncode != 0:
        lines = completed.stdout.splitlines()
        # The failing tests' names first: a long assertion diff can fill the whole tail.
        named = [line for line in lines if FAILED_TEST.match(line)]
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        pytest.fail(
            f"`make {target}` failed in {project} (exit {completed.returncode}); "
            + "".join(f"{line}\n" for line in named)
            + f"last {LOG_TAIL_LINES} lines:\n{tail}"
        )


def is_text(data: bytes) -> bool:
    """True if ``data`` looks like a text file: UTF-8 without NUL bytes."""
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every text file under ``root`` with its contents; binaries are skipped."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if is_text(data):
                yield path, data.decode("utf-8")


def unrendered_jinja(root: Path) -> list[str]:
    """Files, or file and directory names, under ``root`` that still hold template syntax."""
    found = [str(path) for path in root.rglob("*") if "{{" in path.name or "{%" in path.name]
    found += [str(path) for path, text in text_files(root) if UNRENDERED.search(text)]
    return found


def uncompilable_python(root: Path) -> list[str]:
    """Every ``.py`` file under ``root`` that is not valid Python, with the reason."""
    broken = []
    for path in sorted(root.rglob("*.py")):
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except SyntaxError as error:
            broken.append(f"{path}: {error}")
    return broken


def toml_error(path: Path) -> str | None:
    """Why ``path`` is not valid TOML, or None; Pythons before 3.11 cannot tell."""
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            return str(error)
    return None


def leftover_files(root: Path) -> list[str]:
    """Every file under ``root``; a refused bake must leave none."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if not path.is_dir())


# -- a baked service's `dev`, running ----------------------------------------------------

# dev prints this once its example is done and it keeps the servers up for more.
DEV_READY = "Worker running; Ctrl-C to stop."


def free_port_pair(offset: int = 1000) -> int:
    """A port that is free, and free ``offset`` above it too (the Web UI's)."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        with socket.socket() as ui_probe:
            if port + offset < 65536 and ui_probe.connect_ex(("127.0.0.1", port + offset)) != 0:
                return port
    raise RuntimeError("no free pair of ports")


def wait_for_line(output: Path, process: subprocess.Popen[bytes], text: str, timeout: float) -> str:
    """What the process printed, once it has printed ``text``; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        printed = output.read_text(encoding="utf-8", errors="replace")
        if text in printed:
            return printed
        if process.poll() is not None:
            pytest.fail(f"dev exited with {process.returncode} before {text!r}:\n{printed[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"dev did not print {text!r} within {timeout:.0f}s")


@dataclass(frozen=True)
class DevRun:
    """A baked service's `dev`: its process, where its output goes, its Temporal port."""

    process: subprocess.Popen[bytes]
    output: Path
    port: int

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"


@contextmanager
def dev_running(
    project: Path,
    venv: Path,
    package: str,
    output: Path,
    *args: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[DevRun]:
    """``python -m PACKAGE dev --port P ARGS`` in the project, on embedded servers of its
    own (production settings in the environment are dropped, ``extra_env`` added); Ctrl-C
    at the end.

    PYTHONUNBUFFERED goes too, as on most machines: the lines the test waits for must
    reach the file while dev runs because the service flushes them, not because the
    environment happens to say so."""
    port = free_port_pair()
    dropped = ("DATABASE_URL", "TEMPORAL_ADDRESS", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in dropped} | (extra_env or {})
    command = [str(venv / "bin" / "python"), "-m", package, "dev", "--port", str(port), *args]
    with output.open("wb") as sink:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=sink, stderr=sink)
    try:
        yield DevRun(process, output, port)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
