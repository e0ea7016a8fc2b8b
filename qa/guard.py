"""What stands between the network and the chat page: an ASGI wrapper around the app.

- Security headers on every response: a Content-Security-Policy that allows only this origin
  (Gradio's page needs inline scripts and styles), no framing (``frame-ancestors 'none'``,
  ``X-Frame-Options: DENY``), ``nosniff``, no referrer.
- Login attempts: after :data:`LOGIN_FAILURES` failed logins from one address within
  :data:`LOGIN_WINDOW` seconds, further attempts get 429 until the window has passed.
- The queue: one client (its login when there is one, else its address) may have at most
  ``queue_share`` requests waiting, so a single client cannot fill the queue for everyone (429
  beyond that; ``QA_QUEUE_SHARE``, by default an eighth of the queue; 0: no limit, for many
  users behind one proxy address).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict, deque

from .quotas import LOGIN_FAILURES, LOGIN_WINDOW

log = logging.getLogger(__name__)
HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
     b"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
     b"media-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
     b"base-uri 'self'; form-action 'self'; object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class Guard:
    """ASGI app wrapping ``app`` (the FastAPI app with the Gradio ``demo`` mounted)."""

    def __init__(self, app, demo, queue_share: int):
        self.app, self.demo = app, demo
        self.queue_share = queue_share
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = (scope.get("client") or ("?",))[0]
        path, method = scope.get("path", ""), scope.get("method", "")
        if method == "POST" and path.endswith("/login") and self._locked_out(host):
            return await _refuse(send, f"too many failed logins; wait {LOGIN_WINDOW:.0f} s")
        if method == "POST" and path.endswith("/queue/join") and self.queue_share and \
                self._waiting(scope, host) >= self.queue_share:
            return await _refuse(send, f"at most {self.queue_share} requests may wait per "
                                       "client; wait for your answers")
        status = {}

        async def with_headers(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = list(message.get("headers", [])) + HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)
        if method == "POST" and path.endswith("/login") and status.get("code", 500) >= 400:
            self._failed(host)

    def _locked_out(self, host: str) -> bool:
        with self._lock:
            recent = self._failures[host]
            while recent and recent[0] < time.monotonic() - LOGIN_WINDOW:
                recent.popleft()
            return len(recent) >= LOGIN_FAILURES

    def _failed(self, host: str) -> None:
        with self._lock:
            self._failures[host].append(time.monotonic())
        log.warning("failed login from %s", host)

    def _login(self, scope) -> str | None:
        """The user whose Gradio login cookie this request carries, if any."""
        from http.cookies import SimpleCookie

        app = getattr(self.demo, "app", None)
        tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
        if not tokens:
            return None
        jar = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                jar.load(value.decode("latin-1"))
        for key in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            if key in jar and jar[key].value in tokens:
                return tokens[jar[key].value]
        return None

    def _waiting(self, scope, host: str) -> int:
        """Requests of this client waiting in Gradio's queue (not yet running): those of its
        login when it has one, else those of its address."""
        user = self._login(scope)
        queue = getattr(self.demo, "_queue", None)
        waiting = 0
        for events in getattr(queue, "event_queue_per_concurrency_id", {}).values():
            for event in list(events.queue):
                if user is not None:
                    waiting += getattr(event, "username", None) == user
                else:
                    client = getattr(getattr(event, "request", None), "client", None)
                    waiting += bool(client and client.host == host)
        return waiting


async def _refuse(send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())] + HEADERS})
    await send({"type": "http.response.body", "body": body})
