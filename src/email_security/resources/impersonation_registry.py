"""The impersonation registry: display names (VIPs) and the addresses they really use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy import Text as TextColumn
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.batch import NO_BATCH
from email_security.core.listing import equals
from email_security.core.resource import Change, FieldError, Resource, SettingsOut, normalised
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.kit.fields import WHOLE_FLOATS, Comments, NameText, StrictInput, Text
from email_security.patterns import PatternError, check_regex, normalise_email
from email_security.resources.values import AddressesOrRegex

Provenance = Literal[
    "A1S_INTERNAL", "SNOOPY-CASB_OFFICE_365", "SNOOPY-OFFICE_365", "SNOOPY-GOOGLE_DIRECTORY"
]
INTERNAL = "A1S_INTERNAL"
# What a directory sync owns: an admin may change the email, regex flag and comments of a
# synced entry, never who it is or where it came from.
DIRECTORY_FIELDS = (
    "name",
    "provenance",
    "directory_id",
    "directory_node_id",
    "external_directory_node_id",
)
# Below 2**63, a bound a float states exactly (the document's numbers are floats).
DirectoryNumber = Annotated[int, Field(ge=0, lt=2**63), WHOLE_FLOATS]


class ImpersonationEntry(SettingsRow, Base):
    __tablename__ = "impersonation_registry"

    name: Mapped[str] = mapped_column(String(1024))
    email: Mapped[str] = mapped_column(String(1024))
    is_email_regex: Mapped[bool] = mapped_column(Boolean)
    comments: Mapped[str | None] = mapped_column(TextColumn)
    provenance: Mapped[str | None] = mapped_column(String(32))
    directory_id: Mapped[int | None] = mapped_column(BigInteger)
    directory_node_id: Mapped[int | None] = mapped_column(BigInteger)
    external_directory_node_id: Mapped[str | None] = mapped_column(String(1024))


class ImpersonationEntryCreate(StrictInput):
    name: NameText = Field(description="Display name of the protected identity")
    email: AddressesOrRegex = Field(
        description="Address (or comma-separated addresses) the person really uses, "
        "or an RE2 regex when is_email_regex"
    )
    is_email_regex: bool
    comments: Comments = None
    provenance: Provenance | None = Field(None, description="Source; defaults to A1S_INTERNAL")
    directory_id: DirectoryNumber | None = None
    directory_node_id: DirectoryNumber | None = None
    external_directory_node_id: Text | None = Field(None, deprecated=True)


class ImpersonationEntryOut(SettingsOut):
    name: str
    email: str
    is_email_regex: bool
    comments: str | None
    provenance: Provenance | None
    directory_id: int | None
    directory_node_id: int | None
    external_directory_node_id: str | None


def _normalise(change: Change) -> Mapping[str, Any]:
    updates: dict[str, Any] = {}
    state = change.state
    synced = not change.creating and change.current.get("provenance") not in (None, INTERNAL)
    if synced:
        for name in DIRECTORY_FIELDS:
            if name in change.sent and change.sent[name] != change.current[name]:
                raise FieldError(
                    name, "is managed by the directory this entry is synced from", conflict=True
                )
    if state.get("provenance") is None:  # absent or null: an entry made here
        updates["provenance"] = INTERNAL
    if change.touches("email", "is_email_regex"):
        normalise = check_regex if state["is_email_regex"] else _normalise_addresses
        updates["email"] = normalised("email", state["email"], normalise)
    return updates


def _normalise_addresses(text: str) -> str:
    addresses = [part for part in (p.strip() for p in text.split(",")) if part]
    if not addresses:
        raise PatternError("must hold at least one address")
    return ",".join(normalise_email(address) for address in addresses)


resource = Resource(
    title="impersonation registry entry",
    label="Impersonation registry",
    id_param="impersonation_registry_id",
    model=ImpersonationEntry,
    create=ImpersonationEntryCreate,
    output=ImpersonationEntryOut,
    sorts={"name": ImpersonationEntry.name, "email": ImpersonationEntry.email},
    search=(ImpersonationEntry.name, ImpersonationEntry.email),
    filters={"provenance": equals(ImpersonationEntry.provenance, Provenance, counted=True)},
    normalise=_normalise,
    batch_operations=NO_BATCH,
)
