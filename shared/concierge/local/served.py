"""A WSGI app served on 127.0.0.1 from a daemon thread: the common part of the local stand-ins (Graph API,
OpenSearch, Messages API)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Self

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from werkzeug.serving import WSGIRequestHandler


class ServedApp:
    name = "stand-in"

    def __init__(
        self, app: WSGIApplication, port: int = 0, request_handler: type[WSGIRequestHandler] | None = None
    ) -> None:
        self.app = app
        self._port = port
        self._handler = request_handler
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"The {self.name} is not running: call start() first.")
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        if self._server is None:
            options: dict[str, Any] = {"request_handler": self._handler} if self._handler else {}
            self._server = make_server(self.host, self._port, self.app, threaded=True, **options)
            # A short poll keeps stop() quick: shutdown waits for the serving loop's next poll.
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None  # started together with the server
            self._thread.join()
            self._server = self._thread = None
