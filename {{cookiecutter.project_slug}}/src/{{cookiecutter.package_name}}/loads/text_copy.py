"""A CSV chunk copied whole: PostgreSQL parses and checks it, Python reads only what it refuses.

Parsing and checking every row in Python was half a staged load's time. So a chunk of a
CSV whose header is known goes to PostgreSQL as it was read: COPY parses it, in C, into
a temporary table of text cells, and one ``INSERT ... SELECT`` checks each cell in SQL and
casts it into the staged rows. The SQL checks are never looser than ``from_dict``'s
(loads/cells.py): a cell they pass, Python would pass too, with the same value. Where
they are stricter, or where the two parsers could read the text differently, the chunk
is refused whole and read in Python, row by row, which finds each reject and its line:

* before the COPY, :func:`copyable` keeps back text the two CSV readers may split
  differently: a quote that does not open or close a cell, a lone carriage return, a
  NUL, ``\\.`` (COPY's end of data), a line longer than the csv module reads;
* after it, every line must be one row, so that each row's line number is known;
* a cell that fails its check, or a cast PostgreSQL refuses, refuses the chunk.

A clean chunk therefore costs PostgreSQL's parse and one statement; a chunk with a bad
row costs both paths, and stages exactly what the Python path alone would.
"""

from __future__ import annotations

import csv
import hashlib
import re
from typing import Any

import psycopg
from psycopg import sql

from ..bulk import REFUSALS
from ..fields import MAX_KEY_TEXT_LENGTH, Field, Fields

# Each declared type's check of a text cell and its cast, both SQL over the cell ``{c}``.
# A check may be stricter than Python's (the chunk then goes the Python way), never looser.
_NUMBER = r"^[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*$"
_TWO = "[0-5][0-9]"
_DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Year 0 is PostgreSQL's 1 BC; Python has no such year.
_NOT_YEAR_0 = "left({c}, 4) <> '0000'"
_DATETIME = (
    rf"{_DATE}[T ]([01][0-9]|2[0-3]):{_TWO}:{_TWO}"
    r"(\.[0-9]{3}|\.[0-9]{6})?([Zz]|[+-]([01][0-9]|2[0-3]):" + _TWO + ")$"
)
_HEX = "[0-9a-fA-F]"
_UUID = "^" + "-?".join(_HEX + "{" + str(digits) + "}" for digits in (8, 4, 4, 4, 12)) + "$"
_INTEGERS = r"-?(0|[1-9][0-9]*)"
_INT_LIST = rf"^[ \t]*\[[ \t]*({_INTEGERS}([ \t]*,[ \t]*{_INTEGERS})*)?[ \t]*\][ \t]*$"
_WORD = "lower(btrim({c}, E' \\t'))"


def _matches(pattern: str) -> str:
    return "{c} ~ '" + pattern + "'"


CHECKS: dict[str, tuple[str, str]] = {
    "str": ("true", "{c}"),  # a key's text is checked by _KEY_TEXT
    "int": (r"{c} ~ '^[ \t]*[+-]?[0-9]+[ \t]*$'", "{c}::bigint"),
    "float": (_matches(_NUMBER), "{c}::double precision"),
    "bool": (f"{_WORD} IN ('true', 't', 'false', 'f')", f"{_WORD}::boolean"),
    "decimal": (_matches(_NUMBER), "{c}::numeric"),
    "date": (_matches(_DATE + "$") + " AND " + _NOT_YEAR_0, "{c}::date"),
    "datetime": (
        _matches(_DATETIME) + " AND " + _NOT_YEAR_0 + " AND {c}::timestamptz BETWEEN "
        # Python's datetime, which reads it back, holds years 1 to 9999 in UTC.
        "'0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'",
        "{c}::timestamptz",
    ),
    "uuid": (_matches(_UUID), "{c}::uuid"),
    # A number with a fraction or an exponent is a float to Python, which writes it
    # back its own way (1.10 as 1.1); jsonb keeps the text's digits. Python decides those.
    "json": ("jsonb_typeof({c}::jsonb) = 'object' AND {c} !~ '[0-9][.eE]'", "{c}::jsonb"),
    "list[str]": (
        "jsonb_typeof({c}::jsonb) = 'array' "
        "AND NOT jsonb_path_exists({c}::jsonb, '$[*] ? (@.type() != \"string\")')",
        "ARRAY(SELECT jsonb_array_elements_text({c}::jsonb))",
    ),
    "list[int]": (
        _matches(_INT_LIST),
        "ARRAY(SELECT jsonb_array_elements_text({c}::jsonb)::bigint)",
    ),
}
_KEY_TEXT = "char_length({c}) BETWEEN 1 AND " + str(MAX_KEY_TEXT_LENGTH)

# A quoted cell, as RFC 4180 writes one: it opens a cell and closes it. Text with any
# other quote is kept back from COPY, which would read it differently from Python.
_QUOTED_CELL = re.compile(rb'(?:(?<=[,\n])|^)"[^"]*(?:""[^"]*)*"(?=[,\r\n]|$)')


