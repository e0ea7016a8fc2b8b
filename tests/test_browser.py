"""End to end in a real headless Chromium (Debian's, driven by Playwright; no download)."""

import shutil
import time
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, running_app):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(running_app["url"])
    page.wait_for_selector("textarea")
    yield page
    context.close()


def ask(page, question: str, expect: str, timeout: float = 60.0):
    """Send ``question`` and wait for a *new* bot message that contains ``expect``."""
    bots = page.locator(".bot")
    before = bots.count()
    box = page.locator("textarea").first
    box.fill(question)
    box.press("Enter")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if bots.count() > before and expect in bots.last.inner_text():
            return bots.last
        page.wait_for_timeout(200)
    raise AssertionError(f"no new reply containing {expect!r}; last: {bots.last.inner_text()!r}")


def test_chinese_question_shows_highlighted_passage(page):
    reply = ask(page, "划船社区党委书记是谁?", "俞复玲")
    assert reply.locator("mark").count() >= 1
    assert "俞复玲" in reply.locator("mark").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "chat-chinese.png"), full_page=True)


def test_english_question_and_follow_up(page):
    ask(page, "When did the third water plant in Ninghai start acquiring land?", "2006")
    ask(page, "划船社区党委书记是谁?", "俞复玲")
    reply = ask(page, "她是哪一届党代表?", "十八大")
    assert "俞复玲" in reply.inner_text()
    page.screenshot(path=str(ARTIFACTS / "chat-follow-up.png"), full_page=True)


def upload(page, path: Path, expect: str):
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Index the files").click()
    page.locator("#upload-status").filter(has_text=expect).wait_for(timeout=180_000)


def test_upload_then_ask_about_it(page, tmp_path):
    doc = tmp_path / "lighthouse.md"
    doc.write_text("# 灯塔\n\n石浦港的灯塔建于1921年，由渔民集资修建，高十八米。\n", encoding="utf-8")
    upload(page, doc, "Indexed")
    assert "lighthouse.md" in page.locator("#documents").inner_text()
    ask(page, "石浦港的灯塔是哪一年建的?", "1921")
    page.screenshot(path=str(ARTIFACTS / "chat-upload.png"), full_page=True)


def test_hostile_document_is_shown_as_text(page, tmp_path):
    doc = tmp_path / "hostile.txt"
    doc.write_text("黑客文档说明。<script>alert('pwned')</script> 海鸥岛有一座<img src=x "
                   "onerror=\"alert('xss')\">红色灯塔。[点我](javascript:alert('link'))\n",
                   encoding="utf-8")
    upload(page, doc, "Indexed")
    reply = ask(page, "海鸥岛有什么颜色的灯塔?", "红色灯塔")
    text = reply.inner_text()
    assert "<script>" in text and "onerror" in text  # shown as text...
    assert reply.locator("script, img").count() == 0  # ...never as markup
    assert reply.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []
    page.screenshot(path=str(ARTIFACTS / "chat-hostile.png"), full_page=True)


def test_unreadable_upload_is_refused_with_reason(page, tmp_path):
    doc = tmp_path / "broken.pdf"
    doc.write_bytes(b"%PDF-1.4 this is not a real pdf")
    upload(page, doc, "Refused")
    assert "broken.pdf" not in page.locator("#documents").inner_text()


def test_page_state_comes_from_the_server_on_every_load(page, running_app, tmp_path):
    import gradio_client

    doc = tmp_path / "ferry.md"
    doc.write_text("# 渡口\n\n石浦渡口每天早上六点发第一班船。\n", encoding="utf-8")
    other = gradio_client.Client(running_app["url"], verbose=False)  # another user, elsewhere
    assert "Indexed" in other.predict([gradio_client.handle_file(str(doc))], api_name="/upload")[0]
    assert "ferry.md" not in page.locator("#documents").inner_text()  # this page loaded before
    page.reload()
    page.locator("#documents").filter(has_text="ferry.md").wait_for(timeout=30_000)
    page.get_by_label("Uploaded documents").click()
    page.get_by_role("option", name="uploads/ferry.md").wait_for(timeout=10_000)
    page.keyboard.press("Escape")
    source = next(s for s in other.predict(api_name="/remove", source="uploads/ferry.md")
                  if isinstance(s, str))
    assert "Removed" in source
    page.reload()
    page.locator("#documents").filter(has_text="seeds/").wait_for(timeout=30_000)
    assert "ferry.md" not in page.locator("#documents").inner_text()


@pytest.fixture(scope="module")
def users_app(tmp_path_factory, encoder):
    from conftest import start_app
    from qa.accounts import Accounts

    base = tmp_path_factory.mktemp("browser-users")
    accounts = Accounts(base / "accounts.json")
    for name in ("alice", "bob"):
        accounts.add_user(name, f"{name}'s password")
    yield from start_app(base)


def logged_in(browser, url: str, name: str, password: str):
    """A new browser context (its own cookies) logged in as ``name``; its page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.locator("input[type=text]").first.fill(name)
    page.locator("input[type=password]").first.fill(password)
    page.get_by_role("button", name="Login").click()
    return page


def test_two_users_each_see_only_their_own_uploads(browser, users_app, tmp_path):
    url = users_app["url"]
    wrong = logged_in(browser, url, "alice", "not her password")
    wrong.get_by_text("Incorrect Credentials").first.wait_for(timeout=30_000)
    wrong.context.close()
    alice = logged_in(browser, url, "alice", "alice's password")
    alice.wait_for_selector("textarea")
    doc = tmp_path / "lighthouse.md"
    doc.write_text("# 灯塔\n\n石浦港的灯塔建于1921年，由渔民集资修建，高十八米。\n", encoding="utf-8")
    upload(alice, doc, "Indexed")
    assert "uploads/users/alice/lighthouse.md" in alice.locator("#documents").inner_text()
    ask(alice, "石浦港的灯塔是哪一年建的?", "1921")
    alice.screenshot(path=str(ARTIFACTS / "chat-user-alice.png"), full_page=True)
    bob = logged_in(browser, url, "bob", "bob's password")
    bob.wait_for_selector("textarea")
    bob.locator("#documents").filter(has_text="seeds/").wait_for(timeout=30_000)
    assert "lighthouse" not in bob.locator("#documents").inner_text()
    reply = ask(bob, "石浦港的灯塔是哪一年建的?", "没有找到")  # not found: not his
    assert "1921" not in reply.inner_text() and "lighthouse" not in reply.inner_text()
    bob.get_by_label("Uploaded documents").click()
    assert bob.get_by_role("option", name="uploads/users/alice/lighthouse.md").count() == 0
    bob.screenshot(path=str(ARTIFACTS / "chat-user-bob.png"), full_page=True)
    ask(alice, "Which year was the lighthouse of Shipu harbour built?", "1921")  # still hers
    alice.context.close()
    bob.context.close()
