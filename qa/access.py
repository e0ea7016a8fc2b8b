"""Who is asking and what they may see or change.

Without accounts (no users, no ``QA_AUTH``) the asker is anonymous (``None``): the single
local user, who sees and may remove every upload, as before accounts existed. With accounts:

- everyone sees the documents folder and the shared uploads, and their own private uploads;
  nobody sees (lists, is answered from, removes) another user's private uploads;
- a user removes their own uploads; an admin also removes shared uploads, lists every
  private upload (``everyone=True``) and shares them (:meth:`qa.library.Library.share`).
"""

from __future__ import annotations

import base64
import binascii

from .accounts import Accounts, User
from .library import DocumentInfo


def sees(doc: DocumentInfo, user: User | None) -> bool:
    """Whether ``user`` may see ``doc`` (list it, be answered from it)."""
    return user is None or doc.owner is None or doc.owner == user.name


def may_remove(doc: DocumentInfo, user: User | None) -> bool:
    """Whether ``user`` may remove ``doc`` now: an indexed upload they own (an admin: or a
    shared one; without accounts: any)."""
    if not doc.removable or doc.state != "indexed":
        return False
    if user is None:
        return True
    return doc.owner == user.name or (user.admin and doc.owner is None)


def visible(documents: list[DocumentInfo], user: User | None,
            everyone: bool = False) -> list[DocumentInfo]:
    """The documents ``user`` sees (an admin with ``everyone``: all of them)."""
    if everyone and (user is None or user.admin):
        return list(documents)
    return [doc for doc in documents if sees(doc, user)]


def readable(documents: list[DocumentInfo], user: User | None) -> set[str] | None:
    """The names ``user`` may be answered from (for ``Retriever.retrieve(allowed=...)``);
    ``None``: every document."""
    if user is None:
        return None
    return {doc.source for doc in documents if sees(doc, user)}


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def quota_key(user: User | None, host: str | None) -> str | None:
    """Whose quota a request spends: its user's; without accounts its address's, except this
    machine's own (the local user is not limited); ``None``: no quota."""
    if user is not None:
        return user.name
    return None if host in LOOPBACK else (host or "?")


def from_header(header: str, accounts: Accounts) -> User | None:
    """The user an ``Authorization`` header names: ``Bearer <token>`` or HTTP Basic with a
    user's password; ``None`` when it names nobody."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() == "bearer":
        return accounts.bearer(value)
    if scheme.lower() == "basic":
        try:
            name, _, password = base64.b64decode(value.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return accounts.login(name, password)
    return None
