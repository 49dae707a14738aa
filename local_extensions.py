"""Jinja extensions named in cookiecutter.json: a filter that derives defaults from
earlier answers, and a sandbox for rendering the answers themselves."""

from __future__ import annotations

import re
from typing import Any

from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, safe_range

# An upper-case letter that starts a new word: after a lower-case letter or digit
# ("fooBar"), or before a lower-case letter at the end of an acronym ("HTTPServer").
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@simple_filter
def snake_case(value: str) -> str:
    """Turn ``PodcastEpisode`` into ``podcast_episode`` and ``HTTPFetch`` into ``http_fetch``."""
    return _WORD_START.sub("_", value).lower()


class SandboxedAnswers(Extension):
    """Render every answer in Jinja's sandbox.

    Cookiecutter renders each answer as a template before any hook sees it, in a
    plain Jinja environment, where ``{{ cycler.__init__.__globals__.os }}`` reaches
    the operating system. Loaded as an extension, this turns that environment into
    a sandboxed one: answers may still use filters and arithmetic, but an attempt
    to reach internals raises SecurityError and the bake stops with nothing written.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if isinstance(environment, SandboxedEnvironment):
            return
        base = type(environment)
        environment.__class__ = type(f"Sandboxed{base.__name__}", (SandboxedEnvironment, base), {})
        # What SandboxedEnvironment.__init__ would have set up.
        sandbox: Any = environment
        sandbox.globals["range"] = safe_range
        sandbox.binop_table = SandboxedEnvironment.default_binop_table.copy()
        sandbox.unop_table = SandboxedEnvironment.default_unop_table.copy()
