#!/usr/bin/env bats
# fa-serve's WebSockets: the npm ws client as a peer (two-way routes,
# fragments, permessage-deflate, pings, the close handshake, listen routes
# fed by NOTIFY), a raw client for malformed frames and for a client that
# reads nothing, a raw h2 client for RFC 8441 (python3-hpack, as
# h2attack.py), the chat of examples/chat, and the codec's fuzz target.

load helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS fasws CASCADE;
CREATE SCHEMA fasws;
DROP SCHEMA IF EXISTS chat CASCADE;
SQL
	psql_fa -q -f "$BATS_TEST_DIRNAME/../examples/chat/schema.sql"
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/ws.sql" <<'SQL'
-- name: echo
-- route: WS /echo
-- param: msg text
SELECT :msg AS msg, length(:msg) AS n;

-- name: div
-- route: WS /div/:a
-- param: a int
-- param: b int
SELECT :a / :b AS q;

-- name: feed
-- route: GET /feed
-- listen: fasws_feed
-- param: upto int = 2
SELECT i FROM generate_series(1, :upto) i;

-- name: bare
-- route: GET /bare
-- listen: fasws_bare

-- name: plain
-- route: GET /plain
SELECT 1 AS one;
SQL
	serve_bg "$BATS_FILE_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 2 --ws-ping 1 \
		--ws-max-message 4000 --access-log "$BATS_FILE_TMPDIR/access.log" \
		"$dir" "$BATS_TEST_DIRNAME/../examples/chat/routes.sql"
}

teardown_file() {
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
	wait "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
	psql_fa -q -c 'DROP SCHEMA IF EXISTS fasws CASCADE; DROP SCHEMA IF EXISTS chat CASCADE'
}

setup() {
	port=$(cat "$BATS_FILE_TMPDIR/port")
	url=ws://127.0.0.1:$port
	node=$BATS_TEST_DIRNAME/../build/npm/node_modules/.bin/node
	[ -x "$node" ] || node=node
	peer=$BATS_TEST_DIRNAME/ws_peer.js
	raw=$BATS_TEST_DIRNAME/ws_raw.py
}

teardown() {
	if [ -n "${lpid:-}" ]; then kill "$lpid" 2>/dev/null || true; fi
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; fi
}

# Starts a ws_peer.js listener in the background, output in $1, and waits
# until its snapshot (a JSON array) is in.
listen_bg() {
	local out=$1
	shift
	NODE_TLS_REJECT_UNAUTHORIZED=0 "$node" "$peer" "$@" > "$out" 2> /dev/null &
	lpid=$!
	wait_until grep -q '^\[' "$out" || { cat "$out" >&2; return 1; }
}

# Whether file $1 has $2 lines or more.
has_lines() {
	[ "$(wc -l < "$1")" -ge "$2" ]
}

@test "ws: the handshake answers 101 with the accept key; other routes and versions get a clear 4xx" {
	run python3 "$raw" "$port" /echo handshake
	assert_contains "$output" "HTTP/1.1 101 Switching Protocols"
	assert_contains "$output" "Sec-WebSocket-Accept: "
	run python3 "$raw" "$port" /plain handshake
	assert_contains "$output" "HTTP/1.1 400"
	run python3 "$raw" "$port" /nowhere handshake
	assert_contains "$output" "HTTP/1.1 404"
	run curl -s -i "http://127.0.0.1:$port/echo"
	assert_contains "$output" "HTTP/1.1 426"
	assert_contains "$output" "Upgrade: websocket"
	run curl -s -i -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 8' \
		"http://127.0.0.1:$port/echo"
	assert_contains "$output" "HTTP/1.1 426"
	assert_contains "$output" "Sec-WebSocket-Version: 13"
}

