"""The Gradio chat over the seed documents. Run: ``make run`` (or ``python app.py``)."""

from __future__ import annotations

import os

import gradio as gr

import qa
from qa.replies import format_reply

EXAMPLES = [
    "划船社区党委书记是谁?",
    "宁海县第三水厂哪一年开始征地?",
    "Who leads the Huachuan community party committee?",
]


def answer(message: str, history: list[dict]) -> str:
    """Reply to ``message`` with the best passages, as Markdown."""
    earlier = [turn["content"] for turn in history
               if turn.get("role") == "user" and isinstance(turn.get("content"), str)]
    try:
        passages = qa.retrieve(message, k=3, history=earlier)
    except ValueError as exc:
        return f"⚠️ {exc}"
    return format_reply(message, passages)


def build_demo() -> gr.Blocks:
    return gr.ChatInterface(
        answer, title="文档问答 · Document QA", examples=EXAMPLES, api_name="chat",
        description="Ask in Chinese or English; answers come from the indexed documents.",
    )


def main() -> None:
    qa.default_retriever().index  # load the model and build or load the index before serving
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    build_demo().queue().launch(server_name=host, server_port=port, share=False)


if __name__ == "__main__":
    main()
