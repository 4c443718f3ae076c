#!/usr/bin/env bats
# fa-mcp's client (call, list, read, prompt, discover, shell) against
# servers it did not write: the conformance suite's client scenarios,
# @modelcontextprotocol/server-everything over stdio, Streamable HTTP and
# the legacy HTTP+SSE transport, and @modelcontextprotocol/server-postgres
# over stdio; plus the shell.  scripts/npm-deps (run by make check)
# installs the npm peers from tests/npm/package-lock.json into build/npm.

load helpers

setup_file() {
	FA_NPM=${FA_NPM:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build/npm}
	export FA_NPM
	# node and the servers: the project's, as npx would run them.
	export PATH="$FA_NPM/node_modules/.bin:$PATH"
}

setup() {
	npm_tests=
	[ -x "$FA_NPM/node_modules/.bin/node" ] && npm_tests=1
	export HOME=$BATS_TEST_TMPDIR/home
}

need_npm() {
	[ -n "$npm_tests" ] ||
		skip "the MCP peers from npm are not in $FA_NPM: scripts/npm-deps installs them (make check runs it)"
}

teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# server-everything with transport $1 on a free port; sets spid and port.
start_everything() {
	port=$(free_port)
	PORT=$port mcp-server-everything "$1" > "$BATS_TEST_TMPDIR/server.err" 2>&1 &
	spid=$!
	for _ in $(seq 150); do
		grep -qE "(port|listening).*$port" "$BATS_TEST_TMPDIR/server.err" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$BATS_TEST_TMPDIR/server.err" >&2
	return 1
}

# The same calls against server-everything however it is reached ($@ is
# the target: a URL, or --stdio COMMAND).
everything_calls() {
	run fa-mcp call "$@" echo message='hello, world'
	assert_status 0
	assert_same 'Echo: hello, world' "$output"
	# a and b are numbers in get-sum's schema: 2 and 3 go as JSON
	run fa-mcp call "$@" get-sum a=2 b=3
	assert_status 0
	assert_same 'The sum of 2 and 3 is 5.' "$output"
	run fa-mcp call -F json "$@" get-structured-content location=Chicago
	assert_status 0
	[ "$(jq -r 'has("temperature")' <<<"$output")" = true ]
	run fa-mcp list -F text "$@" tools
	assert_status 0
	assert_contains "$output" $'echo\tEchoes back the input string'
	run fa-mcp list -F ndjson "$@" prompts
	assert_status 0
	assert_contains "$output" '"name":"simple-prompt"'
}

@test "conformance suite 0.1.16, client side: initialize, tools_call, sse-retry and the client credentials grants pass one by one" {
	need_npm
	for s in initialize tools_call sse-retry auth/client-credentials-basic auth/client-credentials-jwt; do
		run conformance client --command "$BATS_TEST_DIRNAME/npm/conformance-client" --scenario "$s" \
			-o "$BATS_TEST_TMPDIR/results"
		if [ "$status" -ne 0 ]; then
			printf 'scenario %s failed:\n%s\n' "$s" "$output" >&2
			false
		fi
		assert_contains "$output" ', 0 failed, 0 warnings'
	done
}

@test "conformance suite 0.1.16: the auth suite, and the elicitation scenario, fail exactly as tests/npm/conformance-client-expected-failures.yaml says" {
	need_npm
	# The scenarios outside the auth suite run one at a time (above, and
	# elicitation here): sse-retry measures the client's reconnection delay
	# to 200 ms, which the suite's 26 scenarios at once on a small machine
	# would spoil.
	local expected=$BATS_TEST_DIRNAME/npm/conformance-client-expected-failures.yaml
	run conformance client --command "$BATS_TEST_DIRNAME/npm/conformance-client" --suite auth \
		-o "$BATS_TEST_TMPDIR/results" --expected-failures "$expected"
	if [ "$status" -ne 0 ]; then
		sed -n '/=== SUITE SUMMARY ===/,$p' <<<"$output" >&2
		false
	fi
	assert_contains "$output" 'Baseline check passed'
	run conformance client --command "$BATS_TEST_DIRNAME/npm/conformance-client" \
		--scenario elicitation-sep1034-client-defaults -o "$BATS_TEST_TMPDIR/results" \
		--expected-failures "$expected"
	assert_status 0
	assert_contains "$output" 'Baseline check passed'
}

