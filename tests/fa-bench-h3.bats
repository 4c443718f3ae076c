#!/usr/bin/env bats
# fa-bench http --h3 against fa-serve --h3-listen: exact counts (the
# database's rows and the access log's HTTP/3.0 lines against fa-bench's
# own), many streams on one connection, the certificate checked, a server
# that is not there; and the h3 server under attack from tests/unit's
# h3attack (built on lib/http/h3client), one knob a test.

load helpers
load bench_helpers

setup_file() {
	# a certificate of over 4 KB (many names), so that the server's first
	# flight is more than 3x the client's Initial: amplification shows
	local sans=DNS:localhost,IP:127.0.0.1
	for i in $(seq 200); do sans+=",DNS:name-$i.h3.example"; done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext "subjectAltName=$sans" \
		-keyout "$BATS_FILE_TMPDIR/key.pem" -out "$BATS_FILE_TMPDIR/cert.pem" 2>/dev/null
	# --header-timeout bounds the HTTP/3 handshake too: a stalled one goes in
	# 1 s; with --body-timeout, how long an unfinished request holds the drain
	bench_setup_file fabenchh3 --threads 1 --header-timeout 1000 --body-timeout 1000 \
		--access-log "$BATS_FILE_TMPDIR/access.log"
}

teardown_file() {
	bench_teardown_file fabenchh3
}

setup() {
	bench_setup fabenchh3
	[ -n "$h3port" ] || { cat "$BATS_FILE_TMPDIR/serve.log" >&2; return 1; }
	: "${FA_UNIT:=$BATS_TEST_DIRNAME/../build/obj/unit}"
	attack=$FA_UNIT/h3attack
}

# Lines of the access log for HTTP/3.0 requests to $1 (a path prefix).
h3_logged() {
	grep -c "\"[A-Z]* $1[^ ]* HTTP/3.0\" " "$BATS_FILE_TMPDIR/access.log" || true
}

@test "http --h3: exactly N requests, as the database and the access log count them" {
	local j=$BATS_TEST_TMPDIR/h3.json before
	before=$(h3_logged /hit/)
	run fa-bench http --h3 --cacert "$ca" -c 2 -t 1 -n 300 --method POST \
		"$h3base/hit/{1..5}" --json "$j"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k) >= 1, max(k) <= 5 from fabenchh3.hits'
	assert_same "300|t|t" "$output"
	[ "$(jval "$j" ".requests")" = 300 ]
	[ "$(jval "$j" ".errors")" = 0 ]
	[ "$(jval "$j" ".config.protocol")" = h3 ]
	[ $(( $(h3_logged /hit/) - before )) -eq 300 ]
}

@test "http --h3 -m: many streams on one connection, the summary says h3" {
	local before
	before=$(h3_logged /items/)
	run fa-bench http --h3 --cacert "$ca" -c 1 -m 16 -n 500 "$h3base/items/{1..50}"
	assert_status 0
	assert_contains "$output" "http (h3): 500 requests"
	[ $(( $(h3_logged /items/) - before )) -eq 500 ]
	# more streams than the server's limit (100) wait for its credit
	run fa-bench http --h3 -k -c 1 -m 300 -n 900 --method POST "$h3base/hit/7"
	assert_status 0
	assert_contains "$output" "http (h3): 900 requests"
	run psql_fa -Atq -c 'select count(*), min(k), max(k) from fabenchh3.hits'
	assert_same "900|7|7" "$output"
}

@test "http --h3: request bodies arrive; a timeout resets the stream and counts as timeout" {
	run fa-bench http --h3 -k -c 2 -m 4 -n 60 --method POST -H 'Content-Type: application/json' \
		--body '{"k": 42}' "$h3base/notes"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k), max(k) from fabenchh3.hits'
	assert_same "60|42|42" "$output"
	# each request gives up after 200 ms and cancels its stream
	# (H3_REQUEST_CANCELLED); the connection carries the next ones
	run fa-bench http --h3 -k -c 1 -m 2 -n 4 --timeout 200ms "$h3base/sleepy"
	assert_status 1
	assert_contains "$output" "errors: timeout: 4, first: 127.0.0.1:$h3port: GET /sleepy: timeout after 200 ms"
	run fa-bench http --h3 -k -c 1 -n 2 "$h3base/items/5"
	assert_status 0
}

