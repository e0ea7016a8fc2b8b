"""The Gradio chat page: answers from the documents and the user's uploads.

:func:`serve` serves the page, the JSON API (:mod:`qa.api`, docs at ``/docs``) and the
OpenAI-compatible chat (:mod:`qa.openai_api`) on ``settings.host:settings.port``
(127.0.0.1:7860 unless told otherwise; never a share link) while it finishes interrupted
uploads and loads the model and the index (building it when needed): until then replies say
so and the API answers 503. With accounts (:mod:`qa.accounts`) the page asks for a login and
each user sees the shared documents and their own uploads; without, it refuses to listen
beyond this machine unless told ``--insecure``. The app is wrapped in :mod:`qa.guard`
(security headers, login attempts, each client's share of the queue, upload sizes).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path

import gradio as gr

from . import access
from .api import api_router
from .chat import ChatService
from .config import Settings
from .errors import NotAllowed, QAError
from .documents import SUPPORTED_SUFFIXES
from .limits import MAX_UPLOAD_BYTES
from .openai_api import openai_router
from .replies import escape
from .sync import FolderWatch

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
EXAMPLES = [
    ["划船社区党委书记是谁?", 3, []],
    ["宁海县第三水厂哪一年开始征地?", 3, []],
    ["Who is the party secretary of Huachuan community?", 3, []],
    ["How many volunteers with medical knowledge were recruited?", 3, []],
]


def build_demo(service: ChatService, concurrency: int = 4) -> gr.Blocks:
    """The page: chat on the left, documents on the right (read from the server, for the
    logged-in user, on every page load and after every change)."""

    def answer(message: str, history: list[dict], top_k: float,
               sources: list[str] | None = None, request: gr.Request = None) -> str:
        try:
            user = service.user(request.username if request else None)
        except NotAllowed as exc:
            return f"⚠️ {escape(str(exc))}"
        key = access.quota_key(user, request.client.host if request and request.client else None)
        wait = service.questions.take(key) if key else 0
        if wait:
            return f"⚠️ {service.questions.message(wait)}"
        return service.reply(message, history, int(top_k), sources, user)

    def documents_table(request: gr.Request):
        try:
            user = service.user(request.username)
        except NotAllowed as exc:  # a removed user's page shows nothing
            return (f"⚠️ {escape(str(exc))}", gr.update(choices=[], value=None),
                    gr.update(choices=[]), gr.update(choices=[], visible=False),
                    gr.update(visible=False))
        admin = user is not None and user.admin
        private = [d.source for d in service.documents(user, everyone=True) if d.owner] \
            if admin and service.ready.is_set() else []
        return (service.documents_markdown(user),
                gr.update(choices=service.removable(user), value=None),
                gr.update(choices=service.names(user)),
                gr.update(choices=private, value=None, visible=admin),
                gr.update(visible=admin))

    def upload(files, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="reading the files")
        paths = [Path(f) for f in files or []]
        try:
            user = service.user(request.username)
            key = access.quota_key(user, request.client.host if request.client else None)
            wait = service.upload_bytes.take(key, sum(p.stat().st_size for p in paths)) \
                if key else 0
            message = f"⚠️ {service.upload_bytes.message(wait)}" if wait else \
                service.upload(paths, user)
        except NotAllowed as exc:
            message = f"⚠️ {escape(str(exc))}"
        finally:
            for path in paths:  # the server's temporary copy is never kept nor served again
                path.unlink(missing_ok=True)
        return message, *documents_table(request), None

    def remove(source, request: gr.Request):
        try:
            message = service.remove(source, service.user(request.username))
        except NotAllowed as exc:
            message = f"⚠️ {escape(str(exc))}"
        return message, *documents_table(request)

    def share(source, request: gr.Request):
        try:
            user = service.user(request.username)
            if not (user and user.admin and source):
                raise NotAllowed("choose a user's upload first (admins only)")
            message = f"✅ Shared with everyone as {escape(service.library.share(source))}"
        except QAError as exc:
            message = f"⚠️ {escape(str(exc))}"
        return message, *documents_table(request)

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
                private = gr.Dropdown([], label="Users' private uploads (admins)", value=None,
                                      visible=False)
                publish = gr.Button("Share the selected upload with everyone", visible=False)
        listed = [table, choice, only, private, publish]
        demo.load(documents_table, None, listed, api_name=False)
        add.click(upload, files, [status, *listed, files], api_name="upload",
                  concurrency_limit=1)
        drop.click(remove, choice, [status, *listed], api_name="remove", concurrency_limit=1)
        publish.click(share, private, [status, *listed], api_name=False, concurrency_limit=1)
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
    from fastapi_offline import FastAPIOffline

    from .guard import Guard

    demo = build_demo(service, settings.concurrency)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    app = FastAPIOffline(docs_url="/docs", redoc_url=None, openapi_url="/api/openapi.json",
                         title="qa-chat API", static_url="/api/docs-static")
    api_router(service)(app)  # before the page, which takes every other path
    openai_router(service)(app)
    async def login(name: str, password: str) -> bool:  # argon2 off the event loop
        import anyio

        user = await anyio.to_thread.run_sync(service.accounts.login, name, password)
        return user is not None
    app = gr.mount_gradio_app(app, demo, path="/", auth=login if service.login_required else None,
                              show_error=False,
                              max_file_size=MAX_UPLOAD_BYTES)
    share = settings.queue_share
    return Guard(app, demo, max(4, settings.max_queue // 8) if share is None else share)


def serve(settings: Settings | None = None) -> None:
    """Serve the chat and the API until interrupted, loading (or building) the index
    meanwhile.

    Raises:
        QAError: the documents cannot be indexed (unreadable, a bad setting), or the address
            is not this machine's while there are no accounts and ``settings.insecure`` is
            not set.
    """
    import uvicorn

    settings = settings or Settings.from_env()
    started = time.perf_counter()
    _fresh_temp_folder(settings)
    service = ChatService.from_settings(settings)
    if settings.host not in LOCAL_HOSTS and not service.login_required and not settings.insecure:
        raise QAError(f"refusing to serve on {settings.host} without accounts: anyone who can "
                      "reach it could read and change the documents. Add a user (qa user add "
                      "NAME --admin) or, to serve it open anyway, pass --insecure "
                      "(QA_INSECURE=1)")
    service.ready.clear()  # replies and the API say "building" until warm_up() is done
    app = create_app(settings, service)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                           log_level="warning", timeout_graceful_shutdown=5))
    failed: list[BaseException] = []

    def warm_up() -> None:
        try:
            service.warm_up()  # model and index loaded (or built); replies wait for it
        except BaseException as exc:  # noqa: BLE001 - reported by serve() after the stop
            failed.append(exc)
            server.should_exit = True
            return
        if settings.watch_seconds > 0:  # files added to the documents folder
            FolderWatch(service.retriever, service.library.lock).start(settings.watch_seconds)
        log.info("index ready in %.1f s: %s plus uploads in %s", time.perf_counter() - started,
                 settings.docs_dir, settings.uploads_dir)

    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    log.info("serving the chat on http://%s:%d/ (API docs: /docs)%s", settings.host,
             settings.port, "; logins required" if service.login_required else "")
    server.run()  # open event streams do not hold a stop
    if failed:
        raise failed[0]
