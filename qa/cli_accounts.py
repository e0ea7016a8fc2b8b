"""``qa user`` and ``qa token``: the accounts of a shared server (:mod:`qa.accounts`)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from .accounts import Accounts
from .config import Settings
from .errors import QAError


def add_commands(sub, common) -> None:
    """Add the ``user`` and ``token`` commands to the ``qa`` parser's ``sub``."""
    user = sub.add_parser("user", help="users of a shared server: add, list, remove")
    users = user.add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user (or set a user's password and role); the "
                           "password is asked for, or read from standard input's first line")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may manage the shared documents")
    users.add_parser("list", help="every user and whether an admin")
    remove = users.add_parser("remove", help="remove a user and their tokens")
    remove.add_argument("name")
    token = sub.add_parser("token", help="API tokens (Authorization: Bearer): create, list, "
                           "revoke")
    tokens = token.add_subparsers(dest="action", required=True)
    create = tokens.add_parser("create", help="a new token for a user, printed once")
    create.add_argument("name")
    create.add_argument("--label", default="", help="what the token is for")
    tokens.add_parser("list", help="every token's id, user and label")
    revoke = tokens.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    for p in (add, remove, create, revoke, *(users.choices["list"], tokens.choices["list"])):
        p.add_argument("--accounts", help="the accounts file (default: $QA_ACCOUNTS, else "
                       "accounts.json in the data folder)")
        common(p)
    user.set_defaults(func=cmd_user)
    token.set_defaults(func=cmd_token)


def _accounts(args) -> Accounts:
    return Accounts(Path(args.accounts) if args.accounts else Settings.from_env().accounts_file)


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise QAError("the two passwords differ")
    return first


def cmd_user(args) -> int:
    accounts = _accounts(args)
    if args.action == "add":
        user = accounts.add_user(args.name, _password(), args.admin)
        print(f"{user.name}: {'admin' if user.admin else 'user'}, in {accounts.path} (a running "
              "server without users asks for logins after a restart)")
    elif args.action == "remove":
        gone = accounts.remove_user(args.name)
        print(f"removed {args.name} and {gone} token(s); their uploads stay in "
              f"uploads/users/{args.name}/")
    else:
        for user in accounts.users():
            print(f"{user.name}\t{'admin' if user.admin else 'user'}")
    return 0


def cmd_token(args) -> int:
    accounts = _accounts(args)
    if args.action == "create":
        token_id, token = accounts.create_token(args.name, args.label)
        print(token)
        print(f"(id {token_id}; shown once: keep it secret; qa token revoke {token_id} ends it)",
              file=sys.stderr)
    elif args.action == "revoke":
        print(f"revoked {args.id} of {accounts.revoke_token(args.id)}")
    else:
        for entry in accounts.tokens():
            print(f"{entry['id']}\t{entry['user']}\t{entry['created']}\t{entry['label']}")
    return 0
