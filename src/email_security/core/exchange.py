"""`GET /<resource>/export` and `POST /<resource>/import`: every entry of an account out as
JSON Lines or CSV, and such a file back in, all or nothing."""

# No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

import io
from itertools import chain
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from email_security.auth.access import EditAccess, ReadAccess
from email_security.core.bulk_import import ImportFailed, import_entries
from email_security.core.export import MEDIA_TYPES, Format, export_pages
from email_security.core.resource import Resource
from email_security.core.service import SettingsWriter
from email_security.kit.db import Database
from email_security.kit.envelope import Envelope, ErrorEnvelope, envelope_response
from email_security.kit.errors import BadRequest, Conflict, UnsupportedMediaType
from email_security.kit.fields import SERVER_CHECKED
from email_security.kit.openapi import ERROR_RESPONSES, declared_request_body

# The literal subpaths these routes take below a resource: never an entry id.
EXCHANGE_SUBPATHS = ("export", "import")
CONTENT_TYPES: dict[Format, str] = {**MEDIA_TYPES, "csv": MEDIA_TYPES["csv"] + "; charset=utf-8"}
FORMATS_OF_MEDIA_TYPES = {media_type: name for name, media_type in MEDIA_TYPES.items()}


class ImportResult(BaseModel):
    created: int


def _export_responses() -> dict[int | str, dict[str, Any]]:
    text = {"schema": {"type": "string"}}
    return {
        200: {
            "description": "Every entry, as GET answers it: a JSON object per line, or CSV "
            "with a header row",
            "content": {media_type: text for media_type in MEDIA_TYPES.values()},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment, with a file name",
                    "schema": {"type": "string"},
                }
            },
        },
        **ERROR_RESPONSES,
    }


def _import_body(resource: Resource) -> dict[str, Any]:
    title = resource.title
    kinds: dict[Format, str] = {
        "jsonl": f"JSON Lines: a {title} create body per line",
        "csv": f"CSV: a header row of {title} field names, then a create body per row",
    }
    return {
        "required": True,
        "content": {
            MEDIA_TYPES[name]: {"schema": {"type": "string", SERVER_CHECKED: kind}}
            for name, kind in kinds.items()
        },
    }


IMPORT_DESCRIPTION = """\
The body is what the export answers, as `application/x-ndjson` or `text/csv`: each line (or
CSV row) a create body, validated as a create is. Read-only fields (`id`, timestamps,
`hit_count`...) are ignored; any other unknown field is refused. In CSV an empty cell
leaves its field out, arrays and objects are JSON text, booleans `true` or `false`. All or
nothing: an invalid line fails the import with a 400 (409 for a value that must be unique)
naming its line and field, and nothing is stored. The body may hold at most
`EMAIL_SECURITY_MAX_BODY_BYTES` (4 MiB unless configured; 413 above): import larger files
with `email-security import`."""


def add_exchange_routes(
    router: APIRouter, resource: Resource, database: Database, write: SettingsWriter
) -> None:
    plural = resource.name.replace("_", " ")

    @router.get(
        "/export",
        summary=f"Export every {resource.title}",
        description="Every entry of the account (those already expired are left out), "
        "oldest first, with the fields GET answers; streamed. In CSV, arrays and objects "
        "are JSON text and null an empty cell.",
        response_class=StreamingResponse,
        responses=_export_responses(),
    )
    def export(
        principal: ReadAccess,
        output: Annotated[Format, Query(alias="format", description="jsonl or csv")] = "jsonl",
    ) -> Response:
        pages = (text for _, text in export_pages(database, resource, principal.account_id, output))
        first = next(pages)  # a failing database is answered in the envelope, not cut short
        filename = f"{resource.name}.{output}"
        return StreamingResponse(
            chain([first], pages),
            media_type=CONTENT_TYPES[output],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @router.post(
        "/import",
        summary=f"Import {plural} from JSON Lines or CSV, all or nothing",
        description=IMPORT_DESCRIPTION,
        response_model=Envelope[ImportResult],
        responses={
            **ERROR_RESPONSES,
            415: {"model": ErrorEnvelope, "description": "Content-Type is no import format"},
        },
        openapi_extra=declared_request_body(_import_body(resource)),
    )
    async def import_items(request: Request, principal: EditAccess) -> Response:
        body = await request.body()  # first: a body over the limit is a 413 whatever its type
        source_format = _format_of(request.headers.get("content-type", ""))
        try:
            created = await run_in_threadpool(
                import_entries,
                database,
                write,
                resource,
                principal.account_id,
                io.BytesIO(body),  # lines as a file gives them, as the command reads them
                principal.actor,
                source_format,
            )
        except ImportFailed as exc:
            raise (Conflict if exc.conflict else BadRequest)(str(exc)) from None
        return envelope_response({"created": created})


def _format_of(content_type: str) -> Format:
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charset = next((p.partition("=")[2].strip('"') for p in parameters if "=" in p), "utf-8")
    if media_type in FORMATS_OF_MEDIA_TYPES and charset == "utf-8":
        return FORMATS_OF_MEDIA_TYPES[media_type]
    raise UnsupportedMediaType(
        "Content-Type must be application/x-ndjson or text/csv (UTF-8)",
        headers={"Accept-Post": ", ".join(MEDIA_TYPES.values())},
    )
