"""Bad answers are refused before anything is written, and no answer ever runs as code.

The pre-generation hook checks every answer but one: project_slug names the directory,
which cookiecutter creates before any hook runs, so cookiecutter.json's private
variable __slug_checked checks it (local_extensions.checked_slug) as the answers are
rendered, before any directory exists. The hook is Jinja until cookiecutter
renders it, so every test here bakes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from helpers import BakeResult, Cookies, bake_ok, leftover_files, uncompilable_python


@dataclass(frozen=True)
class Bad:
    """A value the hook must refuse, and what else the bake needs to reach the hook."""

    variable: str
    value: str
    why: str
    # Other answers, so that only `variable` is at fault or the bake gets to the hook.
    also: dict[str, str] = field(default_factory=dict)

    def answers(self) -> dict[str, str]:
        return {**self.also, self.variable: self.value}


# A project_name that slugifies to nothing gives no directory to create, and
# cookiecutter stops before any hook runs; an explicit slug lets the hook judge the name.
NAMED_SLUG = {"project_slug": "fine-slug"}

BAD_VALUES = [
    Bad("project_name", "", "empty", NAMED_SLUG),
    Bad("project_name", "   ", "blank", NAMED_SLUG),
    Bad("project_name", "x" * 101, "over-long", NAMED_SLUG),
    Bad("project_name", "Two\nLines", "newline"),
    Bad("project_name", "Tab\tName", "tab"),
    Bad("project_name", "Bell\x07", "control-character"),
    Bad("project_slug", "Kardashian-Tracker", "uppercase"),
    Bad("project_slug", "1tracker", "leading-digit"),
    Bad("project_slug", "my tracker", "space"),
    Bad("project_slug", "foo..bar", "dots"),
    Bad("project_slug", "tracker-", "trailing-hyphen"),
    Bad("project_slug", "my_tracker", "underscore"),
    Bad("project_slug", "x;rm -rf y", "shell-semicolon"),
    Bad("project_slug", "$(id)", "shell-substitution"),
    Bad("project_slug", "a" * 65, "over-long"),
    Bad("package_name", "json", "stdlib-json"),
    Bad("package_name", "asyncio", "stdlib-asyncio"),
    Bad("package_name", "os", "stdlib-os"),
    Bad("package_name", "class", "keyword"),
    Bad("package_name", "match", "soft-keyword"),
    Bad("package_name", "temporalio", "reserved-temporalio"),
    Bad("package_name", "psycopg_pool", "reserved-psycopg-pool"),
    Bad("package_name", "tests", "reserved-tests"),
    Bad("package_name", "bench", "beside-bench"),
    Bad("package_name", "1pkg", "leading-digit"),
    Bad("package_name", "my-pkg", "hyphen"),
    Bad("package_name", "a/b", "slash"),
    Bad("package_name", "`id`", "backticks"),
    Bad("package_name", "Pkg", "uppercase"),
    Bad("package_name", "p" * 31, "over-long"),
    Bad("workflow_name", "kardashian", "lowercase-start"),
    Bad("workflow_name", "Kardashian_Name", "underscore"),
    Bad("workflow_name", "Kardashian Name", "space"),
    Bad("workflow_name", "KardashianWorkflow", "suffix-workflow"),
    Bad("workflow_name", "KardashianActivities", "suffix-activities"),
    Bad("workflow_name", "KardashianImpl", "suffix-impl"),
    Bad("workflow_name", "None", "keyword-none"),
    Bad("workflow_name", "True", "keyword-true"),
    Bad("workflow_name", "False", "keyword-false"),
    Bad("workflow_name", "ValueError", "builtin"),
    Bad("workflow_name", "HTTP", "no-lowercase"),
    Bad("workflow_name", "1Fetch", "leading-digit"),
    Bad("workflow_name", "$(id)", "shell-substitution"),
    Bad("workflow_name", "A" + "b" * 30, "over-long"),
    Bad("workflow_module", "json", "stdlib-json"),
    Bad("workflow_module", "asyncio", "stdlib-asyncio"),
    Bad("workflow_module", "os", "stdlib-os"),
    Bad("workflow_module", "temporalio", "reserved-temporalio"),
    Bad("workflow_module", "config", "sibling-config"),
    Bad("workflow_module", "temporal", "sibling-temporal"),
    Bad("workflow_module", "__main__", "sibling-dunder-main"),
    Bad("workflow_module", "progress", "sibling-progress"),
    Bad("workflow_module", "def", "keyword"),
    Bad("workflow_module", "Fetcher", "uppercase"),
    Bad("workflow_module", "fetch-er", "hyphen"),
    Bad("workflow_module", "2fetch", "leading-digit"),
    Bad("workflow_module", "m" * 31, "over-long"),
    Bad("task_queue", "my queue", "space"),
    Bad("task_queue", "-queue", "leading-hyphen"),
    Bad("task_queue", ".queue", "leading-dot"),
    Bad("task_queue", "q;rm -rf ~", "shell-semicolon"),
    Bad("task_queue", "q/a", "slash"),
    Bad("task_queue", "q" * 81, "over-long"),
    Bad("table_name", "user", "sql-user"),
    Bad("table_name", "order", "sql-order"),
    Bad("table_name", "select", "sql-select"),
    Bad("table_name", "t" * 64, "over-long"),
    Bad("table_name", "1pages", "leading-digit"),
    Bad("table_name", "Pages", "uppercase"),
    Bad("table_name", "pages;drop table x", "sql-injection"),
    Bad("table_name", "my-pages", "hyphen"),
    Bad("table_name", "staged_loads", "staged-loads-table"),
    Bad("workflow_module", "loads", "sibling-loads"),
    Bad("workflow_module", "gate", "sibling-gate"),
    Bad("record_name", "shipment", "lowercase-start"),
    Bad("record_name", "Shipment_Line", "underscore"),
    Bad("record_name", "ShipmentDict", "suffix-dict"),
    Bad("record_name", "ShipmentJob", "suffix-job"),
    Bad("record_name", "Fields", "shadows-fields"),
    Bad("record_name", "Exception", "builtin"),
    Bad("record_name", "A" + "b" * 40, "over-long"),
    # The record's declaration: every rule of record_fields.py, each on its own.
    *(
        Bad("record_fields", value, why)
        for value, why in [
            ("", "empty"),
            ("name:str, surname:str", "no-key"),
            ("name:str key, name:int", "duplicate-field"),
            ("name:text key", "unknown-type"),
            ("name:str key, line:int? key", "optional-key"),
            ("name:str key, weight:float key", "float-key"),
            ("name:str key, meta:json key", "json-key"),
            ("name:str key, tags:list[str] key", "list-key"),
            ("gift:bool key", "bool-only-key"),
            ("a:str key, b:int key, c:int key, d:int key, e:int key", "five-key-fields"),
            ("select:str key", "sql-reserved"),
            ("class:str key", "python-keyword"),
            ("orderId:str key", "not-snake-case"),
            ("x" * 64 + ":str key", "over-long-name"),
            ("id:str key", "template-column"),
            ("to_dict:str key", "record-method"),
            ("name:str key, x:int); DROP TABLE kardashians; --:str", "sql-smuggled"),
            ("name:str key DEFAULT 'x'", "sql-after-type"),
            ('name:str key, a":str', "quote-in-name"),
            ("name:str key, {{ 7*7 }}:str", "jinja-rendered-first"),
            ("name str key", "no-colon"),
        ]
    ),
]


def assert_nothing_written(tmp_path: Path) -> None:
    """pytest-cookies bakes into <tmp_path>/cookies/bakeNN; all of that must stay empty."""
    root = tmp_path / "cookies"
    assert leftover_files(root) == []
    assert [path.name for path in root.iterdir() if not path.name.startswith("bake")] == []
    assert list(root.glob("bake*/*")) == []


def error_lines(err: str, variable: str) -> list[str]:
    """The hook's error lines about ``variable``."""
    return [line for line in err.splitlines() if line.startswith(f"ERROR: {variable}=")]


