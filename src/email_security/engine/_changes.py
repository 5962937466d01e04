"""apply_changes: compiled settings changed at the cost of the change, not of the account.

A full compile_settings of a big account takes seconds. apply_changes instead keeps the
compiled settings' big indexes as they are (immutable, shared) and layers over them a small
index of the entries created or updated since, hiding the base's entries removed, replaced
or expired by id; applied again, it merges into that delta (the base stays). The small
groups are compiled again whole when one of their entries changes. Look-ups answer exactly
what the look-ups of settings compiled afresh would, in the same order (_index.LayeredIndex).

Plain Python: it runs once per write, and what it calls (indexing the delta) is compiled.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from email_security.engine._compile import CompiledSettings, in_force, layered
from email_security.engine._model import Settings

__all__ = ["apply_changes"]

# The groups layered over the base (they may hold a million entries), and those compiled
# again whole when they change (tens or hundreds).
BIG_GROUPS = ("allow_policies", "block_senders", "trusted_domains", "impersonation_registry")
SMALL_GROUPS = ("domains", "sending_domain_restrictions", "content_policies", "url_ignore_patterns")

T = TypeVar("T")


def apply_changes(
    compiled: CompiledSettings,
    version: int,
    upserts: Settings,
    removed: frozenset[str],
    now: datetime | None = None,
) -> CompiledSettings:
    """`compiled` with the entries in `upserts` created or updated and those of `removed`
    deleted, as settings version `version`.

    The result evaluates every message as `compile_settings(changed, compiled.thresholds,
    now)` would, where `changed` is the settings `compiled` was made from with every id of
    `removed` or of `upserts` taken out, then each group's `upserts` appended (so an id in
    both is updated, not deleted, and an updated entry comes after the others of its
    group). `upserts` holds entries in their new state, under their ids (unique across
    groups); `upserts.version` is not read. Entries expired at `now` (default: the present)
    count as absent, as in compile_settings. The cost grows with the change and with
    `compiled.delta_size`, which is what the result has layered over a full compilation:
    compile the settings afresh (in the background) once it reaches a few thousand.
    """
    now = now or datetime.now(UTC)
    layers = compiled.layers
    base = compiled if layers is None else layers.base
    previous = Settings() if layers is None else layers.delta
    upserted = frozenset(
        entry.id for group in (*BIG_GROUPS, *SMALL_GROUPS) for entry in _of(upserts, group)
    )
    gone = removed | upserted
    # The base's own entries expired by now, wherever they are.
    expired = base.expiring[: bisect_right(base.expiring, (now, "\U0010ffff"))]
    small_ids = frozenset(
        entry.id
        for settings in (compiled.small_groups, base.small_groups)
        for group in SMALL_GROUPS
        for entry in _of(settings, group)
    )
    hidden_before = frozenset() if layers is None else layers.hidden
    hidden = (
        hidden_before | (gone - small_ids) | frozenset(i for _, i in expired if i not in small_ids)
    )
    big: dict[str, Any] = {
        group: _changed(_of(previous, group), gone, _of(upserts, group), now)
        for group in BIG_GROUPS
    }
    delta = Settings(**big)
    old_small = compiled.small_groups
    small: dict[str, Any] = {}
    for group in SMALL_GROUPS:
        entries = _of(old_small, group)
        news = _of(upserts, group)
        changed = _changed(entries, gone, news, now)
        small[group] = entries if changed == entries and not news else changed
    small_groups = Settings(**small)
    return layered(
        compiled,
        version,
        base,
        hidden,
        delta,
        small_groups,
        _valid_until(base, hidden | small_ids, now, delta, small_groups),
    )


def _of(settings: Settings, group: str) -> tuple[Any, ...]:
    entries: tuple[Any, ...] = getattr(settings, group)
    return entries


def _changed(
    entries: tuple[T, ...], gone: frozenset[str], upserts: Iterable[T], now: datetime
) -> tuple[T, ...]:
    """The group's entries less those gone or expired, then its upserts in force."""
    kept = [e for e in entries if e.id not in gone and in_force(e, now)]  # type: ignore[attr-defined]
    kept += [e for e in upserts if in_force(e, now)]
    return tuple(kept)


def _valid_until(
    base: CompiledSettings,
    hidden: frozenset[str],
    now: datetime,
    delta: Settings,
    small_groups: Settings,
) -> datetime | None:
    """The first instant after `now` at which an entry of the result expires: the base's
    not `hidden` (nor of a small group: those are all in `small_groups`), the others'."""
    soonest: datetime | None = None
    expiring = base.expiring
    for at in range(bisect_right(expiring, (now, "\U0010ffff")), len(expiring)):
        expires_at, entry_id = expiring[at]
        if entry_id not in hidden:
            soonest = expires_at
            break
    for settings, groups in ((delta, BIG_GROUPS), (small_groups, SMALL_GROUPS)):
        for group in groups:
            for entry in _of(settings, group):
                expires_at = entry.expires_at
                if expires_at is not None and now < expires_at:
                    soonest = expires_at if soonest is None else min(soonest, expires_at)
    return soonest