@test "server-everything over stdio: call with string and number arguments, structured content, list tools and prompts" {
	need_npm
	# (its greeting on stderr would pass through into $output)
	everything_calls --stdio "sh -c 'exec mcp-server-everything stdio 2>/dev/null'"
}

@test "server-everything over Streamable HTTP: the same calls" {
	need_npm
	start_everything streamableHttp
	everything_calls "http://127.0.0.1:$port/mcp"
}

@test "server-everything over the legacy HTTP+SSE transport: POST /sse gets 404, the client opens the stream and posts to its endpoint" {
	need_npm
	start_everything sse
	everything_calls "http://127.0.0.1:$port/sse"
	# each command was one legacy session
	[ "$(grep -c 'Client Connected' "$BATS_TEST_TMPDIR/server.err")" -ge 5 ]
}

@test "a URL that speaks neither transport: exit 3, naming both answers" {
	need_npm
	start_everything sse
	run fa-mcp call "http://127.0.0.1:$port/nothing" echo message=x
	assert_status 3
	assert_same 'fa-mcp: /nothing answered POST with HTTP 404, and GET with HTTP 404 without an event stream: neither Streamable HTTP nor HTTP+SSE is served there' "$output"
}

@test "server-postgres over stdio: its query tool, its table schemas as resources" {
	need_npm
	psql_fa -q <<'SQL'
CREATE TABLE IF NOT EXISTS public.mcpclient_items (id int PRIMARY KEY, name text NOT NULL);
TRUNCATE public.mcpclient_items;
INSERT INTO public.mcpclient_items VALUES (1, 'kettle'), (2, 'mug');
SQL
	# server-postgres takes a URL: the socket directory goes as host=
	local host port user db
	host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$FA_CONNINFO")
	port=$(sed -n 's/.*port=\([^ ]*\).*/\1/p' <<<"$FA_CONNINFO")
	user=$(sed -n 's/.*user=\([^ ]*\).*/\1/p' <<<"$FA_CONNINFO")
	db=$(sed -n 's/.*dbname=\([^ ]*\).*/\1/p' <<<"$FA_CONNINFO")
	pgurl="postgresql://$user@localhost:$port/$db?host=$host"
	run fa-mcp call -F text --stdio "mcp-server-postgres '$pgurl'" query \
		sql='SELECT name FROM public.mcpclient_items ORDER BY id'
	assert_status 0
	[ "$(jq -c 'map(.name)' <<<"$output")" = '["kettle","mug"]' ]
	run fa-mcp list -F text --stdio "mcp-server-postgres '$pgurl'" resources
	assert_status 0
	assert_contains "$output" 'mcpclient_items/schema'
	# a write in its read-only transaction: the tool's error, exit 1
	run fa-mcp call --stdio "mcp-server-postgres '$pgurl'" query sql='DELETE FROM public.mcpclient_items'
	[ "$status" -ne 0 ]
	run psql_fa -Atc 'SELECT count(*) FROM public.mcpclient_items'
	assert_same 2 "$output"
	psql_fa -q -c 'DROP TABLE public.mcpclient_items'
}

@test "a stdio server's own requests get answers: ping a result, others -32601, and the call goes on" {
	cat > "$BATS_TEST_TMPDIR/asker.py" <<'PY'
import json, sys
def send(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
def recv():
    return json.loads(sys.stdin.readline())
m = recv()
send({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "2025-11-25",
      "capabilities": {"tools": {}}, "serverInfo": {"name": "asker", "version": "1"}}})
recv()                                  # notifications/initialized
m = recv()                              # tools/call
send({"jsonrpc": "2.0", "id": "s1", "method": "ping"})
send({"jsonrpc": "2.0", "id": "s2", "method": "sampling/createMessage", "params": {}})
a, b = recv(), recv()
text = "ping: %s; sampling: %s" % (json.dumps(a.get("result")), a.get("error") and "?" or b["error"]["code"])
send({"jsonrpc": "2.0", "id": m["id"], "result": {"content": [{"type": "text", "text": text}]}})
sys.stdin.readline()
PY
	run fa-mcp call --protocol 2025-11-25 --stdio "python3 '$BATS_TEST_TMPDIR/asker.py'" anything
	assert_status 0
	assert_same 'ping: {}; sampling: -32601' "$output"
}

