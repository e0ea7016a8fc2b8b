"""Accounts, tokens, quotas and who sees what, without a server (qa.accounts, qa.quotas,
qa.access, qa.library's private uploads); the server paths are in tests/test_users_api.py."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import access
from qa.accounts import Accounts, User
from qa.errors import DocumentError, QAError
from qa.quotas import Quota

ROOT = Path(__file__).resolve().parent.parent


def test_passwords_are_hashed_and_checked(tmp_path):
    accounts = Accounts(tmp_path / "accounts.json")
    assert not accounts.exist()
    accounts.add_user("alice", "correct horse", admin=False)
    stored = (tmp_path / "accounts.json").read_text(encoding="utf-8")
    assert "correct horse" not in stored and "$argon2id$" in stored
    assert (tmp_path / "accounts.json").stat().st_mode & 0o077 == 0  # the owner's only
    assert accounts.exist()
    assert accounts.login("alice", "correct horse") == User("alice", False)
    assert accounts.login("alice", "correct horse") == User("alice", False)  # cached
    assert accounts.login("alice", "wrong horse") is None
    assert accounts.login("nobody", "correct horse") is None
    accounts.add_user("alice", "a new password", admin=True)  # a new password and role
    assert accounts.login("alice", "correct horse") is None
    assert accounts.login("alice", "a new password") == User("alice", True)


@pytest.mark.parametrize("name", ["", "Alice", "../etc", "a/b", "a" * 33, ".hidden", "名字"])
def test_user_names_that_could_escape_a_folder_are_refused(tmp_path, name):
    with pytest.raises(QAError, match="user name"):
        Accounts(tmp_path / "a.json").add_user(name, "long enough")


def test_short_passwords_are_refused(tmp_path):
    with pytest.raises(QAError, match="password"):
        Accounts(tmp_path / "a.json").add_user("bob", "short")


def test_tokens_work_until_revoked_and_go_with_their_user(tmp_path):
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add_user("bob", "bob's password")
    token_id, token = accounts.create_token("bob", "a script")
    assert token not in (tmp_path / "accounts.json").read_text(encoding="utf-8")
    assert accounts.bearer(token) == User("bob", False)
    assert accounts.bearer(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert accounts.bearer("qa_nothing") is None and accounts.bearer("") is None
    assert [t["id"] for t in accounts.tokens()] == [token_id]
    other = Accounts(tmp_path / "accounts.json")  # another process: the CLI
    assert other.revoke_token(token_id) == "bob"
    assert accounts.bearer(token) is None  # the file changed: re-read
    _, again = accounts.create_token("bob")
    accounts.remove_user("bob")
    assert accounts.bearer(again) is None and accounts.tokens() == []
    with pytest.raises(QAError, match="no user"):
        accounts.create_token("bob")


def test_the_env_admin_and_headers(tmp_path):
    accounts = Accounts(tmp_path / "none.json", env_admin=("ann", "ann's secret"))
    assert accounts.exist() and accounts.user("ann") == User("ann", True)
    basic = "Basic " + base64.b64encode(b"ann:ann's secret").decode()
    assert access.from_header(basic, accounts) == User("ann", True)
    assert access.from_header(basic[:-2], accounts) is None
    assert access.from_header("Basic !!!", accounts) is None
    assert access.from_header("Bearer qa_x", accounts) is None
    assert access.from_header("", accounts) is None


def test_a_broken_accounts_file_is_an_error_not_an_open_door(tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(QAError, match="unreadable"):
        Accounts(path).exist()


def test_quota_counts_per_key_and_says_how_long_to_wait():
    quota = Quota(3, 60, "3 a minute")
    assert [quota.take("a") for _ in range(3)] == [0, 0, 0]
    wait = quota.take("a")
    assert 55 <= wait <= 60
    assert quota.take("b") == 0  # another user's share
    assert quota.take("c", 4) == 60  # more than the whole limit
    assert Quota(0, 60, "none").take("a", 10**9) == 0
    short = Quota(1, 1, "1 a second")
    assert short.take("a") == 0 and short.take("a") == 1
    time.sleep(1.05)
    assert short.take("a") == 0


def test_who_sees_and_removes_what():
    from qa.library import DocumentInfo

    seed = DocumentInfo("seeds/a.txt", 3, False)
    shared = DocumentInfo("uploads/b.txt", 2, True)
    mine = DocumentInfo("uploads/users/alice/c.txt", 1, True, owner="alice")
    theirs = DocumentInfo("uploads/users/bob/d.txt", 1, True, owner="bob")
    docs = [seed, shared, mine, theirs]
    alice, admin = User("alice"), User("ada", True)
    assert access.visible(docs, alice) == [seed, shared, mine]
    assert access.visible(docs, alice, everyone=True) == [seed, shared, mine]
    assert access.visible(docs, admin, everyone=True) == docs
    assert access.readable(docs, alice) == {"seeds/a.txt", "uploads/b.txt",
                                            "uploads/users/alice/c.txt"}
    assert access.readable(docs, None) is None
    assert [access.may_remove(d, alice) for d in docs] == [False, False, True, False]
    assert [access.may_remove(d, admin) for d in docs] == [False, True, False, False]
    assert [access.may_remove(d, None) for d in docs] == [False, True, True, True]


def test_private_uploads_are_kept_apart_in_the_library(settings, encoder, tmp_path):
    from qa.library import Library
    from qa.retriever import Retriever

    docs, uploads = tmp_path / "docs", tmp_path / "uploads"
    docs.mkdir()
    (docs / "a.txt").write_text("石浦港的灯塔建于1921年，由渔民集资修建。", encoding="utf-8")
    retriever = Retriever(tmp_path / "index", documents=[docs, uploads], settings=settings,
                          progress=False, allow_empty=True)
    library = Library(retriever, uploads)
    same = "渡口每天早上六点发第一班船，晚上八点停航。".encode()
    library.add([("ferry.txt", same)], owner="alice")
    result = library.add([("../../ferry.txt", same)], owner="bob")  # alice's copy is hidden
    assert result.added == ["ferry.txt"] and not result.duplicates
    assert (uploads / "users" / "bob" / "ferry.txt").is_file()
    owners = {d.source: d.owner for d in library.documents()}
    assert owners["uploads/users/alice/ferry.txt"] == "alice"
    assert owners["uploads/users/bob/ferry.txt"] == "bob"
    alice_sees = access.readable(library.documents(), User("alice"))
    hits = retriever.retrieve("渡口第一班船几点?", k=5, possible=True, allowed=alice_sees)
    assert hits and {p.source for p in hits} == {"uploads/users/alice/ferry.txt"}
    assert all("bob" not in " ".join(p.also_in) for p in hits)
    with pytest.raises(ValueError, match="no document matches"):
        retriever.retrieve("渡口?", sources="uploads/users/bob/*", allowed=alice_sees)
    shared = library.share("uploads/users/alice/ferry.txt")
    assert shared == "uploads/ferry.txt" and (uploads / "ferry.txt").is_file()
    assert not (uploads / "users" / "alice" / "ferry.txt").exists()
    journal = json.loads((uploads / ".journal.json").read_text(encoding="utf-8"))["uploads"]
    assert journal["ferry.txt"]["state"] == "indexed" and "users/alice/ferry.txt" not in journal
    bob_sees = access.readable(library.documents(), User("bob"))
    assert "uploads/ferry.txt" in bob_sees
    note = "渔港的钟楼建于1935年。".encode()  # bob's, then the same shared by an admin
    library.add([("bell.txt", note)], owner="bob")
    assert library.add([("C:\\Users\\ada\\bell.txt", note)]).added == ["bell.txt"]
    with pytest.raises(DocumentError, match="already"):
        library.share("uploads/users/bob/bell.txt")
    assert (uploads / "users" / "bob" / "bell.txt").is_file()


def test_the_user_and_token_commands(tmp_path):
    path = tmp_path / "accounts.json"
    env = dict(os.environ, QA_ACCOUNTS=str(path))

    def qa(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "qa", *args], input=stdin, text=True,
                              capture_output=True, cwd=ROOT, env=env, timeout=120)

    assert qa("user", "add", "ada", "--admin", stdin="admin password\n").returncode == 0
    made = qa("token", "create", "ada", "--label", "ci")
    assert made.returncode == 0 and made.stdout.startswith("qa_")
    assert Accounts(path).bearer(made.stdout.strip()) == User("ada", True)
    listed = qa("token", "list").stdout
    token_id = listed.split("\t")[0]
    assert "ada" in listed and "ci" in listed and made.stdout.strip() not in listed
    assert qa("token", "revoke", token_id).returncode == 0
    assert Accounts(path).bearer(made.stdout.strip()) is None
    refused = qa("user", "add", "Bad/Name", stdin="long enough\n")
    assert refused.returncode == 2 and "user name" in refused.stderr
    assert "ada\tadmin" in qa("user", "list").stdout


def test_serving_beyond_this_machine_without_accounts_is_refused(tmp_path):
    env = dict(os.environ, QA_ACCOUNTS=str(tmp_path / "none.json"), QA_DOCS=str(tmp_path),
               QA_UPLOADS=str(tmp_path / "up"), QA_INDEX_ROOT=str(tmp_path / "ix"))
    done = subprocess.run([sys.executable, "-m", "qa", "serve", "--host", "0.0.0.0"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 2 and "--insecure" in done.stderr
