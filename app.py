"""The Gradio chat: answers from the seed documents and the user's uploads.

Run ``make run`` (or ``qa serve``). Listens on 127.0.0.1:7860 unless GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT or ``--host``/``--port`` say otherwise; never shares a public link.
Set QA_AUTH="user:password" to require a login when binding to other addresses.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import gradio as gr

from qa.chat import ChatService

EXAMPLES = [
    ["划船社区党委书记是谁?", 3],
    ["宁海县第三水厂哪一年开始征地?", 3],
    ["Who is the party secretary of Huachuan community?", 3],
    ["How many volunteers with medical knowledge were recruited?", 3],
]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx"]
CONCURRENCY = int(os.environ.get("QA_CONCURRENCY", "4"))
MAX_QUEUE = int(os.environ.get("QA_MAX_QUEUE", "256"))


def build_demo(service: ChatService) -> gr.Blocks:
    """The page: chat on the left, documents on the right."""

    def answer(message: str, history: list[dict], top_k: float) -> str:
        return service.reply(message, history, int(top_k))

    def documents_table():
        return service.documents_markdown(), gr.update(choices=service.removable(), value=None)

    def upload(files, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="checking files")
        message = service.upload([Path(f) for f in files or []])
        table, choices = documents_table()
        return message, table, choices, None

    def remove(source):
        message = service.remove(source)
        table, choices = documents_table()
        return message, table, choices

    with gr.Blocks(title="文档问答 · Document QA") as demo:
        gr.Markdown("# 文档问答 · Document QA\nAsk in Chinese or English. Answers come only "
                    "from the documents listed on the right, with their source.")
        with gr.Row():
            with gr.Column(scale=3):
                top_k = gr.Slider(1, 10, value=3, step=1, label="Passages per answer",
                                  render=False)
                gr.ChatInterface(
                    answer, additional_inputs=[top_k], examples=EXAMPLES, api_name="chat",
                    chatbot=gr.Chatbot(height=560, sanitize_html=True, allow_tags=False,
                                       label="Chat"),
                    additional_inputs_accordion="Settings",
                    concurrency_limit=CONCURRENCY, fill_height=False,
                )
            with gr.Column(scale=2):
                gr.Markdown("### Documents")
                table = gr.Markdown(service.documents_markdown(), elem_id="documents")
                files = gr.File(label="Add documents (txt, md, html, pdf, docx)",
                                file_count="multiple", file_types=UPLOAD_TYPES)
                add = gr.Button("Index the files", variant="primary")
                status = gr.Markdown(elem_id="upload-status")
                choice = gr.Dropdown(service.removable(), label="Uploaded documents", value=None)
                drop = gr.Button("Remove the selected document")
        add.click(upload, files, [status, table, choice, files], api_name="upload",
                  concurrency_limit=1)
        drop.click(remove, choice, [status, table, choice], api_name="remove",
                   concurrency_limit=1)
    return demo


def _auth():
    value = os.environ.get("QA_AUTH", "")
    if ":" in value:
        user, password = value.split(":", 1)
        return [(user, password)]
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The document QA chat.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    service = ChatService.from_env()
    service.warm_up()  # model and index loaded (or built) before the page is served
    print(f"index ready in {time.perf_counter() - started:.1f} s", flush=True)
    demo = build_demo(service)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=MAX_QUEUE)
    demo.launch(server_name=args.host, server_port=args.port, share=False, auth=_auth(),
                show_error=False)


if __name__ == "__main__":
    main()
