"""The HTTP endpoints of a declared resource: list, create, get, patch, put, delete, batch."""

# No `from __future__ import annotations`: FastAPI reads these signatures at runtime and the
# models in them are built per resource, inside `resource_router`.

import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from email_security.auth.access import EditAccess, ReadAccess
from email_security.core.batch import MAX_BATCH, DeletedId, IdRef, apply_batch, batch_models
from email_security.core.exchange import EXCHANGE_SUBPATHS, add_exchange_routes
from email_security.core.listing import (
    Lister,
    list_query_model,
    list_query_parser,
    query_parameters,
)
from email_security.core.resource import Resource
from email_security.core.service import ResourceService, SettingsWriter
from email_security.kit.db import Database
from email_security.kit.envelope import Envelope, ListEnvelope, envelope_response
from email_security.kit.errors import BadRequest
from email_security.kit.fields import one_or_many
from email_security.kit.openapi import ERROR_RESPONSES, declared_request_body
from email_security.kit.requests import StrictRoute


def item_id_param(resource: Resource) -> Any:
    """The `{<id_param>}` path parameter of a resource's item routes."""
    return Annotated[
        str,
        Path(alias=resource.id_param, description=f"The {resource.title} id"),
    ]


class EntryId(Convertor[str]):
    """An id path segment (the subclasses say which words it never is)."""

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def entry_id_not(reserved: Sequence[str]) -> EntryId:
    """An id that is none of the collection's literal subpaths: `/batch` (`/export`,
    `/import`) is that route for every method, so a 405 there names its methods, not the
    item's."""
    words = "|".join(re.escape(word) for word in reserved)
    convertor = type("EntryIdNot", (EntryId,), {"regex": f"(?!(?:{words})(?:/|$))[^/]+"})
    return convertor()


def item_path_of(resource: Resource) -> str:
    """`/{<id_param>}`, not matching the literal subpaths the resource has."""
    reserved = ["batch"] if resource.batch_operations else []
    reserved += EXCHANGE_SUBPATHS
    name = "entry_id_not_" + "_".join(reserved)
    register_url_convertor(name, entry_id_not(reserved))
    return "/{" + f"{resource.id_param}:{name}" + "}"


def bulk_delete_body() -> dict[str, Any]:
    """The documented body of a bulk delete: 1 to MAX_BATCH {id} objects."""
    items = {"$ref": f"#/components/schemas/{IdRef.__name__}"}
    array = {"type": "array", "items": items, "minItems": 1, "maxItems": MAX_BATCH}
    return {"required": True, "content": {"application/json": {"schema": array}}}


