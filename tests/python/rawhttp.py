"""HTTP/1.1 with exactly the bytes a test writes: no client library adds, fixes or
normalizes a header (Host and Origin are what the DNS-rebinding tests are about).

One request per connection (`Connection: close`); the answer is read to EOF and
split into status, headers and body (de-chunked when it is chunked).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes

    def json(self):
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.headers} {self.body[:500]!r}"


def request(
    port: int,
    method: str,
    path: str,
    *,
    host: str | None,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | dict | None = None,
    timeout: float = 30.0,
    received: bytearray | None = None,
) -> RawResponse:
    """Sends one request to 127.0.0.1:port. `host=None` sends no Host header at all.

    The bytes of the answer gather in `received` (a new bytearray unless one is given) as
    they arrive, so another thread can watch a streamed answer before it ends."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if received is None:
            received = bytearray()
        while chunk := s.recv(65536):
            received += chunk
    return _parse(bytes(received))


def _parse(raw: bytes) -> RawResponse:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError(f"not an HTTP response: {raw[:200]!r}")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return RawResponse(status=status, headers=headers, body=body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def initialize_body(request_id: int = 1, protocol_version: str = "2025-11-25") -> dict:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": protocol_version,
            "capabilities": {},
            "clientInfo": {"name": "portcullis-raw-tests", "version": "0"},
        },
    }


MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
