#!/usr/bin/python3
"""A WebSocket over HTTP/2 (RFC 8441) on a cleartext h2c port, for
tests/fa-serve-ws.bats: frames built by hand (struct), header blocks by
python3-hpack from Debian, as tests/h2attack.py does.

usage: ws_h2.py PORT PATH [MESSAGE...]

Prints one line per step: "connect-protocol N" (the server's
SETTINGS_ENABLE_CONNECT_PROTOCOL), "status S" (the answer to the
extended CONNECT), each text message the server sends while MESSAGEs go
one by one (a reply is awaited after each), then, after our close frame
(1000), "close CODE" for the server's and "end" once it ended the stream.
"""
import os
import socket
import struct
import sys

from hpack import Decoder, Encoder

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SID = 1


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid) + payload


def ws_frame(op, payload):
    """A client's WebSocket frame: masked."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | op])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.ws = b""           # the stream's DATA not yet parsed as frames
        self.ended = False
        self.dec = Decoder()

    def read_frame(self):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            b = self.s.recv(65536)
            if not b:
                raise EOFError("the server closed the connection")
            self.buf += b
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags, sid = self.buf[3], self.buf[4], struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
        payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        return ftype, flags, sid, payload

    def step(self):
        """One frame handled; the answer's status when it was the HEADERS."""
        ftype, flags, sid, payload = self.read_frame()
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                if k == 8:
                    print("connect-protocol %d" % v, flush=True)
            self.s.sendall(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.s.sendall(frame(PING, ACK, 0, payload))
        elif ftype == HEADERS and sid == SID:
            return dict(self.dec.decode(payload)).get(":status")
        elif ftype == DATA and sid == SID:
            self.ws += payload
        elif ftype in (RST_STREAM, GOAWAY):
            raise EOFError("the server reset the stream or the connection")
        if sid == SID and flags & END_STREAM:
            self.ended = True
        return None

    def message(self):
        """The next WebSocket message the server sends: (op, payload)."""
        while True:
            if len(self.ws) >= 2:
                n, at = self.ws[1] & 0x7F, 2
                if n == 126 and len(self.ws) >= 4:
                    n, at = struct.unpack(">H", self.ws[2:4])[0], 4
                if n < 126 or at == 4:
                    if len(self.ws) >= at + n:
                        op, payload = self.ws[0] & 0x0F, self.ws[at:at + n]
                        self.ws = self.ws[at + n:]
                        return op, payload
            self.step()


def main():
    port, path, msgs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    c = Conn(port)
    c.s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    c.step()                    # the server's SETTINGS come first
    hdrs = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
            (":path", path), (":authority", "127.0.0.1:%d" % port),
            ("sec-websocket-version", "13")]
    c.s.sendall(frame(HEADERS, END_HEADERS, SID, Encoder().encode(hdrs)))
    status = None
    while status is None:
        status = c.step()
    print("status %s" % status, flush=True)
    if status != "200":
        return
    for m in msgs:
        c.s.sendall(frame(DATA, 0, SID, ws_frame(1, m.encode())))
        op, payload = c.message()
        print(payload.decode(), flush=True)
    c.s.sendall(frame(DATA, 0, SID, ws_frame(8, struct.pack(">H", 1000))))
    op, payload = c.message()
    while op != 8:
        op, payload = c.message()
    print("close %d" % struct.unpack(">H", payload[:2])[0], flush=True)
    while not c.ended:
        c.step()
    print("end")


main()
