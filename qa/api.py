"""The JSON API beside the chat page (same server, same index, same users).

- ``POST /api/retrieve``: what :meth:`qa.retriever.Retriever.retrieve` returns (as ``qa ask
  --json`` prints it), from the documents the caller may read.
- ``GET /api/documents`` (admins: ``?everyone=true`` lists every private upload too),
  ``POST /api/documents`` (multipart ``files``; private to the caller unless an admin's),
  ``DELETE /api/documents/{id}``, ``POST /api/documents/share`` (admins).
- ``GET /api/health``: ``ok``, or 503 ``building`` until the index is loaded.

With accounts, every route but health needs ``Authorization: Bearer <token>`` (``qa token
create``) or HTTP Basic. Errors are JSON ``{"error": message}``: 400 bad input, 401 no or a
wrong login, 403 not allowed, 404 no such document (also another user's), 411 no body length,
413 a body over :data:`~qa.limits.MAX_API_BODY_BYTES` (uploads:
:data:`~qa.limits.MAX_API_UPLOAD_BYTES`), 429 over a quota (with ``Retry-After``), 503 while
the index is being built. :mod:`qa.openai_api` adds ``/v1/chat/completions``.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict

import anyio

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import access
from .errors import DocumentError, NotAllowed, QAError
from .limits import (MAX_API_BODY_BYTES, MAX_API_UPLOAD_BYTES, MAX_FILES_PER_UPLOAD,
                     MAX_UPLOAD_BYTES)

__all__ = ["Precheck", "Refused", "api_router", "busy", "gate", "passage_json"]


def passage_json(passage) -> dict:
    """A passage as JSON: every field of :class:`qa.passage.Passage` and its ``answer``."""
    return dict(asdict(passage), answer=passage.answer)


class Refused(Exception):
    """A request refused with ``status``, ``message`` and, for 429 and 503, ``retry_after``."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def _login(service, authorization: str, host: str | None):
    """Who ``authorization`` names (``None`` without accounts). Failed passwords (HTTP Basic)
    from one address are limited as the page's logins are; tokens cannot be guessed.

    Raises:
        Refused: 401, accounts exist and it names nobody; 429, too many failed passwords.
    """
    if not (service.login_required or service.accounts.exist()):
        return None
    basic = authorization.partition(" ")[0].lower() == "basic"
    wait = service.failed_logins.wait(host or "?") if basic else 0
    if wait:
        raise Refused(429, f"too many failed logins from this address; wait {wait} s", wait)
    user = access.from_header(authorization, service.accounts)
    if user is None:
        if basic:
            service.failed_logins.take(host or "?")
        raise Refused(401, "log in: Authorization: Bearer <token> (qa token create) or HTTP "
                           "Basic with a user's password")
    return user


def gate(service):
    """A FastAPI dependency returning who asks (a :class:`~qa.accounts.User`, or ``None``
    without accounts), after checking the login, readiness and the caller's rate quota."""

    def asker(request: Request):
        user = _login(service, request.headers.get("authorization", ""),
                      request.client.host if request.client else None)
        if not service.ready.is_set():
            raise Refused(503, "the index is being built; try again shortly", 5)
        key = caller(request, user)
        wait = service.questions.take(key) if key else 0
        if wait:
            raise Refused(429, service.questions.message(wait), wait)
        return user

    return asker


def caller(request: Request, user) -> str | None:
    """Whose quota a request spends (:func:`qa.access.quota_key`)."""
    return access.quota_key(user, request.client.host if request.client else None)


BUSY_SECONDS = 30
"""How long an API question waits for its turn before 503."""


@contextlib.contextmanager
def busy(service):
    """One of the API's ``QA_CONCURRENCY`` turns to answer, or 503 after :data:`BUSY_SECONDS`
    (so waiting calls cannot hold the server's threads for ever)."""
    if not service.api_slots.acquire(timeout=BUSY_SECONDS):
        raise Refused(503, "the server is busy; try again shortly", 5)
    try:
        yield
    finally:
        service.api_slots.release()


class Precheck:
    """ASGI middleware refusing, before any body is read, a POST to ``/api`` or ``/v1`` without
    a valid login (401) or whose declared length is missing (411) or over its limit (413)."""

    def __init__(self, app, service):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and scope.get("method") == "POST" and \
                path.startswith(("/api/", "/v1/")):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            limit = MAX_API_UPLOAD_BYTES if path == "/api/documents" else MAX_API_BODY_BYTES
            length = headers.get("content-length", "")
            try:
                await anyio.to_thread.run_sync(  # a password's hash is slow on purpose
                    _login, self.service, headers.get("authorization", ""),
                    (scope.get("client") or (None,))[0])
                if not length.isdigit():
                    raise Refused(411, "send the body's length (Content-Length)")
                if int(length) > limit:
                    raise Refused(413, f"the body is over {limit:,} bytes")
            except Refused as exc:
                from starlette.requests import Request as StarletteRequest

                response = refused(StarletteRequest(scope), exc)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