@test "ws: a page of another origin gets 403 unless --cors allows it; the server's own origin, and clients that name none, are taken" {
	WS_ORIGIN=http://evil.example run python3 "$raw" "$port" /echo handshake
	assert_contains "$output" "HTTP/1.1 403"
	WS_ORIGIN=http://evil.example run python3 "$raw" "$port" /feed handshake
	assert_contains "$output" "HTTP/1.1 403"
	WS_ORIGIN=null run python3 "$raw" "$port" /echo handshake
	assert_contains "$output" "HTTP/1.1 403"
	# the handshake says Host: x
	WS_ORIGIN=http://x run python3 "$raw" "$port" /echo handshake
	assert_contains "$output" "HTTP/1.1 101"
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --cors 'http://a.example, http://good.example' \
		"$BATS_FILE_TMPDIR/routes"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	WS_ORIGIN=http://good.example run python3 "$raw" "$(cat "$BATS_TEST_TMPDIR/port")" /echo handshake
	assert_contains "$output" "HTTP/1.1 101"
	WS_ORIGIN=http://evil.example run python3 "$raw" "$(cat "$BATS_TEST_TMPDIR/port")" /echo handshake
	assert_contains "$output" "HTTP/1.1 403"
}

@test "ws: a WS route runs its statement per message: text as the parameter, a JSON object by keys, rows back in order" {
	run "$node" "$peer" "$url/echo" send 'hello wörld' '{"msg":"from json"}' '{"msg":"third"}'
	assert_status 0
	assert_same '{"msg":"hello wörld","n":11}
{"msg":"from json","n":9}
{"msg":"third","n":5}' "$output"
}

@test "ws: a SQL error or a bad parameter is a JSON error message, and the socket stays open" {
	# hex:33 is a binary message "3"; hex:3300 holds a NUL
	run "$node" "$peer" "$url/div/6" send '{"b":3}' '{"b":0}' '{"b":"x"}' hex:33 hex:3300 '{"b":2}'
	assert_status 0
	assert_same '{"q":2}
{"error":{"status":400,"sqlstate":"22012","message":"division by zero"}}
{"error":{"status":400,"message":"parameter '\''b'\'': \"x\" is not a valid int"}}
{"q":2}
{"error":{"status":400,"message":"the message holds a NUL byte, which no parameter can take"}}
{"q":3}' "$output"
}

