"""Command line: ``python -m <package> COMMAND``; ``--help`` lists them.

Every command serves the workflow modules listed in :mod:`..registry`. One module a
command or two: ``worker``, ``jobs`` (run, load, rejects), ``dev`` (dev, init-db),
``schedules``, ``tools`` (codec-server, record-history); ``parser`` holds the
``--help``, ``main`` runs a command.
"""

from .main import main, run_command
from .parser import build_parser

__all__ = ["build_parser", "main", "run_command"]