def api_router(service):
    """The ``/api`` routes over ``service`` (a :class:`qa.chat.ChatService`): a function that
    installs them, with their JSON errors, on a FastAPI app."""
    router = APIRouter(prefix="/api")
    asker = Depends(gate(service))

    @router.get("/health")
    def health() -> JSONResponse:
        if not service.ready.is_set():
            return JSONResponse({"status": "building"}, 503, headers={"Retry-After": "5"})
        return JSONResponse({"status": "ok"})

    @router.post("/retrieve")
    def retrieve(body: RetrieveRequest, user=asker) -> dict:
        try:
            with busy(service):  # as many at once as the page answers; the rest wait
                passages = service.retrieve(body.question, body.k, body.history, body.sources,
                                            user, body.possible)
        except (ValueError, QAError) as exc:
            raise Refused(400, str(exc)) from None
        return {"passages": [passage_json(p) for p in passages]}

    @router.get("/documents")
    def documents(everyone: bool = False, user=asker) -> dict:
        if everyone and user is not None and not user.admin:
            raise Refused(403, "only an admin lists every user's uploads")
        return {"documents": [document_json(doc, user)
                              for doc in service.documents(user, everyone)]}

    @router.post("/documents", status_code=201)
    def upload(request: Request, files: list[UploadFile] = File(...), user=asker) -> dict:
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise Refused(400, f"at most {MAX_FILES_PER_UPLOAD} files at a time")
        named = []
        for upload_file in files:
            data = upload_file.file.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise Refused(413, f"{upload_file.filename}: over the "
                                   f"{MAX_UPLOAD_BYTES // 2**20} MB upload limit")
            named.append((upload_file.filename or "", data))
        key = caller(request, user)
        wait = service.upload_bytes.take(key, sum(len(d) for _, d in named)) if key else 0
        if wait:
            raise Refused(429, service.upload_bytes.message(wait), wait)
        try:
            result = service.add(named, user)
        except (DocumentError, OSError) as exc:
            raise Refused(400, str(exc)) from None
        return asdict(result)

    @router.post("/documents/share")
    def share(body: ShareRequest, user=asker) -> dict:
        if user is not None and not user.admin:
            raise Refused(403, "only an admin shares uploads")
        try:
            return {"source": service.library.share(body.source)}
        except (DocumentError, OSError) as exc:
            raise Refused(404, str(exc)) from None

    @router.delete("/documents/{source:path}")
    def remove(source: str, user=asker) -> dict:
        try:
            service.delete(source, user)
        except NotAllowed as exc:
            raise Refused(403, str(exc)) from None
        except (DocumentError, OSError) as exc:
            raise Refused(404, str(exc)) from None
        return {"removed": source}

    def install(app) -> None:
        """Add the routes, their early checks and their JSON errors to ``app``."""
        app.include_router(router)
        app.add_middleware(Precheck, service=service)
        app.add_exception_handler(Refused, refused)
        app.add_exception_handler(RequestValidationError, invalid)
        app.add_exception_handler(StarletteHTTPException, http_error)

    return install


def document_json(doc, user) -> dict:
    """A document as the API lists it: ``id`` (its name in results, for DELETE), passages,
    whether uploaded, whose (``None``: everyone's), its state and whether ``user`` may
    remove it."""
    return {"id": doc.source, "passages": doc.passages, "uploaded": doc.removable,
            "owner": doc.owner, "state": doc.state, "original": doc.original or None,
            "removable": access.may_remove(doc, user)}


def refused(request: Request, exc: Refused) -> JSONResponse:
    """A :class:`Refused` as JSON (OpenAI's error shape under ``/v1``)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer, Basic realm="qa-chat"'
    body = {"error": exc.message}
    if request.url.path.startswith("/v1/"):
        body = {"error": {"message": exc.message, "type": _OPENAI_TYPES.get(exc.status, "error"),
                          "code": exc.status}}
    return JSONResponse(body, exc.status, headers=headers)


async def http_error(request: Request, exc: StarletteHTTPException):
    """Starlette's own errors (no such route, wrong method) as JSON under ``/api`` and ``/v1``."""
    if request.url.path.startswith(("/api/", "/v1/")):
        return refused(request, Refused(exc.status_code, str(exc.detail)))
    return await http_exception_handler(request, exc)


def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A malformed body or parameter: 400 with what was wrong."""
    message = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
    return refused(request, Refused(400, message or "malformed request"))


_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                 403: "permission_error", 404: "not_found_error", 413: "invalid_request_error",
                 429: "rate_limit_error", 503: "server_error"}


class RetrieveRequest(BaseModel):
    """The body of ``POST /api/retrieve``: :meth:`qa.retriever.Retriever.retrieve`'s arguments."""

    question: str
    k: int = 5
    history: list[str] = []
    possible: bool = False
    sources: str | list[str] | None = None


class ShareRequest(BaseModel):
    """The body of ``POST /api/documents/share``: the private upload to share."""

    source: str