@test "ws: a session over TLS (wss), compressed too; a server that stops says 1001 to its sessions" {
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --tls-listen 127.0.0.1:0 --tls-self-signed --threads 1 \
		"$BATS_FILE_TMPDIR/routes"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	tport=$(cat "$BATS_TEST_TMPDIR/port")
	NODE_TLS_REJECT_UNAUTHORIZED=0 run "$node" "$peer" "wss://127.0.0.1:$tport/echo" send one two
	assert_same '{"msg":"one","n":3}
{"msg":"two","n":3}' "$(echo "$output" | grep '^{')"
	NODE_TLS_REJECT_UNAUTHORIZED=0 run "$node" "$peer" "wss://127.0.0.1:$tport/echo" deflate 2000
	assert_contains "$output" "reply 2000"
	# stopping: an open session hears 1001, and the server exits 0
	listen_bg "$BATS_TEST_TMPDIR/out" "wss://127.0.0.1:$tport/feed" listen 5
	kill -TERM "$spid"
	wait "$spid"
	spid=
	wait "$lpid" || true
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "closed 1001"
}

@test "ws: over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL, an extended CONNECT answered 200, frames in DATA" {
	run timeout 20 "$BATS_TEST_DIRNAME/ws_h2.py" "$port" /echo hello '{"msg":"over h2"}'
	assert_same 'connect-protocol 1
status 200
{"msg":"hello","n":5}
{"msg":"over h2","n":7}
close 1000
end' "$output"
	run timeout 20 "$BATS_TEST_DIRNAME/ws_h2.py" "$port" /plain
	assert_same 'connect-protocol 1
status 400' "$output"
	wait_until grep -q '"CONNECT /echo HTTP/2.0" 200' "$BATS_FILE_TMPDIR/access.log"
}

@test "ws: a fragmented message is put together, UTF-8 split across fragments included" {
	run "$node" "$peer" "$url/echo" fragments
	assert_status 0
	assert_same '{"msg":"fragmented messéage","n":19}' "$output"
}

@test "ws: permessage-deflate is agreed, and a message compressed on the wire is read at its inflated size" {
	run "$node" "$peer" "$url/echo" deflate 3600
	assert_status 0
	assert_same 'extensions permessage-deflate
reply 3600' "$output"
	# over --ws-max-message once inflated, however small compressed: 1009
	run "$node" "$peer" "$url/echo" deflate 8000
	assert_same 'closed 1009' "$output"
}

@test "ws: pings are answered, and the close handshake echoes the client's code" {
	run "$node" "$peer" "$url/echo" ping
	assert_status 0
	assert_same 'pong are you there' "$output"
	run "$node" "$peer" "$url/echo" close 4000
	assert_status 0
	assert_same 'closed 4000' "$output"
}

@test "ws: malformed frames get their close code on the wire" {
	for c in unmasked:1002 bad-opcode:1002 oversized:1009 bad-utf8:1007 big-ping:1002 \
		fragmented-ping:1002; do
		run python3 "$raw" "$port" /echo "${c%%:*}"
		echo "${c%%:*}: $output"
		[ "$output" = "close ${c##*:}" ]
	done
}

@test "ws: a peer that answers no ping is closed with 1001 (--ws-ping)" {
	run timeout 20 python3 "$raw" "$port" /echo nopong
	assert_same 'ping
close 1001' "$output"
}

@test "ws: a listen route sends its snapshot, then each NOTIFY payload as a text message" {
	listen_bg "$BATS_TEST_TMPDIR/out" "$url/feed?upto=3" listen 3
	fa-pg -c "NOTIFY fasws_feed, 'first'" > /dev/null
	fa-pg -c "SELECT pg_notify('fasws_feed', '{\"n\":2}')" > /dev/null
	wait_until has_lines "$BATS_TEST_TMPDIR/out" 6
	wait "$lpid"
	# the snapshot is the body an SSE snapshot carries: one message, its rows on lines
	assert_same 'open
[{"i":1},
{"i":2},
{"i":3}]
first
{"n":2}' "$(cat "$BATS_TEST_TMPDIR/out")"
}

@test "ws: a client that reads nothing is closed, and what it was sent stays bounded" {
	# 20000 notifications of 900 bytes: 18 MB that the server must not hold
	run timeout 60 python3 "$raw" "$port" /bare noread fa-pg -c \
		"SELECT count(pg_notify('fasws_bare', i || repeat('x', 900))) FROM generate_series(1, 20000) i"
	echo "$output"
	[[ "$output" == "closed after "* ]]
	n=${output#closed after }
	n=${n% bytes}
	[ "$n" -lt 8000000 ]
	# the server is still well
	run "$node" "$peer" "$url/echo" send after
	assert_same '{"msg":"after","n":5}' "$output"
}

@test "ws: the access log and /metrics record sessions as 101" {
	"$node" "$peer" "$url/echo" send logged
	wait_until grep -q '"GET /echo HTTP/1.1" 101' "$BATS_FILE_TMPDIR/access.log"
	run curl -s "http://127.0.0.1:$port/metrics"
	assert_contains "$output" 'fa_http_requests_total{route="echo",status="101"}'
}

@test "ws: examples/chat: what one client says reaches a reader over LISTEN/NOTIFY" {
	listen_bg "$BATS_TEST_TMPDIR/out" "$url/chat" listen 3
	run "$node" "$peer" "$url/chat/lobby" send '{"author":"ann","body":"hello"}' \
		'{"author":"bob","body":"hi ann"}'
	assert_same '{"id":1,"quiet":false}
{"id":2,"quiet":false}' "$output"
	wait_until has_lines "$BATS_TEST_TMPDIR/out" 4
	wait "$lpid"
	assert_same 'open
[]
{"id" : 1, "room" : "lobby", "author" : "ann", "body" : "hello"}
{"id" : 2, "room" : "lobby", "author" : "bob", "body" : "hi ann"}' "$(cat "$BATS_TEST_TMPDIR/out")"
	# a later reader gets both in its snapshot
	listen_bg "$BATS_TEST_TMPDIR/out2" "$url/chat" listen 1
	wait "$lpid"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out2")" '"author":"bob","body":"hi ann"'
}

@test "ws: the frame reader's libFuzzer target runs clean over its corpus" {
	command -v clang > /dev/null || skip "clang is missing (scripts/deps installs it)"
	cd "$BATS_TEST_DIRNAME/.."
	make -s build/fuzz/fuzz_ws
	mkdir -p build/fuzz/corpus-ws
	run build/fuzz/fuzz_ws -max_total_time=5 build/fuzz/corpus-ws tests/fuzz/corpus/ws
	echo "$output" | tail -5
	assert_status 0
}
