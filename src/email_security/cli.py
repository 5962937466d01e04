"""The `email-security` command: serve, db upgrade, tokens, evaluate, import, audit,
export, milter, policy."""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from email_security.config import ConfigError, Settings

if TYPE_CHECKING:
    from email_security.core.export import Format
    from email_security.core.resource import Resource
    from email_security.kit.db import Database
    from email_security.mailflow.accounts import MailAccounts

app = typer.Typer(help="Email Security Settings service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8787,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate/--no-migrate",
            help="Apply pending migrations first (several instances starting at once on "
            "one database migrate it once); --no-migrate refuses an out-of-date schema",
        ),
    ] = True,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help="Believe X-Forwarded-For/-Proto from this proxy address (repeatable; "
            "default: from no one)"
        ),
    ] = None,
) -> None:
    """Serve the API, the database's schema brought up to date first."""
    import uvicorn

    from email_security.kit.logs import logging_config
    from email_security.kit.metrics import worker_metrics
    from email_security.migrations import upgrade

    settings = Settings.from_env()
    if migrate:
        upgrade(settings.database_url)
    _database(settings).dispose()  # the schema is this version's, or a line says what to run
    with worker_metrics(workers):  # /metrics of one worker sums them all
        uvicorn.run(
            "email_security.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=logging_config(settings.log_format),
            access_log=False,  # kit.observe logs each request, with its route and request id
            proxy_headers=bool(trusted_proxy),
            forwarded_allow_ips=",".join(trusted_proxy or ()) or None,
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to EMAIL_SECURITY_DATABASE_URL."""
    from email_security.migrations import upgrade

    upgrade(Settings.from_env().database_url)
    typer.echo("database is up to date")


@tokens_app.command("create")
def tokens_create(
    account: Annotated[str, typer.Option(help="Account id the token is bound to")],
    read_only: Annotated[bool, typer.Option("--read-only", help="Reads only")] = False,
    email: Annotated[
        str | None, typer.Option(help="Also accept it as X-Auth-Key with this X-Auth-Email")
    ] = None,
) -> None:
    """Create an API token; the token is printed once, as the last line."""
    _check_account_id(account)
    from email_security.auth.tokens import issue_token

    database = _database()
    with database.write() as session:
        token_id, token = issue_token(session, account, read_only=read_only, email=email)
    database.dispose()
    typer.echo(f"account: {account}")
    typer.echo(f"permission: {'read' if read_only else 'edit'}")
    typer.echo(f"token id: {token_id} (audit records name it; not a secret)")
    typer.echo(token)


@tokens_app.command("bootstrap")
def tokens_bootstrap(
    account: Annotated[str | None, typer.Option(help="Account id (default: a new one)")] = None,
) -> None:
    """Create and print a first edit token, unless any token exists already."""
    from email_security.auth.tokens import any_token_exists, create_token

    database = _database()
    with database.write() as session:
        if any_token_exists(session):
            typer.echo("an API token exists already; create more with `tokens create`")
            return
        account = account or secrets.token_hex(16)
        _check_account_id(account)
        token = create_token(session, account)
    database.dispose()
    typer.echo(f"first API token for account {account} (shown once, keep it):")
    typer.echo(token)


@app.command()
def evaluate(
    message_file: Annotated[
        Path, typer.Argument(help="The message: a raw .eml, or JSON with --json", exists=True)
    ],
    account: Annotated[str, typer.Option(help="Account whose settings apply")],
    json_input: Annotated[
        bool, typer.Option("--json", help="The file is the evaluate request's JSON")
    ] = False,
    recipient: Annotated[
        list[str] | None, typer.Option(help="Recipient (repeatable); default: from headers")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """What would happen to this message, and why (offline, against the configured database)."""
    import orjson
    from pydantic import ValidationError

    from email_security import engine
    from email_security.evaluation.loader import load_settings
    from email_security.evaluation.report import render_text
    from email_security.evaluation.schemas import EvaluateRequest, verdict_json

    if output not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--format")
    raw = message_file.read_bytes()
    try:
        if json_input:
            message = EvaluateRequest.model_validate_json(raw).to_message()
            if recipient:
                message = dataclasses.replace(message, recipients=tuple(recipient))
        else:
            message = engine.parse_message(raw, recipient or ())
    except (ValidationError, engine.MessageError) as exc:
        typer.echo(f"cannot evaluate {message_file}: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = Settings.from_env()
    database = _database(settings)
    with database.read() as connection:
        account_settings = load_settings(connection, account)
    compiled = engine.compile_settings(account_settings, settings.thresholds())
    database.dispose()
    verdict = engine.evaluate(message, compiled)
    if output == "json":
        typer.echo(orjson.dumps(verdict_json(verdict), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(render_text(verdict))


@app.command("import")
def import_command(
    resource_name: Annotated[
        str, typer.Argument(metavar="RESOURCE", help="e.g. block_senders, allow_policies")
    ],
    entries_file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="JSON Lines or CSV, as `export` writes them; - for stdin"
        ),
    ],
    account: Annotated[str, typer.Option(help="Account the entries go to (created if new)")],
    source_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl (default: csv for a .csv file name)"),
    ] = None,
) -> None:
    """Add many entries at once, all or nothing; each line is checked as the API checks it."""
    import sys
    import time

    from email_security.audit.records import CLI
    from email_security.core.bulk_import import ImportFailed, import_entries
    from email_security.core.export import format_of_file
    from email_security.evaluation.versions import SettingsWrites

    _check_account_id(account)
    resource = _resource_named(resource_name)
    chosen = _exchange_format(source_format or format_of_file(entries_file))
    database = _database()
    started = time.monotonic()
    try:
        with sys.stdin.buffer if entries_file == "-" else open(entries_file, "rb") as lines:
            writes = SettingsWrites(database)
            count = import_entries(database, writes, resource, account, lines, CLI, chosen)
    except OSError as exc:
        typer.echo(f"cannot read {entries_file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except ImportFailed as exc:
        typer.echo(f"nothing imported: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(
        f"imported {count} {resource_name} into account {account} "
        f"in {time.monotonic() - started:.1f} s"
    )


@app.command()
def audit(
    account: Annotated[str, typer.Option(help="Account whose audit log to print")],
    since: Annotated[str | None, typer.Option(help="From this RFC 3339 instant")] = None,
    until: Annotated[str | None, typer.Option(help="Before this RFC 3339 instant")] = None,
    resource: Annotated[str | None, typer.Option(help="Only this settings group")] = None,
    action: Annotated[str | None, typer.Option(help="Only create, update or delete")] = None,
    limit: Annotated[int, typer.Option(help="At most this many records (1-1000)")] = 100,
    output: Annotated[str, typer.Option("--format", help="text or json (JSON Lines)")] = "text",
) -> None:
    """Print the account's audit log, newest first: who changed which entry, and when."""
    import orjson
    from pydantic import ValidationError

    from email_security.audit.log import AuditQuery, audit_page, record_out

    _check_account_id(account)
    if output not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--format")
    given = {"since": since, "until": until, "resource": resource, "action": action}
    try:
        query = AuditQuery.model_validate(
            {"per_page": limit, **{name: value for name, value in given.items() if value}}
        )
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = "limit" if error["loc"][0] == "per_page" else error["loc"][0]
        typer.echo(f"--{name}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    database = _database()
    try:
        with database.read() as connection:
            page = audit_page(connection, account, query)
    finally:
        database.dispose()
    for row in page.rows:
        if output == "json":
            typer.echo(orjson.dumps(record_out(row), option=orjson.OPT_UTC_Z).decode())
            continue
        actor = row.actor_kind + (f" {row.actor_token_id}" if row.actor_token_id else "")
        at = row.at.isoformat().replace("+00:00", "Z")
        typer.echo(f"{at}  {row.action:<6}  {row.resource}  {row.entry_id}  by {actor}  {row.id}")


@app.command("export")
def export_command(
    resource_name: Annotated[
        str, typer.Argument(metavar="RESOURCE", help="e.g. block_senders, allow_policies")
    ],
    account: Annotated[str, typer.Option(help="Account whose entries are written")],
    output_format: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output)")
    ] = None,
) -> None:
    """Write every entry of a resource, as GET answers them, for `import` to read back."""
    import contextlib
    import sys
    import time

    from email_security.core.export import export_pages

    _check_account_id(account)
    resource = _resource_named(resource_name)
    chosen = _exchange_format(output_format)
    database = _database()
    started = time.monotonic()
    count = 0
    try:
        with open(output, "wb") if output else contextlib.nullcontext(sys.stdout.buffer) as out:
            for entries, text in export_pages(database, resource, account, chosen):
                out.write(text)
                count += entries
    except OSError as exc:
        typer.echo(f"cannot write {output}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    typer.echo(
        f"exported {count} {resource_name} of account {account} "
        f"in {time.monotonic() - started:.1f} s",
        err=True,  # standard output may be the export itself
    )


