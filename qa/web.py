"""The Gradio chat page: answers from the documents and the user's uploads.

:func:`serve` loads the model and the index (building it when needed), then serves the page on
``settings.host:settings.port`` (127.0.0.1:7860 unless told otherwise); never a share link.
``QA_AUTH=user:password`` requires a login, for binding to other addresses.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import gradio as gr

from .chat import ChatService
from .config import Settings
from .documents import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)
EXAMPLES = [
    ["划船社区党委书记是谁?", 3],
    ["宁海县第三水厂哪一年开始征地?", 3],
    ["Who is the party secretary of Huachuan community?", 3],
    ["How many volunteers with medical knowledge were recruited?", 3],
]


def build_demo(service: ChatService, concurrency: int = 4) -> gr.Blocks:
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

    kinds = ", ".join(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
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
                    concurrency_limit=concurrency, fill_height=False,
                )
            with gr.Column(scale=2):
                gr.Markdown("### Documents")
                table = gr.Markdown(service.documents_markdown(), elem_id="documents")
                files = gr.File(label=f"Add documents ({kinds})", file_count="multiple",
                                file_types=list(SUPPORTED_SUFFIXES))
                add = gr.Button("Index the files", variant="primary")
                status = gr.Markdown(elem_id="upload-status")
                choice = gr.Dropdown(service.removable(), label="Uploaded documents", value=None)
                drop = gr.Button("Remove the selected document")
        add.click(upload, files, [status, table, choice, files], api_name="upload",
                  concurrency_limit=1)
        drop.click(remove, choice, [status, table, choice], api_name="remove",
                   concurrency_limit=1)
    return demo


def serve(settings: Settings | None = None) -> None:
    """Load (or build) the index, then serve the chat until interrupted.

    Raises:
        QAError: the documents cannot be indexed (none found, unreadable, a bad setting).
    """
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    service = ChatService.from_settings(settings)
    service.warm_up()  # model and index loaded (or built) before the page is served
    log.info("index ready in %.1f s: %s plus uploads in %s", time.perf_counter() - started,
             settings.docs_dir, settings.uploads_dir)
    demo = build_demo(service, settings.concurrency)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    log.info("serving the chat on http://%s:%d/", settings.host, settings.port)
    demo.launch(server_name=settings.host, server_port=settings.port, share=False,
                auth=[settings.auth] if settings.auth else None, show_error=False)
