"""POST /accounts/{account_id}/email-security/evaluate: a verdict for one message."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from email_security import engine
from email_security.auth.access import Principal, ReadAccess
from email_security.evaluation.cache import IndexCache
from email_security.evaluation.schemas import (
    MAX_QUERY_RECIPIENTS,
    Address,
    EvaluateRequest,
    verdict_json,
)
from email_security.kit.envelope import Envelope, envelope_response
from email_security.kit.errors import BadRequest, PermissionDenied
from email_security.kit.fields import SERVER_CHECKED, QueryBool
from email_security.kit.metrics import EVALUATIONS
from email_security.kit.openapi import ERROR_RESPONSES
from email_security.kit.requests import StrictRoute, parse_json
from email_security.lifecycle.hits import HitCounter, honoured

RFC822 = "message/rfc822"

router = APIRouter(tags=["evaluate"], route_class=StrictRoute)

_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/EvaluateRequest"}},
        RFC822: {
            "schema": {
                "type": "string",
                "format": "binary",
                "minLength": 1,
                SERVER_CHECKED: "an RFC 5322 message with a sender and recipients",
            }
        },
    },
}


@router.post(
    "/evaluate",
    summary="What would happen to this message, and why",
    description="The verdict for each recipient of one message, given as JSON or as a raw "
    "RFC 5322 message (Content-Type: message/rfc822; recipients from its headers, or from "
    "`recipient` query parameters). Every settings entry that matched is explained. "
    "A what-if by default: with `record_hits=true` (edit token) the verdict counts as applied, "
    "and each entry it honoured gets a hit, as a message the milter acts on does.",
    response_model=Envelope[engine.Verdict],
    responses=ERROR_RESPONSES,
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def evaluate_message(
    request: Request,
    principal: ReadAccess,
    recipient: Annotated[list[Address] | None, Query(max_length=MAX_QUERY_RECIPIENTS)] = None,
    record_hits: Annotated[
        QueryBool,
        Query(
            description="true: the verdict was applied; each entry it honoured counts a hit "
            "(`hit_count`, `last_hit_at`), once however many recipients. Needs an edit token"
        ),
    ] = False,
) -> Response:
    if len(request.query_params.getlist("record_hits")) > 1:
        raise BadRequest.at_parameter("record_hits", "given more than once")
    if record_hits and principal.read_only:
        raise PermissionDenied("This token is read-only; record_hits=true needs edit permission")
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    message = _message(body, content_type, recipient or [])
    cache: IndexCache = request.app.state.index_cache
    verdict = await run_in_threadpool(_evaluate, cache, principal, message)
    for judged in verdict.recipients:
        EVALUATIONS.labels(judged.disposition, judged.action).inc()
    if record_hits:
        hits: HitCounter = request.app.state.hit_counter
        hits.count(honoured(principal.account_id, verdict.recipients))
    return envelope_response(verdict_json(verdict))


def _message(body: bytes, content_type: str, recipients: list[str]) -> engine.Message:
    if content_type == RFC822:
        try:
            return engine.parse_message(body, recipients)
        except engine.MessageError as exc:
            raise BadRequest(f"Not a message that can be evaluated: {exc}") from None
    if content_type not in ("application/json", ""):
        raise BadRequest(f"Content-Type must be application/json or {RFC822}")
    try:
        data = parse_json(body or b"null")
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON body: {exc.msg}") from None
    try:
        return EvaluateRequest.model_validate(data).to_message()
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            error["loc"] = ("body", *error["loc"])
        raise RequestValidationError(errors) from None


def _evaluate(cache: IndexCache, principal: Principal, message: engine.Message) -> engine.Verdict:
    compiled = cache.get(principal.account_id)
    return engine.evaluate(message, compiled)