def complaints(result: BakeResult, err: str, variable: str) -> list[str]:
    """Error lines about ``variable``, from the hook (stderr) or the directory check."""
    return error_lines(f"{err}\n{result.exception}", variable)


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=f"{case.variable}-{case.why}") for case in BAD_VALUES]
)
def test_bad_value_is_refused_and_nothing_is_written(
    cookies: Cookies, tmp_path: Path, capfd: pytest.CaptureFixture[str], case: Bad
) -> None:
    result = cookies.bake(extra_context=case.answers())

    assert result.exit_code != 0
    assert isinstance(result.exception, FailedHookException)
    assert len(complaints(result, capfd.readouterr().err, case.variable)) == 1
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("declaration", "says"),
    [
        ("name:str, surname:str", "has no key: write 'key' after the fields that name a record"),
        ("name:str key, name:int", "field 'name' is declared twice"),
        ("name:text key", "field 'name' has unknown type 'text': use one of str, int, float"),
        ("name:str key, line:int? key", "field 'line' is in the key, so it cannot be optional"),
        ("name:str key, weight:float key", "field 'weight' is a float, which cannot be in the key"),
        ("select:str key", "field 'select' is an SQL reserved word"),
        ("x" * 64 + ":str key", "is 64 characters long, over PostgreSQL's 63"),
    ],
)
def test_a_bad_declaration_names_record_fields_the_field_and_the_rule(
    cookies: Cookies, capfd: pytest.CaptureFixture[str], declaration: str, says: str
) -> None:
    cookies.bake(extra_context={"record_fields": declaration})

    [line] = error_lines(capfd.readouterr().err, "record_fields")
    assert line.startswith(f"ERROR: record_fields={declaration!r} is invalid: ")
    assert says in line


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("61 * * * *", "minute '61' is outside 0 to 59"),
        ("0 6 * *", "has 4 fields, not 5"),
        ("* * 31 feb-jan *", "month 'feb-jan' is a range that ends before it starts"),
        ("every 0s", "an interval is written 'every N' and a unit"),
        ("every hour", "an interval is written 'every N' and a unit"),
        ("@often", "is not one of @yearly"),
    ],
)
def test_a_bad_schedule_names_the_variable_and_the_rule(
    cookies: Cookies, tmp_path: Path, capfd: pytest.CaptureFixture[str], schedule: str, says: str
) -> None:
    cookies.bake(extra_context={"schedule": schedule})

    [line] = error_lines(capfd.readouterr().err, "schedule")
    assert line.startswith(f"ERROR: schedule={schedule!r} is invalid: "), line
    assert says in line
    assert_nothing_written(tmp_path)


