"""The official `cloudflare` Python SDK, unchanged, against a live server: every method.

The methods are read from the installed SDK, sync and async alike, so an SDK upgrade that
adds one fails here until it has a scenario. What every group's methods do is written once
and run from the group's case (tests/resources/cases.py); what only one group does follows.
Each scenario is written against the sync client; the async client runs it through
`AsyncDriver`.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
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
from tests import factories
from tests.resources.cases import CASES, ResourceCase
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

# --- what every group's methods do, written once and run from its case -------------------
# The cases (tests/resources/cases.py) are the shared HTTP suite's: bodies already in their
# stored form, a change, a replacement, a filter. What only one group does comes after.

CASE_OF = {case.name: case for case in CASES}
SYNC_CLASS_OF: dict[str, Any] = {
    group_of(cls): cls for cls, _ in SDK_METHODS if issubclass(cls, SyncAPIResource)
}


def group(sdk: Sdk, case: ResourceCase) -> Any:
    return getattr(sdk.settings, case.name)


def fields(entry: Any, names: Iterable[str]) -> dict[str, Any]:
    dumped = entry.model_dump()
    return {name: dumped[name] for name in names}


def list_arguments(case: ResourceCase, **query: Any) -> dict[str, Any]:
    """Query values as the SDK's `list` takes them: its own keywords where it has them (with
    booleans where a filter's text is "true"), the rest in extra_query."""
    accepted = inspect.signature(SYNC_CLASS_OF[case.name].list).parameters
    booleans = {"true": True, "false": False}
    keywords = {k: booleans.get(v, v) for k, v in query.items() if k in accepted}
    extra = {k: v for k, v in query.items() if k not in accepted}
    return {**keywords, "extra_query": extra} if extra else keywords


def create_echoes_what_was_sent(sdk: Sdk, case: ResourceCase) -> None:
    body = case.body(0)
    created = present(group(sdk, case).create(account_id=sdk.account, **body))
    assert UUID.fullmatch(present(created.id))
    assert fields(created, body) == body


def get_returns_the_stored_entry(sdk: Sdk, case: ResourceCase) -> None:
    api = group(sdk, case)
    created = present(api.create(account_id=sdk.account, **case.body(0)))
    assert present(api.get(created.id, account_id=sdk.account)).model_dump() == created.model_dump()


def edit_changes_only_the_fields_sent(sdk: Sdk, case: ResourceCase) -> None:
    api = group(sdk, case)
    created = present(api.create(account_id=sdk.account, **case.body(0)))
    edited = present(api.edit(created.id, account_id=sdk.account, **case.change))
    assert fields(edited, case.change) == case.change
    kept = [name for name in case.body(0) if name not in case.change]
    assert fields(edited, kept) == fields(created, kept)


def delete_removes_the_entry(sdk: Sdk, case: ResourceCase) -> None:
    api = group(sdk, case)
    created = present(api.create(account_id=sdk.account, **case.body(0)))
    assert present(api.delete(created.id, account_id=sdk.account)).id == created.id
    with pytest.raises(cloudflare.NotFoundError):
        api.get(created.id, account_id=sdk.account)


def list_pages_through_every_entry_in_order_and_filters(sdk: Sdk, case: ResourceCase) -> None:
    api = group(sdk, case)
    made = [api.create(account_id=sdk.account, **case.body(n)) for n in range(ENTRIES)][::-1]
    ordered = [present(entry).id for entry in reversed(made)]  # bodies sort in the order of n
    order = next(iter(case.resource.sorts))
    listed = api.list(
        account_id=sdk.account, **list_arguments(case, order=order, per_page=PER_PAGE)
    )
    assert [entry.id for entry in listed] == ordered
    assert sdk.pages(f"GET /{case.name}") == PAGES_READ
    backwards = api.list(
        account_id=sdk.account, **list_arguments(case, order=order, direction="desc")
    )
    assert [entry.id for entry in backwards] == ordered[::-1]
    if case.filter is not None:
        query, selected = case.filter
        chosen = [present(api.create(account_id=sdk.account, **selected(n))).id for n in (20, 21)]
        filtered = api.list(account_id=sdk.account, **list_arguments(case, **query))
        assert [entry.id for entry in filtered] == chosen


