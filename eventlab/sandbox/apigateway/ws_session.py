"""One WebSocket connection on the sandbox's HTTP port: the handshake, frames, closing.

The protocol itself (RFC 6455: handshake checks, masking, control frames, close
handshake, size limits) is the ``websockets`` library's sans-I/O ``ServerProtocol``; this
module moves its bytes over the socket werkzeug accepted (see ``QuietHandler`` in
core/server.py) and assembles fragmented messages.  Sizes are API Gateway's: a frame over
the frame quota or a message over the message quota closes the connection with 1009
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).

Any thread may send or close (a ``PostToConnection`` call, the idle timer); the thread
that owns the socket reads, and hands each complete message to ``on_message``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

CLOSE_WAIT_SECONDS = 5.0   # real seconds a peer gets to answer our close frame


class Session:
    """The socket side of one connection."""

    def __init__(self, sock: socket.socket, reader: Any, frame_bytes: int, message_bytes: int) -> None:
        self.sock = sock
        self.reader = reader
        self.protocol = ServerProtocol(max_size=(message_bytes, frame_bytes))
        self.frame_bytes = frame_bytes
        self._lock = threading.Lock()
        self._parts: list[bytes] = []
        self._text = False

    # -- handshake ------------------------------------------------------------------
    def handshake_error(self, path: str, headers: dict[str, str]) -> bool:
        """Check the upgrade request; a bad one is answered (400/426) here: True.  werkzeug
        has read the request already: the protocol is given it again, as bytes, so that its
        parser moves on to frames."""
        lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        self.protocol.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace"))
        requests = [e for e in self.protocol.events_received() if isinstance(e, Request)]
        if not requests:   # unparseable: the protocol has its answer queued
            with self._lock:
                self._flush()
            return True
        self._response = self.protocol.accept(requests[0])
        if self._response.status_code == 101:
            return False
        self._send_response(self._response)
        return True

    def accept(self) -> None:
        self._send_response(self._response)

    def refuse(self, status: int, body: str) -> None:
        self._send_response(self.protocol.reject(status, body))

    def _send_response(self, response: Any) -> None:
        with self._lock:
            self.protocol.send_response(response)
            self._flush()

    # -- sending (any thread) --------------------------------------------------------------
    def send(self, data: bytes, text: bool) -> bool:
        """Send one message, split into frames of at most the frame quota, as API Gateway
        does; False when the connection is no longer open."""
        with self._lock:
            if self.protocol.state is not State.OPEN:
                return False
            chunks = [data[i:i + self.frame_bytes] for i in range(0, len(data), self.frame_bytes)] or [b""]
            for i, chunk in enumerate(chunks):
                fin = i == len(chunks) - 1
                if i:
                    self.protocol.send_continuation(chunk, fin=fin)
                elif text:
                    self.protocol.send_text(chunk, fin=fin)
                else:
                    self.protocol.send_binary(chunk, fin=fin)
            return self._flush()

    def close(self, code: int, reason: str) -> None:
        """Start the close handshake (the reading thread finishes it)."""
        with self._lock:
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(code, reason)
                self._flush()
        try:
            self.sock.settimeout(CLOSE_WAIT_SECONDS)
        except OSError:
            pass

    def abort(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _flush(self) -> bool:
        try:
            for data in self.protocol.data_to_send():
                if data:
                    self.sock.sendall(data)
                else:   # the protocol's end-of-stream: half-close
                    self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return False
        return True

    # -- reading (the owning thread) -------------------------------------------------------
    def run(self, on_message: Callable[[bytes, bool], None]) -> tuple[int, str]:
        """Read until the connection ends; returns the close code and reason."""
        protocol = self.protocol
        while protocol.state is not State.CLOSED:
            try:
                data = self.reader.read1(65536)
            except (OSError, ValueError):
                data = b""
            with self._lock:
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                events = protocol.events_received()
                self._flush()
            for frame in events:
                message = self._assemble(frame)
                if message is not None:
                    on_message(*message)
            if not data:
                break
        self.abort()
        if protocol.close_rcvd is not None:
            return protocol.close_rcvd.code, protocol.close_rcvd.reason
        if protocol.close_sent is not None:
            return protocol.close_sent.code, protocol.close_sent.reason
        return 1006, "Connection closed abnormally"

    def _assemble(self, frame: Any) -> tuple[bytes, bool] | None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._parts, self._text = [frame.data], frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT:
            self._parts.append(frame.data)
        else:
            return None   # ping, pong, close: the protocol answers them
        if not frame.fin:
            return None
        data, self._parts = b"".join(self._parts), []
        return data, self._text