@test "http --h3: a certificate the CAs do not know is refused, -k skips the check" {
	run fa-bench http --h3 -c 1 -n 3 "$h3base/items/1"
	assert_status 3
	assert_contains "$output" "certificate"
	assert_contains "$output" "127.0.0.1:$h3port"
	run fa-bench http --h3 -k -c 1 -n 3 "$h3base/items/1"
	assert_status 0
	run fa-bench http --h3 --cacert "$BATS_TEST_TMPDIR/none.pem" -n 3 "$h3base/items/1"
	assert_status 2
	assert_contains "$output" "none.pem"
}

@test "http --h3: a server that is not there is a connect error naming it, exit 3" {
	local port
	# a UDP port nobody listens on: the kernel answers ICMP unreachable
	port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	run fa-bench http --h3 -k -c 1 -n 3 --timeout 5s "https://127.0.0.1:$port/"
	assert_status 3
	assert_contains "$output" "cannot connect to 127.0.0.1:$port"
	assert_contains "$output" "connect"
	# HTTP/3 is always TLS
	run fa-bench http --h3 -n 3 "http://127.0.0.1:$port/"
	assert_status 2
	assert_contains "$output" "https"
}

@test "attack: streams that never end hold only the server's limit; another connection is served" {
	run "$attack" "$h3port" flood
	assert_status 0
	# the server's 100 streams were all the credit the flood got in a second
	assert_same "opened=100 other=200" "$output"
}

@test "attack: a reset flood closes the connection with H3_EXCESSIVE_LOAD, the server serves on" {
	run "$attack" "$h3port" resets
	assert_status 0
	assert_contains "$output" "closed: the server closed the connection with HTTP/3 error 0x107"
	[ "$(sed -n 's/^reset=\([0-9]*\) .*/\1/p' <<<"$output")" -gt 100 ]
	run fa-bench http --h3 -k -c 1 -n 5 "$h3base/items/1"
	assert_status 0
}

@test "attack: an oversized field section, and a QPACK bomb, are refused by the field section limit" {
	run "$attack" "$h3port" fields 1000
	assert_status 0
	assert_same "status=200 code=0x0 then=200" "$output"
	# over the 16 KiB the server announces: 431, and the connection goes on
	run "$attack" "$h3port" fields 30000
	assert_status 0
	assert_same "status=431 code=0x0 then=200" "$output"
	# 60 cookies of 2900 bytes (174 KB) in a few KB: one insert, 60 references
	run "$attack" "$h3port" qpack 60
	assert_status 0
	assert_contains "$output" "status=431 code=0x0 sent="
	assert_contains "$output" " then=200"
	[ "$(sed -n 's/.* sent=\([0-9]*\) .*/\1/p' <<<"$output")" -lt 17400 ]
}

@test "attack: a stalled handshake gets at most 3x its bytes, and is dropped after --header-timeout" {
	local sent got
	run "$attack" "$h3port" stall 1500
	assert_status 0
	sent=$(sed -n 's/^sent=\([0-9]*\) .*/\1/p' <<<"$output")
	got=$(sed -n 's/.* received=\([0-9]*\) .*/\1/p' <<<"$output")
	# the certificate alone is more than 3x the Initial: the limit held it back
	[ "$got" -gt "$sent" ]
	[ "$got" -le $((3 * sent)) ]
	# while the handshake may go on, the server keeps the connection (no
	# Stateless Reset); after it, a packet for it gets one
	assert_contains "$output" "early_reset=0 reset=1"
}

@test "SIGTERM: clients gone mid-request or before acknowledging hold the drain only as long as the timeouts" {
	local pid st=0
	pid=$(cat "$BATS_FILE_TMPDIR/pid")
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" 2>/dev/null || st=$?
	# not our child in every bats version: then the log says how it went
	! grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$BATS_FILE_TMPDIR/serve.log"
	[ "$st" -eq 0 ] || [ "$st" -eq 127 ]
	! kill -0 "$pid" 2>/dev/null
}
