#!/usr/bin/env python3
"""A raw WebSocket client for tests/fa-serve-ws.bats, on stdlib sockets, to
send what a well-behaved library never would.

    ws_raw.py PORT PATH CASE [CMD...]

Opens PATH with a handshake, then per CASE:
  unmasked bad-opcode oversized bad-utf8 big-ping fragmented-ping
      sends that one malformed frame and prints the close code the server
      answers with ("close 1002"), or "no close" when none came
  handshake  prints the status line and headers of the answer, then closes
  nopong     answers no ping: prints "ping" for each, then the close code
  noread     runs CMD (which makes the server send a lot), takes nothing
      for 3 s, then reads to the end: prints "closed after N bytes", or
      "still open after N bytes" when the server never gave up
The handshake says "Host: x", and "Origin: $WS_ORIGIN" when that is set.
"""
import base64
import os
import socket
import struct
import subprocess
import sys
import time

MASK = b"\x37\xfa\x21\x3d"


def frame(op, payload, fin=True, mask=True, rsv=0):
    head = bytes([(0x80 if fin else 0) | rsv | op])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if mask:
        head += MASK
        payload = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return head + payload


def connect(port, path, rcvbuf=0):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    origin = os.environ.get("WS_ORIGIN")
    origin = "Origin: %s\r\n" % origin if origin else ""
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n%s"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, key, origin)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    return s, head.decode(errors="replace")


def read_close(s, on_ping=None):
    """Frames until a close: its code; None at the end without one."""
    s.settimeout(10)
    buf = b""
    while True:
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            at = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack(">H", buf[2:4])[0]
                at = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack(">Q", buf[2:10])[0]
                at = 10
            if len(buf) < at + n:
                break
            op, payload = buf[0] & 0x0F, buf[at:at + n]
            buf = buf[at + n:]
            if op == 9 and on_ping:
                on_ping()
            if op == 8:
                return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return None
        if not b:
            return None
        buf += b


CASES = {
    "unmasked": frame(1, b"hello", mask=False),
    "bad-opcode": frame(3, b"x"),
    "oversized": frame(1, b"x" * 5000),
    "bad-utf8": frame(1, b'{"msg":"a\xc3\x28"}'),
    "big-ping": frame(9, b"p" * 126),
    "fragmented-ping": frame(9, b"p", fin=False),
}


def noread(port, path, cmd):
    s, head = connect(port, path, rcvbuf=4096)
    if " 101 " not in head.split("\r\n")[0]:
        print("no upgrade: " + head.split("\r\n")[0])
        return
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    time.sleep(3)
    s.settimeout(20)
    total = 0
    try:
        while True:
            b = s.recv(65536)
            if not b:
                print("closed after %d bytes" % total)
                return
            total += len(b)
    except ConnectionResetError:
        print("closed after %d bytes" % total)
    except socket.timeout:
        print("still open after %d bytes" % total)


def main():
    port, path, case = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if case == "noread":
        return noread(port, path, sys.argv[4:])
    s, head = connect(port, path)
    if case == "handshake":
        print(head.strip())
        return
    if case == "nopong":
        code = read_close(s, lambda: print("ping", flush=True))
        print("close %d" % code if code else "no close")
        return
    s.sendall(CASES[case])
    code = read_close(s)
    print("close %d" % code if code else "no close")


main()
