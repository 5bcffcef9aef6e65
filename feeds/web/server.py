"""Running the app under uvicorn: bound first, hardened, stopped gracefully.

`WebServer` is what `akhbar serve` (one worker), `akhbar demo` and tests use: the socket is
bound at construction (port 0 picks a free port; a busy port raises `PortInUse` before any
other work), `serve_forever()` serves on the calling thread (the main thread installs its
own SIGINT and SIGTERM handlers, so a server started with SIGINT ignored still stops on
``kill -INT``), `start()` serves on a thread. `run_workers` runs N worker processes on one
bound socket (uvicorn's supervisor), each building the app from the same explicit
`WebContext` through `app_factory`.

Every connection goes through `feeds.web.protocol.DeadlineProtocol` (header and body
deadlines, size caps); `ServeLimits` holds the numbers (docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, Self

import uvicorn

from feeds.web.context import WebContext
from feeds.web.limits import ServeLimits
from feeds.web.protocol import DeadlineProtocol

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
OPEN_FILES_WANTED = 65536


class PortInUse(OSError):
    """The address to listen on is taken (by another server, or a previous one still up)."""


def build_app(ctx: WebContext) -> Any:
    """The app `ctx` describes: the one place the server builds it (every worker calls it)."""
    from feeds.web.app import create_app

    return create_app(ctx)


def app_factory(ctx: WebContext) -> Callable[[], Any]:
    """A picklable no-argument factory, so each worker process rebuilds the app from `ctx`
    rather than from anything in its environment."""
    return functools.partial(build_app, ctx)


def bind(host: str, port: int, backlog: int = ServeLimits.backlog) -> socket.socket:
    """A listening socket on (host, port); `PortInUse` when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR: a restart may rebind at once over the previous server's TIME_WAIT
    # connections; a port with a live listener still fails with EADDRINUSE.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            busy = PortInUse(f"{host}:{port}: address already in use")
            busy.errno = errno.EADDRINUSE
            raise busy from exc
        raise
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def raise_open_files_limit(wanted: int = OPEN_FILES_WANTED) -> None:
    """Lift the soft limit on open files towards the hard one: at a soft limit of 1024 a
    burst of 1,000 connections makes accept() fail with EMFILE, and asyncio then stops
    accepting for a second while the backlog waits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class ServeConfig(uvicorn.Config):
    """uvicorn's Config with the limits applied, carrying them to `DeadlineProtocol`
    (pickled with the config into every worker)."""

    def __init__(self, app: Any, *, limits: ServeLimits | None = None, **kwargs: Any) -> None:
        self.limits = limits or ServeLimits()
        kwargs.setdefault("log_level", "warning")
        kwargs.setdefault("access_log", False)
        kwargs.setdefault("lifespan", "on")
        kwargs.setdefault("proxy_headers", False)
        super().__init__(
            app,
            http=DeadlineProtocol,
            backlog=self.limits.backlog,
            timeout_keep_alive=self.limits.keep_alive,  # type: ignore[arg-type]  # a float works
            limit_concurrency=None,  # DeadlineProtocol's own: requests in flight, not connections
            timeout_graceful_shutdown=self.limits.graceful_timeout,  # type: ignore[arg-type]
            **kwargs,
        )


class _Server(uvicorn.Server):
    """uvicorn's server, whose signal handling stops gracefully and returns.

    uvicorn restores the previous handlers after a signal stop and raises the signal
    again, so a process that inherited SIGINT ignored, or a SIGTERM at its default, ends
    ignored or killed instead of returning; here the stop is recorded in `stopped_by`."""

    stopped_by: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self._captured_signals:
                self.stopped_by = self._captured_signals[0]


class WebServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, limits: ServeLimits | None = None,
                 sock: socket.socket | None = None, factory: bool = False, **uvicorn_options: Any) -> None:
        """`app` an ASGI app, or with ``factory=True`` a no-argument callable building one
        (`app_factory`); `uvicorn_options` e.g. proxy_headers, forwarded_allow_ips,
        root_path, access_log."""
        self.limits = limits or ServeLimits()
        raise_open_files_limit()
        self.sock = sock if sock is not None else bind(host, port, self.limits.backlog)
        self.host, self.port = self.sock.getsockname()[:2]
        self.config = ServeConfig(app, limits=self.limits, factory=factory, **uvicorn_options)
        self.server = _Server(self.config)
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://[{self.host}]:{self.port}" if ":" in self.host else f"http://{self.host}:{self.port}"

    @property
    def stopped_by(self) -> int | None:
        """The signal that stopped `serve_forever`, if one did."""
        return self.server.stopped_by

    def serve_forever(self) -> None:
        self.server.run(sockets=[self.sock])

    def _serve_on_thread(self) -> None:
        try:
            self.serve_forever()
        except BaseException as exc:  # noqa: BLE001  # SystemExit from a failed startup included
            self._failed = exc

    def start(self, timeout: float = 30.0) -> Self:
        """Serve on a thread; return once the server answers (RuntimeError if it failed)."""
        self._thread = threading.Thread(target=self._serve_on_thread, name=f"web-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.shutdown()
                raise RuntimeError(f"server on {self.url} did not start: {self._failed!r}")
            time.sleep(0.01)
        return self

    def shutdown(self) -> None:
        """Stop: no new connections, in-flight requests finish (up to graceful_timeout).
        Blocks until a server started by `start()` is down."""
        self.server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.limits.graceful_timeout + 5)

    def server_close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def run_workers(factory: Callable[[], Any], sock: socket.socket, workers: int, *,
                limits: ServeLimits | None = None, **uvicorn_options: Any) -> None:
    """Serve `sock` from `workers` processes until SIGINT or SIGTERM; each builds its app
    with `factory` (picklable: `app_factory`). The supervisor replaces a worker that dies
    and, on stop, lets each finish its in-flight requests."""
    from uvicorn.supervisors import Multiprocess

    raise_open_files_limit()
    config = ServeConfig(factory, limits=limits, factory=True, workers=workers, **uvicorn_options)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
