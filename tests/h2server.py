#!/usr/bin/python3
"""A misbehaving h2c server for tests/hclient.bats (python3-h2 from Debian).

usage: h2server.py MODE

Listens on 127.0.0.1, an ephemeral port, and prints "port N" on stdout.
Every request is answered 200 with the body "ok PATH\\n", except on the
first connection, where MODE decides:

  goaway   answer the first request, then GOAWAY naming its stream as
           the last one taken, and close the connection a moment later
  refuse   RST_STREAM REFUSED_STREAM to the first 3 requests
  refuse-always   RST_STREAM REFUSED_STREAM to every request, on every
           connection
  reset    RST_STREAM INTERNAL_ERROR to the second request
  cut      the first request gets its head and half its body, then the
           connection closes
  stall    the first request is never answered (the others are)
  sse      GET /events: a text/event-stream of 3 events, one every 50 ms,
           the last "data: bye"

Each connection and request goes to stderr as "conn N" and "req N PATH".
"""
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.errors

MODE = sys.argv[1]
conns = 0
lock = threading.Lock()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def answer(conn, sid, path):
    body = ("ok %s\n" % path).encode()
    conn.send_headers(sid, [(":status", "200"), ("content-length", str(len(body))),
                            ("content-type", "text/plain")])
    conn.send_data(sid, body, end_stream=True)


def sse(sock, conn, sid):
    conn.send_headers(sid, [(":status", "200"), ("content-type", "text/event-stream")])
    sock.sendall(conn.data_to_send())
    for i, text in enumerate(["one", "two", "bye"]):
        time.sleep(0.05)
        conn.send_data(sid, ("id: %d\ndata: %s\n\n" % (i, text)).encode(),
                       end_stream=text == "bye")
        sock.sendall(conn.data_to_send())


def serve(sock, n):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    first = n == 1 or MODE == "refuse-always"
    served = 0
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        for ev in conn.receive_data(data):
            if not isinstance(ev, h2.events.RequestReceived):
                continue
            sid = ev.stream_id
            path = dict(ev.headers).get(b":path", b"").decode()
            log("req", n, path)
            served += 1
            if MODE == "refuse-always" or (first and MODE == "refuse" and served <= 3):
                conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            elif first and MODE == "reset" and served == 2:
                conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
            elif first and MODE == "cut":
                conn.send_headers(sid, [(":status", "200"), ("content-length", "100")])
                conn.send_data(sid, b"x" * 50)
                sock.sendall(conn.data_to_send())
                time.sleep(0.05)
                sock.close()
                return
            elif first and MODE == "goaway" and served == 1:
                answer(conn, sid, path)
                conn.close_connection(last_stream_id=sid)
                sock.sendall(conn.data_to_send())
                time.sleep(0.2)
                sock.close()
                return
            elif first and MODE == "goaway":
                pass            # above the last stream: never answered
            elif MODE == "stall" and n == 1 and served == 1:
                pass
            elif MODE == "sse" and path == "/events":
                sse(sock, conn, sid)
            else:
                answer(conn, sid, path)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)


def main():
    global conns
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print("port", ls.getsockname()[1], flush=True)
    while True:
        s, _ = ls.accept()
        with lock:
            conns += 1
            n = conns
        log("conn", n)
        threading.Thread(target=serve, args=(s, n), daemon=True).start()


main()
