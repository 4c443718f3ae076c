#!/usr/bin/env bats
# lib/http/hclient against real servers on loopback, through the driver
# tests/unit/hclient_get: fa-serve over HTTP/1.1 and HTTP/2, cleartext
# (h2c by prior knowledge) and TLS (ALPN), certificates good and bad, many
# streams at once, Server-Sent Events over h2 and HTTP/3; and tests/h2server.py, a
# server that sends GOAWAY, refuses or resets streams, or cuts a response.

load helpers

PY=/usr/bin/python3

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS hclient CASCADE;
CREATE SCHEMA hclient;
SQL
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/h.sql" <<'SQL'
-- name: rows
-- route: GET /rows
-- param: n int = 3
SELECT i, md5(i::text) AS h FROM generate_series(1, :n) i;

-- name: echo
-- route: POST /echo
-- param: word text
-- returns: one
SELECT :word AS word;

-- name: events
-- route: GET /events
-- listen: hclient_events
SQL
	# a certificate for localhost and 127.0.0.1, and one for another name
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-keyout "$BATS_FILE_TMPDIR/good.key" -out "$BATS_FILE_TMPDIR/good.crt" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=other.example -addext subjectAltName=DNS:other.example \
		-keyout "$BATS_FILE_TMPDIR/other.key" -out "$BATS_FILE_TMPDIR/other.crt" 2>/dev/null
	log=$BATS_FILE_TMPDIR/serve.log
	# the HTTP/3 event stream its caller leaves holds SIGTERM's drain until
	# QUIC's 30 s idle timeout; 3 s header and body timeouts end it sooner
	"$FA_BIN/fa-serve" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --h3-listen 127.0.0.1:0 \
		--tls-cert "$BATS_FILE_TMPDIR/good.crt" --tls-key "$BATS_FILE_TMPDIR/good.key" \
		--header-timeout 3000 --body-timeout 3000 --threads 1 "$dir" 2> "$log" 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/pid"
	for _ in $(seq 100); do
		[ "$(grep -c -E '^fa-serve: (listening|TLS|HTTP/3) on' "$log")" = 3 ] && break
		sleep 0.1
	done
	sed -n 's/^fa-serve: listening on .*(port \([0-9]*\)).*/\1/p' "$log" > "$BATS_FILE_TMPDIR/port"
	sed -n 's/^fa-serve: TLS on .*(port \([0-9]*\)).*/\1/p' "$log" > "$BATS_FILE_TMPDIR/tport"
	sed -n 's/^fa-serve: HTTP\/3 on .*(UDP port \([0-9]*\)).*/\1/p' "$log" > "$BATS_FILE_TMPDIR/h3port"
}

teardown_file() {
	local st=0
	file_server_stop || st=$?
	psql_fa -q -c 'DROP SCHEMA IF EXISTS hclient CASCADE'
	return "$st"
}

setup() {
	: "${FA_UNIT:=$BATS_TEST_DIRNAME/../build/obj/unit}"
	get=$FA_UNIT/hclient_get
	port=$(cat "$BATS_FILE_TMPDIR/port")
	tport=$(cat "$BATS_FILE_TMPDIR/tport")
	base=http://127.0.0.1:$port
	tbase=https://127.0.0.1:$tport
	ca=$BATS_FILE_TMPDIR/good.crt
}

