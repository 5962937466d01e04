"""`POST /<resource>/batch`: deletes, then patches, then puts, then posts, all or nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, Field, create_model
from sqlalchemy.orm import Session

from email_security.kit.fields import StrictInput

if TYPE_CHECKING:
    from email_security.core.resource import Resource
    from email_security.core.service import ResourceService

BatchOperation = Literal["deletes", "patches", "puts", "posts"]
ORDER: tuple[BatchOperation, ...] = get_args(BatchOperation)  # the order they apply in
EVERY_OPERATION: frozenset[BatchOperation] = frozenset(ORDER)
DELETES_ONLY: frozenset[BatchOperation] = frozenset({"deletes"})
NO_BATCH: frozenset[BatchOperation] = frozenset()

MAX_BATCH = 1000  # entries per list
ID_MAX = 64


class IdRef(StrictInput):
    id: str = Field(max_length=ID_MAX, description="Entry identifier")


class DeletedId(BaseModel):
    id: str


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def batch_models(resource: Resource) -> tuple[type[StrictInput], type[BaseModel]]:
    """Request and result models of `POST /<resource>/batch` for the declared operations."""
    name = _pascal(resource.name)
    entry_types: dict[BatchOperation, Any] = {
        "deletes": IdRef,
        "patches": create_model(
            f"{name}BatchPatch", __base__=resource.patch, id=(str, Field(max_length=ID_MAX))
        ),
        "puts": create_model(
            f"{name}BatchPut",
            __base__=resource.put or resource.create,
            id=(str, Field(max_length=ID_MAX)),
        ),
        "posts": resource.create,
    }
    request_fields: dict[str, Any] = {}
    result_fields: dict[str, Any] = {}
    for operation in ORDER:
        if operation not in resource.batch_operations:
            continue
        request_fields[operation] = (
            list[entry_types[operation]],
            Field(max_length=MAX_BATCH, description=f"At most {MAX_BATCH} entries"),
        )
        result_type = DeletedId if operation == "deletes" else resource.output
        result_fields[operation] = (list[result_type], ...)
    request: type[StrictInput] = create_model(
        f"{name}BatchRequest", __base__=StrictInput, **request_fields
    )
    result: type[BaseModel] = create_model(f"{name}BatchResult", **result_fields)
    return request, result


def apply_batch(
    service: ResourceService, session: Session, account_id: str, body: BaseModel
) -> dict[str, list[Any]]:
    """Every operation of the body in order, in the caller's transaction (which makes the
    batch atomic): any entry that fails fails the request, naming the entry."""
    operations = service.resource.batch_operations
    result: dict[str, list[Any]] = {}
    if "deletes" in operations:
        entries = body.deletes  # type: ignore[attr-defined]
        rows = service.load_many(session, account_id, [e.id for e in entries], "deletes")
        service.delete(session, rows)
        result["deletes"] = [{"id": str(row.id)} for row in rows]
    written: dict[str, list[tuple[str, Any]]] = {}
    for operation in ("patches", "puts"):
        if operation not in operations:
            continue
        entries = getattr(body, operation)
        rows = service.load_many(session, account_id, [e.id for e in entries], operation)
        written[operation] = []
        for index, (row, entry) in enumerate(zip(rows, entries, strict=True)):
            location = f"{operation}.{index}"
            service.update(session, row, entry, replace=operation == "puts", location=location)
            written[operation].append((location, row))
    if "posts" in operations:
        written["posts"] = [
            (f"posts.{index}", service.create(session, account_id, entry, f"posts.{index}"))
            for index, entry in enumerate(body.posts)  # type: ignore[attr-defined]
        ]
    service.finish(session, account_id, [pair for pairs in written.values() for pair in pairs])
    for operation, pairs in written.items():
        result[operation] = [service.resource.serialise(row) for _, row in pairs]
    return result
