"""Sinkhole DNS: answers every outside name with NXDOMAIN at once and logs it.

Containers on an internal network have no route out, so Docker's embedded DNS forwards
outside names into the void and callers wait 5-20 s per name (contract/docker.md §3.3).
The codex container uses this server as its upstream instead: outside names fail
immediately, nothing leaves the machine, and every name asked is logged as one line
(``query <name> type=<n> from=<ip> ts=<epoch>``), the run's record of attempted egress.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", args.port))
    print(f"dns sink listening on udp/{args.port}", flush=True)
    while True:
        packet, peer = sock.recvfrom(4096)
        try:
            name, qtype, end = question(packet)
        except (IndexError, struct.error):
            continue
        sys.stdout.write(f"query {name} type={qtype} from={peer[0]} ts={time.time():.3f}\n")
        sys.stdout.flush()
        sock.sendto(nxdomain(packet, end), peer)


if __name__ == "__main__":
    main()
