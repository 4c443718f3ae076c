#!/usr/bin/env python3
# tests/mrtr-server.py: an MCP server over stdio that speaks 2026-07-28 and
# asks for input in band (multi round-trip requests), for
# tests/fa-mcp-proxy.bats: to see a 2025 client of the proxy asked.
#
# Its one tool, "greet", answers a call without inputResponses with
# input_required: an elicitation/create under "who" and a
# sampling/createMessage under "words", and requestState "round-1".  The
# call again with both answers and that state gets the text
# "hello NAME: TEXT" (NAME the elicitation's content.name, TEXT the
# sampling's text); a retry without the state, or with an answer missing,
# gets an error saying so.
import json
import sys

V = "2026-07-28"
INFO = {"io.modelcontextprotocol/serverInfo": {"name": "mrtr-server", "version": "1"}}


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def result(mid, res):
    res.setdefault("resultType", "complete")
    res["_meta"] = INFO
    send({"jsonrpc": "2.0", "id": mid, "result": res})


def error(mid, code, message):
    send({"jsonrpc": "2.0", "id": mid, "error": {"code": code, "message": message}})


for line in sys.stdin:
    m = json.loads(line)
    method, mid, params = m.get("method"), m.get("id"), m.get("params") or {}
    if mid is None:
        continue
    if method == "server/discover":
        result(mid, {"supportedVersions": [V], "capabilities": {"tools": {}},
                     "serverInfo": {"name": "mrtr-server", "version": "1"}})
    elif method == "tools/list":
        result(mid, {"tools": [{"name": "greet", "inputSchema": {"type": "object"}}]})
    elif method == "tools/call" and params.get("name") == "greet":
        answers = params.get("inputResponses")
        if answers is None:
            result(mid, {"resultType": "input_required", "requestState": "round-1", "inputRequests": {
                "who": {"method": "elicitation/create", "params": {
                    "message": "Who are you?", "requestedSchema": {
                        "type": "object", "properties": {"name": {"type": "string"}}}}},
                "words": {"method": "sampling/createMessage", "params": {
                    "messages": [{"role": "user", "content": {"type": "text", "text": "Say hi"}}],
                    "maxTokens": 10}}}})
        elif params.get("requestState") != "round-1":
            error(mid, -32602, "requestState round-1 was not echoed")
        elif "who" not in answers or "words" not in answers:
            error(mid, -32602, "an answer is missing: " + ",".join(sorted(answers)))
        else:
            name = answers["who"].get("content", {}).get("name")
            text = answers["words"].get("content", {}).get("text")
            result(mid, {"content": [{"type": "text", "text": "hello %s: %s" % (name, text)}]})
    else:
        error(mid, -32601, "no " + str(method))
