"""A minimal WebSocket client (RFC 6455) for benches that hold many sockets on one machine.

The crash bench's 1,000 watchers share this machine's cores with the servers they measure. A
general-purpose client (the ``websockets`` package) costs about as much CPU per frame read as
daphne costs per frame written, and that time would be counted as broadcast latency. This one
does only what a watcher needs: the opening handshake, reading the server's frames (unmasked,
whole or fragmented), answering pings and sending masked text frames. Every frame is stamped with
the time its bytes were read from the socket.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

OP_CONTINUATION, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA

OnText = Callable[[str, float], None]


class LeanSocket(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshaken = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self.on_text: OnText = lambda text, arrived: self.queue.put_nowait((text, arrived))
        self.fragments: list[bytes] = []

    @classmethod
    async def connect(cls, port: int, path: str, timeout: float = 60) -> LeanSocket:
        loop = asyncio.get_running_loop()
        _, socket = await loop.create_connection(cls, "127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        assert socket.transport is not None
        socket.transport.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await asyncio.wait_for(socket.handshaken, timeout)
        return socket

    async def recv(self, timeout: float = 60) -> str:
        text, _ = await asyncio.wait_for(self.queue.get(), timeout)
        return text

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self._send(OP_TEXT, mask, masked, len(payload))

    def _send(self, opcode: int, mask: bytes, masked: bytes, length: int) -> None:
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(header + mask + masked)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshaken.done():
            self.handshaken.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        buffer = self.buffer
        buffer += data
        if not self.handshaken.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[:end]).split(b"\r\n", 1)[0]
            del buffer[: end + 4]
            if b" 101 " not in status + b" ":
                self.handshaken.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.handshaken.set_result(None)
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, offset = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, offset = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < offset + length:
                return
            payload = bytes(buffer[offset : offset + length])
            del buffer[: offset + length]
            opcode = first & 0x0F
            if opcode in (OP_TEXT, OP_CONTINUATION):
                self.fragments.append(payload)
                if first & 0x80:  # FIN: the message is whole
                    text = b"".join(self.fragments).decode()
                    self.fragments = []
                    self.on_text(text, arrived)
            elif opcode == OP_PING:
                mask = os.urandom(4)
                masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
                self._send(OP_PONG, mask, masked, len(payload))
            elif opcode == OP_CLOSE:
                self.close()
                return
