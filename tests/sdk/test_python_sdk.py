"""The official `cloudflare` Python SDK, unchanged, against a live server: every method.

The methods are read from the installed SDK, sync and async alike, so an SDK upgrade that
adds one fails here until it has a scenario. Each scenario is written once against the sync
client; the async client runs it through `AsyncDriver`.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import cloudflare
import httpx
import pytest
from cloudflare import AsyncCloudflare, Cloudflare
from cloudflare._base_client import AsyncPaginator
from cloudflare._resource import AsyncAPIResource, SyncAPIResource
from cloudflare.resources.email_security import settings as settings_package
from cloudflare.resources.email_security.settings import SettingsResource

from email_security.resources import RESOURCES
from tests.support import MISSING_ID, LiveServer, new_account

T = TypeVar("T")

# --- the SDK's methods ---------------------------------------------------------------------

ResourceClass = type[SyncAPIResource] | type[AsyncAPIResource]


def sdk_methods() -> list[tuple[ResourceClass, str]]:
    """(resource class, method name) for every public method under the settings package."""
    found: list[tuple[ResourceClass, str]] = []
    for module_info in pkgutil.iter_modules(settings_package.__path__):
        module = importlib.import_module(f"{settings_package.__name__}.{module_info.name}")
        for cls in vars(module).values():
            if not (
                inspect.isclass(cls)
                and issubclass(cls, SyncAPIResource | AsyncAPIResource)
                and cls.__module__ == module.__name__  # defined here, not imported
            ):
                continue
            for name, member in vars(cls).items():
                if inspect.isfunction(member) and not name.startswith("_"):
                    found.append((cls, name))
    return sorted(found, key=lambda pair: (pair[0].__name__, pair[1]))


def group_of(cls: ResourceClass) -> str:
    """The settings group a resource class serves: its module's name, as on the client."""
    return cls.__module__.rsplit(".", 1)[-1]


SDK_METHODS = sdk_methods()


# --- clients and what they send ------------------------------------------------------------

SETTINGS_PREFIX = re.compile(r"^/client/v4/accounts/[^/]+/email-security/settings")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def call_of(request: httpx.Request) -> str:
    """A sent request as `METHOD /group/...`, ids written `{id}`."""
    path = UUID.sub("{id}", SETTINGS_PREFIX.sub("", request.url.path))
    return f"{request.method} {path}"


@dataclass
class Sdk:
    """One new account seen through one SDK client, and every request that client sent."""

    settings: SettingsResource
    account: str
    sent: list[httpx.Request]

    def calls(self) -> list[str]:
        return [call_of(request) for request in self.sent]

    def pages(self, call: str) -> list[int]:
        """The page numbers the requests matching `call` asked for, in order."""
        return [
            int(request.url.params.get("page", 1))
            for request in self.sent
            if call_of(request) == call
        ]


