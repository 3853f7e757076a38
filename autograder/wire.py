"""Length-prefixed messages over a stream socket, with a size cap and a deadline."""

from __future__ import annotations

import select
import socket
import struct
import time

HEADER = struct.Struct("!I")


class WireClosed(EOFError):
    """The other end closed the connection (the worker died or exited)."""


class WireTimeout(TimeoutError):
    """No complete message arrived before the deadline."""


class WireTooLarge(ValueError):
    """The announced message is larger than the receiver accepts."""


def send_message(sock: socket.socket, payload: bytes) -> None:
    """Send one message (4-byte big-endian length, then the payload)."""
    sock.sendall(HEADER.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, count: int, deadline: float | None) -> bytes:
    chunks, remaining = [], count
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([sock], [], [], wait)[0]:
                raise WireTimeout("no reply before the deadline")
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise WireClosed("connection closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive_message(sock: socket.socket, max_bytes: int, deadline: float | None = None) -> bytes:
    """Receive one message; deadline is a ``time.monotonic()`` value or None (wait forever).

    Raises WireClosed, WireTimeout or WireTooLarge (the rest of the message is not read).
    """
    (length,) = HEADER.unpack(_recv_exact(sock, HEADER.size, deadline))
    if length > max_bytes:
        raise WireTooLarge(f"a reply of {length} bytes exceeds the {max_bytes}-byte limit")
    return _recv_exact(sock, length, deadline)
