"""`marsad serve`: the report page, live on localhost, fed by a stream job's topics or an output folder.

The page polls ``/api/updates?since=VERSION`` every second and gets only the alerts (latest revision
per ``alert_id``) and stories that changed, plus the small aggregates; no reload, no websocket.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

from pipelines.report.model import ReportModel
from pipelines.report.page import render_page_with_policy
from pipelines.report.sources import FolderFollower, KafkaFollower, ReportSourceError

log = logging.getLogger(__name__)

FOLDER_POLL_SECONDS = 1.0
# A client that has not sent a whole request by then is dropped (a silent connection holds a thread).
READ_TIMEOUT_SECONDS = 10.0
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")


def allowed_host(header: str | None, bound_host: str) -> bool:
    """Whether a request's ``Host`` header names this server, so that a page of another site whose
    name was rebound to this address (DNS rebinding) cannot read the data.

    Accepted: the bound address, the localhost forms and, when bound to every interface, any IP
    literal and this machine's names. Never an arbitrary domain name."""
    if not header:
        return False
    host = header.strip().lower()
    if host.startswith("["):  # [::1]:8700
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if host in LOCAL_NAMES or host == bound_host.lower():
        return True
    if bound_host in WILDCARD_ADDRESSES:
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            return host in (socket.gethostname().lower(), socket.getfqdn().lower())
    return False


def parse_kafka_input(address: str) -> tuple[str, str]:
    """``kafka://HOST:PORT/PREFIX`` -> (``HOST:PORT``, ``PREFIX``)."""
    rest = address.removeprefix("kafka://")
    bootstrap, _, prefix = rest.partition("/")
    if not bootstrap or not prefix or "/" in prefix:
        raise ReportSourceError(f"{address!r}: expected kafka://HOST:PORT/PREFIX (topics PREFIX.alerts, ...)")
    return bootstrap, prefix


class LiveReport:
    """A model kept current by a follower (Kafka consumer thread or folder poller), and its HTTP server."""

    def __init__(
        self, source: str, host: str = "127.0.0.1", port: int = 8700, read_timeout: float = READ_TIMEOUT_SECONDS
    ) -> None:
        self.source = source
        self.model = ReportModel()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if source.startswith("kafka://"):
            bootstrap, prefix = parse_kafka_input(source)
            self._kafka: KafkaFollower | None = KafkaFollower(bootstrap, prefix, self.model)
            self._folder: FolderFollower | None = None
            title = f"marsad — live: {prefix}.* on {bootstrap}"
        else:
            self._kafka = None
            self._folder = FolderFollower(source, self.model)
            title = f"marsad — live: {Path(source).resolve()}"
        self.title = title
        self.server = ThreadingHTTPServer((host, port), _handler(self.model, title, host, read_timeout))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        """Where the page is served (the port the server actually bound)."""
        host, port = self.server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}/"

    def start(self) -> None:
        """Start following the source and serving the page, each in a daemon thread."""
        if self._kafka is not None:
            self._kafka.start()
        if self._folder is not None:
            self._folder.poll()
            self._spawn(partial(self._poll_folder, self._folder), "marsad-serve-folder")
        self._spawn(self.server.serve_forever, "marsad-serve-http")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _poll_folder(self, folder: FolderFollower) -> None:
        while not self._stop.wait(FOLDER_POLL_SECONDS):
            try:
                folder.poll()
            except OSError as error:  # a file rotated away mid-read: next poll sees the new state
                log.warning("reading %s: %s", self.source, error)

    def stop(self) -> None:
        """Stop serving and following."""
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        if self._kafka is not None:
            self._kafka.stop()


def _handler(model: ReportModel, title: str, bound_host: str, read_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = read_timeout  # socket timeout: a request line or header that never ends is dropped

        def do_GET(self) -> None:
            if not allowed_host(self.headers.get("Host"), bound_host):
                self._send(421, "text/plain", b"unknown Host: this server answers to its own address only")
                return
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                page, policy = render_page_with_policy(model.snapshot(), title, live=True)
                self._send(200, "text/html; charset=utf-8", page.encode(), policy)
            elif url.path == "/api/updates":
                try:
                    since = int(parse_qs(url.query).get("since", ["0"])[0])
                except ValueError:
                    self._send(400, "text/plain", b"since must be an integer")
                    return
                self._send(200, "application/json", orjson.dumps(model.snapshot(since)))
            else:
                self._send(404, "text/plain", b"not found")

        def _send(self, status: int, content_type: str, body: bytes, policy: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            # The header policy adds what a <meta> policy cannot say: no framing by other sites.
            self.send_header("Content-Security-Policy", (policy or "default-src 'none'") + "; frame-ancestors 'none'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler
