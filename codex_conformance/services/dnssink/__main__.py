"""Sinkhole DNS: answers every outside name with NXDOMAIN at once and logs it.

Containers on an internal network have no route out, so Docker's embedded DNS forwards
outside names into the void and callers wait 5-20 s per name (contract/docker.md §3.3).
The codex container uses this server as its upstream instead: outside names fail
immediately, nothing leaves the machine, and every name asked is logged as one line
(``query <name> type=<n> from=<ip> ts=<epoch>``), the run's record of attempted egress.

With ``--control-port`` the same record is served as JSON (``GET /_suite/queries?since=<epoch>``):
the harness reads it after every session, and a read of the container's log through the
engine costs the engine far more than an HTTP request costs this server.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

QUERIES: list[dict[str, object]] = []
LOCK = threading.Lock()
SINK: list[socket.socket] = []  # the UDP socket, for the control port's "pending"


def pending_queries() -> int:
    """Whether a query waits unread in the socket (1) or not (0): a UDP socket is readable
    exactly while a datagram is queued. Asked under LOCK, which the sink holds from its read
    to its log, so a query is always either pending or logged, never neither."""
    return sum(1 for sock in SINK if select.select([sock], [], [], 0)[0])


def question(packet: bytes) -> tuple[str, int, int]:
    """(name, qtype, end offset of the question) of a DNS query."""
    labels, offset = [], 12
    while True:
        length = packet[offset]
        if length == 0:
            offset += 1
            break
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    qtype = struct.unpack("!H", packet[offset : offset + 2])[0]
    return ".".join(labels), qtype, offset + 4


def nxdomain(packet: bytes, end: int) -> bytes:
    (ident, flags) = struct.unpack("!HH", packet[:4])
    rd = flags & 0x0100
    header = struct.pack("!HHHHHH", ident, 0x8000 | 0x0400 | rd | 0x0080 | 3, 1, 0, 0, 0)
    return header + packet[12:end]


class Control(BaseHTTPRequestHandler):
    """``GET /_suite/queries[?since=<epoch>]``: the names asked (at or after ``since``).
    HTTP/1.1 (every answer has a Content-Length): the test process keeps its connection."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path not in ("/_suite/queries", "/health"):
            self.send_error(404)
            return
        since = float(parse_qs(url.query).get("since", ["0"])[0])
        with LOCK:
            queries = [q for q in QUERIES if float(str(q["ts"])) >= since]
            pending = pending_queries()
        body = json.dumps({"queries": queries, "pending": pending}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the queries are the log; the harness's reads of them are not


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--control-port", type=int, default=0, help="serve the queries as JSON (0: no)")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", args.port))
    SINK.append(sock)
    if args.control_port:
        control = ThreadingHTTPServer(("0.0.0.0", args.control_port), Control)
        threading.Thread(target=control.serve_forever, daemon=True).start()
    print(f"dns sink listening on udp/{args.port}", flush=True)
    while True:
        select.select([sock], [], [])  # a datagram is queued; read and logged under LOCK
        with LOCK:
            packet, peer = sock.recvfrom(4096)
            try:
                name, qtype, end = question(packet)
            except (IndexError, struct.error):
                continue
            now = time.time()
            QUERIES.append({"name": name, "type": qtype, "from": peer[0], "ts": round(now, 3)})
        sys.stdout.write(f"query {name} type={qtype} from={peer[0]} ts={now:.3f}\n")
        sys.stdout.flush()
        sock.sendto(nxdomain(packet, end), peer)


if __name__ == "__main__":
    main()