def _resource_named(name: str) -> Resource:
    from email_security.resources import RESOURCES

    resources = {resource.name: resource for resource in RESOURCES}
    if name not in resources:
        typer.echo(f"RESOURCE must be one of: {', '.join(sorted(resources))}", err=True)
        raise typer.Exit(2)
    return resources[name]


def _exchange_format(name: str) -> Format:
    from email_security.core.export import FORMATS

    for known in FORMATS:
        if name == known:
            return known
    raise typer.BadParameter("must be csv or jsonl", param_hint="--format")


# The mail services' own /metrics (the API serves it beside its routes).
MetricsPort = Annotated[
    int | None, typer.Option(help="Serve Prometheus metrics on this port (default: off)")
]
MetricsHost = Annotated[str, typer.Option(help="Interface of --metrics-port")]


@app.command()
def milter(
    account: Annotated[
        list[str], typer.Option(help="Account whose settings apply (repeatable; first: default)")
    ],
    listen: Annotated[str, typer.Option(help="inet:HOST:PORT or unix:PATH")] = (
        "inet:127.0.0.1:8893"
    ),
    trust_authserv_id: Annotated[
        list[str] | None,
        typer.Option(help="Believe Authentication-Results from this authserv-id (repeatable)"),
    ] = None,
    drop: Annotated[str, typer.Option(help="When every recipient drops: reject or discard")] = (
        "reject"
    ),
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Serve the milter: every message evaluated and acted on (docs/MAIL-FLOW.md)."""
    from email_security.kit.metrics import MetricsPortUnavailable
    from email_security.mailflow.listen import libmilter_socket

    if drop not in ("reject", "discard"):
        raise typer.BadParameter("must be reject or discard", param_hint="--drop")
    try:
        libmilter_socket(listen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--listen") from None
    try:
        from email_security.mailflow.milter import (
            BODY_BYTES_PER_TEXT_CHARACTER,
            MilterConfig,
            serve_milter,
        )
    except ImportError:
        typer.echo(
            "the milter needs pymilter: pip install 'email-security-settings[milter]' "
            "(it builds on libmilter's headers: apt-get install libmilter-dev)",
            err=True,
        )
        raise typer.Exit(2) from None
    config = MilterConfig(
        _mail_accounts(account),
        frozenset(trust_authserv_id or ()),
        "reject" if drop == "reject" else "discard",
        max_body_bytes=BODY_BYTES_PER_TEXT_CHARACTER * Settings.from_env().body_text_limit,
        metrics_address=None if metrics_port is None else (metrics_host, metrics_port),
    )
    try:
        serve_milter(listen, config)
    except MetricsPortUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def policy(
    account: Annotated[
        list[str], typer.Option(help="Account whose settings apply (repeatable; first: default)")
    ],
    listen: Annotated[str, typer.Option(help="HOST:PORT")] = "127.0.0.1:10040",
    count_hits: Annotated[
        str,
        typer.Option(help="Count the hits of every answer (all), or only of refusals (refused)"),
    ] = "all",
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Serve the Postfix policy service: envelope decisions at RCPT (docs/MAIL-FLOW.md).

    With the milter behind it, pass --count-hits refused: the milter counts every message
    it judges, so the policy service only counts the recipients it refuses."""
    import signal
    import threading

    from email_security.kit.metrics import MetricsPortUnavailable, serve_metrics
    from email_security.mailflow.accounts import SettingsUnavailable
    from email_security.mailflow.listen import tcp_address
    from email_security.mailflow.policy import PolicyServer

    log = logging.getLogger("email_security.mailflow")

    try:
        address = tcp_address(listen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--listen") from None
    if count_hits not in ("all", "refused"):
        raise typer.BadParameter("must be all or refused", param_hint="--count-hits")
    accounts = _mail_accounts(account)
    try:
        accounts.load_all()
    except SettingsUnavailable as exc:
        log.error("%s: requests are deferred until the settings load", exc)
    try:
        server = PolicyServer(address, accounts, "all" if count_hits == "all" else "refused")
    except OSError as exc:
        typer.echo(f"cannot listen on {listen}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    if metrics_port is not None:
        try:
            serve_metrics(metrics_host, metrics_port)
        except MetricsPortUnavailable as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    with accounts.serving(), server:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        log.info("policy service listening on %s for accounts %s", listen, ", ".join(account))
        stop.wait()
        server.shutdown()


def _mail_accounts(account_ids: list[str]) -> MailAccounts:
    from email_security.kit.logs import configure_logging
    from email_security.mailflow.accounts import MailAccounts

    for account_id in account_ids:
        _check_account_id(account_id)
    settings = Settings.from_env()
    # Before logging starts, so that a wrong schema is one line.
    database = _database(settings, may_be_away=True)
    configure_logging(settings.log_format)
    return MailAccounts(
        database,
        settings.thresholds(),
        account_ids,
        settings.hit_flush_seconds,
        (settings.expiry_sweep_seconds, settings.audit_retention_days),
    )


def _database(settings: Settings | None = None, *, may_be_away: bool = False) -> Database:
    """The configured database, its schema checked: a one-line answer, not a traceback,
    when it cannot be reached or is not at this version's schema. `may_be_away`: a
    database that cannot be reached yet is no reason not to start (the mail services
    start and tempfail until it answers)."""
    from sqlalchemy.exc import DBAPIError

    from email_security.kit.db import Database
    from email_security.migrations import schema_problem

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    try:
        problem = schema_problem(database.engine)
    except DBAPIError:
        if not may_be_away:
            raise
        problem = None
    if problem is not None:
        database.dispose()
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    return database


def _check_account_id(account: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", account):
        typer.echo("--account must be 1 to 64 letters, digits, '-' or '_'", err=True)
        raise typer.Exit(2)


def main() -> None:
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        app()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise SystemExit(2) from None
    except ArgumentError as exc:
        typer.echo(f"EMAIL_SECURITY_DATABASE_URL is not a usable database URL: {exc}", err=True)
        raise SystemExit(2) from None
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        typer.echo(f"cannot reach the database: {reason}", err=True)
        raise SystemExit(1) from None
