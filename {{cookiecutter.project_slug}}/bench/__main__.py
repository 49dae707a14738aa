"""``python -m bench`` (what ``make bench`` runs): the service's items per second, side by
side with PostgreSQL's own paths, on the same servers.

The benchmark lives beside the service, not in its package: it is a tool for the people
who change the service, never shipped in its image.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.cli.common import chosen_module
from {{ cookiecutter.package_name }}.cli.main import USER_ERRORS, leave, quiet_libraries
from {{ cookiecutter.package_name }}.logs import configure_logging

from . import runner


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Items per second of the workflow, beside PostgreSQL's bulk paths and "
        "per-item ones. Starts what is missing (as dev does, in a temporary directory), "
        "then measures the designs described in bench/runner.py over several rounds; "
        "prints a table and writes the figures as JSON.",
    )
    parser.add_argument("--items", type=int, default=10_000, help="default %(default)s")
    parser.add_argument("--rounds", type=int, default=3, help="default %(default)s; median")
    parser.add_argument("--output", type=Path, default=Path("bench.json"), help="%(default)s")
    parser.add_argument(
        "--designs",
        help="comma-separated, e.g. service,copy/8 for a big --items; default all of them",
    )
    parser.add_argument(
        "--workflow", metavar="TYPE", help="which workflow, by type name (default: the first)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Measure as the arguments say; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    designs = args.designs.split(",") if args.designs else runner.DESIGNS
    unknown = sorted(set(designs) - set(runner.DESIGNS))
    if unknown:
        known = ", ".join(runner.DESIGNS)
        parser.error(f"--designs: no design {', '.join(unknown)}; choose from {known}")
    try:
        log_format = config.log_format()
    except ValueError as error:
        parser.error(str(error))
    configure_logging(os.environ.get("LOG_LEVEL", "INFO").upper(), log_format)
    quiet_libraries()
    try:
        module = chosen_module(args.workflow)
        asyncio.run(runner.main(module, args.items, args.rounds, args.output, designs))
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    leave(main())
