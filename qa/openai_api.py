"""An OpenAI-compatible chat endpoint, so existing chat clients can ask the documents.

``POST /v1/chat/completions`` takes OpenAI's body (``messages``, ``stream``; ``model`` and
sampling parameters are accepted and ignored) and replies with the chat page's answer to the
last user message (the earlier ones are its history): the answering sentence, the passages and
their sources, as Markdown. ``stream: true`` sends it as server-sent ``chat.completion.chunk``
events, line by line, ending with ``data: [DONE]``. ``GET /v1/models`` names the one model,
``qa-chat``. Logins, limits and errors are :mod:`qa.api`'s (errors in OpenAI's shape).
"""

from __future__ import annotations

import json
import secrets
import time

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from .api import Refused, busy, gate
from .chat import message_text
from .errors import QAError

MODEL = "qa-chat"


class Message(BaseModel):
    """One chat message; ``content`` is text or OpenAI's list of typed parts."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list | None = None


class CompletionRequest(BaseModel):
    """OpenAI's chat completion body: only ``messages`` and ``stream`` matter here."""

    model_config = ConfigDict(extra="allow")
    messages: list[Message]
    model: str = MODEL
    stream: bool = False
    top_k: int = 3


def openai_router(service):
    """A function installing ``/v1/chat/completions`` and ``/v1/models`` on a FastAPI app."""
    router = APIRouter(prefix="/v1")
    asker = Depends(gate(service))

    @router.get("/models")
    def models(user=asker) -> dict:
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0,
                                            "owned_by": "qa-chat"}]}

    @router.post("/chat/completions")
    def complete(body: CompletionRequest, user=asker):
        turns = [{"role": m.role, "content": message_text(m.content)} for m in body.messages]
        if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
            raise Refused(400, "messages: the last message must be the user's question")
        try:
            with busy(service):
                reply = service.answer(turns[-1]["content"], turns[:-1], body.top_k, None, user)
        except (ValueError, TypeError, QAError) as exc:
            raise Refused(400, str(exc)) from None
        made = {"id": "chatcmpl-" + secrets.token_hex(12), "created": int(time.time()),
                "model": MODEL}
        if not body.stream:
            return {**made, "object": "chat.completion",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply}}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
        return StreamingResponse(_events(made, reply), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    def install(app) -> None:
        """Add the routes to ``app`` (after :func:`qa.api.api_router`'s, which adds the
        errors)."""
        app.include_router(router)

    return install


def _events(made: dict, reply: str):
    """The reply as server-sent chunks: the role, each line, the stop, ``[DONE]``."""

    def chunk(delta: dict, finish: str | None = None) -> str:
        event = {**made, "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for line in reply.splitlines(keepends=True):
        yield chunk({"content": line})
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"
