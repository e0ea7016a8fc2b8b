"""The Gradio chat page: answers from the documents and the user's uploads.

:func:`serve` finishes interrupted uploads, loads the model and the index (building it when
needed), then serves the page on ``settings.host:settings.port`` (127.0.0.1:7860 unless told
otherwise); never a share link. ``QA_AUTH=user:password`` requires a login. The page is mounted
in a FastAPI app (:mod:`qa.guard`) that adds security headers, limits login attempts and each
client's share of the queue, and refuses uploads over the limit before they are stored.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import gradio as gr

from .api import api_router
from .chat import ChatService
from .config import Settings
from .documents import SUPPORTED_SUFFIXES
from .limits import MAX_UPLOAD_BYTES
from .sync import FolderWatch

log = logging.getLogger(__name__)
EXAMPLES = [
    ["划船社区党委书记是谁?", 3, []],
    ["宁海县第三水厂哪一年开始征地?", 3, []],
    ["Who is the party secretary of Huachuan community?", 3, []],
    ["How many volunteers with medical knowledge were recruited?", 3, []],
]


def build_demo(service: ChatService, concurrency: int = 4) -> gr.Blocks:
    """The page: chat on the left, documents on the right (read from the server on every
    page load and after every change)."""

    def answer(message: str, history: list[dict], top_k: float,
               sources: list[str] | None = None) -> str:
        return service.reply(message, history, int(top_k), sources)

    def documents_table():
        return (service.documents_markdown(), gr.update(choices=service.removable(), value=None),
                gr.update(choices=service.names()))

    def upload(files, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="reading the files")
        paths = [Path(f) for f in files or []]
        try:
            message = service.upload(paths)
        finally:
            for path in paths:  # the server's temporary copy is never kept nor served again
                path.unlink(missing_ok=True)
        return message, *documents_table(), None

    def remove(source):
        message = service.remove(source)
        return message, *documents_table()

    kinds = ", ".join(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
    with gr.Blocks(title="文档问答 · Document QA") as demo:
        gr.Markdown("# 文档问答 · Document QA\nAsk in Chinese or English. Answers come only "
                    "from the documents listed on the right, with their source.")
        with gr.Row():
            with gr.Column(scale=3):
                top_k = gr.Slider(1, 10, value=3, step=1, label="Passages per answer",
                                  render=False)
                only = gr.Dropdown([], value=[], multiselect=True, render=False,
                                   allow_custom_value=True,  # names or globs, e.g. *.pdf
                                   label="Only these documents (all when none is chosen)",
                                   elem_id="only-documents")
                gr.ChatInterface(
                    answer, additional_inputs=[top_k, only], examples=EXAMPLES, api_name="chat",
                    chatbot=gr.Chatbot(height=560, sanitize_html=True, allow_tags=False,
                                       latex_delimiters=[], label="Chat"),
                    additional_inputs_accordion="Settings",
                    concurrency_limit=concurrency, fill_height=False,
                )
            with gr.Column(scale=2):
                gr.Markdown("### Documents")
                table = gr.Markdown(elem_id="documents", latex_delimiters=[])
                files = gr.File(label=f"Add documents ({kinds}; up to "
                                f"{MAX_UPLOAD_BYTES // 2**20} MB each)", file_count="multiple",
                                file_types=list(SUPPORTED_SUFFIXES))
                add = gr.Button("Index the files", variant="primary")
                status = gr.Markdown(elem_id="upload-status", latex_delimiters=[])
                choice = gr.Dropdown([], label="Uploaded documents", value=None)
                drop = gr.Button("Remove the selected document")
        demo.load(documents_table, None, [table, choice, only], api_name=False)
        add.click(upload, files, [status, table, choice, only, files], api_name="upload",
                  concurrency_limit=1)
        drop.click(remove, choice, [status, table, choice, only], api_name="remove",
                   concurrency_limit=1)
    return demo


def _fresh_temp_folder(settings: Settings) -> Path:
    """Gradio's folder for incoming files, inside the uploads folder (hidden, never indexed)
    and emptied at every start: nothing uploaded before stays downloadable."""
    folder = settings.upload_temp_dir or settings.uploads_dir / ".incoming"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def create_app(settings: Settings, service: ChatService):
    """The FastAPI app serving the page at ``/`` behind :mod:`qa.guard`."""
    from fastapi import FastAPI

    from .guard import Guard

    demo = build_demo(service, settings.concurrency)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    api_router(service, settings.auth)(app)  # before the page, which takes every other path
    app = gr.mount_gradio_app(app, demo, path="/", auth=[settings.auth] if settings.auth else None,
                              show_error=False, max_file_size=MAX_UPLOAD_BYTES)
    share = settings.queue_share
    return Guard(app, demo, max(4, settings.max_queue // 8) if share is None else share)


def serve(settings: Settings | None = None) -> None:
    """Load (or build) the index, then serve the chat until interrupted.

    Raises:
        QAError: the documents cannot be indexed (unreadable, a bad setting).
    """
    import uvicorn

    settings = settings or Settings.from_env()
    started = time.perf_counter()
    _fresh_temp_folder(settings)
    service = ChatService.from_settings(settings)
    service.warm_up()  # model and index loaded (or built) before the page is served
    if settings.watch_seconds > 0:  # files added to the documents folder, taking turns with uploads
        FolderWatch(service.retriever, service.library.lock).start(settings.watch_seconds)
    log.info("index ready in %.1f s: %s plus uploads in %s", time.perf_counter() - started,
             settings.docs_dir, settings.uploads_dir)
    app = create_app(settings, service)
    log.info("serving the chat on http://%s:%d/", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                timeout_graceful_shutdown=5)  # open event streams do not hold a stop
