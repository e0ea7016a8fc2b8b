"""Accounts: users with hashed passwords and their API tokens, in one JSON file.

``accounts.json`` (``QA_ACCOUNTS``; in the data folder) holds ``{"users": {name: {"password":
argon2id hash, "admin": bool, "created": time}}, "tokens": {id: {"user", "sha256", "created",
"label"}}}``, replaced atomically and readable by its owner only. Passwords are hashed with
argon2id (argon2-cffi); a token is ``qa_<id>_<secret>`` with 32 random bytes of secret, shown
once, kept as the secret's sha256 (a random secret needs no slow hash). A running server sees
users and tokens added or revoked by ``qa user`` / ``qa token`` on its next request.

``QA_AUTH=user:password`` adds one admin kept in memory only, as before accounts existed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import QAError
from .fileio import publish_file

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
TOKEN_RE = re.compile(r"qa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class User:
    """Who is asking: a user's name and whether they are an admin."""

    name: str
    admin: bool = False


def check_name(name: str) -> str:
    """``name`` when it can be a user's name: 1-32 of a-z, 0-9, ``_ . -``, starting with a
    letter or digit (it names the user's uploads folder).

    Raises:
        QAError: it cannot.
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise QAError(f"{name!r} is not a usable user name: 1-32 of a-z, 0-9, '_', '.', '-', "
                      "starting with a letter or digit")
    return name


class Accounts:
    """The users and tokens in ``path`` (plus ``QA_AUTH``'s admin, when given)."""

    def __init__(self, path: Path, env_admin: tuple[str, str] | None = None):
        self.path = Path(path)
        self.env_admin = env_admin
        self._lock = threading.Lock()
        self._cache: tuple[tuple, dict] | None = None
        self._verified: dict[bytes, float] = {}  # recent good logins: argon2 is slow on purpose

    # -- the file -------------------------------------------------------------------------
    def _read(self) -> dict:
        """The file's content, re-read only when it changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {"users": {}, "tokens": {}}
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if self._cache and self._cache[0] == key:
                return self._cache[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            data = {"users": dict(data["users"]), "tokens": dict(data["tokens"])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise QAError(f"{self.path}: the accounts file is unreadable ({exc}); fix or "
                          "remove it") from exc
        with self._lock:
            self._cache, self._verified = (key, data), {}
        return data

    def _editable(self) -> dict:
        """A copy of the file's content to change and :meth:`_write`."""
        return json.loads(json.dumps(self._read()))

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        publish_file(self.path, json.dumps(data, ensure_ascii=False, indent=1),
                     prefix=".accounts-")  # mkstemp: readable by its owner only

    # -- users ----------------------------------------------------------------------------
    def exist(self) -> bool:
        """Whether anyone must log in: a user in the file, or ``QA_AUTH``."""
        return bool(self.env_admin) or bool(self._read()["users"])

    def users(self) -> list[User]:
        """Every user in the file, by name."""
        return [User(name, bool(entry.get("admin"))) for name, entry in
                sorted(self._read()["users"].items())]

    def user(self, name: str) -> User | None:
        """The user called ``name`` (``QA_AUTH``'s admin included), else ``None``."""
        if self.env_admin and name == self.env_admin[0]:
            return User(name, True)
        entry = self._read()["users"].get(name) if isinstance(name, str) else None
        return None if entry is None else User(name, bool(entry.get("admin")))

    def add_user(self, name: str, password: str, admin: bool = False) -> User:
        """Add a user, or set an existing user's password and role.

        Raises:
            QAError: a bad name, or a password under 8 or over 1,024 characters.
        """
        from argon2 import PasswordHasher

        check_name(name)
        if not isinstance(password, str) or \
                not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise QAError(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} "
                          "characters")
        data = self._editable()
        data["users"][name] = {"password": PasswordHasher().hash(password), "admin": admin,
                               "created": _now()}
        self._write(data)
        return User(name, admin)

    def remove_user(self, name: str) -> int:
        """Remove a user and their tokens; returns how many tokens went with them.

        Raises:
            QAError: no such user.
        """
        data = self._editable()
        if name not in data["users"]:
            raise QAError(f"no user {name!r}")
        del data["users"][name]
        gone = [t for t, entry in data["tokens"].items() if entry.get("user") == name]
        for token_id in gone:
            del data["tokens"][token_id]
        self._write(data)
        return len(gone)

    def login(self, name: str, password: str) -> User | None:
        """The user ``name`` when ``password`` is theirs, else ``None``."""
        if not isinstance(name, str) or not isinstance(password, str) or \
                len(password) > MAX_PASSWORD_CHARS:
            return None
        if self.env_admin and secrets.compare_digest(name.encode(), self.env_admin[0].encode()):
            same = secrets.compare_digest(password.encode(), self.env_admin[1].encode())
            return User(name, True) if same else None
        entry = self._read()["users"].get(name)
        if entry is None:  # as slow as a wrong password: names cannot be told by timing
            _verify(_dummy_hash(), password)
            return None
        key = hashlib.sha256(f"{name}\0{entry['password']}\0{password}".encode()).digest()
        if self._verified.get(key, 0) < time.monotonic():
            if not _verify(entry["password"], password):
                return None
            self._verified[key] = time.monotonic() + 300  # a program's Basic login, reused
        return User(name, bool(entry.get("admin")))

    # -- tokens ---------------------------------------------------------------------------
    def create_token(self, name: str, label: str = "") -> tuple[str, str]:
        """A new API token for user ``name``: ``(id, token)``; the token is not kept.

        Raises:
            QAError: no such user.
        """
        data = self._editable()
        if name not in data["users"]:
            raise QAError(f"no user {name!r}: add them first (qa user add {name})")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        data["tokens"][token_id] = {"user": name, "created": _now(), "label": label[:100],
                                    "sha256": hashlib.sha256(secret.encode()).hexdigest()}
        self._write(data)
        return token_id, f"qa_{token_id}_{secret}"

    def tokens(self) -> list[dict]:
        """Every token's id, user, label and creation time (never the token)."""
        return [{"id": token_id, "user": entry["user"], "label": entry.get("label", ""),
                 "created": entry.get("created", "")}
                for token_id, entry in sorted(self._read()["tokens"].items())]

    def revoke_token(self, token_id: str) -> str:
        """Revoke a token by its id; returns its user.

        Raises:
            QAError: no such token.
        """
        data = self._editable()
        entry = data["tokens"].pop(token_id, None)
        if entry is None:
            raise QAError(f"no token {token_id!r} (qa token list shows them)")
        self._write(data)
        return entry["user"]

    def bearer(self, token: str) -> User | None:
        """The user a token belongs to, or ``None`` (unknown, revoked, malformed)."""
        match = TOKEN_RE.fullmatch(token.strip()) if isinstance(token, str) else None
        if match is None:
            return None
        data = self._read()
        entry = data["tokens"].get(match.group(1))
        digest = hashlib.sha256(match.group(2).encode()).hexdigest()
        if entry is None or not secrets.compare_digest(digest, entry.get("sha256", "")):
            return None
        user = data["users"].get(entry["user"])
        return None if user is None else User(entry["user"], bool(user.get("admin")))


def _verify(hashed: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(secrets.token_hex(16))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