def batch_applies_every_operation(sdk: Sdk, case: ResourceCase) -> None:
    api = group(sdk, case)
    gone, patched, replaced = (
        present(api.create(account_id=sdk.account, **case.body(n))) for n in (0, 1, 2)
    )
    put, post = case.put_body(3), case.body(4)
    operations = {
        "deletes": [{"id": gone.id}],
        "patches": [{"id": patched.id, **case.change}],
        "puts": [{"id": replaced.id, **put}],
        "posts": [post],
    }
    result = present(
        api.batch(
            account_id=sdk.account,
            **{name: operations[name] for name in case.resource.batch_operations},
        )
    )
    expected = {
        "deletes": ([gone.id], lambda entry: entry.id),
        "patches": ([(patched.id, case.change)], lambda e: (e.id, fields(e, case.change))),
        "puts": ([(replaced.id, put)], lambda e: (e.id, fields(e, put))),
        "posts": ([post], lambda e: fields(e, post)),
    }
    for name in case.resource.batch_operations:
        wanted, seen = expected[name]
        assert [seen(entry) for entry in getattr(result, name)] == wanted, name
    remaining = {entry.id for entry in api.list(account_id=sdk.account)}
    posted = {entry.id for entry in getattr(result, "posts", None) or []}
    assert remaining == {patched.id, replaced.id} | posted | (
        set() if "deletes" in case.resource.batch_operations else {gone.id}
    )


GENERIC_SCENARIOS: dict[str, tuple[Callable[[Sdk, ResourceCase], None], str]] = {
    "create": (create_echoes_what_was_sent, "POST /{group}"),
    "get": (get_returns_the_stored_entry, "GET /{group}/{{id}}"),
    "edit": (edit_changes_only_the_fields_sent, "PATCH /{group}/{{id}}"),
    "delete": (delete_removes_the_entry, "DELETE /{group}/{{id}}"),
    "list": (list_pages_through_every_entry_in_order_and_filters, "GET /{group}"),
    "batch": (batch_applies_every_operation, "POST /{group}/batch"),
}


def bound(run: Callable[[Sdk, ResourceCase], None], case: ResourceCase) -> ScenarioFunction:
    return lambda sdk: run(sdk, case)


def generic_scenarios() -> dict[tuple[str, str], Scenario]:
    """A scenario for each method of a served group that every group's SDK object has."""
    found = {}
    for cls, method in SDK_METHODS:
        group_name = group_of(cls)
        if method in GENERIC_SCENARIOS and group_name in CASE_OF:
            run, call = GENERIC_SCENARIOS[method]
            found[(group_name, method)] = Scenario(
                bound(run, CASE_OF[group_name]), call.format(group=group_name)
            )
    return found


METHOD_SCENARIOS.update(generic_scenarios())


# --- what only one group does --------------------------------------------------------------

# What a group's create turns into its stored form: (values sent over the case's body,
# values stored).
STORED_FORMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # the domain lower-cased, the local part kept
    "allow_policies": ({"pattern": "Alerts@Example.COM"}, {"pattern": "Alerts@example.com"}),
    "block_senders": (
        {"pattern": "Evil.Example.", "pattern_type": "DOMAIN"},
        {"pattern": "evil.example"},  # without the root's trailing dot
    ),
    "trusted_domains": ({"pattern": "Partner.Example"}, {"pattern": "partner.example"}),
    "impersonation_registry": (
        {"email": "Ann.Lee@Ours.Example"},
        # made here, not synced from a directory
        {"email": "Ann.Lee@ours.example", "provenance": "A1S_INTERNAL"},
    ),
    "sending_domain_restrictions": (
        {"domain": "Bank.Example", "exclude": ["Legacy.Bank.Example", "legacy.bank.example"]},
        {"domain": "bank.example", "exclude": ["legacy.bank.example"]},  # repeats kept once
    ),
    "domains": (
        {
            "domain": "Ours.Example",
            "drop_dispositions": ["SPAM", "SPAM"],
            "ip_restrictions": ["198.51.100.7/24"],
        },
        {
            "domain": "ours.example",
            "drop_dispositions": ["SPAM"],
            "ip_restrictions": ["198.51.100.0/24"],  # host bits cleared
            "require_tls_inbound": False,
            "status": "ACTIVE",
        },
    ),
}


