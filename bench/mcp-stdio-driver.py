#!/usr/bin/env python3
"""bench/mcp-stdio-driver.py: one MCP client, many tools/call, over stdio.

    mcp-stdio-driver.py CALLS INFLIGHT TOOL ARGS_JSON -- COMMAND [ARG]...

Starts COMMAND, sends initialize (2024-11-05, which every server of the
2025 era grants) and notifications/initialized, then CALLS requests
tools/call TOOL with ARGS_JSON, keeping INFLIGHT of them outstanding, and
prints one JSON line: calls, seconds, calls_per_s, errors (answers with a
JSON-RPC error or isError true), and p50_ms and p99_ms, each call's time
from its request written to its answer read.  The same driver runs every server of a
comparison, so the client's own cost is the same for all.
"""
import json
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 7 or sys.argv[5] != '--':
        sys.exit(__doc__)
    calls, inflight = int(sys.argv[1]), int(sys.argv[2])
    tool, args = sys.argv[3], json.loads(sys.argv[4])
    proc = subprocess.Popen(sys.argv[6:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, bufsize=0)
    out = proc.stdout

    def send(msg):
        proc.stdin.write((json.dumps(msg) + '\n').encode())

    lines = b''

    def answers():
        nonlocal lines
        while True:
            nl = lines.find(b'\n')
            if nl >= 0:
                line, lines = lines[:nl], lines[nl + 1:]
                msg = json.loads(line)
                if 'id' in msg and ('result' in msg or 'error' in msg):
                    yield msg
                continue
            chunk = os.read(out.fileno(), 1 << 16)
            if not chunk:
                raise SystemExit('the server closed its stdout')
            lines += chunk

    got = answers()
    send({'jsonrpc': '2.0', 'id': 0, 'method': 'initialize',
          'params': {'protocolVersion': '2024-11-05', 'capabilities': {},
                     'clientInfo': {'name': 'fa-bench-driver', 'version': '1'}}})
    next(got)
    send({'jsonrpc': '2.0', 'method': 'notifications/initialized'})
    t0 = time.monotonic()
    sent = done = errors = 0
    start, took = {}, []
    while done < calls:
        while sent < calls and sent - done < inflight:
            sent += 1
            start[sent] = time.monotonic()
            send({'jsonrpc': '2.0', 'id': sent, 'method': 'tools/call',
                  'params': {'name': tool, 'arguments': args}})
        msg = next(got)
        took.append(time.monotonic() - start.pop(msg['id'], t0))
        done += 1
        if 'error' in msg or msg['result'].get('isError'):
            errors += 1
    secs = time.monotonic() - t0
    proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
    took.sort()
    print(json.dumps({'calls': calls, 'seconds': round(secs, 4),
                      'calls_per_s': round(calls / secs, 1), 'errors': errors,
                      'p50_ms': round(took[len(took) // 2] * 1000, 4),
                      'p99_ms': round(took[min(len(took) - 1, len(took) * 99 // 100)] * 1000, 4)}))


main()
