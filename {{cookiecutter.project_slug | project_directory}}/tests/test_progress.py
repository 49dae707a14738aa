"""The progress display of `run`: a bar on a terminal, short plain lines elsewhere."""

from __future__ import annotations

import io

from {{ cookiecutter.package_name }}.progress import ProgressDisplay


def test_terminal_gets_one_bar_redrawn_in_place() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, interactive=True)
    for done in (0, 500, 1000):
        display.show(done, 1000)
    display.finish()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 3
    assert frames[1].startswith("[" + "#" * 15 + "." * 15 + "] 500/1,000 items (50%)")
    assert frames[2].startswith("[" + "#" * 30 + "] 1,000/1,000 items (100%)")
    assert stream.getvalue().endswith("\n")


def test_a_pipe_gets_a_line_per_tenth_and_no_repeats() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, interactive=False)
    for done in range(0, 1001, 25):
        display.show(done, 1000)
    display.show(1000, 1000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11  # 0 %, 10 %, ... 100 %, each once
    assert lines[0].startswith("progress: 0/1,000 items (0%)")
    assert lines[-1].startswith("progress: 1,000/1,000 items (100%)")
    assert "\r" not in stream.getvalue()
