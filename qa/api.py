"""The JSON API beside the chat page (same server, same index): ``POST /api/retrieve`` returns
what :meth:`qa.retriever.Retriever.retrieve` returns (as ``qa ask --json`` prints it),
``GET /api/health`` says whether the index is ready.

Errors are JSON ``{"error": message}``: 400 for a bad question, ``k``, ``sources`` or body,
401 without the login of ``QA_AUTH`` (HTTP Basic) when it is set, 413 for a body over
:data:`qa.limits.MAX_API_BODY_BYTES` (or 411 without its length).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .errors import QAError
from .limits import MAX_API_BODY_BYTES

__all__ = ["api_router", "passage_json"]


def passage_json(passage) -> dict:
    """A passage as JSON: every field of :class:`qa.passage.Passage` and its ``answer``."""
    return dict(asdict(passage), answer=passage.answer)


def api_router(service, auth: tuple[str, str] | None):
    """The ``/api`` routes over ``service`` (a :class:`qa.chat.ChatService`): a function that
    installs them, with their JSON errors, on a FastAPI app."""

    def checked(request: Request) -> None:
        """Login and body size, before the body is read."""
        if auth is not None and not _logged_in(request.headers.get("authorization", ""), auth):
            raise Refused(401, "log in: HTTP Basic with the server's QA_AUTH user")
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                raise Refused(411, "send the body's length (Content-Length)")
            if int(length) > MAX_API_BODY_BYTES:
                raise Refused(413, f"the body is over {MAX_API_BODY_BYTES:,} bytes")

    router = APIRouter(prefix="/api", dependencies=[Depends(checked)])

    @router.get("/health")
    def health() -> dict:
        manifest = service.retriever.index.manifest
        return {"status": "ok", "documents": len(manifest.get("documents", [])),
                "passages": manifest["counts"]["passages"]}

    @router.post("/retrieve")
    def retrieve(body: RetrieveRequest) -> dict:
        try:
            passages = service.retriever.retrieve(body.question, k=body.k, history=body.history,
                                                  possible=body.possible, sources=body.sources)
        except (ValueError, QAError) as exc:
            raise Refused(400, str(exc)) from None
        return {"passages": [passage_json(p) for p in passages]}

    def install(app) -> None:
        """Add the routes and their JSON errors to ``app``."""
        app.include_router(router)
        app.add_exception_handler(
            Refused, lambda request, exc: JSONResponse({"error": exc.message}, exc.status))
        app.add_exception_handler(
            RequestValidationError, lambda request, exc: JSONResponse(
                {"error": "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}"
                                    for e in exc.errors())}, 400))

    return install


class RetrieveRequest(BaseModel):
    """The body of ``POST /api/retrieve``: :meth:`qa.retriever.Retriever.retrieve`'s arguments."""

    question: str
    k: int = 5
    history: list[str] = []
    possible: bool = False
    sources: str | list[str] | None = None


class Refused(Exception):
    """A request refused with ``status`` and ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _logged_in(header: str, auth: tuple[str, str]) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return secrets.compare_digest(user.encode(), auth[0].encode()) and \
        secrets.compare_digest(password.encode(), auth[1].encode())