# A SQL file with one tool of two integer arguments, served over stdio.
shell_sql() {
	cat > "$BATS_TEST_TMPDIR/shell.sql" <<'SQL'
-- name: add
-- tool: Adds two numbers
-- param: a int  The first
-- param: b int  The second
-- returns: one
SELECT :a + :b AS sum;

-- name: greeting
-- prompt: A greeting
-- arg: who  Whom to greet
SELECT 'user' AS role, 'Hello, ' || :who AS content;
SQL
	server="fa-mcp serve '$BATS_TEST_TMPDIR/shell.sql'"
}

@test "shell from a script: tools, a call with and without 'call', prompts, a bad line, format; the last failure is the status" {
	shell_sql
	run fa-mcp shell -F text --stdio "$server" <<'EOF2'
# a comment, then an empty line

tools
add a=1 b=2
call add a=3 b="4"
prompts
prompt greeting who='the world'
bogus x=1
read
format ndjson
add a=5 b=6
EOF2
	assert_status 2
	assert_same $'add\tAdds two numbers
{"sum":3}
{"sum":7}
greeting\tA greeting
user: Hello, the world
fa-mcp: \'bogus\' is neither a command nor a tool (try help)
fa-mcp: read: give the URI
{"sum":11}' "$output"
	# all went well: 0; quit ends it before the rest
	run fa-mcp shell --stdio "$server" <<<$'add a=1 b=1\nquit\nbogus'
	assert_status 0
	run fa-mcp shell --stdio "$server" extra
	assert_status 2
	assert_contains "$output" 'shell takes only the server'
}

@test "shell on a terminal: Tab completes the tool's name and its argument names from the schema, Ctrl-C drops a line and the server stays, history is kept" {
	shell_sql
	export FA_MCP_HISTORY=$BATS_TEST_TMPDIR/history
	run "$BATS_TEST_DIRNAME/pty-keys.py" fa-mcp shell -F text --stdio "$server" <<'EOF2'
ad\t
a=2 b\t
5
prompt gr\t
w\t
you
add a=half a line^C
add a=1 b=1
quit
EOF2
	assert_status 0
	assert_contains "$output" 'protocol 2026-07-28'
	assert_contains "$output" $'add a=2 b=5\n{"sum":7}'
	assert_contains "$output" $'prompt greeting who=you\nuser: Hello, you'
	# the half line was dropped, not run; the server is still there
	assert_contains "$output" $'mcp> add a=1 b=1\n{"sum":2}'
	[[ $output != *"is not JSON"* ]]
	assert_same $'add a=2 b=5\nprompt greeting who=you\nadd a=1 b=1\nquit' "$(cat "$FA_MCP_HISTORY")"
}

@test "401: without credentials exit 3 naming the challenge; with them, a resource without metadata is exit 3 naming each step; a half pair is a usage error" {
	cat > "$BATS_TEST_TMPDIR/guard.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def reply(self):
        if self.path == "/mcp":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer error="invalid_token", scope="read"')
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_POST = reply
    def log_message(self, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path))
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	python3 "$BATS_TEST_TMPDIR/guard.py" > "$BATS_TEST_TMPDIR/port" 2> "$BATS_TEST_TMPDIR/guard.log" &
	spid=$!
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.1; done
	url=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/mcp
	run fa-mcp list "$url"
	assert_status 3
	assert_same "fa-mcp: /mcp: HTTP 401 Unauthorized (WWW-Authenticate: Bearer error=\"invalid_token\", scope=\"read\"): give a token with --bearer, or --client-id and --client-secret" "$output"
	run fa-mcp list --client-id me --client-secret s3cret "$url"
	assert_status 3
	assert_contains "$output" "fa-mcp: no protected resource metadata for $url: GET http://127.0.0.1:"
	assert_contains "$output" "/.well-known/oauth-protected-resource: HTTP 404"
	# both well-known places were tried, path first
	assert_same $'POST /mcp\nGET /.well-known/oauth-protected-resource/mcp\nGET /.well-known/oauth-protected-resource' \
		"$(sed -n '2,4p' "$BATS_TEST_TMPDIR/guard.log")"
	run fa-mcp list --client-id me "$url"
	assert_status 2
	assert_contains "$output" '--client-id goes with one of --client-secret and --client-key'
	run fa-mcp list --client-id me --client-secret s --client-key /nonexistent "$url"
	assert_status 2
}