def copyable(text: bytes) -> bool:
    """Whether COPY reads ``text`` (whole lines of a CSV, after its header) into the same
    cells as Python's csv module; if not, the chunk is read in Python."""
    if b"\x00" in text or b"\\." in text or text.count(b"\r") != text.count(b"\r\n"):
        return False
    if b'"' in text and b'"' in _QUOTED_CELL.sub(b"", text):
        return False
    # The csv module refuses a cell longer than its field_size_limit; COPY does not.
    return all(len(line) <= csv.field_size_limit() for line in text.split(b"\n"))


def line_count(text: bytes) -> int:
    """The lines of ``text``: its line ends, and a last line without one."""
    return text.count(b"\n") + (1 if text and not text.endswith(b"\n") else 0)


class TextCopy:
    """The statements that stage a CSV chunk's text for one module's fields and header."""

    def __init__(self, rows_table: str, fields: Fields, header: list[str]) -> None:
        spec = (rows_table + "|" + ",".join(header)).encode()
        digest = hashlib.blake2s(spec, digest_size=6).hexdigest()
        cells, in_header = sql.Identifier(f"staged_cells_{digest}"), set(header)
        text_columns = (sql.SQL("{} TEXT").format(sql.Identifier(name)) for name in header)
        self.create = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (_n BIGINT GENERATED ALWAYS AS IDENTITY, {}) "
            "ON COMMIT DELETE ROWS"
        ).format(cells, sql.SQL(", ").join(text_columns))
        optional = [f.name for f in fields.all if f.optional and f.name in in_header]
        required = [f.name for f in fields.all if not f.optional]
        # An empty cell is NULL for an optional field, quoted or not, and text for any other.
        options: list[sql.Composable] = [sql.SQL("FORMAT csv")]
        for option, names in (("FORCE_NULL", optional), ("FORCE_NOT_NULL", required)):
            if names:
                listed = sql.SQL(", ").join(map(sql.Identifier, names))
                options.append(sql.SQL("{} ({})").format(sql.SQL(option), listed))
        self.copy = sql.SQL("COPY {} ({}) FROM STDIN ({})").format(
            cells, sql.SQL(", ").join(map(sql.Identifier, header)), sql.SQL(", ").join(options)
        )
        self.first = sql.SQL("SELECT min(_n) FROM {}").format(cells)
        present = [f for f in fields.all if f.name in in_header]
        self.insert = sql.SQL(
            "INSERT INTO {rows} (_load, _seq, _line, {columns}) "
            "SELECT %(load)s, %(line)s + _n - %(n)s, %(line)s + _n - %(n)s, {values} "
            "FROM {cells} WHERE {checks}"
        ).format(
            rows=sql.Identifier(rows_table),
            columns=sql.SQL(", ").join(sql.Identifier(f.name) for f in present),
            values=sql.SQL(", ").join(_cast(f) for f in present),
            cells=cells,
            checks=sql.SQL(" AND ").join([_check(f) for f in present] or [sql.SQL("true")]),
        )

    async def stage(
        self, conn: psycopg.AsyncConnection[Any], load: int, line: int, text: bytes
    ) -> bool:
        """Stage ``text``'s rows from line ``line`` on, each numbered by its line, in the
        caller's transaction; False, with nothing staged, if any row needs Python."""
        async with conn.cursor() as cursor:
            await cursor.execute(self.create)
            try:
                async with conn.transaction():  # a savepoint: a refusal undoes this alone
                    async with cursor.copy(self.copy) as copy:
                        await copy.write(text)
                    copied = cursor.rowcount
                    if copied == line_count(text):
                        # The rows' numbers from the first's: a query of its own, as the
                        # planner knows nothing of a temporary table to join it well.
                        first = await (await cursor.execute(self.first)).fetchone()
                        assert first is not None
                        values = {"load": load, "line": line, "n": first[0]}
                        await cursor.execute(self.insert, values)
                        if cursor.rowcount == copied:
                            return True
                    raise _NeedsPython
            except (_NeedsPython, *REFUSALS):
                return False


class _NeedsPython(Exception):
    """A chunk whose rows are not all one line each and all within their checks."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check(field: Field) -> sql.Composable:
    cell = _quoted(field.name)
    check = _KEY_TEXT if field.type == "str" and field.key else CHECKS[field.type][0]
    check = check.replace("{c}", cell)
    if field.optional:
        return sql.SQL(f"({cell} IS NULL OR ({check}))")
    return sql.SQL(f"({cell} IS NOT NULL AND {check})")


def _cast(field: Field) -> sql.Composable:
    cell = _quoted(field.name)
    cast = CHECKS[field.type][1].replace("{c}", cell)
    # A list is built by a subquery, which makes an empty array of a NULL.
    return sql.SQL(f"CASE WHEN {cell} IS NULL THEN NULL ELSE {cast} END")