def resource_router(resource: Resource, database: Database, write: SettingsWriter) -> APIRouter:
    """The resource's routes, bound to the database and to the account's write transaction
    (as arguments: a dependency would cost every request)."""
    service = ResourceService(resource, database)
    lister = Lister(resource, database)
    router = APIRouter(prefix=f"/{resource.name}", tags=[resource.name], route_class=StrictRoute)
    title = resource.title
    plural = resource.name.replace("_", " ")

    ListQuery = list_query_model(resource)
    parse_list_query = list_query_parser(ListQuery)
    Create = resource.create
    Patch = resource.patch
    Out = resource.output
    CreateBody = one_or_many(Create, MAX_BATCH) if resource.create_accepts_list else Create
    CreatedOut = Out | list[Out] if resource.create_accepts_list else Out
    ItemId = item_id_param(resource)
    item_path = item_path_of(resource)

    @router.get(
        "",
        summary=f"List {plural}",
        response_model=ListEnvelope[Out],
        responses=ERROR_RESPONSES,
        openapi_extra={"parameters": query_parameters(ListQuery)},
    )
    def list_items(
        principal: ReadAccess,
        query: Annotated[ListQuery, Depends(parse_list_query)],
    ) -> Response:
        page = lister.page(principal.account_id, query)
        result = [resource.serialise_row(row) for row in page.rows]
        return envelope_response(result, result_info=page.result_info())

    @router.post(
        "",
        summary=f"Create an {title}" if title[0] in "aeiou" else f"Create a {title}",
        status_code=201,
        response_model=Envelope[CreatedOut],
        responses=ERROR_RESPONSES,
    )
    def create_item(principal: EditAccess, body: CreateBody) -> Response:
        many = isinstance(body, list)
        entries = body if many else [body]
        with write(principal.account_id, principal.actor) as session:
            written = []
            for index, entry in enumerate(entries):
                location = str(index) if many else ""
                row = service.create(session, principal.account_id, entry, location)
                written.append((location, row))
            service.finish(session, principal.account_id, written)
            result = [resource.serialise(row) for _, row in written]
        return envelope_response(result if many else result[0], status_code=201)

    @router.get(
        item_path,
        summary=f"Get one {title}",
        response_model=Envelope[Out],
        responses=ERROR_RESPONSES,
    )
    def get_item(principal: ReadAccess, item_id: ItemId) -> Response:
        result = service.read(principal.account_id, item_id)
        return envelope_response(result)

    def add_update_route(method: str, Body: Any, *, replace: bool, summary: str) -> None:
        def update_item(principal: EditAccess, item_id: ItemId, body: Body) -> Response:
            with write(principal.account_id, principal.actor) as session:
                row = service.load(session, principal.account_id, item_id)
                service.update(session, row, body, replace=replace)
                service.finish(session, principal.account_id, [("", row)])
                result = resource.serialise(row)
            return envelope_response(result)

        router.add_api_route(
            item_path,
            update_item,
            methods=[method],
            name=f"{method.lower()}_item",
            summary=summary,
            response_model=Envelope[Out],
            responses=ERROR_RESPONSES,
        )

    add_update_route("PATCH", Patch, replace=False, summary=f"Change some fields of one {title}")
    if resource.put is not None:
        add_update_route("PUT", resource.put, replace=True, summary=f"Replace one {title}")

    @router.delete(
        item_path,
        summary=f"Delete one {title}",
        response_model=Envelope[DeletedId],
        responses=ERROR_RESPONSES,
    )
    def delete_item(principal: EditAccess, item_id: ItemId) -> Response:
        with write(principal.account_id, principal.actor) as session:
            row = service.load(session, principal.account_id, item_id)
            service.delete(session, [row])
        return envelope_response({"id": str(row.id)})

    if resource.batch_operations:
        BatchRequest, BatchResult = batch_models(resource)

        @router.post(
            "/batch",
            summary=f"Apply many {plural} changes atomically",
            description="deletes, then patches, then puts, then posts, in one transaction: "
            "any invalid entry fails the whole batch and nothing changes.",
            response_model=Envelope[BatchResult],
            responses=ERROR_RESPONSES,
        )
        def batch(principal: EditAccess, body: BatchRequest) -> Response:
            with write(principal.account_id, principal.actor) as session:
                result = apply_batch(service, session, principal.account_id, body)
            return envelope_response(result)

    if resource.bulk_delete:

        @router.delete(
            "",
            summary=f"Delete many {plural} (deprecated: use the batch endpoint)",
            response_model=Envelope[list[DeletedId]],
            responses=ERROR_RESPONSES,
            deprecated=True,
            # Read as optional so that a missing body gets the message below; documented as
            # what it must be.
            openapi_extra=declared_request_body(bulk_delete_body()),
        )
        def bulk_delete(
            principal: EditAccess,
            body: Annotated[list[IdRef] | None, Body(max_length=MAX_BATCH)] = None,
        ) -> Response:
            if not body:
                raise BadRequest('The body must be a non-empty JSON array of {"id": ...} objects')
            with write(principal.account_id, principal.actor) as session:
                rows = service.load_many(session, principal.account_id, [e.id for e in body], "")
                service.delete(session, rows)
            return envelope_response([{"id": str(row.id)} for row in rows])

    add_exchange_routes(router, resource, database, write)
    if resource.extra_routes is not None:
        resource.extra_routes(router, service)
    return router