def test_error_line_says_what_is_wrong(cookies: Cookies, capfd: pytest.CaptureFixture[str]) -> None:
    cookies.bake(extra_context={"workflow_name": "FooWorkflow"})

    assert error_lines(capfd.readouterr().err, "workflow_name") == [
        "ERROR: workflow_name='FooWorkflow' is invalid: must not end with 'Workflow'"
        " (the template adds the suffix itself)"
    ]


def test_every_invalid_answer_is_reported_at_once(
    cookies: Cookies, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = {"workflow_name": "FooWorkflow", "task_queue": "-q", "table_name": "user"}

    result = cookies.bake(extra_context=bad)

    assert result.exit_code != 0
    err = capfd.readouterr().err
    assert [len(error_lines(err, variable)) for variable in bad] == [1, 1, 1]
    assert_nothing_written(tmp_path)


def test_all_broken_rules_of_one_answer_share_its_line(
    cookies: Cookies, capfd: pytest.CaptureFixture[str]
) -> None:
    cookies.bake(extra_context={"workflow_name": "Kardashian_Workflow"})

    [line] = error_lines(capfd.readouterr().err, "workflow_name")
    assert "must be CamelCase" in line
    assert "must not end with 'Workflow'" in line


def test_jinja_in_an_answer_is_rendered_before_the_hook_sees_it(
    cookies: Cookies, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Cookiecutter renders answers as Jinja first, so `{{ 7*7 }}` arrives as `49`.

    `49` starts with a digit, so the package name is still refused and nothing is written.
    """
    result = cookies.bake(extra_context={"package_name": "{{ 7*7 }}"})

    assert result.exit_code != 0
    assert error_lines(capfd.readouterr().err, "package_name")[0].startswith(
        "ERROR: package_name='49' is invalid"
    )
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("slug", ["..", "../escaped", "{tmp}/elsewhere"])
def test_slug_that_leaves_the_output_dir_writes_nothing(
    cookies: Cookies, tmp_path: Path, slug: str
) -> None:
    """Refused either by cookiecutter (the directory exists) or by the hook."""
    result = cookies.bake(extra_context={"project_slug": slug.format(tmp=tmp_path)})

    assert result.exit_code != 0
    assert not (tmp_path / "elsewhere").exists()
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("slug", ["a/b", "a/b/c", "/tmp/abs"])
def test_slug_with_a_path_is_refused_before_any_directory_exists(
    cookies: Cookies, tmp_path: Path, slug: str
) -> None:
    """Cookiecutter makes `a/b` (parents too) before any hook runs; the name check comes first."""
    result = cookies.bake(extra_context={"project_slug": slug})

    assert result.exit_code != 0
    assert complaints(result, "", "project_slug") == [
        f"ERROR: project_slug={slug!r} is invalid: must be lowercase letters and digits in "
        "words joined by single '-', starting with a letter"
    ]
    assert_nothing_written(tmp_path)
    assert not Path("/tmp/abs").exists()


def test_a_name_that_slugifies_to_nothing_names_the_variable(
    cookies: Cookies, tmp_path: Path
) -> None:
    result = cookies.bake(extra_context={"project_name": "!!! ???"})

    assert result.exit_code != 0
    [line] = complaints(result, "", "project_slug")
    assert "project_name gave no letters or digits to derive it from: set project_slug" in line
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("workflow_name", "A1b"),
        ("workflow_name", "A" + "b" * 29),
        ("workflow_name", "HTTPFetch"),
        ("task_queue", "a.b-c_d"),
        ("task_queue", "Fetch.Jobs"),
        ("table_name", "_pages"),
        ("record_name", "MeterReading"),
        ("record_fields", "day:date key, region:str key, kwh:decimal, note:str?"),
        ("record_fields", "id_:uuid key"),
        ("table_name", "t" * 63),
        ("package_name", "kardashian2"),
        ("package_name", "p" * 30),
        ("project_slug", "k8s-tracker-2"),
        ("schedule", "none"),
        ("schedule", "every 45s"),
        ("schedule", "@hourly"),
        ("schedule", "*/15 8-18 * jan,jul mon-fri"),
    ],
)
def test_good_value_bakes(cookies: Cookies, variable: str, value: str) -> None:
    bake_ok(cookies, {variable: value})


def test_longest_project_slug_bakes(cookies: Cookies) -> None:
    # The package name derived from a 64-character slug would be too long: give one.
    bake_ok(cookies, {"project_slug": "a" * 64, "package_name": "a" * 30})


def test_longest_project_name_bakes(cookies: Cookies) -> None:
    bake_ok(cookies, {"project_name": "x" * 100, "project_slug": "long-name"})


@pytest.mark.parametrize(
    "name",
    [
        'He said """hi""" \\ it\'s',
        "Ends with a backslash \\",
        "O'Brien's \"Quoted\" \\n Tracker",
    ],
)
def test_quotes_and_backslashes_in_project_name_come_out_verbatim(
    cookies: Cookies, name: str
) -> None:
    project = bake_ok(cookies, {"project_name": name, "project_slug": "quoted-name"})

    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == f"# {name}"
    assert uncompilable_python(project) == []


@pytest.mark.parametrize(
    "payload",
    [
        "{{ cycler.__init__.__globals__.os.system('touch {marker}') }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ '{marker}' }}",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}{{ '{marker}' }}",
    ],
)
def test_jinja_in_an_answer_cannot_reach_python(
    cookies: Cookies, tmp_path: Path, payload: str
) -> None:
    """Cookiecutter renders answers as Jinja; the sandbox stops them at internals."""
    marker = Path("/tmp") / f"PWNED_{uuid.uuid4().hex[:12]}"
    answer = payload.replace("{marker}", str(marker))
    try:
        result = cookies.bake(extra_context={"project_name": answer, "project_slug": "sandboxed"})
        assert result.exit_code != 0
        assert "SecurityError" in type(result.exception).__name__ or "unsafe" in str(
            result.exception
        )
        assert not marker.exists(), f"an answer ran as code: {answer!r}"
        assert_nothing_written(tmp_path)
    finally:
        marker.unlink(missing_ok=True)


def test_plain_jinja_in_an_answer_still_renders(cookies: Cookies) -> None:
    """Filters and arithmetic stay allowed: cookiecutter's own defaults are Jinja."""
    project = bake_ok(cookies, {"project_name": "Tracker {{ 6 * 7 }}", "project_slug": "t"})
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == "# Tracker 42"


@pytest.mark.parametrize(
    "payload",
    [
        "__import__('os').system('touch {marker}')",
        '""" + __import__("os").system("touch {marker}") + """',
        '\\"""); __import__(\'os\').system(\'touch {marker}\'); ("""',
    ],
)
def test_no_hook_runs_code_from_an_answer(cookies: Cookies, payload: str) -> None:
    marker = Path("/tmp") / f"PWNED_{uuid.uuid4().hex[:12]}"
    name = payload.format(marker=marker)
    try:
        bake_ok(cookies, {"project_name": name, "project_slug": "harmless"})
        assert not marker.exists(), f"an answer ran as code: {name!r}"
    finally:
        marker.unlink(missing_ok=True)
