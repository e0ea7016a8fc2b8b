"""Connections to Milvus: one pymilvus client per database and token in a process, Milvus
Lite (a local path) run in this process with its noise filtered (:mod:`qa.milvus_store`
publishes through it, :mod:`qa.milvus` serves)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .errors import MissingDependencyError, QAError

_CLIENTS: dict[tuple[str, str], object] = {}
_CLIENTS_LOCK = threading.Lock()


class _LiteNoise(logging.Filter):
    """Drops what each paged scan makes Milvus Lite and pymilvus log: Lite has no timestamp
    service, and pymilvus then uses its own clock (which is right in one process)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "mvccTs" not in message and "Method not implemented" not in message


def client(uri: str, token: str = ""):
    """One pymilvus client per (uri, token) in this process (a Milvus Lite path: its folder's
    parent must exist)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MissingDependencyError(
            "pymilvus is missing: pip install 'qa-chat[milvus]' (QA_BACKEND=milvus)") from exc
    key = (str(uri), token or "")
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            options = {}
            if "://" not in str(uri):  # Milvus Lite, in this process
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
                for name in ("pymilvus.client.iterator.query_iterator", "grpc._server"):
                    logging.getLogger(name).addFilter(_LiteNoise())
                # no keep-alive pings: Lite's server answers pymilvus's every-10-s pings
                # with GOAWAY "too_many_pings" (a reconnect and two log lines each time)
                options = {"grpc_options": {"grpc.keepalive_time_ms": 2**31 - 1,
                                            "grpc.keepalive_permit_without_calls": False}}
            try:
                _CLIENTS[key] = MilvusClient(uri=str(uri), token=token or "", **options)
            except Exception as exc:  # pymilvus raises its own MilvusException types
                raise QAError(f"cannot open Milvus at {uri}: {exc}") from exc
        return _CLIENTS[key]
