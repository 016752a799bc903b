#!/usr/bin/env python3
"""Send Wake-on-LAN magic packets (installed nowhere: Ansible's script module runs it once).

    kuploy-wake.py [--port 9] [--broadcast 255.255.255.255] [--repeat 3] MAC[@ADDRESS]...

A magic packet is 6 bytes 0xFF then the PC's MAC address 16 times, sent as one UDP datagram to
the broadcast address of the PC's LAN (MAC@ADDRESS sends that PC's packet to ADDRESS instead).
A bad MAC address stops it before anything is sent: one line naming it, exit status 2.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import time

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.IGNORECASE)


def magic_packet(mac: str) -> bytes:
    """Return the magic packet of a MAC address written aa:bb:cc:dd:ee:ff, aa-bb-... or aabbcc...

    Raises ValueError naming the value when it is not a MAC address.
    """
    if not _MAC.match(mac.strip()):
        raise ValueError(f"not a MAC address: {mac!r} (write it as aa:bb:cc:dd:ee:ff)")
    raw = bytes.fromhex(re.sub("[:-]", "", mac.strip()))
    return b"\xff" * 6 + raw * 16


def main(argv: list[str]) -> int:
    """Send the packets of every MAC[@ADDRESS] given; 0 when sent, 2 on a bad MAC address."""
    parser = argparse.ArgumentParser(description="Send Wake-on-LAN magic packets.")
    parser.add_argument("--port", type=int, default=9, help="UDP port (9, discard; some use 7)")
    parser.add_argument("--broadcast", default="255.255.255.255", help="default address")
    parser.add_argument("--repeat", type=int, default=3, help="packets per PC (UDP may drop one)")
    parser.add_argument("targets", nargs="+", metavar="MAC[@ADDRESS]")
    args = parser.parse_args(argv)
    packets = []
    for target in args.targets:
        mac, _, address = target.partition("@")
        try:
            packets.append((magic_packet(mac), address or args.broadcast, mac))
        except ValueError as err:
            print(err, file=sys.stderr)
            return 2
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        for round_ in range(args.repeat):
            for packet, address, _mac in packets:
                sock.sendto(packet, (address, args.port))
            if round_ + 1 < args.repeat:
                time.sleep(0.1)
    for _packet, address, mac in packets:
        print(f"woke {mac} via {address}:{args.port}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
