"""A small HTTP/1.1 client for streamed responses: keep-alive connections, httptools' parser (uvicorn's), and
the arrival time of every read taken where the bytes come in.

Why not aiohttp: streaming 16-token answers from the instant test server (tests/fixtures/instant_server.py)
in a closed loop on a 2-core machine, aiohttp 3.14 spent ~310 µs of CPU per request, most of it per HTTP
chunk in its stream reader; the same loop on this protocol and parser spends ~110 µs (docs/HTTP_ENGINE.md),
and a benchmark's client must never be what limits the load. It also stamps each read as the event loop
hands it over (in `data_received`), not when the reading coroutine is next scheduled, so a busy client does
not stretch the latencies it measures.

What it does not do, because inference servers do not need it: redirects, proxies, cookies, compression
(no Accept-Encoding is sent), HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httptools

# Servers close idle keep-alive connections (uvicorn, behind vllm serve, after 5 s): one idle longer than
# this is closed rather than reused, so a request is not sent into a connection the server is closing.
_MAX_IDLE_S = 4.0
_MAX_BODY_BYTES = 64 * 2**20  # a non-streamed body (/metrics, an error) larger than this is refused


class HttpError(Exception):
    """A request that failed; the message is one line for the per-request record."""


class ConnectFailed(HttpError):
    pass


class StatusError(HttpError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if message else f"HTTP {status}")
        self.status = status
        self.message = message


class StreamCut(HttpError):
    pass


class RequestTimeout(HttpError):
    pass


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: scheme, host and port of a URL, and the path every request path is under."""

    scheme: str
    host: str
    port: int
    host_header: str
    path: str  # e.g. "/v1"; "" for the server root

    @classmethod
    def from_url(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host_header = parts.netloc.rsplit("@", 1)[-1]
        return cls(parts.scheme, parts.hostname, port, host_header, parts.path.rstrip("/"))

    @property
    def root(self) -> str:
        return f"{self.scheme}://{self.host_header}"

    def url(self, path: str = "") -> str:
        return f"{self.root}{self.path}{path}"


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one response at a time."""

    def __init__(self) -> None:
        self.transport: Any = None  # asyncio's or uvloop's transport (the latter does not subclass it)
        self.closed = False
        self.idle_since = 0.0
        self.last_activity = 0.0
        self.started = 0.0
        self._reset()

    def _reset(self) -> None:
        self.parser: Any = None
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False
        self.error: HttpError | None = None
        self.reads: deque[tuple[float, bytes]] = deque()
        self._body: list[bytes] = []
        self.waiter: asyncio.Future[None] | None = None

    def begin(self, now: float) -> None:
        self._reset()
        self.parser = httptools.HttpResponseParser(self)
        self.started = self.last_activity = now

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        parser = self.parser
        if parser is None:
            return  # bytes no request asked for: the connection is not reused (keep_alive stays False)
        self.received_any = True
        self.last_activity = now
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(StreamCut(f"the server sent malformed HTTP ({exc})"))
            self.transport.abort()
            return
        body = self._body
        if body:
            self.reads.append((now, body[0] if len(body) == 1 else b"".join(body)))
            body.clear()
        self._wake()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.parser is not None and not self.complete and self.error is None:
            if self.headers_done and not _has_length(self.headers):
                self.complete = True  # a body delimited by the end of the connection (HTTP/1.0 style)
            elif self.received_any:
                self.error = StreamCut("the server closed the connection mid-response")
            else:
                self.error = StreamCut("the server closed the connection before answering")
        self._wake()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()

    def fail(self, error: HttpError) -> None:
        if self.error is None and not self.complete:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None


def _has_length(headers: Mapping[bytes, bytes]) -> bool:
    return b"content-length" in headers or b"chunked" in headers.get(b"transfer-encoding", b"").lower()


class Response:
    """A response whose headers have arrived; its body is read as it comes (`next_read`) or whole (`read`)."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    @property
    def status(self) -> int:
        return self._connection.status

    def header(self, name: str) -> str:
        return self._connection.headers.get(name.lower().encode(), b"").decode("latin-1")

    async def next_read(self) -> tuple[float, bytes] | None:
        """The next piece of body with its arrival time (perf_counter), or None at the end of the body."""
        connection = self._connection
        while not connection.reads:
            if connection.error is not None:
                raise connection.error
            if connection.complete:
                return None
            await connection.wait()
        return connection.reads.popleft()

    async def read(self, limit: int = _MAX_BODY_BYTES) -> bytes:
        parts: list[bytes] = []
        size = 0
        while (piece := await self.next_read()) is not None:
            parts.append(piece[1])
            size += len(piece[1])
            if size > limit:
                raise HttpError(f"the response body exceeds {limit} bytes")
        return b"".join(parts)


class HttpClient:
    """Requests to one origin over a pool of keep-alive connections.

    The pool grows to the number of requests in flight at once (the run's concurrency) and keeps those
    connections for the next requests; it never makes a request wait for a connection, so no queueing
    hides inside the client. A connection the server closed while idle is retried once on a fresh one.
    """

    def __init__(
        self,
        origin: Origin,
        *,
        headers: Mapping[str, str],
        connect_timeout_s: float,
        read_timeout_s: float,
        request_timeout_s: float | None,
    ) -> None:
        self.origin = origin
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._heads: dict[tuple[str, str], bytes] = {}
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._request_timeout_s = request_timeout_s
        self._ssl = ssl.create_default_context() if origin.scheme == "https" else None
        self._idle: list[_Connection] = []
        self._active: set[_Connection] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self.connections_opened = 0

    def request(self, method: str, path: str, body: bytes | None = None) -> _Exchange:
        """`async with client.request(...) as response:`; `path` is under the origin's path."""
        return _Exchange(self, method, path, body)

    async def get(self, path: str, *, absolute: bool = False) -> tuple[int, bytes]:
        """Status and whole body of a GET; `absolute` paths start at the server root."""
        async with _Exchange(self, "GET", path, None, absolute=absolute) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for connection in [*self._idle, *self._active]:
            if connection.transport is not None:
                connection.transport.abort()
        self._idle.clear()
        self._active.clear()

    def _head(self, method: str, target: str) -> bytes:
        key = (method, target)
        head = self._heads.get(key)
        if head is None:
            head = self._heads[key] = (
                f"{method} {target} HTTP/1.1\r\nHost: {self.origin.host_header}\r\n{self._headers}"
            ).encode("latin-1")
        return head

    async def _acquire(self) -> tuple[_Connection, bool]:
        """An idle live connection (reused = True) or a new one."""
        now = time.monotonic()
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < _MAX_IDLE_S:
                return connection, True
            if not connection.closed:
                connection.transport.close()
        return await self._connect(), False

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        origin = self.origin
        where = f"{origin.host_header}"
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    _Connection,
                    origin.host,
                    origin.port,
                    ssl=self._ssl,
                    server_hostname=origin.host if self._ssl else None,
                ),
                self._connect_timeout_s,
            )
        except TimeoutError:
            waited = self._connect_timeout_s
            raise ConnectFailed(f"cannot connect to {where}: no answer in {waited:g} s") from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"cannot connect to {where}: TLS failed ({exc.reason or exc})") from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise ConnectFailed(f"cannot connect to {where}: {reason}") from None
        self.connections_opened += 1
        return connection

    def _release(self, connection: _Connection, *, reusable: bool) -> None:
        self._active.discard(connection)
        connection.parser = None
        if reusable and connection.complete and connection.keep_alive and not connection.closed:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        elif connection.transport is not None:
            connection.transport.abort()  # the server sees the request abandoned, as a client disconnect

    def _start_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """Fails requests that waited too long; one sweep a fraction of a second, not a timer per read."""
        read_s, total_s = self._read_timeout_s, self._request_timeout_s
        interval = min(1.0, read_s / 4, (total_s or read_s) / 4)
        while True:
            await asyncio.sleep(interval)
            now = time.perf_counter()
            for connection in list(self._active):
                if total_s is not None and now - connection.started > total_s:
                    connection.fail(RequestTimeout(f"the request took longer than {total_s:g} s"))
                elif now - connection.last_activity > read_s:
                    waited = "the response to start" if not connection.received_any else "the next bytes"
                    connection.fail(RequestTimeout(f"no answer in {read_s:g} s waiting for {waited}"))


