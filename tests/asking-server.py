#!/usr/bin/env python3
# tests/asking-server.py: an MCP server over stdio (2025-11-25) whose one
# tool, "ask", asks the client for a sampling/createMessage, then takes
# the request back (notifications/cancelled) and answers the call "asked
# and took it back"; for tests/fa-mcp-proxy.bats, to see how the proxy
# passes a server's cancellation of its own request on.
import json
import sys


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    m = json.loads(line)
    method, mid = m.get("method"), m.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
            "serverInfo": {"name": "asking-server", "version": "1"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": mid, "result": {"tools": [
            {"name": "ask", "inputSchema": {"type": "object"}}]}})
    elif method == "tools/call":
        send({"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage",
              "params": {"messages": [], "maxTokens": 1}})
        send({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": "s1", "reason": "changed its mind"}})
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "content": [{"type": "text", "text": "asked and took it back"}]}})
    elif mid is not None and method:
        send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "no " + method}})
