#!/usr/bin/env bats
# fa-serve over HTTP/3 (--h3-listen) with a real peer, gtlsclient (ngtcp2's
# GnuTLS example client): the same bytes as over HTTP/1.1 and HTTP/2, many
# streams on one connection, request bodies, large streamed bodies,
# Alt-Svc on TCP, the access log and the SIGTERM drain.

load helpers

setup_file() {
	command -v gtlsclient >/dev/null || skip "gtlsclient (Debian's ngtcp2-client) is not installed"
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS faserveh3 CASCADE;
CREATE SCHEMA faserveh3;
CREATE TABLE faserveh3.items (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2));
INSERT INTO faserveh3.items VALUES (1, 'apple', 1.25), (2, 'pear, green', 0.5), (3, 'Zoë "quoted"', 10);
SQL
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/h3.sql" <<'SQL'
-- name: list_items
-- route: GET /items
SELECT id, name, price FROM faserveh3.items ORDER BY id;

-- name: get_item
-- route: GET /items/:id
-- param: id int
-- returns: one
SELECT id, name, price FROM faserveh3.items WHERE id = :id;

-- name: add_item
-- route: POST /items
-- param: id int
-- param: name text
-- param: price numeric
-- returns: one
INSERT INTO faserveh3.items (id, name, price) VALUES (:id, :name, :price) RETURNING id, name, price;

-- name: rows
-- route: GET /rows
-- param: n int = 200
SELECT i, md5(i::text) AS h FROM generate_series(1, :n) i;

-- name: big
-- route: GET /big
-- param: n int = 200000
-- returns: stream
SELECT i, md5(i::text) AS h FROM generate_series(1, :n) i;

-- name: echo
-- route: POST /echo
-- param: name text
-- returns: one
SELECT :name AS name;

-- name: events
-- route: GET /events
-- listen: faserveh3_events

-- name: sleepy
-- route: GET /sleepy
-- returns: one
SELECT pg_sleep(1)::text AS slept;
SQL
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-keyout "$BATS_FILE_TMPDIR/key.pem" -out "$BATS_FILE_TMPDIR/cert.pem" 2>/dev/null
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS faserveh3 CASCADE'
}

# A server a test started for itself must not outlive a failure.
teardown() {
	[ -n "${spid:-}" ] || return 0
	kill -TERM "$spid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$spid" 2>/dev/null || true
}

# fa-serve on cleartext, TLS and HTTP/3 with these extra options: sets
# spid, slog, sport, stport and h3port.
# The certificate is the file's, or $certdir's when the test sets it.
start_server() {
	local cd=${certdir:-$BATS_FILE_TMPDIR}
	slog=$BATS_TEST_TMPDIR/serve.log
	"$FA_BIN/fa-serve" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
		--tls-cert "$cd/cert.pem" --tls-key "$cd/key.pem" \
		--h3-listen 127.0.0.1:0 "$@" "$BATS_FILE_TMPDIR/routes" 2> "$slog" &
	spid=$!
	for _ in $(seq 100); do
		grep -q '^fa-serve: HTTP/3 on' "$slog" && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	sport=$(sed -n 's/^fa-serve: listening on .*(port \([0-9]*\)).*/\1/p' "$slog")
	stport=$(sed -n 's/^fa-serve: TLS on .*(port \([0-9]*\)).*/\1/p' "$slog")
	h3port=$(sed -n 's/^fa-serve: HTTP\/3 on .*(UDP port \([0-9]*\)).*/\1/p' "$slog")
	[ -n "$h3port" ] || { cat "$slog" >&2; return 1; }
}

stop_server() {
	local st=0
	kill -TERM "$spid"
	wait "$spid" || st=$?
	spid=
	if [ "$st" -ne 0 ]; then
		cat "$slog" >&2
		echo "fa-serve exited $st" >&2
		return 1
	fi
}

# gtlsclient to the test's server: [OPTION... --] PATH...; the bodies go
# to $BATS_TEST_TMPDIR/dl, what it says to $BATS_TEST_TMPDIR/h3.err.
h3get() {
	local opts=() urls=() a
	if [[ " $* " == *" -- "* ]]; then
		while [ "$1" != -- ]; do opts+=("$1"); shift; done
		shift
	fi
	for a in "$@"; do urls+=("https://127.0.0.1:$h3port$a"); done
	rm -rf "$BATS_TEST_TMPDIR/dl"
	mkdir -p "$BATS_TEST_TMPDIR/dl"
	timeout 30 gtlsclient --exit-on-all-streams-close --no-quic-dump --no-http-dump \
		--download "$BATS_TEST_TMPDIR/dl" "${opts[@]}" 127.0.0.1 "$h3port" "${urls[@]}" \
		> /dev/null 2> "$BATS_TEST_TMPDIR/h3.err"
}

@test "--h3-listen without --tls-listen is a usage error" {
	run "$FA_BIN/fa-serve" --h3-listen 127.0.0.1:0 "$BATS_FILE_TMPDIR/routes"
	assert_status 2
	assert_contains "$output" "--h3-listen goes with --tls-listen"
}

@test "--h3-retry without --h3-listen is a usage error" {
	run "$FA_BIN/fa-serve" --tls-listen 127.0.0.1:0 --tls-self-signed --h3-retry \
		"$BATS_FILE_TMPDIR/routes"
	assert_status 2
	assert_contains "$output" "--h3-retry goes with --h3-listen"
}

@test "--h3-retry: the client gets a Retry first, then its answer; without it, no Retry" {
	start_server --threads 2 --h3-retry
	rm -rf "$BATS_TEST_TMPDIR/dl"; mkdir -p "$BATS_TEST_TMPDIR/dl"
	timeout 30 gtlsclient --exit-on-all-streams-close --no-http-dump \
		--download "$BATS_TEST_TMPDIR/dl" 127.0.0.1 "$h3port" \
		"https://127.0.0.1:$h3port/items/1" > /dev/null 2> "$BATS_TEST_TMPDIR/h3.err"
	run cat "$BATS_TEST_TMPDIR/h3.err"
	assert_contains "$output" "type=Retry"
	assert_contains "$output" "retry_source_connection_id="
	assert_contains "$output" "[:status: 200]"
	jq -e '.id == 1' "$BATS_TEST_TMPDIR/dl/1"
	stop_server
	start_server --threads 1
	timeout 30 gtlsclient --exit-on-all-streams-close --no-http-dump 127.0.0.1 "$h3port" \
		"https://127.0.0.1:$h3port/items/1" > /dev/null 2> "$BATS_TEST_TMPDIR/h3.err"
	run cat "$BATS_TEST_TMPDIR/h3.err"
	assert_contains "$output" "[:status: 200]"
	[[ "$output" != *type=Retry* ]]
	stop_server
}

@test "the same route gives the same bytes over HTTP/1.1, h2c, h2, HTTP/1.1 over TLS and HTTP/3" {
	start_server --threads 2
	for path in /items /items/2 '/rows?n=500'; do
		h3get "$path"
		assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
		h3body=$BATS_TEST_TMPDIR/dl/${path##*/}
		curl -sS --http1.1 "http://127.0.0.1:$sport$path" -o "$BATS_TEST_TMPDIR/h1"
		curl -sS --http2-prior-knowledge "http://127.0.0.1:$sport$path" -o "$BATS_TEST_TMPDIR/h2c"
		curl -sSk --http2 "https://127.0.0.1:$stport$path" -o "$BATS_TEST_TMPDIR/h2"
		curl -sSk --http1.1 "https://127.0.0.1:$stport$path" -o "$BATS_TEST_TMPDIR/h1tls"
		for f in h1 h2c h2 h1tls; do
			cmp "$BATS_TEST_TMPDIR/$f" "$h3body"
		done
		[ "$path" != /items/2 ] || jq -e '.id == 2 and .name == "pear, green"' "$h3body"
	done
	# a 404 and a 400 are the same status over HTTP/3
	h3get /items/99
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 404]"
	jq -e '.error.status == 404' "$BATS_TEST_TMPDIR/dl/99"
	h3get /items/abc
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 400]"
	stop_server
}

@test "TCP responses carry Alt-Svc with the HTTP/3 port; HTTP/3 ones do not" {
	start_server --threads 1
	run curl -sS --http1.1 -D - -o /dev/null "http://127.0.0.1:$sport/items/1"
	assert_contains "$output" "Alt-Svc: h3=\":$h3port\"; ma=86400"
	run curl -sSk --http2 -D - -o /dev/null "https://127.0.0.1:$stport/items/1"
	assert_contains "$output" "alt-svc: h3=\":$h3port\"; ma=86400"
	h3get /items/1
	run cat "$BATS_TEST_TMPDIR/h3.err"
	assert_contains "$output" "[:status: 200]"
	[[ "$output" != *alt-svc* ]]
	stop_server
}

