"""The demo's web server: the standard library's ThreadingHTTPServer on 127.0.0.1, one page and a
few JSON endpoints, no files served.

    GET  /                  the page (page.html: inline CSS and JavaScript, nothing fetched from outside)
    GET  /api/info          the run, the controls its model can use, eval.json metrics, loss curves
    GET  /api/sample        ?seed=&n=&truncation=&label=            -> {"image": PNG data URL, ...}
    GET  /api/walk          ?a=&b=&steps=&method=&label=
    POST /api/reconstruct   the image file as the body (PNG or JPEG); also /api/denoise and
    POST /api/translate     ?direction=AtoB|BtoA

Every other path is a 404: the table above is all there is, no path reaches the file system, so
`/../config.json` and the like find nothing. Bad parameters and uploads are 400 with
{"error": message}; a request for another host name is 403 (a DNS-rebinding page cannot reach
the demo); an unexpected exception is a 500 for that request only, and the server goes on.

Layer: the top, beside the CLI: imports `demo.actions` (and through it the facade `gennet.api`);
the CLI's `demo` command uses it.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from ..errors import DataError, GennetError
from ..validation import check_count
from .actions import Demo
from .uploads import MAX_UPLOAD_BYTES, too_large

HOST = "127.0.0.1"
DRAIN_LIMIT = 64 * 2**20  # a refused upload up to this size is read and dropped, so the client sees the 400
UPLOAD_TYPES = ("application/octet-stream", "image/png", "image/jpeg")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
}

Action = Callable[[Demo, str, bytes], dict[str, Any]]
ROUTES: dict[str, tuple[str, Action]] = {
    "/api/info": ("GET", lambda demo, query, body: demo.info()),
    "/api/sample": ("GET", lambda demo, query, body: demo.sample(query)),
    "/api/walk": ("GET", lambda demo, query, body: demo.walk(query)),
    "/api/reconstruct": ("POST", lambda demo, query, body: demo.upload("reconstruct", query, body)),
    "/api/denoise": ("POST", lambda demo, query, body: demo.upload("denoise", query, body)),
    "/api/translate": ("POST", lambda demo, query, body: demo.upload("translate", query, body)),
}


class Refused(Exception):
    """A request answered with `status` and a message, before any action runs."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class DemoServer(ThreadingHTTPServer):
    """Serves one `Demo` on 127.0.0.1:port (0: a free port the system picks; see `url`)."""

    daemon_threads = True  # Ctrl-C does not wait for a request in flight

    def __init__(self, demo: Demo, port: int = 0):
        port = check_count("port", port, minimum=0, maximum=65535)
        self.demo = demo
        self.page = files("gennet.demo").joinpath("page.html").read_bytes()
        try:
            super().__init__((HOST, port), DemoHandler)
        except OSError as e:
            raise GennetError(f"cannot serve on {HOST}:{port}: {e.strerror or e}") from None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_port}/"


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "gennet-demo"
    sys_version = ""
    timeout = 30  # seconds a client may stall; its thread is freed after

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would bury the URL; failures are printed in `_dispatch`."""

    def _dispatch(self, method: str) -> None:
        path, query = urlsplit(self.path)[2:4]
        try:
            self._check_host()
            if path == "/" and method == "GET":
                return self._send(200, "text/html; charset=utf-8", self.server.page)
            if path not in ROUTES:
                raise Refused(404, f"nothing here: {path} (the demo serves / and /api/...)")
            wanted, action = ROUTES[path]
            if wanted != method:
                raise Refused(405, f"{path} takes {wanted} requests")
            body = self._body() if method == "POST" else b""
            self._json(200, action(self.server.demo, query, body))
        except Refused as e:
            self._json(e.status, {"error": str(e)})
        except GennetError as e:
            self._json(400, {"error": str(e)})
        except Exception as e:  # a bug: this request fails, the server goes on
            traceback.print_exc(file=sys.stderr)
            self._json(500, {"error": f"internal error ({type(e).__name__}: {e}); the demo goes on"})

    def _check_host(self) -> None:
        port = self.server.server_port
        host = self.headers.get("Host", "")
        if host not in (f"{HOST}:{port}", f"localhost:{port}"):
            raise Refused(403, f"this demo answers requests for {HOST}:{port} only, not {host!r}")

    def _body(self) -> bytes:
        """The upload: an image file as the whole body, with a Content-Length within the limit."""
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:  # also keeps other sites' plain form posts out
            raise DataError(f"send the image file as the body, as {', '.join(UPLOAD_TYPES)}; got {kind!r}")
        length = self.headers.get("Content-Length", "")
        if self.headers.get("Transfer-Encoding") or not length.isdigit():
            raise DataError("the upload needs a Content-Length (chunked uploads are not taken)")
        size = int(length)
        if size > MAX_UPLOAD_BYTES:
            self._drain(size)
            raise DataError(too_large(size))
        return self.rfile.read(size)

    def _drain(self, size: int) -> None:
        """Read and drop a refused body, so the client is done sending when the 400 comes."""
        if size > DRAIN_LIMIT:
            return  # the connection closes after the answer; a client still sending sees a reset
        while size > 0:
            chunk = self.rfile.read(min(size, 2**20))
            if not chunk:
                return
            size -= len(chunk)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(payload).encode("utf-8"))

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in SECURITY_HEADERS.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client left; nothing to tell it
            self.close_connection = True


def serve(run, port: int = 0, announce: Callable[[str], None] = print) -> None:
    """Serve the demo of `run` (a loaded Run) until Ctrl-C; `announce` gets the URL line first."""
    server = DemoServer(Demo(run), port)
    announce(f"gennet demo of {run.path} ({run.model.name}) at {server.url}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        announce("gennet demo: stopped")
    finally:
        server.server_close()