teardown() {
	for p in ${spid:-} ${cpid:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# Starts tests/h2server.py in mode $1; sets spid, slog and hport.
start_h2server() {
	slog=$BATS_TEST_TMPDIR/h2server.log
	"$PY" "$BATS_TEST_DIRNAME/h2server.py" "$1" > "$BATS_TEST_TMPDIR/h2server.out" 2> "$slog" 3>&- &
	spid=$!
	for _ in $(seq 50); do
		[ -s "$BATS_TEST_TMPDIR/h2server.out" ] && break
		sleep 0.1
	done
	hport=$(awk '{ print $2 }' "$BATS_TEST_TMPDIR/h2server.out")
	[ -n "$hport" ]
}

# $output without its last line (the driver's "done" line): the bodies.
body() {
	sed '$d' <<<"$output"
}

# The "done" line's field $1 in $output.
field() {
	sed -n "s/.*done .*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$output"
}

# sse_until OUT VIA ARGS...: the driver on an event stream (ARGS: its
# options and URL) until the event {"via": VIA} comes, which is sent once
# the stream is open; the driver then frees its client inside on_data.
sse_until() {
	local out=$1 via=$2
	shift 2
	timeout 10 "$get" --stream --until "data: {\"via\": \"$via\"}" "$@" > "$out" 2> "$out.err" &
	cpid=$!
	for _ in $(seq 50); do
		grep -q '^: listening' "$out" && break
		sleep 0.1
	done
	psql_fa -q -c "notify hclient_events, '{\"via\": \"$via\"}'"
	wait "$cpid"
	cpid=
	assert_contains "$(cat "$out")" "$(printf 'event: hclient_events\ndata: {"via": "%s"}\n' "$via")"
}

@test "HTTP/1.1 over cleartext, the default for http URLs" {
	run "$get" "$base/rows?n=2"
	assert_status 0
	assert_same http/1.1 "$(field proto)"
	assert_same 200 "$(field status)"
	jq -e 'length == 2 and .[1].i == 2' <<<"$(body)"
}

@test "h2c by prior knowledge when HTTP/2 is asked for an http URL" {
	run "$get" --proto h2 "$base/rows?n=2"
	assert_status 0
	assert_same h2 "$(field proto)"
	jq -e 'length == 2' <<<"$(body)"
}

@test "TLS: ALPN chooses h2, or HTTP/1.1 when only that is offered; the CA file is trusted" {
	run "$get" --ca "$ca" "$tbase/rows?n=1"
	assert_status 0
	assert_same h2 "$(field proto)"
	jq -e '.[0].i == 1' <<<"$(body)"
	run "$get" --ca "$ca" --proto h1 "$tbase/rows?n=1"
	assert_status 0
	assert_same http/1.1 "$(field proto)"
	jq -e '.[0].i == 1' <<<"$(body)"
	# by name: SNI and the DNS name in the certificate
	run "$get" --ca "$ca" "https://localhost:$tport/live"
	assert_status 0
	assert_same h2 "$(field proto)"
}

@test "a POST body and fields go over HTTP/2 and HTTP/1.1 alike" {
	for p in h1 h2; do
		run "$get" --ca "$ca" --proto $p -X POST -H 'Content-Type: application/json' \
			-H 'Accept: application/json' -d '{"word": "über"}' "$tbase/echo"
		assert_status 0
		jq -e '.word == "über"' <<<"$(body)"
		run "$get" --proto $p -X POST -H 'Content-Type: application/json' \
			-d '{"word": 5' "$base/echo"
		assert_status 0
		assert_same 400 "$(field status)"
	done
}

@test "a certificate the client cannot trust is refused, naming host:port and the reason, unless insecure" {
	run "$get" "$tbase/live"
	assert_status 3
	assert_contains "$output" "cannot connect to 127.0.0.1:$tport: TLS handshake failed: the server's certificate was refused: self-signed certificate"
	run "$get" --ca "$BATS_FILE_TMPDIR/other.crt" "$tbase/live"
	assert_status 3
	assert_contains "$output" "certificate was refused"
	run "$get" -k "$tbase/live"
	assert_status 0
	# a certificate that names another host
	"$FA_BIN/fa-serve" --tls-listen 127.0.0.1:0 --tls-cert "$BATS_FILE_TMPDIR/other.crt" \
		--tls-key "$BATS_FILE_TMPDIR/other.key" --threads 1 "$BATS_FILE_TMPDIR/routes" \
		2> "$BATS_TEST_TMPDIR/other.log" 3>&- &
	spid=$!
	for _ in $(seq 100); do
		grep -q '^fa-serve: TLS on' "$BATS_TEST_TMPDIR/other.log" && break
		sleep 0.1
	done
	oport=$(sed -n 's/^fa-serve: TLS on .*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/other.log")
	run "$get" --ca "$BATS_FILE_TMPDIR/other.crt" "https://127.0.0.1:$oport/live"
	assert_status 3
	assert_contains "$output" "127.0.0.1:$oport"
	assert_contains "$output" "mismatch"
	run "$get" --ca "$BATS_FILE_TMPDIR/other.crt" "https://localhost:$oport/live"
	assert_status 3
	assert_contains "$output" "mismatch"
}

@test "bad options and unreachable servers get clear errors" {
	run "$get" --ca /nonexistent/ca.pem "$tbase/live"
	assert_status 2
	assert_contains "$output" "cannot load CA file '/nonexistent/ca.pem'"
	# nothing listens there (the port of a socket just closed)
	free=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run "$get" "https://127.0.0.1:$free/live"
	assert_status 3
	assert_contains "$output" "cannot connect to 127.0.0.1:$free: Connection refused"
	# plain HTTP/1.1 to a TLS port, TLS to a cleartext one
	run "$get" --timeout 3000 "http://127.0.0.1:$tport/live"
	[ "$status" -ne 0 ]
	run "$get" -k "https://127.0.0.1:$port/live"
	assert_status 3
	assert_contains "$output" "TLS handshake failed"
}

# Starts openssl s_server on a free port with these options; sets spid, oport.
start_s_server() {
	oport=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	openssl s_server -quiet -accept "127.0.0.1:$oport" -cert "$ca" \
		-key "$BATS_FILE_TMPDIR/good.key" -www "$@" > /dev/null 2>&1 3>&- &
	spid=$!
	for _ in $(seq 50); do
		"$PY" -c "import socket; socket.create_connection(('127.0.0.1', $oport))" 2>/dev/null && break
		sleep 0.1
	done
}

@test "HTTP/2 forced on a TLS server without it is an error; auto falls back to HTTP/1.1" {
	start_s_server
	run "$get" --ca "$ca" --proto h2 "https://127.0.0.1:$oport/"
	assert_status 3
	assert_contains "$output" "cannot connect to 127.0.0.1:$oport: the server does not speak HTTP/2 (ALPN chose no h2)"
	run "$get" --ca "$ca" "https://127.0.0.1:$oport/"
	assert_status 0
	assert_same http/1.1 "$(field proto)"
	kill "$spid"
	# a server that knows ALPN says so in an alert
	start_s_server -alpn http/1.1
	run "$get" --ca "$ca" --proto h2 "https://127.0.0.1:$oport/"
	assert_status 3
	assert_contains "$output" "cannot connect to 127.0.0.1:$oport: TLS handshake failed: tlsv1 alert no application protocol"
}

@test "many streams at once on few connections, cleartext and TLS; the queue holds the rest" {
	run "$get" -q --proto h2 -n 3000 -c 2 -m 100 "$base/live"
	assert_status 0
	assert_same 3000 "$(field ok)"
	assert_same 0 "$(field failed)"
	run "$get" -q --ca "$ca" -n 2000 -c 3 -m 64 "$tbase/rows?n=20"
	assert_status 0
	assert_same 2000 "$(field ok)"
	assert_same h2 "$(field proto)"
	# HTTP/1.1: one at a time per connection, the others queue
	run "$get" -q --ca "$ca" --proto h1 -n 300 -c 3 -m 10 "$tbase/live"
	assert_status 0
	assert_same 300 "$(field ok)"
}

@test "Server-Sent Events stream over h2 from fa-serve (TLS) and from an h2c server" {
	out=$BATS_TEST_TMPDIR/sse
	sse_until "$out" h2 --ca "$ca" "$tbase/events"
	assert_contains "$(cat "$out.err")" "proto=h2"
	start_h2server sse
	run "$get" --proto h2 --stream "http://127.0.0.1:$hport/events"
	assert_status 0
	assert_contains "$output" "$(printf 'id: 2\ndata: bye\n')"
}

@test "HTTP/3: bodies and fields, many streams, and an event stream the caller leaves from inside on_data" {
	local h3=https://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/h3port")
	run "$get" --proto h3 --ca "$ca" -X POST -H 'Content-Type: application/json' \
		-d '{"word": "quince"}' "$h3/echo"
	assert_status 0
	assert_contains "$output" '"word":"quince"'
	run "$get" --proto h3 --ca "$ca" -q -c 2 -m 20 -n 200 "$h3/rows?n=50"
	assert_status 0
	assert_contains "$output" "done ok=200 failed=0 proto=h3 status=200"
	# an http URL cannot be HTTP/3
	run "$get" --proto h3 "$base/rows"
	assert_status 2
	assert_contains "$output" "HTTP/3 needs an https URL"
	sse_until "$BATS_TEST_TMPDIR/sse3" h3 --proto h3 --ca "$ca" "$h3/events"
}

@test "GOAWAY: the stream the server took finishes, those above its last id go again on a new connection" {
	start_h2server goaway
	run "$get" -q --proto h2 -n 6 -m 6 "http://127.0.0.1:$hport/g"
	assert_status 0
	assert_same 6 "$(field ok)"
	grep -q '^conn 2$' "$slog"
	# the first connection served one, the second the five above it
	assert_same 1 "$(grep -c '^req 1 ' "$slog")"
	assert_same 5 "$(grep -c '^req 2 ' "$slog")"
}

@test "a refused stream is sent once more; refused again, it fails" {
	start_h2server refuse
	run "$get" -q --proto h2 -n 5 -m 5 "http://127.0.0.1:$hport/r"
	assert_status 0
	assert_same 5 "$(field ok)"
	kill "$spid"
	start_h2server refuse-always
	run "$get" -q --proto h2 -n 2 -m 2 "http://127.0.0.1:$hport/r"
	assert_status 3
	assert_same 2 "$(grep -c 'GET /r: the server refused it again (REFUSED_STREAM)' <<<"$output")"
}

@test "a reset stream fails alone; a connection cut mid-response fails what it carried" {
	start_h2server reset
	run "$get" -q --proto h2 -n 4 -m 4 "http://127.0.0.1:$hport/x"
	assert_status 3
	assert_same 3 "$(field ok)"
	assert_contains "$output" "127.0.0.1:$hport: GET /x: the server reset the HTTP/2 stream (INTERNAL_ERROR) before any response"
	kill "$spid"
	start_h2server cut
	run "$get" -q --proto h2 -n 1 "http://127.0.0.1:$hport/x"
	assert_status 3
	assert_contains "$output" "127.0.0.1:$hport: GET /x: connection"
	assert_contains "$output" "before the response was complete"
}

@test "a timeout over HTTP/2 resets its one stream; the others and the connection go on" {
	start_h2server stall
	run "$get" -q --proto h2 --timeout 1000 -n 3 -m 3 "http://127.0.0.1:$hport/s"
	assert_status 3
	assert_same 2 "$(field ok)"
	assert_contains "$output" "127.0.0.1:$hport: GET /s: timeout after 1000 ms"
	assert_same 1 "$(grep -c '^conn ' "$slog")"
}