@test "50 streams on one HTTP/3 connection: 50 answers of the same bytes" {
	start_server --threads 1
	h3get -n 50 -- '/rows?n=300'
	assert_same 50 "$(grep -c '\[:status: 200\]' "$BATS_TEST_TMPDIR/h3.err")"
	curl -sS "http://127.0.0.1:$sport/rows?n=300" -o "$BATS_TEST_TMPDIR/ref"
	cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/dl/rows?n=300"
	stop_server
}

@test "a request body over HTTP/3 reaches the route" {
	start_server --threads 1
	printf '{"id": 7, "name": "quince", "price": 2.5}' > "$BATS_TEST_TMPDIR/body.json"
	h3get -m POST -d "$BATS_TEST_TMPDIR/body.json" -- /items
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
	jq -e '.id == 7 and .name == "quince"' "$BATS_TEST_TMPDIR/dl/items"
	run psql_fa -tA -c 'SELECT name FROM faserveh3.items WHERE id = 7'
	assert_same quince "$output"
	stop_server
}

@test "a streamed body of 10 MB arrives whole over HTTP/3, the same as over h2" {
	start_server --threads 1
	h3get /big
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
	curl -sSk --http2 "https://127.0.0.1:$stport/big" -o "$BATS_TEST_TMPDIR/ref"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/ref")" -gt 10000000 ]
	cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/dl/big"
	stop_server
}

@test "a listen route streams Server-Sent Events over HTTP/3 as they come; SIGTERM ends the stream" {
	start_server --threads 1
	h3get /events &
	cpid=$!
	ev=$BATS_TEST_TMPDIR/dl/events
	for _ in $(seq 50); do grep -q '^: listening' "$ev" 2>/dev/null && break; sleep 0.1; done
	psql_fa -q -c "notify faserveh3_events, '{\"over\": \"h3\"}'"
	for _ in $(seq 50); do grep -q '^data: {"over": "h3"}' "$ev" && break; sleep 0.1; done
	# the event is there while the stream is still open
	kill -0 "$cpid"
	assert_contains "$(cat "$ev")" "$(printf 'event: faserveh3_events\ndata: {"over": "h3"}\n')"
	stop_server
	wait "$cpid"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "content-type: text/event-stream"
}

@test "SIGTERM with an HTTP/3 event stream whose client vanished (killed): fa-serve exits in seconds, not at QUIC's idle timeout" {
	# the default grace (60 s header and body timeouts) and idle timeout (30 s) are far off
	start_server --threads 1
	h3get /events &
	cpid=$!
	for _ in $(seq 50); do grep -q '^: listening' "$BATS_TEST_TMPDIR/dl/events" 2>/dev/null && break; sleep 0.1; done
	# gtlsclient (under h3get's timeout) killed: nothing acknowledges or closes from its side
	pkill -KILL -P "$(pgrep -P "$cpid" timeout)" gtlsclient
	wait "$cpid" || true
	kill -TERM "$spid"
	for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$spid" 2>/dev/null || { cat "$slog" >&2; echo "fa-serve still runs 10 s after SIGTERM" >&2; false; }
	wait "$spid"
	spid=
}

@test "a client that changes port mid-request keeps its connection, whichever worker its datagrams reach" {
	start_server --threads 2
	# a body long enough that the client is still sending when its port changes
	python3 -c 'import json; print(json.dumps({"name": "x" * 600000}))' > "$BATS_TEST_TMPDIR/big.json"
	# the kernel picks the worker by the new port: 8 runs miss a wrong one by 1 in 256
	for i in $(seq 8); do
		h3get -m POST -d "$BATS_TEST_TMPDIR/big.json" --change-local-addr=5ms --nat-rebinding -- /echo
		grep -q 'Local address is now' "$BATS_TEST_TMPDIR/h3.err"
		assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
		jq -e '.name | length == 600000' "$BATS_TEST_TMPDIR/dl/echo"
	done
	stop_server
}

