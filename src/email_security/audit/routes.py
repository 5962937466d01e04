"""GET /accounts/{account_id}/email-security/audit_log (and one record), and reverting one.

The log is read-only through the API: no route writes or deletes a record, so any other
method answers 405 (or 404 on paths that do not exist).
"""

# No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from starlette.responses import Response

from email_security.audit.log import (
    AuditQuery,
    AuditRecordOut,
    audit_page,
    read_record,
    record_out,
)
from email_security.audit.records import Action
from email_security.audit.revert import revert_change
from email_security.auth.access import EditAccess, ReadAccess
from email_security.core.listing import list_query_parser, query_parameters
from email_security.core.service import ResourceService, SettingsWriter
from email_security.kit.db import Database
from email_security.kit.envelope import Envelope, ListEnvelope, envelope_response
from email_security.kit.errors import NotFound
from email_security.kit.openapi import ERROR_RESPONSES
from email_security.kit.requests import StrictRoute
from email_security.resources import RESOURCES

RecordId = Annotated[str, Path(description="The audit record id")]


class Reverted(BaseModel):
    action: Action = Field(description="The change the revert made")
    resource: str
    entry: dict[str, Any] | None = Field(description="The entry now (null when deleted)")


def _record_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"audit record {text!r} not found") from None


def audit_router(database: Database, write: SettingsWriter) -> APIRouter:
    router = APIRouter(prefix="/audit_log", tags=["audit_log"], route_class=StrictRoute)
    services = {resource.name: ResourceService(resource, database) for resource in RESOURCES}
    parse_query = list_query_parser(AuditQuery)

    @router.get(
        "",
        summary="The audit log: every change to a settings entry, newest first",
        response_model=ListEnvelope[AuditRecordOut],
        responses=ERROR_RESPONSES,
        openapi_extra={"parameters": query_parameters(AuditQuery)},
    )
    def list_records(
        principal: ReadAccess, query: Annotated[AuditQuery, Depends(parse_query)]
    ) -> Response:
        with database.read() as connection:
            page = audit_page(connection, principal.account_id, query)
        result = [record_out(row) for row in page.rows]
        return envelope_response(result, result_info=page.result_info())

    @router.get(
        "/{record_id}",
        summary="One audit record",
        response_model=Envelope[AuditRecordOut],
        responses=ERROR_RESPONSES,
    )
    def get_record(principal: ReadAccess, record_id: RecordId) -> Response:
        with database.read_one() as connection:
            row = read_record(connection, principal.account_id, _record_id(record_id))
        if row is None:
            raise NotFound(f"audit record {record_id!r} not found")
        return envelope_response(record_out(row))

    @router.post(
        "/{record_id}/revert",
        summary="Put the entry back as it was before this change (a new, recorded change)",
        description="A created entry is deleted, an update is undone, a deleted entry comes "
        "back with its original id. 409 when the entry has changed since in a way that "
        "conflicts; 400 or 409 with the reason when the old state is no longer valid.",
        response_model=Envelope[Reverted],
        responses=ERROR_RESPONSES,
    )
    def revert(principal: EditAccess, record_id: RecordId) -> Response:
        wanted = _record_id(record_id)
        with write(principal.account_id, principal.actor) as session:
            result = revert_change(session, services, principal.account_id, wanted)
        return envelope_response(result)

    return router