@test "legacy HTTP+SSE: an answer on the stream before its POST's 202, and a relative endpoint, are taken in stride" {
	cat > "$BATS_TEST_TMPDIR/legacy.py" <<'PY'
import http.server, json, queue, sys, threading, time
events = queue.Queue()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path != "/base/sse":
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b"event: endpoint\ndata: msg?session=1\n\n"); self.wfile.flush()
        while True:
            m = events.get()
            self.wfile.write(b"event: message\ndata: " + json.dumps(m).encode() + b"\n\n"); self.wfile.flush()
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/base/msg?session=1":
            self.send_response(405); self.send_header("Content-Length", "0"); self.end_headers(); return
        m = json.loads(body)
        sys.stderr.write("POST %s %s\n" % (self.path, m.get("method")))
        if "id" in m:
            r = {"protocolVersion": "2024-11-05", "capabilities": {"tools": {}},
                 "serverInfo": {"name": "legacy", "version": "1"}} if m["method"] == "initialize" else \
                {"content": [{"type": "text", "text": "called " + m["params"]["name"]}]}
            events.put({"jsonrpc": "2.0", "id": m["id"], "result": r})
            time.sleep(0.3)             # the answer is out well before the 202
        self.send_response(202); self.send_header("Content-Length", "8"); self.end_headers()
        self.wfile.write(b"Accepted")
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	python3 "$BATS_TEST_TMPDIR/legacy.py" > "$BATS_TEST_TMPDIR/port" 2> "$BATS_TEST_TMPDIR/legacy.log" &
	spid=$!
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.1; done
	run fa-mcp call "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/base/sse" hello
	assert_status 0
	assert_same 'called hello' "$output"
	# the discover probe and initialize went to the URL (405) first
	assert_same $'POST /base/msg?session=1 initialize\nPOST /base/msg?session=1 notifications/initialized\nPOST /base/msg?session=1 tools/call' \
		"$(cat "$BATS_TEST_TMPDIR/legacy.log")"
}

@test "fa-mcp's own HTTP+SSE transport at /sse: call, list and a shell session, each over the legacy stream" {
	shell_sql
	fa-mcp serve --listen 127.0.0.1:0 --threads 2 "$BATS_TEST_TMPDIR/shell.sql" 2> "$BATS_TEST_TMPDIR/server.err" &
	spid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$BATS_TEST_TMPDIR/server.err" 2>/dev/null && break
		sleep 0.1
	done
	local sse=http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/server.err")/sse
	run fa-mcp call -F text "$sse" add a=20 b=22
	assert_status 0
	assert_same '{"sum":42}' "$output"
	run fa-mcp list -F text "$sse" prompts
	assert_status 0
	assert_same $'greeting\tA greeting' "$output"
	run fa-mcp shell -F ndjson "$sse" <<<$'add a=1 b=2\nprompt greeting who=sse'
	assert_status 0
	assert_same $'{"sum":3}\n{"role":"user","content":{"type":"text","text":"Hello, sse"}}' "$output"
	kill -TERM "$spid"
	wait "$spid"
	spid=
}

@test "lists follow nextCursor: list, call's argument types and the shell see every page" {
	shell_sql
	cat >> "$BATS_TEST_TMPDIR/shell.sql" <<'SQL'

-- name: twice
-- tool: Twice a number
-- param: n int  The number
-- returns: one
SELECT 2 * :n AS twice;
SQL
	server="fa-mcp serve --page-size 1 '$BATS_TEST_TMPDIR/shell.sql'"
	run fa-mcp list -F text --stdio "$server" tools
	assert_status 0
	assert_same $'add\tAdds two numbers\ntwice\tTwice a number' "$output"
	# n=21 is typed from the schema on the second page
	run fa-mcp call -F text --stdio "$server" twice n=21
	assert_status 0
	assert_same '{"twice":42}' "$output"
	run fa-mcp shell -F text --stdio "$server" <<<'twice n=4'
	assert_status 0
	assert_same '{"twice":8}' "$output"
}