@test "a datagram for no connection gets a Stateless Reset smaller than itself; a tiny one gets nothing" {
	start_server --threads 1
	run python3 - "$h3port" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
port = int(sys.argv[1])
for size in (200, 30):
    # a short header (0x40 | random bits), a 16-byte DCID no connection has
    s.sendto(bytes([0x40 | (os.urandom(1)[0] & 0x3f)]) + os.urandom(size - 1), ("127.0.0.1", port))
    try:
        data, _ = s.recvfrom(2048)
        print(size, "reply", len(data), "short" if data[0] & 0xc0 == 0x40 else "long")
    except socket.timeout:
        print(size, "none")
PY
	echo "$output"
	[[ "${lines[0]}" =~ ^200\ reply\ ([0-9]+)\ short$ ]]
	[ "${BASH_REMATCH[1]}" -lt 200 ]
	assert_same "30 none" "${lines[1]}"
	stop_server
}

@test "ECN: the server reads the client's ECN bits and marks its own datagrams ECT(0)" {
	start_server --threads 1
	timeout 30 gtlsclient --exit-on-all-streams-close --no-http-dump 127.0.0.1 "$h3port" \
		"https://127.0.0.1:$h3port/rows?n=300" > /dev/null 2> "$BATS_TEST_TMPDIR/h3.err"
	run cat "$BATS_TEST_TMPDIR/h3.err"
	assert_contains "$output" "[:status: 200]"
	# ngtcp2 on the client validates ECN on the path and says so
	assert_contains "$output" "path is ECN capable"
	grep -q 'Received packet: .* ecn=0x2 ' "$BATS_TEST_TMPDIR/h3.err"
	stop_server
}

@test "the access log says HTTP/3.0" {
	start_server --threads 1 --access-log "$BATS_TEST_TMPDIR/access.log"
	h3get /items/3
	stop_server
	run cat "$BATS_TEST_TMPDIR/access.log"
	assert_contains "$output" '"GET /items/3 HTTP/3.0" 200'
}

@test "SIGTERM while an HTTP/3 request runs: it completes with 200, then fa-serve exits 0" {
	start_server --threads 1
	h3get /sleepy &
	cpid=$!
	sleep 0.5
	stop_server
	wait "$cpid"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
	jq -e '.slept == ""' "$BATS_TEST_TMPDIR/dl/sleepy"
}

@test "SIGTERM while a slow client takes a long HTTP/3 answer: it gets the whole of it, then fa-serve exits 0" {
	: "${FA_UNIT:=$BATS_TEST_DIRNAME/../build/obj/unit}"
	# the request grace (header and body timeouts) passes long before the answer is taken
	start_server --threads 1 --header-timeout 100 --body-timeout 100 --send-timeout 5000
	want=$(curl -sSk "https://127.0.0.1:$stport/rows?n=20000" | wc -c)
	[ "$want" -gt 1000000 ]
	"$FA_UNIT/h3attack" "$h3port" slow '/rows?n=20000' > "$BATS_TEST_TMPDIR/slow" &
	cpid=$!
	sleep 0.3
	stop_server
	wait "$cpid"
	assert_same "status=200 bytes=$want closed=1 error=-" "$(cat "$BATS_TEST_TMPDIR/slow")"
}

@test "SIGHUP reloads the certificate for HTTP/3: new connections get the new one; a broken file keeps it" {
	certdir=$BATS_TEST_TMPDIR
	make_test_cert "$certdir"
	cp "$certdir/cert.pem" "$certdir/old.pem"
	# after this sequence some QUIC connection holds SIGTERM's drain until
	# QUIC's 30 s idle timeout (none does when the server is restarted
	# between the steps): 3 s header and body timeouts end the drain sooner
	start_server --threads 2 --header-timeout 3000 --body-timeout 3000
	local url=https://127.0.0.1:$h3port/rows?n=3
	run fa-bench http --h3 --cacert "$certdir/old.pem" -c 1 -n 2 "$url"
	assert_status 0
	mkdir "$certdir/new"
	make_test_cert "$certdir/new"
	cp "$certdir/new/cert.pem" "$certdir/new/key.pem" "$certdir/"
	kill -HUP "$spid"
	wait_until fa-bench http --h3 --cacert "$certdir/new/cert.pem" -c 1 -n 1 "$url"
	run fa-bench http --h3 --cacert "$certdir/old.pem" -c 1 -n 1 "$url"
	assert_status 3
	assert_contains "$output" certificate
	echo broken > "$certdir/cert.pem"
	kill -HUP "$spid"
	wait_until grep -q 'HTTP/3 keeps the old certificate' "$slog"
	run fa-bench http --h3 --cacert "$certdir/new/cert.pem" -c 1 -n 2 "$url"
	assert_status 0
	stop_server
}
