#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pty-bridge.py SOCKET LINK: a stand-in for /dev/wormhole in tests.

Creates a pseudo-terminal in raw mode (8-bit clean, no echo), links its
terminal side to LINK, connects to the unix SOCKET of a Wormhole server and
copies bytes both ways, like the server side of a gate window.  Prints
"ready" once LINK exists; exits when either side closes."""
import os
import pty
import select
import socket
import sys
import termios
import tty


def main():
    sock_path, link = sys.argv[1], sys.argv[2]
    master, slave = pty.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    name = os.ttyname(slave)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(name, link)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    print("ready", flush=True)
    # Keep the slave open: a pty whose terminal side nobody holds reports
    # EIO on the master between the client's opens.
    os.set_blocking(master, False)
    s.setblocking(False)
    to_client, to_server = b"", b""
    while True:
        rd = [x for x, full in ((master, to_server), (s, to_client)) if len(full) < (1 << 20)]
        wr = ([master] if to_client else []) + ([s] if to_server else [])
        r, w, _ = select.select(rd, wr, [])
        if master in r:
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                data = None
            except OSError:
                break
            if data == b"":
                break
            to_server += data or b""
        if s in r:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                data = None
            if data == b"":
                break
            to_client += data or b""
        if master in w and to_client:
            try:
                to_client = to_client[os.write(master, to_client):]
            except BlockingIOError:
                pass
        if s in w and to_server:
            try:
                to_server = to_server[s.send(to_server):]
            except BlockingIOError:
                pass
    os.close(slave)


if __name__ == "__main__":
    main()
