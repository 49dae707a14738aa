"""Custom resources checked as a Kubernetes API server checks them against their CRD: by
the version's ``openAPIV3Schema``, strictly (a field the schema does not know is an error,
as under kubectl's strict field validation, not silently pruned), and by the CEL rules
(``x-kubernetes-validations``) the CRD carries.

The CRDs are the published ones, kept as data outside this repository (the controller's
own licence; nothing of them is copied here), in ``shared/schemas/temporal-worker-controller``
beside the clone or above it (CRD_PLACES), or where WORKER_CONTROLLER_CRDS says.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy import celtypes
from celpy.adapter import json_to_cel
from helpers import REPO_ROOT

# Where the CRDs are looked for, in order: WORKER_CONTROLLER_CRDS, a shared/ folder beside
# the clone or beside any folder above it, and this workplace's own shared folder (a clean
# clone for CI may sit anywhere on the machine).
CRD_SUBPATH = Path("shared", "schemas", "temporal-worker-controller")
GIVEN_PLACE = os.environ.get("WORKER_CONTROLLER_CRDS")
CRD_PLACES = [
    *([Path(GIVEN_PLACE)] if GIVEN_PLACE else []),
    *(folder / CRD_SUBPATH for folder in REPO_ROOT.parents),
    Path("/work") / CRD_SUBPATH,
]
# What JSON Schema and a structural OpenAPI schema mean alike; the rest is the API
# server's own (x-kubernetes-*, nullable, formats it alone checks) and handled below.
SHARED_KEYWORDS = {
    "type", "required", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
    "minProperties", "maxProperties", "anyOf", "allOf", "oneOf", "not",
}  # fmt: skip
# What the API server itself checks of every object's metadata, before any CRD schema.
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}


class CrdMissingError(FileNotFoundError):
    """The CRDs are not where the tests look for them."""


def crd(file_name: str) -> dict[str, Any]:
    """One CRD, by its file's name, from the first of CRD_PLACES that holds it."""
    for place in CRD_PLACES:
        if (place / file_name).is_file():
            loaded: dict[str, Any] = yaml.safe_load((place / file_name).read_text("utf-8"))
            return loaded
    looked = ", ".join(str(place) for place in CRD_PLACES)
    raise CrdMissingError(
        f"{file_name} is missing: the worker controller's CRDs are kept outside the "
        f"repository; looked in {looked}; set WORKER_CONTROLLER_CRDS to their directory"
    )


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A structural OpenAPI v3 schema as JSON Schema that refuses unknown fields: an
    object keeps only the fields it lists, unless it preserves unknown ones."""
    converted = {key: value for key, value in schema.items() if key in SHARED_KEYWORDS}
    for keyword in ("anyOf", "allOf", "oneOf"):
        if keyword in schema:
            converted[keyword] = [strict(part) for part in schema[keyword]]
    if "properties" in schema:
        converted["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        converted["items"] = strict(schema["items"])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        converted["additionalProperties"] = strict(extra)
    elif schema.get("type") == "object" and not schema.get("x-kubernetes-preserve-unknown-fields"):
        converted["additionalProperties"] = bool(extra)
    if schema.get("x-kubernetes-int-or-string"):
        converted.pop("type", None)
        converted.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    return converted


def cel_rules(
    schema: dict[str, Any], value: Any, path: str
) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Each CEL rule of the schema with the value it applies to and where, walking the
    value as the schema nests (absent fields have no rules to meet)."""
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" not in rule["rule"]:  # transition rules need an object's old state
            yield path, rule, value
    if isinstance(value, dict):
        for name, sub_schema in schema.get("properties", {}).items():
            if name in value:
                yield from cel_rules(sub_schema, value[name], f"{path}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from cel_rules(schema["items"], item, f"{path}[{index}]")


def crd_errors(definition: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    """What the API server would refuse in ``resource`` by ``definition``; empty if valid."""
    names = definition["spec"]["names"]
    group = definition["spec"]["group"]
    versions = {version["name"]: version for version in definition["spec"]["versions"]}
    api_group, _, api_version = resource.get("apiVersion", "").rpartition("/")
    if resource.get("kind") != names["kind"] or api_group != group:
        found = f"{resource.get('apiVersion')} {resource.get('kind')}"
        return [f"not a {names['kind']} of {group}: {found}"]
    if api_version not in versions or not versions[api_version].get("served", False):
        return [f"{group}/{api_version} is not a served version of {names['kind']}"]
    schema = dict(versions[api_version]["schema"]["openAPIV3Schema"])
    schema["properties"] = schema["properties"] | {"metadata": OBJECT_META}
    validator = jsonschema.Draft202012Validator(strict(schema))
    errors = [
        f"{error.json_path}: {error.message}"
        for error in sorted(validator.iter_errors(resource), key=lambda e: e.json_path)
    ]
    environment = celpy.Environment()
    for path, rule, value in cel_rules(schema, resource, "$"):
        program = environment.program(environment.compile(rule["rule"]))
        result = program.evaluate({"self": json_to_cel(value)})
        # An error evaluating the rule (a field it reads is absent) refuses, as the server does.
        if not (isinstance(result, celtypes.BoolType) and result):
            errors.append(f"{path}: {rule.get('message', rule['rule'])}")
    return errors
