"""The chat as an API, through gradio_client, against a really running app."""

import gradio_client
import pytest


@pytest.fixture(scope="module")
def client(running_app):
    return gradio_client.Client(running_app["url"], verbose=False)


def test_chat_api_returns_passages(client):
    reply = client.predict("划船社区党委书记是谁?", api_name="/chat")
    assert "俞复玲" in reply and "<mark>" in reply and "000_b0e56cfeed1eb8fd.txt" in reply


def test_chat_api_english_question(client):
    reply = client.predict("When did the third water plant in Ninghai start acquiring land?", 2,
                           api_name="/chat")
    assert "2006" in reply and "**1.**" in reply and "**3.**" not in reply


def test_chat_api_not_found(client):
    assert "没有找到" in client.predict("怎么做红烧肉?", api_name="/chat")
    assert "Not found" in client.predict("How do I bake sourdough bread?", api_name="/chat")


def test_chat_api_bad_input_is_explained(client):
    assert "empty" in client.predict("   ", api_name="/chat")


def test_chat_api_asks_only_the_chosen_documents(client):
    seed = "seeds/000_b0e56cfeed1eb8fd.txt"
    reply = client.predict("划船社区党委书记是谁?", 3, [seed], api_name="/chat")
    assert "俞复玲" in reply and seed.split("/")[-1] in reply
    reply = client.predict("划船社区党委书记是谁?", 3, ["nothing-*.pdf"], api_name="/chat")
    assert "no document matches" in reply and "俞复玲" not in reply


def _ask_until(client, question, expected, present=True, seconds=90):
    import time

    deadline = time.time() + seconds
    while True:
        reply = client.predict(question, 3, api_name="/chat")
        if (expected in reply) == present or time.time() > deadline:
            return reply
        time.sleep(1)


def test_the_chat_picks_up_a_change_to_its_folder_without_a_restart(client, running_app):
    note = running_app["base"] / "seeds" / "market.txt"
    question = "石浦海鲜市场每天几点开市?"
    note.write_text("石浦海鲜市场每天清晨四点半开市，渔船靠岸后直接卸货交易。", encoding="utf-8")
    try:
        assert "四点半" in _ask_until(client, question, "四点半")
    finally:
        note.unlink()
    assert "四点半" not in _ask_until(client, question, "四点半", present=False)