class _Exchange:
    """One request and its response, as an async context manager that returns the connection to the pool."""

    def __init__(
        self, client: HttpClient, method: str, path: str, body: bytes | None, *, absolute: bool = False
    ) -> None:
        self._client = client
        self._method = method
        self._target = path if absolute else client.origin.path + path
        self._body = body
        self._connection: _Connection | None = None

    async def __aenter__(self) -> Response:
        client = self._client
        client._start_watchdog()
        message = client._head(self._method, self._target)
        body = self._body
        if body is not None:
            message += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
        else:
            message += b"\r\n"
        for attempt in range(2):
            connection, reused = await client._acquire()
            self._connection = connection
            connection.begin(time.perf_counter())
            client._active.add(connection)
            connection.transport.write(message)
            try:
                while not connection.headers_done and connection.error is None:
                    await connection.wait()
            except BaseException:  # cancelled before the headers came: __aexit__ will not run
                client._release(connection, reusable=False)
                self._connection = None
                raise
            if connection.error is None:
                return Response(connection)
            # A kept-alive connection the server had already closed: once more on a new one.
            stale = reused and not connection.received_any and isinstance(connection.error, StreamCut)
            error = connection.error
            client._release(connection, reusable=False)
            self._connection = None
            if not stale or attempt:
                raise error
        raise AssertionError("unreachable")

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._client._release(connection, reusable=exc_type is None)
