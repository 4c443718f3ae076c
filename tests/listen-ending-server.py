#!/usr/bin/env python3
# tests/listen-ending-server.py: an MCP server over stdio (2026-07-28)
# that ends the first subscriptions/listen it is sent, as a server that
# tears a subscription down must on stdio (notifications/cancelled for
# its id), and tells the next one that its tools changed; for
# tests/fa-mcp-proxy-listen.bats, to see that the proxy listens again.
# Each listen is said on stderr ("listen N").
import json
import sys

META = "io.modelcontextprotocol/subscriptionId"


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def result(mid, r):
    r["resultType"] = "complete"
    send({"jsonrpc": "2.0", "id": mid, "result": r})


listens = 0
for line in sys.stdin:
    m = json.loads(line)
    method, mid = m.get("method"), m.get("id")
    if method == "server/discover":
        result(mid, {"supportedVersions": ["2026-07-28"],
                     "capabilities": {"tools": {"listChanged": True}},
                     "serverInfo": {"name": "listen-ending-server", "version": "1"}})
    elif method == "tools/list":
        result(mid, {"tools": [{"name": "t%d" % listens, "inputSchema": {"type": "object"}}]})
    elif method == "subscriptions/listen":
        listens += 1
        sys.stderr.write("listen %d\n" % listens)
        sys.stderr.flush()
        send({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
              "params": {"notifications": m["params"]["notifications"], "_meta": {META: mid}}})
        if listens == 1:
            send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": mid, "reason": "going away"}})
        else:
            send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed",
                  "params": {"_meta": {META: mid}}})
    elif mid is not None and method:
        send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "no " + method}})
