"""The OpenAPI 3.0 document for /api/v1 (data: openapi.yaml beside this file, read once), and the
check that an API response matches it (on with OPENAPI_VALIDATE_RESPONSES, as in the tests)."""

from __future__ import annotations

import copy
import functools
import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from flask import Response, current_app, request

from registry.models.catalogue import FeeRegime, TimeUnit, Validity
from registry.models.credit import CreditKind
from registry.models.projects import ProjectCategory
from registry.models.providers import REGIONS
from registry.models.roadmap import DeadlineState, StepKind, StepStatus

DOCUMENT = Path(__file__).with_name("openapi.yaml")
# The enums `!enum [Name, …]` in the document may name; their empty values (DeadlineState's
# "on track") are not listed: the document says null instead.
ENUMS: dict[str, type[Enum] | tuple[str, ...]] = {
    "FeeRegime": FeeRegime,
    "TimeUnit": TimeUnit,
    "Validity": Validity,
    "CreditKind": CreditKind,
    "ProjectCategory": ProjectCategory,
    "StepKind": StepKind,
    "StepStatus": StepStatus,
    "DeadlineState": DeadlineState,
    "REGIONS": REGIONS,
}
_URN = "urn:registry:openapi"
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class _Loader(yaml.SafeLoader):
    """A safe loader that also knows `!enum`."""


def _enum_values(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> list[Any]:
    """`!enum [FeeRegime, null]`: the values of each named enum, other items as they are."""
    values: list[Any] = []
    for item in loader.construct_sequence(node):
        if isinstance(item, str) and item in ENUMS:
            members = ENUMS[item]
            values += [m.value if isinstance(m, Enum) else m for m in members]
            values = [v for v in values if v != ""]
        else:
            values.append(item)
    return values


_Loader.add_constructor("!enum", _enum_values)


@functools.cache
def _document() -> dict[str, Any]:
    with DOCUMENT.open(encoding="utf-8") as handle:
        # Round-tripped through JSON: shared (anchored) parts become separate plain dicts.
        return json.loads(json.dumps(yaml.load(handle, Loader=_Loader)))  # noqa: S506 - safe loader


def openapi_document() -> dict[str, Any]:
    """The document as served (a copy: the caller may change it)."""
    return copy.deepcopy(_document())


# ---------------------------------------------------------------------- response validation


class ResponseMismatch(AssertionError):
    """An API response that the document does not describe."""


def _pointer(*parts: str) -> str:
    """A JSON pointer (RFC 6901) to the parts."""
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _response_pointer(path: str, method: str, status: int) -> str | None:
    """Where the document describes this response; None when it does not."""
    operation = _document()["paths"].get(path, {}).get(method)
    if operation is None:
        return None
    responses = operation.get("responses", {})
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        return None
    reference = responses[key].get("$ref")
    if reference:
        return reference.removeprefix("#")
    return _pointer("paths", path, method, "responses", key)


def _resolve(pointer: str) -> Any:
    node: Any = _document()
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@functools.cache
def _validator(schema_pointer: str) -> Any:
    """A validator for the schema at `schema_pointer` in the document, `$ref`s resolved within it
    and formats (date, date-time) checked; OpenAPI 3.0's `nullable` understood."""
    # Imported here: only the tests (and anyone who turns the check on) need these packages.
    from openapi_schema_validator import OAS30Validator, oas30_format_checker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    resource = Resource.from_contents(_document(), default_specification=DRAFT4)
    registry = Registry().with_resource(_URN, resource)
    return OAS30Validator(
        {"$ref": f"{_URN}#{schema_pointer}"},
        registry=registry,
        format_checker=oas30_format_checker,
    )


def check_response(response: Response) -> Response:
    """An after-request hook for the API blueprint: with OPENAPI_VALIDATE_RESPONSES on, raise
    ResponseMismatch unless the document describes this status for this operation and the JSON
    body matches its schema."""
    rule = request.url_rule
    if not current_app.config.get("OPENAPI_VALIDATE_RESPONSES") or rule is None:
        return response
    if request.method == "OPTIONS":
        return response  # a CORS preflight (the document's description), not an operation
    prefix = current_app.blueprints[request.blueprint].url_prefix or ""
    path = _CONVERTER.sub(r"{\1}", rule.rule).removeprefix(prefix)
    method = request.method.lower()
    where = f"{request.method} {path} → {response.status_code}"
    pointer = _response_pointer(path, "get" if method == "head" else method, response.status_code)
    if pointer is None:
        raise ResponseMismatch(f"{where}: not in the OpenAPI document")
    content = _resolve(pointer).get("content", {})
    if not response.is_json or method == "head" or response.status_code == 304:
        if content and method != "head":
            raise ResponseMismatch(f"{where}: documented as JSON, answered {response.mimetype}")
        return response
    if "application/json" not in content:
        raise ResponseMismatch(f"{where}: a JSON body the document does not describe")
    errors = sorted(
        _validator(pointer + _pointer("content", "application/json", "schema")).iter_errors(
            response.get_json()
        ),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        details = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:5]
        )
        raise ResponseMismatch(f"{where}: {details}")
    return response