class AsyncDriver:
    """An async SDK object presented as the sync one, so that scenarios are shared.

    Each method call runs to completion on the loop; a paginator is collected with
    `async for` into a list, which iterates like the sync paginator does.
    """

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, AsyncAPIResource):
            return AsyncDriver(value, self._loop)
        if callable(value):
            return functools.partial(self._run, value)
        return value

    def _run(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        outcome = method(*args, **kwargs)
        if isinstance(outcome, AsyncPaginator):
            return self._loop.run_until_complete(_collect(outcome))
        return self._loop.run_until_complete(outcome)


async def _collect(paginator: AsyncPaginator[Any, Any]) -> list[Any]:
    return [item async for item in paginator]


@contextmanager
def connect(live_server: LiveServer, *, use_async: bool) -> Iterator[Sdk]:
    account = new_account(live_server.database)
    sent: list[httpx.Request] = []
    options: dict[str, Any] = {
        "api_token": account.token,
        "base_url": f"{live_server.base_url}/client/v4",
        "max_retries": 0,
    }
    if not use_async:
        http_client = cloudflare.DefaultHttpxClient(event_hooks={"request": [sent.append]})
        with Cloudflare(http_client=http_client, **options) as client:
            yield Sdk(client.email_security.settings, account.id, sent)
        return

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    loop = asyncio.new_event_loop()
    http_async = cloudflare.DefaultAsyncHttpxClient(event_hooks={"request": [record]})
    async_client = AsyncCloudflare(http_client=http_async, **options)
    try:
        # Stands in for the sync SettingsResource: scenarios are type-checked against it.
        driver: Any = AsyncDriver(async_client.email_security.settings, loop)
        yield Sdk(driver, account.id, sent)
    finally:
        loop.run_until_complete(async_client.close())
        loop.close()


# --- scenarios -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Sdk], None]
    # A request only the method under test sends ("PUT /domains/{id}"): proof it was used.
    call: str


ScenarioFunction = Callable[[Sdk], None]
# One per SDK method: (group, method) -> scenario.
METHOD_SCENARIOS: dict[tuple[str, str], Scenario] = {}
# Further behaviours worth pinning (quirks, filters, errors), run with both clients too.
BEHAVIOURS: dict[str, Scenario] = {}


def scenario(group: str, method: str, call: str) -> Callable[[ScenarioFunction], ScenarioFunction]:
    def register(function: ScenarioFunction) -> ScenarioFunction:
        assert (group, method) not in METHOD_SCENARIOS, f"two scenarios for {group}.{method}"
        METHOD_SCENARIOS[(group, method)] = Scenario(function, call)
        return function

    return register


def behaviour(call: str) -> Callable[[ScenarioFunction], ScenarioFunction]:
    def register(function: ScenarioFunction) -> ScenarioFunction:
        BEHAVIOURS[function.__name__] = Scenario(function, call)
        return function

    return register


def present(value: T | None) -> T:
    """An SDK result that must be there (the SDK types every result as optional)."""
    assert value is not None, "the SDK returned no result"
    return value


# Every list scenario stores this many entries and reads them PER_PAGE at a time:
# pages 1-3 hold 5, 5 and 2 entries, and the empty page 4 ends the SDK's iteration.
ENTRIES = 12
PER_PAGE = 5
PAGES_READ = [1, 2, 3, 4]


# --- allow policies ------------------------------------------------------------------------


def allow_post(pattern: str, **changes: Any) -> Any:
    """A batch post (and create body) of an allow policy."""
    return {
        "pattern": pattern,
        "pattern_type": "EMAIL",
        "is_regex": False,
        "is_acceptable_sender": True,
        "is_exempt_recipient": False,
        "is_trusted_sender": False,
        "verify_sender": True,
        **changes,
    }


@scenario("allow_policies", "create", "POST /allow_policies")
def allow_policy_create_stores_the_normalised_pattern(sdk: Sdk) -> None:
    created = present(
        sdk.settings.allow_policies.create(
            account_id=sdk.account,
            is_acceptable_sender=False,
            is_exempt_recipient=False,
            is_regex=False,
            is_trusted_sender=True,
            pattern="Alerts@Example.COM",
            pattern_type="EMAIL",
            verify_sender=True,
            comments="vendor alerts",
        )
    )
    assert UUID.fullmatch(created.id)
    assert created.pattern == "Alerts@example.com"  # the domain lower-cased, the local part kept
    assert (created.pattern_type, created.is_regex, created.comments) == (
        "EMAIL",
        False,
        "vendor alerts",
    )
    assert (created.is_trusted_sender, created.is_acceptable_sender) == (True, False)
    assert created.modified_at == created.created_at == created.last_modified


@scenario("allow_policies", "get", "GET /allow_policies/{id}")
def allow_policy_get_returns_the_stored_policy(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    created = present(policies.create(account_id=sdk.account, **allow_post("a@example.com")))
    fetched = present(policies.get(created.id, account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("allow_policies", "edit", "PATCH /allow_policies/{id}")
def allow_policy_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    created = present(
        policies.create(
            account_id=sdk.account, **allow_post("partner.example", pattern_type="DOMAIN")
        )
    )
    policies.edit(created.id, account_id=sdk.account, comments="partner")
    # comments=None is sent as JSON null, which clears the field.
    edited = present(
        policies.edit(created.id, account_id=sdk.account, comments=None, verify_sender=False)
    )
    assert (edited.comments, edited.verify_sender) == (None, False)
    assert (edited.pattern, edited.is_acceptable_sender) == ("partner.example", True)
    assert edited.created_at == created.created_at
    assert edited.modified_at is not None
    assert edited.modified_at > created.created_at


@scenario("allow_policies", "delete", "DELETE /allow_policies/{id}")
def allow_policy_delete_removes_the_policy(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    created = present(policies.create(account_id=sdk.account, **allow_post("a@example.com")))
    deleted = present(policies.delete(created.id, account_id=sdk.account))
    assert deleted.id == created.id
    with pytest.raises(cloudflare.NotFoundError):
        policies.get(created.id, account_id=sdk.account)


@scenario("allow_policies", "list", "GET /allow_policies")
def allow_policy_list_pages_through_every_policy_in_order(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    patterns = [f"user{i:02d}@example.com" for i in range(ENTRIES)]
    policies.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[allow_post(pattern) for pattern in reversed(patterns)],
    )
    listed = policies.list(account_id=sdk.account, per_page=PER_PAGE, order="pattern")
    assert [policy.pattern for policy in listed] == patterns
    assert sdk.pages("GET /allow_policies") == PAGES_READ


@scenario("allow_policies", "batch", "POST /allow_policies/batch")
def allow_policy_batch_applies_every_operation(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    gone, patched, replaced = (
        present(policies.create(account_id=sdk.account, **allow_post(f"{name}@example.com")))
        for name in ("gone", "patched", "replaced")
    )
    result = present(
        policies.batch(
            account_id=sdk.account,
            deletes=[{"id": gone.id}],
            # The SDK's patch and put entries do not declare `id`; it is sent all the same.
            patches=[{"id": patched.id, "comments": "newsletters"}],  # type: ignore[typeddict-unknown-key]
            puts=[
                {  # type: ignore[typeddict-unknown-key]
                    "id": replaced.id,
                    "pattern": "Reports@Example.com",
                    "pattern_type": "EMAIL",
                    "is_regex": False,
                    "is_acceptable_sender": True,
                    "is_exempt_recipient": False,
                    "is_trusted_sender": False,
                    "verify_sender": False,
                }
            ],
            posts=[allow_post("8.8.8.8", pattern_type="IP")],
        )
    )
    assert [entry.id for entry in result.deletes or []] == [gone.id]
    assert [(e.id, e.comments, e.pattern) for e in result.patches or []] == [
        (patched.id, "newsletters", "patched@example.com")
    ]
    assert [(e.id, e.pattern, e.verify_sender) for e in result.puts or []] == [
        (replaced.id, "Reports@example.com", False)
    ]
    posted = [(entry.pattern, entry.pattern_type) for entry in result.posts or []]
    assert posted == [("8.8.8.8", "IP")]
    remaining = {policy.pattern for policy in policies.list(account_id=sdk.account)}
    assert remaining == {"patched@example.com", "Reports@example.com", "8.8.8.8"}


@behaviour("PATCH /allow_policies/{id}")
def allow_policy_deprecated_aliases_mirror_the_new_names(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    created = present(
        policies.create(
            account_id=sdk.account,
            **allow_post("a@example.com", is_acceptable_sender=False, is_exempt_recipient=True),
        )
    )
    # is_sender = is_trusted_sender, is_spoof = is_acceptable_sender,
    # is_recipient = is_exempt_recipient: answered under both names.
    assert (created.is_sender, created.is_spoof, created.is_recipient) == (False, False, True)
    edited = present(policies.edit(created.id, account_id=sdk.account, is_spoof=True))
    assert (edited.is_acceptable_sender, edited.is_spoof) == (True, True)
    assert (edited.is_trusted_sender, edited.is_exempt_recipient) == (False, True)


@behaviour("GET /allow_policies")
def allow_policy_list_filters_by_type_flag_and_search(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    policies.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[
            allow_post("ceo@example.com"),
            allow_post("8.8.8.8", pattern_type="IP", verify_sender=False),
            allow_post("news.example", pattern_type="DOMAIN", comments="Weekly CEO letter"),
        ],
    )

    def patterns(**query: Any) -> set[str | None]:
        return {policy.pattern for policy in policies.list(account_id=sdk.account, **query)}

    assert patterns(pattern_type="IP") == {"8.8.8.8"}
    assert patterns(verify_sender=True) == {"ceo@example.com", "news.example"}
    # search is case-insensitive and looks in comments as well as patterns
    assert patterns(search="CEO") == {"ceo@example.com", "news.example"}
    assert patterns(pattern="news.example") == {"news.example"}


@behaviour("POST /allow_policies")
def allow_policy_with_a_private_ip_is_refused(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.BadRequestError, match="globally routable"):
        sdk.settings.allow_policies.create(
            account_id=sdk.account, **allow_post("10.0.0.1", pattern_type="IP")
        )


@behaviour("GET /allow_policies")
def another_accounts_settings_are_forbidden(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.PermissionDeniedError):
        list(sdk.settings.allow_policies.list(account_id="someone-else"))


# --- block senders -------------------------------------------------------------------------


@scenario("block_senders", "create", "POST /block_senders")
def block_sender_create_stores_the_normalised_pattern(sdk: Sdk) -> None:
    created = present(
        sdk.settings.block_senders.create(
            account_id=sdk.account, is_regex=False, pattern="Evil.Example.", pattern_type="DOMAIN"
        )
    )
    assert UUID.fullmatch(present(created.id))
    assert (created.pattern, created.pattern_type, created.is_regex) == (
        "evil.example",  # lower case, without the root's trailing dot
        "DOMAIN",
        False,
    )
    assert created.comments is None


@scenario("block_senders", "get", "GET /block_senders/{id}")
def block_sender_get_returns_the_stored_sender(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    created = present(
        senders.create(
            account_id=sdk.account,
            is_regex=True,
            pattern=r".*@evil\.example",
            pattern_type="EMAIL",
            comments="phishing",
        )
    )
    fetched = present(senders.get(present(created.id), account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("block_senders", "edit", "PATCH /block_senders/{id}")
def block_sender_edit_revalidates_a_changed_pattern(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    created = present(
        senders.create(
            account_id=sdk.account,
            is_regex=False,
            pattern="spam@evil.example",
            pattern_type="EMAIL",
        )
    )
    edited = present(
        senders.edit(
            present(created.id),
            account_id=sdk.account,
            pattern="2001:DB8::1",
            pattern_type="IP",
            comments="relay",
        )
    )
    assert (edited.pattern, edited.pattern_type, edited.comments) == ("2001:db8::1", "IP", "relay")


@scenario("block_senders", "delete", "DELETE /block_senders/{id}")
def block_sender_delete_removes_the_sender(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    created = present(
        senders.create(
            account_id=sdk.account,
            is_regex=False,
            pattern="spam@evil.example",
            pattern_type="EMAIL",
        )
    )
    sender_id = present(created.id)
    assert present(senders.delete(sender_id, account_id=sdk.account)).id == sender_id
    with pytest.raises(cloudflare.NotFoundError):
        senders.get(sender_id, account_id=sdk.account)


def ip_sender(last_octet: int) -> Any:
    return {"pattern": f"203.0.113.{last_octet}", "pattern_type": "IP", "is_regex": False}


@scenario("block_senders", "list", "GET /block_senders")
def block_sender_list_pages_through_every_sender_in_order(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    octets = range(100, 100 + ENTRIES)  # three digits each: text order is numeric order
    senders.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[ip_sender(octet) for octet in reversed(octets)],
    )
    listed = senders.list(account_id=sdk.account, per_page=PER_PAGE, order="pattern")
    assert [entry.pattern for entry in listed] == [f"203.0.113.{octet}" for octet in octets]
    assert sdk.pages("GET /block_senders") == PAGES_READ


@scenario("block_senders", "batch", "POST /block_senders/batch")
def block_sender_batch_applies_every_operation(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    gone, patched, replaced = (
        present(senders.create(account_id=sdk.account, **ip_sender(octet))) for octet in (1, 2, 3)
    )
    result = present(
        senders.batch(
            account_id=sdk.account,
            deletes=[{"id": present(gone.id)}],
            patches=[{"id": patched.id, "comments": "botnet"}],  # type: ignore[typeddict-unknown-key]
            puts=[
                {  # type: ignore[typeddict-unknown-key]
                    "id": replaced.id,
                    "pattern": "Spam@Evil.Example",
                    "pattern_type": "EMAIL",
                    "is_regex": False,
                }
            ],
            posts=[ip_sender(4)],
        )
    )
    assert [entry.id for entry in result.deletes or []] == [gone.id]
    assert [(e.id, e.comments) for e in result.patches or []] == [(patched.id, "botnet")]
    assert [(e.id, e.pattern) for e in result.puts or []] == [(replaced.id, "Spam@evil.example")]
    assert [entry.pattern for entry in result.posts or []] == ["203.0.113.4"]
    remaining = {entry.pattern for entry in senders.list(account_id=sdk.account)}
    assert remaining == {"203.0.113.2", "Spam@evil.example", "203.0.113.4"}


@behaviour("GET /block_senders")
def block_sender_list_filters_by_type_and_searches_ignoring_case(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    senders.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[
            ip_sender(7),
            {"pattern": "spam@evil.example", "pattern_type": "EMAIL", "is_regex": False},
        ],
    )
    by_type = senders.list(account_id=sdk.account, pattern_type="IP")
    assert [entry.pattern for entry in by_type] == ["203.0.113.7"]
    searched = senders.list(account_id=sdk.account, search="EVIL")
    assert [entry.pattern for entry in searched] == ["spam@evil.example"]


# --- trusted domains -----------------------------------------------------------------------


def trusted_post(pattern: str, **changes: Any) -> Any:
    return {
        "pattern": pattern,
        "is_regex": False,
        "is_recent": True,
        "is_similarity": False,
        **changes,
    }


@scenario("trusted_domains", "create", "POST /trusted_domains")
def trusted_domain_create_stores_the_normalised_domain(sdk: Sdk) -> None:
    created = present(
        sdk.settings.trusted_domains.create(
            account_id=sdk.account,
            is_recent=True,
            is_regex=False,
            is_similarity=False,
            pattern="Partner.Example",
            comments="supplier",
        )
    )
    assert UUID.fullmatch(present(created.id))
    assert (created.pattern, created.is_recent, created.is_similarity, created.comments) == (
        "partner.example",
        True,
        False,
        "supplier",
    )


@scenario("trusted_domains", "get", "GET /trusted_domains/{id}")
def trusted_domain_get_returns_the_stored_domain(sdk: Sdk) -> None:
    trusted = sdk.settings.trusted_domains
    created = present(
        trusted.create(
            account_id=sdk.account, **trusted_post(r".*\.partner\.example", is_regex=True)
        )
    )
    fetched = present(trusted.get(present(created.id), account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("trusted_domains", "edit", "PATCH /trusted_domains/{id}")
def trusted_domain_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    trusted = sdk.settings.trusted_domains
    created = present(trusted.create(account_id=sdk.account, **trusted_post("partner.example")))
    edited = present(trusted.edit(present(created.id), account_id=sdk.account, is_similarity=True))
    assert (edited.pattern, edited.is_recent, edited.is_similarity) == (
        "partner.example",
        True,
        True,
    )


@scenario("trusted_domains", "delete", "DELETE /trusted_domains/{id}")
def trusted_domain_delete_removes_the_domain(sdk: Sdk) -> None:
    trusted = sdk.settings.trusted_domains
    created = present(trusted.create(account_id=sdk.account, **trusted_post("partner.example")))
    domain_id = present(created.id)
    assert present(trusted.delete(domain_id, account_id=sdk.account)).id == domain_id
    with pytest.raises(cloudflare.NotFoundError):
        trusted.get(domain_id, account_id=sdk.account)


@scenario("trusted_domains", "list", "GET /trusted_domains")
def trusted_domain_list_pages_through_every_domain_in_order(sdk: Sdk) -> None:
    trusted = sdk.settings.trusted_domains
    patterns = [f"t{i:02d}.partner.example" for i in range(ENTRIES)]
    trusted.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[trusted_post(pattern) for pattern in reversed(patterns)],
    )
    listed = trusted.list(account_id=sdk.account, per_page=PER_PAGE, order="pattern")
    assert [entry.pattern for entry in listed] == patterns
    assert sdk.pages("GET /trusted_domains") == PAGES_READ


@scenario("trusted_domains", "batch", "POST /trusted_domains/batch")
def trusted_domain_batch_applies_every_operation(sdk: Sdk) -> None:
    trusted = sdk.settings.trusted_domains
    gone, patched, replaced = (
        present(trusted.create(account_id=sdk.account, **trusted_post(f"{name}.example")))
        for name in ("gone", "patched", "replaced")
    )
    result = present(
        trusted.batch(
            account_id=sdk.account,
            deletes=[{"id": present(gone.id)}],
            patches=[{"id": patched.id, "comments": "lookalike partner"}],  # type: ignore[typeddict-unknown-key]
            puts=[
                {  # type: ignore[typeddict-unknown-key]
                    "id": replaced.id,
                    "pattern": "New.Example",
                    "is_regex": False,
                    "is_recent": False,
                    "is_similarity": False,
                }
            ],
            posts=[trusted_post(r".*\.partner\.example", is_regex=True, is_similarity=True)],
        )
    )
    assert [entry.id for entry in result.deletes or []] == [gone.id]
    assert [(e.id, e.comments) for e in result.patches or []] == [(patched.id, "lookalike partner")]
    assert [(e.id, e.pattern, e.is_recent) for e in result.puts or []] == [
        (replaced.id, "new.example", False)
    ]
    assert [entry.pattern for entry in result.posts or []] == [r".*\.partner\.example"]
    remaining = {entry.pattern for entry in trusted.list(account_id=sdk.account)}
    assert remaining == {"patched.example", "new.example", r".*\.partner\.example"}


@behaviour("GET /trusted_domains")
def trusted_domain_list_filters_by_flags(sdk: Sdk) -> None:
    trusted = sdk.settings.trusted_domains
    trusted.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[
            trusted_post("young.example"),
            trusted_post("lookalike.example", is_recent=False, is_similarity=True),
        ],
    )
    similar = trusted.list(account_id=sdk.account, is_similarity=True)
    assert [entry.pattern for entry in similar] == ["lookalike.example"]
    recent = trusted.list(account_id=sdk.account, is_recent=True)
    assert [entry.pattern for entry in recent] == ["young.example"]


# --- impersonation registry ----------------------------------------------------------------


@scenario("impersonation_registry", "create", "POST /impersonation_registry")
def impersonation_create_stores_an_internal_entry(sdk: Sdk) -> None:
    created = present(
        sdk.settings.impersonation_registry.create(
            account_id=sdk.account,
            email="Ann.Lee@Ours.Example",
            is_email_regex=False,
            name="Ann Lee",
        )
    )
    assert UUID.fullmatch(present(created.id))
    assert (created.name, created.email, created.is_email_regex) == (
        "Ann Lee",
        "Ann.Lee@ours.example",
        False,
    )
    assert created.provenance == "A1S_INTERNAL"  # made here, not synced from a directory


@scenario("impersonation_registry", "get", "GET /impersonation_registry/{id}")
def impersonation_get_returns_the_stored_entry(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    created = present(
        registry.create(
            account_id=sdk.account, email="ceo@ours.example", is_email_regex=False, name="CEO"
        )
    )
    fetched = present(registry.get(present(created.id), account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("impersonation_registry", "edit", "PATCH /impersonation_registry/{id}")
def impersonation_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    created = present(
        registry.create(
            account_id=sdk.account, email="ann@ours.example", is_email_regex=False, name="Ann Lee"
        )
    )
    edited = present(
        registry.edit(
            present(created.id),
            account_id=sdk.account,
            email="ann.lee@ours.example, ann@ours.example",
        )
    )
    assert (edited.name, edited.email) == ("Ann Lee", "ann.lee@ours.example,ann@ours.example")


@scenario("impersonation_registry", "delete", "DELETE /impersonation_registry/{id}")
def impersonation_delete_removes_the_entry(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    created = present(
        registry.create(
            account_id=sdk.account, email="ceo@ours.example", is_email_regex=False, name="CEO"
        )
    )
    entry_id = present(created.id)
    assert present(registry.delete(entry_id, account_id=sdk.account)).id == entry_id
    with pytest.raises(cloudflare.NotFoundError):
        registry.get(entry_id, account_id=sdk.account)


@scenario("impersonation_registry", "list", "GET /impersonation_registry")
def impersonation_list_pages_through_every_entry_in_order(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    names = [f"Person {i:02d}" for i in range(ENTRIES)]
    for i, name in reversed(list(enumerate(names))):  # no batch here: one create each
        registry.create(
            account_id=sdk.account, email=f"p{i}@ours.example", is_email_regex=False, name=name
        )
    listed = registry.list(account_id=sdk.account, per_page=PER_PAGE, order="name")
    assert [entry.name for entry in listed] == names
    assert sdk.pages("GET /impersonation_registry") == PAGES_READ


@behaviour("GET /impersonation_registry")
def impersonation_list_filters_by_provenance_and_search(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    synced = present(
        registry.create(
            account_id=sdk.account,
            email="ann@ours.example",
            is_email_regex=False,
            name="Ann Lee",
            provenance="SNOOPY-GOOGLE_DIRECTORY",
            directory_id=7,
        )
    )
    internal = present(
        registry.create(
            account_id=sdk.account, email="bob@ours.example", is_email_regex=False, name="Bob Ray"
        )
    )
    by_source = registry.list(account_id=sdk.account, provenance="A1S_INTERNAL")
    assert [entry.id for entry in by_source] == [internal.id]
    searched = registry.list(account_id=sdk.account, search="ANN")
    assert [entry.id for entry in searched] == [synced.id]


# --- sending domain restrictions -----------------------------------------------------------


@scenario("sending_domain_restrictions", "create", "POST /sending_domain_restrictions")
def restriction_create_stores_normalised_domains(sdk: Sdk) -> None:
    created = present(
        sdk.settings.sending_domain_restrictions.create(
            account_id=sdk.account,
            domain="Bank.Example",
            exclude=["Legacy.Bank.Example", "legacy.bank.example"],
        )
    )
    assert UUID.fullmatch(present(created.id))
    # lower case, and the repeated exclude kept once
    assert (created.domain, created.exclude) == ("bank.example", ["legacy.bank.example"])


@scenario("sending_domain_restrictions", "get", "GET /sending_domain_restrictions/{id}")
def restriction_get_returns_the_stored_restriction(sdk: Sdk) -> None:
    restrictions = sdk.settings.sending_domain_restrictions
    created = present(
        restrictions.create(
            account_id=sdk.account, domain="bank.example", exclude=[], comments="regulator"
        )
    )
    fetched = present(restrictions.get(present(created.id), account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("sending_domain_restrictions", "edit", "PATCH /sending_domain_restrictions/{id}")
def restriction_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    restrictions = sdk.settings.sending_domain_restrictions
    created = present(
        restrictions.create(
            account_id=sdk.account, domain="bank.example", exclude=["legacy.bank.example"]
        )
    )
    edited = present(restrictions.edit(present(created.id), account_id=sdk.account, exclude=[]))
    assert (edited.domain, edited.exclude) == ("bank.example", [])


@scenario("sending_domain_restrictions", "delete", "DELETE /sending_domain_restrictions/{id}")
def restriction_delete_removes_the_restriction(sdk: Sdk) -> None:
    restrictions = sdk.settings.sending_domain_restrictions
    created = present(
        restrictions.create(account_id=sdk.account, domain="bank.example", exclude=[])
    )
    restriction_id = present(created.id)
    assert present(restrictions.delete(restriction_id, account_id=sdk.account)).id == restriction_id
    with pytest.raises(cloudflare.NotFoundError):
        restrictions.get(restriction_id, account_id=sdk.account)


@scenario("sending_domain_restrictions", "list", "GET /sending_domain_restrictions")
def restriction_list_pages_through_every_restriction_in_descending_order(sdk: Sdk) -> None:
    restrictions = sdk.settings.sending_domain_restrictions
    domains = [f"r{i:02d}.example" for i in range(ENTRIES)]
    for domain in domains:  # no batch in the SDK here: one create each
        restrictions.create(account_id=sdk.account, domain=domain, exclude=[])
    listed = restrictions.list(
        account_id=sdk.account, per_page=PER_PAGE, order="domain", direction="desc"
    )
    assert [entry.domain for entry in listed] == domains[::-1]
    assert sdk.pages("GET /sending_domain_restrictions") == PAGES_READ


# --- domains -------------------------------------------------------------------------------


def domain_post(name: str, **changes: Any) -> Any:
    return {
        "domain": name,
        "allowed_delivery_modes": ["DIRECT"],
        "drop_dispositions": ["MALICIOUS", "SPAM"],
        "ip_restrictions": [],
        "regions": ["GLOBAL"],
        **changes,
    }


@scenario("domains", "create", "POST /domains")
def domain_create_stores_a_normalised_active_domain(sdk: Sdk) -> None:
    created = present(
        sdk.settings.domains.create(
            account_id=sdk.account,
            domain="Ours.Example",
            allowed_delivery_modes=["DIRECT", "BCC"],
            drop_dispositions=["SPAM", "SPAM"],
            ip_restrictions=["198.51.100.7/24"],
            regions=["GLOBAL"],
            lookback_hops=2,
        )
    )
    assert UUID.fullmatch(present(created.id))
    assert created.domain == "ours.example"
    assert created.drop_dispositions == ["SPAM"]  # repeats kept once
    assert created.ip_restrictions == ["198.51.100.0/24"]  # host bits cleared
    assert (created.lookback_hops, created.require_tls_inbound, created.status) == (
        2,
        False,
        "ACTIVE",
    )


@scenario("domains", "get", "GET /domains/{id}")
def domain_get_returns_the_stored_domain(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    created = present(
        domains.create(
            account_id=sdk.account, **domain_post("ours.example", transport="mx.ours.example")
        )
    )
    fetched = present(domains.get(present(created.id), account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("domains", "edit", "PATCH /domains/{id}")
def domain_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    created = present(domains.create(account_id=sdk.account, **domain_post("ours.example")))
    edited = present(
        domains.edit(present(created.id), account_id=sdk.account, require_tls_inbound=True)
    )
    assert edited.require_tls_inbound is True
    assert (edited.domain, edited.allowed_delivery_modes, edited.drop_dispositions) == (
        "ours.example",
        ["DIRECT"],
        ["MALICIOUS", "SPAM"],
    )


@scenario("domains", "update", "PUT /domains/{id}")
def domain_update_replaces_the_whole_domain(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    created = present(
        domains.create(
            account_id=sdk.account,
            **domain_post("ours.example", require_tls_inbound=True, lookback_hops=5),
        )
    )
    # `update` is the SDK's PUT: what it leaves out returns to its default.
    replaced = present(
        domains.update(
            present(created.id),
            account_id=sdk.account,
            allowed_delivery_modes=["BCC"],
            drop_dispositions=[],
            ip_restrictions=["198.51.100.0/24"],
            regions=["US"],
        )
    )
    assert (replaced.domain, replaced.allowed_delivery_modes, replaced.regions) == (
        "ours.example",
        ["BCC"],
        ["US"],
    )
    assert (replaced.ip_restrictions, replaced.drop_dispositions) == (["198.51.100.0/24"], [])
    assert (replaced.require_tls_inbound, replaced.lookback_hops) == (False, 1)


@scenario("domains", "delete", "DELETE /domains/{id}")
def domain_delete_removes_the_domain(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    created = present(domains.create(account_id=sdk.account, **domain_post("ours.example")))
    domain_id = present(created.id)
    assert present(domains.delete(domain_id, account_id=sdk.account)).id == domain_id
    with pytest.raises(cloudflare.NotFoundError):
        domains.get(domain_id, account_id=sdk.account)


@scenario("domains", "list", "GET /domains")
def domain_list_pages_through_every_domain_in_order(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    names = [f"d{i:02d}.example" for i in range(ENTRIES)]
    domains.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[domain_post(name) for name in reversed(names)],
    )
    listed = domains.list(account_id=sdk.account, per_page=PER_PAGE, order="domain")
    assert [entry.domain for entry in listed] == names
    assert sdk.pages("GET /domains") == PAGES_READ


@scenario("domains", "batch", "POST /domains/batch")
def domain_batch_applies_every_operation(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    gone, patched, replaced = (
        present(domains.create(account_id=sdk.account, **domain_post(f"{name}.example")))
        for name in ("gone", "patched", "replaced")
    )
    result = present(
        domains.batch(
            account_id=sdk.account,
            deletes=[{"id": present(gone.id)}],
            patches=[{"id": present(patched.id), "require_tls_outbound": True}],
            puts=[
                {
                    "id": present(replaced.id),
                    "allowed_delivery_modes": ["JOURNAL"],
                    "drop_dispositions": [],
                    "ip_restrictions": [],
                    "regions": ["DE"],
                }
            ],
            posts=[domain_post("New.Example")],
        )
    )
    assert [entry.id for entry in result.deletes] == [gone.id]
    assert [(e.id, e.require_tls_outbound) for e in result.patches] == [(patched.id, True)]
    assert [(e.id, e.allowed_delivery_modes, e.regions) for e in result.puts] == [
        (replaced.id, ["JOURNAL"], ["DE"])
    ]
    assert [entry.domain for entry in result.posts] == ["new.example"]
    remaining = {entry.domain for entry in domains.list(account_id=sdk.account)}
    assert remaining == {"patched.example", "replaced.example", "new.example"}


@scenario("domains", "bulk_delete", "DELETE /domains")
def domain_bulk_delete_with_a_body_of_ids_unprotects_those_domains(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    kept, first, second = (
        present(domains.create(account_id=sdk.account, **domain_post(f"{name}.example")))
        for name in ("kept", "first", "second")
    )
    # The SDK method takes no ids; the endpoint's body, a bare array of {id}, goes in
    # extra_body.
    with pytest.warns(DeprecationWarning, match="deprecated"):
        unprotected = domains.bulk_delete(
            account_id=sdk.account,
            extra_body=[{"id": first.id}, {"id": second.id}],
        )
    assert sorted(present(entry.id) for entry in unprotected) == sorted(
        [present(first.id), present(second.id)]
    )
    assert [entry.id for entry in domains.list(account_id=sdk.account)] == [kept.id]


@behaviour("DELETE /domains")
def domain_bulk_delete_as_the_sdk_sends_it_is_refused(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    created = present(domains.create(account_id=sdk.account, **domain_post("ours.example")))
    # Without extra_body the SDK sends no body, so there is nothing to delete.
    with (
        pytest.warns(DeprecationWarning, match="deprecated"),
        pytest.raises(cloudflare.BadRequestError),
    ):
        domains.bulk_delete(account_id=sdk.account)
    assert [entry.id for entry in domains.list(account_id=sdk.account)] == [created.id]


@behaviour("POST /domains")
def domain_that_is_already_protected_conflicts(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    domains.create(account_id=sdk.account, **domain_post("ours.example"))
    with pytest.raises(cloudflare.ConflictError):
        domains.create(account_id=sdk.account, **domain_post("OURS.example"))


@behaviour("GET /domains")
def domain_list_filters_by_delivery_mode_and_names(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    domains.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[
            domain_post("a.example"),
            domain_post("b.example", allowed_delivery_modes=["BCC", "DIRECT"]),
            domain_post("c.example"),
        ],
    )
    bcc = domains.list(account_id=sdk.account, allowed_delivery_mode="BCC")
    assert [entry.domain for entry in bcc] == ["b.example"]
    # the SDK repeats the key: domain=A.example&domain=c.example
    named = domains.list(account_id=sdk.account, domain=["A.example", "c.example"], order="domain")
    assert [entry.domain for entry in named] == ["a.example", "c.example"]


# --- content policies ----------------------------------------------------------------------


def content_post(name: str, **changes: Any) -> Any:
    return {
        "name": name,
        "pattern": r"invoice\s+#\d+",
        "targets": ["SUBJECT"],
        "enabled": True,
        **changes,
    }


@scenario("content_policies", "create", "POST /content_policies")
def content_policy_create_stores_the_policy(sdk: Sdk) -> None:
    created = present(
        sdk.settings.content_policies.create(
            account_id=sdk.account,
            enabled=True,
            name="Invoice fraud",
            pattern=r"wire\s+transfer\s+urgent",
            targets=["SUBJECT", "BODY"],
            notes="seen in BEC campaigns",
        )
    )
    assert UUID.fullmatch(present(created.id))
    assert (created.name, created.pattern, created.targets) == (
        "Invoice fraud",
        r"wire\s+transfer\s+urgent",  # a regex is stored as written
        ["SUBJECT", "BODY"],
    )
    assert (created.enabled, created.notes) == (True, "seen in BEC campaigns")
    assert created.modified_at == created.created_at


@scenario("content_policies", "get", "GET /content_policies/{id}")
def content_policy_get_returns_the_stored_policy(sdk: Sdk) -> None:
    policies = sdk.settings.content_policies
    created = present(policies.create(account_id=sdk.account, **content_post("Invoices")))
    fetched = present(policies.get(present(created.id), account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("content_policies", "edit", "PATCH /content_policies/{id}")
def content_policy_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    policies = sdk.settings.content_policies
    created = present(
        policies.create(account_id=sdk.account, **content_post("Invoices", notes="draft"))
    )
    edited = present(
        policies.edit(
            present(created.id), account_id=sdk.account, enabled=False, notes=None, targets=["BODY"]
        )
    )
    assert (edited.enabled, edited.notes, edited.targets) == (False, None, ["BODY"])
    assert (edited.name, edited.pattern) == ("Invoices", r"invoice\s+#\d+")


@scenario("content_policies", "delete", "DELETE /content_policies/{id}")
def content_policy_delete_removes_the_policy(sdk: Sdk) -> None:
    policies = sdk.settings.content_policies
    created = present(policies.create(account_id=sdk.account, **content_post("Invoices")))
    policy_id = present(created.id)
    assert present(policies.delete(policy_id, account_id=sdk.account)).id == policy_id
    with pytest.raises(cloudflare.NotFoundError):
        policies.get(policy_id, account_id=sdk.account)


@scenario("content_policies", "list", "GET /content_policies")
def content_policy_list_pages_through_every_policy_in_order(sdk: Sdk) -> None:
    policies = sdk.settings.content_policies
    names = [f"Policy {i:02d}" for i in range(ENTRIES)]
    policies.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[content_post(name) for name in reversed(names)],
    )
    listed = policies.list(account_id=sdk.account, per_page=PER_PAGE, order="name")
    assert [entry.name for entry in listed] == names
    assert sdk.pages("GET /content_policies") == PAGES_READ


@scenario("content_policies", "batch", "POST /content_policies/batch")
def content_policy_batch_applies_every_operation(sdk: Sdk) -> None:
    policies = sdk.settings.content_policies
    gone, patched, replaced = (
        present(policies.create(account_id=sdk.account, **content_post(name)))
        for name in ("Gone", "Patched", "Replaced")
    )
    result = present(
        policies.batch(
            account_id=sdk.account,
            deletes=[{"id": present(gone.id)}],
            patches=[{"id": patched.id, "enabled": False}],  # type: ignore[typeddict-unknown-key]
            puts=[
                {  # type: ignore[typeddict-unknown-key]
                    "id": replaced.id,
                    "name": "Renamed",
                    "pattern": "gift cards?",
                    "targets": ["SUBJECT"],
                    "enabled": True,
                }
            ],
            posts=[content_post("New", targets=["BODY"])],
        )
    )
    assert [entry.id for entry in result.deletes or []] == [gone.id]
    assert [(e.id, e.enabled, e.name) for e in result.patches or []] == [
        (patched.id, False, "Patched")
    ]
    assert [(e.id, e.name, e.pattern) for e in result.puts or []] == [
        (replaced.id, "Renamed", "gift cards?")
    ]
    assert [(e.name, e.targets) for e in result.posts or []] == [("New", ["BODY"])]
    remaining = {entry.name for entry in policies.list(account_id=sdk.account)}
    assert remaining == {"Patched", "Renamed", "New"}


def store_three_content_policies(sdk: Sdk) -> None:
    sdk.settings.content_policies.batch(
        account_id=sdk.account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[
            content_post("Gift cards", pattern="gift cards?"),
            content_post("Invoices", enabled=False, notes="finance asked"),
            content_post("Wire transfers", pattern=r"wire\s+transfer", notes="BEC"),
        ],
    )


def content_names(sdk: Sdk, **query: Any) -> list[str | None]:
    listed = sdk.settings.content_policies.list(account_id=sdk.account, **query)
    return [entry.name for entry in listed]


@behaviour("GET /content_policies")
def content_policy_list_filters_by_enabled(sdk: Sdk) -> None:
    store_three_content_policies(sdk)
    assert content_names(sdk, enabled=False) == ["Invoices"]
    assert content_names(sdk, enabled=True, order="name") == ["Gift cards", "Wire transfers"]


@behaviour("GET /content_policies")
def content_policy_list_filters_by_exact_name(sdk: Sdk) -> None:
    store_three_content_policies(sdk)
    assert content_names(sdk, name="Invoices") == ["Invoices"]
    assert content_names(sdk, name="Invoice") == []


@behaviour("GET /content_policies")
def content_policy_search_looks_in_name_pattern_and_notes(sdk: Sdk) -> None:
    store_three_content_policies(sdk)
    assert content_names(sdk, search="GIFT") == ["Gift cards"]  # name and pattern
    assert content_names(sdk, search="transfer") == ["Wire transfers"]
    assert content_names(sdk, search="finance") == ["Invoices"]  # notes


@behaviour("GET /content_policies")
def content_policy_list_sorts_by_name_descending(sdk: Sdk) -> None:
    store_three_content_policies(sdk)
    assert content_names(sdk, order="name", direction="desc") == [
        "Wire transfers",
        "Invoices",
        "Gift cards",
    ]


@behaviour("POST /content_policies")
def content_policy_with_a_pattern_re2_cannot_compile_is_refused(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.BadRequestError, match="RE2"):
        sdk.settings.content_policies.create(
            account_id=sdk.account, **content_post("Lookahead", pattern="invoice(?=#)")
        )


# --- URL ignore patterns -------------------------------------------------------------------


@scenario("url_ignore_patterns", "create", "POST /url_ignore_patterns")
def url_ignore_pattern_create_stores_the_pattern(sdk: Sdk) -> None:
    created = present(
        sdk.settings.url_ignore_patterns.create(
            account_id=sdk.account, pattern=r"https://intranet\.example/.*", comments="our wiki"
        )
    )
    assert UUID.fullmatch(created.id)
    assert (created.pattern, created.comments) == (r"https://intranet\.example/.*", "our wiki")
    assert created.modified_at == created.created_at


@scenario("url_ignore_patterns", "get", "GET /url_ignore_patterns/{id}")
def url_ignore_pattern_get_returns_the_stored_pattern(sdk: Sdk) -> None:
    patterns = sdk.settings.url_ignore_patterns
    created = present(patterns.create(account_id=sdk.account, pattern=r"https://cdn\.example/.*"))
    fetched = present(patterns.get(created.id, account_id=sdk.account))
    assert fetched.model_dump() == created.model_dump()


@scenario("url_ignore_patterns", "edit", "PATCH /url_ignore_patterns/{id}")
def url_ignore_pattern_edit_changes_only_the_sent_fields(sdk: Sdk) -> None:
    patterns = sdk.settings.url_ignore_patterns
    created = present(
        patterns.create(account_id=sdk.account, pattern=r"https://cdn\.example/.*", comments="cdn")
    )
    edited = present(
        patterns.edit(created.id, account_id=sdk.account, pattern=r"https://static\.example/.*")
    )
    assert (edited.pattern, edited.comments) == (r"https://static\.example/.*", "cdn")


@scenario("url_ignore_patterns", "delete", "DELETE /url_ignore_patterns/{id}")
def url_ignore_pattern_delete_removes_the_pattern(sdk: Sdk) -> None:
    patterns = sdk.settings.url_ignore_patterns
    created = present(patterns.create(account_id=sdk.account, pattern=r"https://cdn\.example/.*"))
    assert present(patterns.delete(created.id, account_id=sdk.account)).id == created.id
    with pytest.raises(cloudflare.NotFoundError):
        patterns.get(created.id, account_id=sdk.account)


@scenario("url_ignore_patterns", "list", "GET /url_ignore_patterns")
def url_ignore_pattern_list_pages_through_every_pattern_oldest_first(sdk: Sdk) -> None:
    patterns = sdk.settings.url_ignore_patterns
    ids = [
        present(patterns.create(account_id=sdk.account, pattern=rf"https://s{i}\.example/.*")).id
        for i in range(ENTRIES)
    ]
    # The SDK offers no order here; the server's default is creation order.
    assert [entry.id for entry in patterns.list(account_id=sdk.account, per_page=PER_PAGE)] == ids
    assert sdk.pages("GET /url_ignore_patterns") == PAGES_READ


@behaviour("PATCH /url_ignore_patterns/{id}")
def url_ignore_pattern_edit_to_a_pattern_re2_cannot_compile_is_refused(sdk: Sdk) -> None:
    patterns = sdk.settings.url_ignore_patterns
    created = present(patterns.create(account_id=sdk.account, pattern=r"https://cdn\.example/.*"))
    with pytest.raises(cloudflare.BadRequestError, match="RE2"):
        patterns.edit(created.id, account_id=sdk.account, pattern=r"https://(cdn\.example/.*")
    assert present(patterns.get(created.id, account_id=sdk.account)).pattern == created.pattern


@behaviour("GET /allow_policies/{id}")
def missing_entry_is_not_found(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.NotFoundError):
        sdk.settings.allow_policies.get(MISSING_ID, account_id=sdk.account)


# --- tests ---------------------------------------------------------------------------------


def run(scenario: Scenario, live_server: LiveServer, *, use_async: bool) -> None:
    with connect(live_server, use_async=use_async) as sdk:
        scenario.run(sdk)
    assert scenario.call in sdk.calls(), f"{scenario.call} was never sent: {sdk.calls()}"


@pytest.mark.parametrize(
    ("resource_class", "method"),
    SDK_METHODS,
    ids=[f"{cls.__name__}.{method}" for cls, method in SDK_METHODS],
)
def test_sdk_method_works(
    resource_class: ResourceClass, method: str, live_server: LiveServer
) -> None:
    found = METHOD_SCENARIOS.get((group_of(resource_class), method))
    if found is None:
        pytest.fail(
            f"{resource_class.__name__}.{method} has no scenario: "
            f"add one for ({group_of(resource_class)!r}, {method!r})"
        )
    run(found, live_server, use_async=issubclass(resource_class, AsyncAPIResource))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_sdk_behaviour(name: str, use_async: bool, live_server: LiveServer) -> None:
    run(BEHAVIOURS[name], live_server, use_async=use_async)


def test_every_scenario_is_for_a_method_the_sdk_has() -> None:
    offered = {(group_of(cls), method) for cls, method in SDK_METHODS}
    unknown = sorted(set(METHOD_SCENARIOS) - offered)
    if unknown:
        pytest.fail(f"scenarios for methods the SDK does not have: {unknown}")


def test_sync_and_async_clients_offer_the_same_methods_for_every_served_group() -> None:
    sync = {(group_of(c), m) for c, m in SDK_METHODS if issubclass(c, SyncAPIResource)}
    async_ = {(group_of(c), m) for c, m in SDK_METHODS if issubclass(c, AsyncAPIResource)}
    assert sync == async_
    assert {group for group, _ in sync} == {resource.name for resource in RESOURCES}