def create_stores_the_normal_form(sdk: Sdk, case: ResourceCase) -> None:
    sent, stored = STORED_FORMS[case.name]
    body = {**case.body(0), **sent}
    created = present(group(sdk, case).create(account_id=sdk.account, **body))
    assert fields(created, stored) == stored


BEHAVIOURS.update(
    {
        f"{name}_create_stores_the_normal_form": Scenario(
            bound(create_stores_the_normal_form, CASE_OF[name]), f"POST /{name}"
        )
        for name in STORED_FORMS
    }
)


@behaviour("PATCH /allow_policies/{id}")
def allow_policy_deprecated_aliases_mirror_the_new_names(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    created = present(
        policies.create(
            account_id=sdk.account,
            **factories.allow_policy(
                is_trusted_sender=False, is_acceptable_sender=False, is_exempt_recipient=True
            ),
        )
    )
    # is_sender = is_trusted_sender, is_spoof = is_acceptable_sender,
    # is_recipient = is_exempt_recipient: answered under both names.
    assert (created.is_sender, created.is_spoof, created.is_recipient) == (False, False, True)
    edited = present(policies.edit(created.id, account_id=sdk.account, is_spoof=True))
    assert (edited.is_acceptable_sender, edited.is_spoof) == (True, True)
    assert (edited.is_trusted_sender, edited.is_exempt_recipient) == (False, True)


@behaviour("GET /allow_policies")
def allow_policy_list_filters_by_type_flag_pattern_and_search(sdk: Sdk) -> None:
    policies = sdk.settings.allow_policies
    for body in (
        factories.allow_policy(pattern="ceo@example.com"),
        factories.allow_policy(pattern="8.8.8.8", pattern_type="IP", verify_sender=False),
        factories.allow_policy(
            pattern="news.example", pattern_type="DOMAIN", comments="Weekly CEO letter"
        ),
    ):
        policies.create(account_id=sdk.account, **body)

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
            account_id=sdk.account, **factories.allow_policy(pattern="10.0.0.1", pattern_type="IP")
        )


@behaviour("GET /allow_policies")
def another_accounts_settings_are_forbidden(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.PermissionDeniedError):
        list(sdk.settings.allow_policies.list(account_id="someone-else"))


@behaviour("GET /allow_policies/{id}")
def missing_entry_is_not_found(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.NotFoundError):
        sdk.settings.allow_policies.get(MISSING_ID, account_id=sdk.account)


@behaviour("PATCH /block_senders/{id}")
def block_sender_edit_revalidates_a_changed_pattern(sdk: Sdk) -> None:
    senders = sdk.settings.block_senders
    created = present(senders.create(account_id=sdk.account, **factories.blocked_sender()))
    edited = present(
        senders.edit(
            present(created.id), account_id=sdk.account, pattern="2001:DB8::1", pattern_type="IP"
        )
    )
    assert (edited.pattern, edited.pattern_type) == ("2001:db8::1", "IP")


