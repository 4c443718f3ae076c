#!/usr/bin/env python3
"""TLS in front of a cleartext TCP server, for tests of TLS clients.

    tlsproxy.py CERT KEY PORT

Listens on 127.0.0.1 at a free port (printed on the first line of
stdout), takes TLS with the certificate and key (PEM), and pipes each
connection's bytes both ways to 127.0.0.1:PORT.  No ALPN: the client
speaks HTTP/1.1 through it.
"""
import asyncio
import ssl
import sys


async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        w.close()


async def main():
    cert, key, backend = sys.argv[1], sys.argv[2], int(sys.argv[3])

    async def serve(cr, cw):
        try:
            br, bw = await asyncio.open_connection('127.0.0.1', backend)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    srv = await asyncio.start_server(serve, '127.0.0.1', 0, ssl=ctx)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()


asyncio.run(main())
