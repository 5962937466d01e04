"""What the console shows of each settings group, read off the resource declarations.

The console builds its tables, forms and filters from this: a field, filter or order added
to a declaration appears in the console with nothing else to change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from email_security.core.batch import ORDER
from email_security.core.resource import Resource
from email_security.kit.fields import TEXT_PATTERN
from email_security.resources import RESOURCES

# The output fields every entry has that a table shows after the group's own.
LIFECYCLE_COLUMNS = ("expires_at", "hit_count", "last_hit_at")
# Spelled as people write them when a field's name is turned into words.
ACRONYMS = {"id": "ID", "ip": "IP", "tls": "TLS", "url": "URL", "o365": "Office 365"}
# Words a name carries for programs only: `is_regex` reads "Regex", `expires_at` "Expires".
DROPPED = {"is", "at"}


def words(name: str) -> str:
    """A field's name for people: `pattern_type` → "Pattern type", `hit_count` → "Hits"."""
    if name == "hit_count":
        return "Hits"
    parts = [part for part in name.split("_") if part not in DROPPED] or [name]
    spelled = [ACRONYMS.get(part, part) for part in parts]
    text = " ".join(spelled)
    return text[0].upper() + text[1:]


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _kind(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A value's form control: its kind, choices and bounds, from its JSON Schema."""
    schema = _resolve(schema, definitions)
    options = [_resolve(option, definitions) for option in schema.get("anyOf", [])]
    nullable = any(option.get("type") == "null" for option in options)
    options = [option for option in options if option.get("type") != "null"]
    if options:  # a union of value kinds: the first stands for them all (status, STATUS)
        described = _kind(options[0], definitions)
        return {**described, "nullable": nullable or described["nullable"]}
    kind: dict[str, Any] = {"nullable": nullable}
    if "enum" in schema:
        kind.update(kind="choice", choices=schema["enum"])
    elif schema.get("type") == "array":
        item = _kind(schema.get("items", {}), definitions)
        if item["kind"] == "choice":
            kind.update(kind="choices", choices=item["choices"])
        else:
            kind.update(kind="lines")
        if "minItems" in schema:
            kind["min_items"] = schema["minItems"]
    elif schema.get("type") == "boolean":
        kind["kind"] = "boolean"
    elif schema.get("type") == "integer":
        kind.update(kind="integer", minimum=schema.get("minimum"), maximum=schema.get("maximum"))
    elif schema.get("format") == "date-time":
        kind["kind"] = "instant"
    else:
        # Free text may hold line breaks (its pattern allows them): a multi-line box.
        kind["kind"] = "text" if schema.get("pattern") == TEXT_PATTERN else "line"
        if "maxLength" in schema:
            kind["max_length"] = schema["maxLength"]
    return kind


def _fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in schema["properties"].items():
        if prop.get("deprecated"):
            continue  # older spellings of other fields: the form offers the current ones
        fields.append(
            {
                "name": name,
                "label": words(name),
                "required": name in required,
                "help": prop.get("description", ""),
                **_kind(prop, definitions),
            }
        )
    return fields


def _filters(resource: Resource) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": words(name),
            "help": flt.description,
            **_kind(TypeAdapter(flt.annotation).json_schema(), {}),
        }
        for name, flt in resource.filters.items()
    ]


def _group(resource: Resource) -> dict[str, Any]:
    # In the order entries are answered in (a protected domain's name first), the fields
    # every entry has last.
    answered = [name for name in resource.output.model_fields if name not in LIFECYCLE_COLUMNS]
    answered += LIFECYCLE_COLUMNS
    create = sorted(_fields(resource.create), key=lambda field: answered.index(field["name"]))
    editable = {field["name"] for field in _fields(resource.patch)}
    columns = [field["name"] for field in create if field["name"] not in LIFECYCLE_COLUMNS]
    if "deletes" in resource.batch_operations:
        bulk_delete = "batch"
    elif resource.bulk_delete:
        bulk_delete = "list"  # DELETE on the group with an array of {id}
    else:
        bulk_delete = "each"
    return {
        "name": resource.name,
        "label": resource.label,
        "title": resource.title,
        "fields": [{**field, "editable": field["name"] in editable} for field in create],
        "columns": [
            {"name": name, "label": words(name)} for name in (*columns, *LIFECYCLE_COLUMNS)
        ],
        "orders": [{"name": name, "label": words(name)} for name in resource.sorts],
        "filters": _filters(resource),
        "bulk_delete": bulk_delete,
        # A batch body names every list it takes, the empty ones too.
        "batch_operations": [name for name in ORDER if name in resource.batch_operations],
    }


def console_manifest() -> dict[str, Any]:
    return {"groups": [_group(resource) for resource in RESOURCES]}