@behaviour("PATCH /impersonation_registry/{id}")
def impersonation_edit_normalises_a_list_of_addresses(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    created = present(registry.create(account_id=sdk.account, **factories.impersonation_entry()))
    edited = present(
        registry.edit(
            present(created.id),
            account_id=sdk.account,
            email="ann.lee@ours.example, ann@ours.example",
        )
    )
    assert edited.email == "ann.lee@ours.example,ann@ours.example"


@behaviour("GET /impersonation_registry")
def impersonation_search_looks_in_names(sdk: Sdk) -> None:
    registry = sdk.settings.impersonation_registry
    ann = present(
        registry.create(account_id=sdk.account, **factories.impersonation_entry(name="Ann Lee"))
    )
    registry.create(
        account_id=sdk.account,
        **factories.impersonation_entry(name="Bob Ray", email="bob@ours.example"),
    )
    assert [entry.id for entry in registry.list(account_id=sdk.account, search="ANN")] == [ann.id]


@scenario("domains", "update", "PUT /domains/{id}")
def domain_update_replaces_the_whole_domain(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    created = present(
        domains.create(
            account_id=sdk.account,
            **factories.protected_domain("ours.example", require_tls_inbound=True, lookback_hops=5),
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


def three_domains(sdk: Sdk) -> list[Any]:
    return [
        present(
            sdk.settings.domains.create(
                account_id=sdk.account, **factories.protected_domain(f"{name}.example")
            )
        )
        for name in ("kept", "first", "second")
    ]


@scenario("domains", "bulk_delete", "DELETE /domains")
def domain_bulk_delete_with_a_body_of_ids_unprotects_those_domains(sdk: Sdk) -> None:
    kept, first, second = three_domains(sdk)
    # The SDK method takes no ids; the endpoint's body, a bare array of {id}, goes in
    # extra_body.
    with pytest.warns(DeprecationWarning, match="deprecated"):
        unprotected = sdk.settings.domains.bulk_delete(
            account_id=sdk.account, extra_body=[{"id": first.id}, {"id": second.id}]
        )
    assert sorted(present(entry.id) for entry in unprotected) == sorted([first.id, second.id])
    assert [entry.id for entry in sdk.settings.domains.list(account_id=sdk.account)] == [kept.id]


@behaviour("DELETE /domains")
def domain_bulk_delete_as_the_sdk_sends_it_is_refused(sdk: Sdk) -> None:
    created = three_domains(sdk)
    # Without extra_body the SDK sends no body, so there is nothing to delete.
    with (
        pytest.warns(DeprecationWarning, match="deprecated"),
        pytest.raises(cloudflare.BadRequestError),
    ):
        sdk.settings.domains.bulk_delete(account_id=sdk.account)
    listed = sdk.settings.domains.list(account_id=sdk.account)
    assert [entry.id for entry in listed] == [entry.id for entry in created]


@behaviour("POST /domains")
def domain_that_is_already_protected_conflicts(sdk: Sdk) -> None:
    domains = sdk.settings.domains
    domains.create(account_id=sdk.account, **factories.protected_domain("ours.example"))
    with pytest.raises(cloudflare.ConflictError):
        domains.create(account_id=sdk.account, **factories.protected_domain("OURS.example"))


@behaviour("GET /domains")
def domain_list_takes_several_names(sdk: Sdk) -> None:
    three_domains(sdk)
    # the SDK repeats the key: domain=First.example&domain=second.example
    named = sdk.settings.domains.list(
        account_id=sdk.account, domain=["First.example", "second.example"], order="domain"
    )
    assert [entry.domain for entry in named] == ["first.example", "second.example"]


@behaviour("GET /content_policies")
def content_policy_list_finds_an_exact_name_and_searches_notes(sdk: Sdk) -> None:
    policies = sdk.settings.content_policies
    for name, notes in (("Invoices", "finance asked"), ("Invoices overdue", None)):
        policies.create(account_id=sdk.account, **factories.content_policy(name=name, notes=notes))

    def names(**query: Any) -> list[str | None]:
        return [entry.name for entry in policies.list(account_id=sdk.account, **query)]

    assert names(name="Invoices") == ["Invoices"]
    assert names(name="Invoice") == []
    assert names(search="FINANCE") == ["Invoices"]


@behaviour("POST /content_policies")
def content_policy_with_a_pattern_re2_cannot_compile_is_refused(sdk: Sdk) -> None:
    with pytest.raises(cloudflare.BadRequestError, match="RE2"):
        sdk.settings.content_policies.create(
            account_id=sdk.account, **factories.content_policy(pattern="invoice(?=#)")
        )


@behaviour("PATCH /url_ignore_patterns/{id}")
def url_ignore_pattern_edit_to_a_pattern_re2_cannot_compile_is_refused(sdk: Sdk) -> None:
    patterns = sdk.settings.url_ignore_patterns
    created = present(patterns.create(account_id=sdk.account, **factories.url_ignore_pattern()))
    with pytest.raises(cloudflare.BadRequestError, match="RE2"):
        patterns.edit(created.id, account_id=sdk.account, pattern=r"https://(cdn\.example/.*")
    assert present(patterns.get(created.id, account_id=sdk.account)).pattern == created.pattern


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
