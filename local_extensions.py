"""Jinja filters that cookiecutter.json uses to derive defaults from earlier answers."""

from __future__ import annotations

import re

from cookiecutter.utils import simple_filter

# An upper-case letter that starts a new word: after a lower-case letter or digit
# ("fooBar"), or before a lower-case letter at the end of an acronym ("HTTPServer").
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@simple_filter
def snake_case(value: str) -> str:
    """Turn ``PodcastEpisode`` into ``podcast_episode`` and ``HTTPFetch`` into ``http_fetch``."""
    return _WORD_START.sub("_", value).lower()
