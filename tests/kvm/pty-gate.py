#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pty-gate.py WINDOW OFFSET LINK [broken-index]: the gate, modelled, for tests.

Stands in for /dev/wormhole and the gate behind it on a machine without
VMFUNC.  Creates a pseudo-terminal in raw mode (8-bit clean, no echo) and
links its terminal side to LINK; a client opens LINK as its gate device
(WORMHOLE_GATE_DEVICE).  The bytes it writes are queued into the request
ring of the gate window mapped from WINDOW at OFFSET, and the reply ring is
copied back, exactly as switcher/vmfunc-gate.S does for OPEN, SEND, RECV and
CLOSE (layout and index rules: include/wormhole/gate-abi.h).  A Wormhole
server listening on gatewin:WINDOW@OFFSET serves the other side.

Prints "ready" once the server took the session; exits when the server
hangs up (once the reply ring is drained), or when the client closes the
device, or on SIGTERM, the last two with CLOSE, as the driver's release does.
With broken-index, publishes an impossible request index instead, to see
the server end the session."""
import ctypes
import mmap
import os
import pty
import select
import signal
import sys
import termios
import time
import tty

PAGE = 4096
WIN_PAGES, PG_DATA, PG_REQ, PG_RESP = 48, 4, 16, 32
RING = 0x10000
D_SESSION, D_REQ_TAIL, D_RESP_HEAD = 64, 72, 80
D_ACK, D_REQ_HEAD, D_RESP_TAIL = 128, 136, 144
ACK_HUP = 1 << 63


def main():
    path, offset, link = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
    broken = len(sys.argv) > 4 and sys.argv[4] == "broken-index"
    fd = os.open(path, os.O_RDWR)
    win = mmap.mmap(fd, WIN_PAGES * PAGE, mmap.MAP_SHARED,
                    mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)
    data = PG_DATA * PAGE

    # Indices are read and written whole (one 8-byte access, as the gate
    # does): struct would move them a byte at a time, and the server could
    # see half an index.
    words = {off: ctypes.c_uint64.from_buffer(win, data + off)
             for off in (D_SESSION, D_REQ_TAIL, D_RESP_HEAD, D_ACK, D_REQ_HEAD, D_RESP_TAIL)}

    def ld(off):
        return words[off].value

    def st(off, v):
        words[off].value = v & (2**64 - 1)

    # OPEN: the session number turns odd; the server acknowledges it.
    session = ld(D_SESSION)
    if session & 1:
        sys.exit("pty-gate: a session is already open (EBUSY)")
    session += 1
    st(D_SESSION, session)
    deadline = time.monotonic() + 10
    while ld(D_ACK) & ~ACK_HUP != session:
        if time.monotonic() > deadline:
            sys.exit("pty-gate: the server never took the session (EAGAIN)")
        time.sleep(0.001)

    master, slave = pty.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.ttyname(slave), link)
    print("ready", flush=True)
    os.set_blocking(master, False)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(win, ld, st, master, slave, broken)
    finally:
        # CLOSE: the session number turns even.
        st(D_SESSION, session + 1)


def serve(win, ld, st, master, slave, broken):
    if broken:
        st(D_REQ_TAIL, ld(D_REQ_HEAD) + 2 * RING)
    pending = b""  # written by the client, not yet queued (ring full)
    idle = 0
    while True:
        moved = False
        # SEND: client bytes into the request ring, as room allows.
        if len(pending) < (1 << 20):
            try:
                chunk = os.read(master, 65536)
                if chunk == b"":
                    break
                if slave is not None:
                    # The client has the device open: from now on the
                    # master reads EIO once the client closes it.
                    os.close(slave)
                    slave = None
                pending += chunk
            except BlockingIOError:
                pass
            except OSError:
                break  # the client closed the device
        if pending and not broken:
            tail = ld(D_REQ_TAIL)
            n = min(len(pending), RING - (tail - ld(D_REQ_HEAD)))
            done = 0
            while done < n:
                off = (tail + done) % RING
                k = min(n - done, RING - off)
                base = PG_REQ * PAGE + off
                win[base:base + k] = pending[done:done + k]
                done += k
            if n:
                st(D_REQ_TAIL, tail + n)
                pending = pending[n:]
                moved = True
        # RECV: the reply ring to the client.
        head, rtail = ld(D_RESP_HEAD), ld(D_RESP_TAIL)
        if rtail != head:
            off = head % RING
            k = min(rtail - head, RING - off, 65536)
            base = PG_RESP * PAGE + off
            try:
                w = os.write(master, win[base:base + k])
                st(D_RESP_HEAD, head + w)
                moved = True
            except BlockingIOError:
                pass
        elif ld(D_ACK) & ACK_HUP:
            break  # the server hung up and everything was delivered
        if moved:
            idle = 0
        else:
            idle += 1
            if idle > 64:
                select.select([master], [], [], 0.0002)
    if slave is not None:
        time.sleep(0.2)  # let the client read the last bytes off the pty
        os.close(slave)


if __name__ == "__main__":
    main()
