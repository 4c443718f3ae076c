#!/usr/bin/env bats
# fa-serve over HTTP/2 and TLS with real peers (curl, nghttp, h2load,
# openssl s_client, python3-hpack through tests/h2attack.py): the same
# answers on every protocol, settings, multiplexing, flow control,
# content coding, certificates and their reloads, and the known attacks.

load helpers

# Debian's python3-hpack; a python3 earlier on PATH (pyenv) may lack it.
PY=/usr/bin/python3

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS faserveh2 CASCADE;
CREATE SCHEMA faserveh2;
CREATE TABLE faserveh2.items (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2));
INSERT INTO faserveh2.items VALUES (1, 'apple', 1.25), (2, 'pear, green', 0.5), (3, 'Zoë "quoted"', 10);
SQL
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/h2.sql" <<'SQL'
-- name: list_items
-- route: GET /items
SELECT id, name, price FROM faserveh2.items ORDER BY id;

-- name: get_item
-- route: GET /items/:id
-- param: id int
-- returns: one
SELECT id, name, price FROM faserveh2.items WHERE id = :id;

-- name: add_item
-- route: POST /items
-- param: id int
-- param: name text
-- param: price numeric
-- returns: one
INSERT INTO faserveh2.items (id, name, price) VALUES (:id, :name, :price) RETURNING id, name, price;

-- name: rows
-- route: GET /rows
-- param: n int = 200
SELECT i, md5(i::text) AS h FROM generate_series(1, :n) i;

-- name: big
-- route: GET /big
-- param: n int = 200000
-- returns: stream
SELECT i, md5(i::text) AS h FROM generate_series(1, :n) i;

-- name: trickle
-- route: GET /trickle
-- returns: stream
SELECT i, md5(i::text) AS h, CASE WHEN i = 3000 THEN pg_sleep(2)::text END AS z
  FROM generate_series(1, 3000) i;

-- name: sleepy
-- route: GET /sleepy
-- returns: one
SELECT pg_sleep(1)::text AS slept;

-- name: events
-- route: GET /events
-- listen: faserveh2_events
SQL
	# two certificates for localhost and 127.0.0.1, for the reload tests
	for n in a b; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
			-keyout "$BATS_FILE_TMPDIR/$n.key" -out "$BATS_FILE_TMPDIR/$n.crt" 2>/dev/null
	done
	# one server for the tests that need nothing special: cleartext and TLS
	log=$BATS_FILE_TMPDIR/serve.log
	# (its exit status is kept for the last test, which stops it)
	(
		"$FA_BIN/fa-serve" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --tls-self-signed \
			--threads 2 "$dir" 2> "$log" &
		echo $! > "$BATS_FILE_TMPDIR/pid"
		st=0
		wait $! || st=$?
		echo $st > "$BATS_FILE_TMPDIR/status"
	) 3>&- &
	for _ in $(seq 100); do
		[ "$(grep -c -E '^fa-serve: (listening|TLS) on' "$log")" = 2 ] && break
		sleep 0.1
	done
	sed -n 's/^fa-serve: listening on .*(port \([0-9]*\)).*/\1/p' "$log" > "$BATS_FILE_TMPDIR/port"
	sed -n 's/^fa-serve: TLS on .*(port \([0-9]*\)).*/\1/p' "$log" > "$BATS_FILE_TMPDIR/tport"
}

teardown_file() {
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
	psql_fa -q -c 'DROP SCHEMA IF EXISTS faserveh2 CASCADE'
}

setup() {
	port=$(cat "$BATS_FILE_TMPDIR/port")
	tport=$(cat "$BATS_FILE_TMPDIR/tport")
	pid=$(cat "$BATS_FILE_TMPDIR/pid")
	base=http://127.0.0.1:$port
	tbase=https://127.0.0.1:$tport
}

# A server a test started for itself must not outlive a failure; one
# stuck draining would hold bats, so it gets 5 s before SIGKILL.
teardown() {
	[ -n "${spid:-}" ] || return 0
	kill -TERM "$spid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$spid" 2>/dev/null || true
}

# Starts fa-serve with these options on the routes: sets spid, slog and
# sport (cleartext) and stport (TLS) for the listeners asked for.
start_server() {
	slog=$BATS_TEST_TMPDIR/serve.log
	"$FA_BIN/fa-serve" "$@" "$BATS_FILE_TMPDIR/routes" 2> "$slog" &
	spid=$!
	local want=0
	[[ " $* " == *" --listen "* ]] && want=$((want + 1))
	[[ " $* " == *" --tls-listen "* ]] && want=$((want + 1))
	for _ in $(seq 100); do
		[ "$(grep -c -E '^fa-serve: (listening|TLS) on' "$slog")" -ge "$want" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	sport=$(sed -n 's/^fa-serve: listening on .*(port \([0-9]*\)).*/\1/p' "$slog")
	stport=$(sed -n 's/^fa-serve: TLS on .*(port \([0-9]*\)).*/\1/p' "$slog")
}

# SIGTERM to the test's own server; it must drain and exit 0 (a sanitizer
# report makes it 99).
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

# One request to the shared server, path $2, by protocol $1: h1, h2c
# (prior knowledge), upgrade (h2c by Upgrade), h2tls (ALPN h2) or h1tls
# (ALPN http/1.1); the rest are curl options.  Prints the body, then a
# line "CODE VERSION".
fetch() {
	local proto=$1 path=$2
	shift 2
	case $proto in
	h1) set -- --http1.1 "$base$path" "$@" ;;
	h2c) set -- --http2-prior-knowledge "$base$path" "$@" ;;
	upgrade) set -- --http2 "$base$path" "$@" ;;
	h2tls) set -- -k --http2 "$tbase$path" "$@" ;;
	h1tls) set -- -k --http1.1 "$tbase$path" "$@" ;;
	esac
	curl -sS -w '\n%{http_code} %{http_version}' "$@"
}

PROTOS="h1 h2c upgrade h2tls h1tls"

# The version each protocol must report.
version_of() {
	case $1 in h1 | h1tls) echo 1.1 ;; *) echo 2 ;; esac
}

# CPU ticks (user + system) the process has used.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "the same route gives the same bytes over HTTP/1.1, h2c, h2c by Upgrade, h2 and HTTP/1.1 over TLS" {
	for accept in application/json application/x-ndjson text/csv; do
		ref=
		for p in $PROTOS; do
			run fetch "$p" /items -H "Accept: $accept"
			assert_same "200 $(version_of "$p")" "${lines[-1]}"
			body=$(sed '$d' <<<"$output")
			[ -n "$ref" ] || ref=$body
			assert_same "$ref" "$body"
		done
		case $accept in
		*ndjson) [ "$(wc -l <<<"$ref")" = 3 ] ;;
		*json) jq -e 'length == 3 and .[2].name == "Zoë \"quoted\""' <<<"$ref" ;;
		text/csv) assert_same 'id,name,price' "$(head -1 <<<"$ref")" ;;
		esac
	done
	# a one-row route, and the status mapping, are the same too
	for p in $PROTOS; do
		run fetch "$p" /items/2
		assert_same "200 $(version_of "$p")" "${lines[-1]}"
		jq -e '.id == 2 and .name == "pear, green"' <<<"${lines[0]}"
		run fetch "$p" /items/99
		assert_same "404 $(version_of "$p")" "${lines[-1]}"
		jq -e '.error.status == 404' <<<"${lines[0]}"
		run fetch "$p" /items/abc
		assert_same "400 $(version_of "$p")" "${lines[-1]}"
		assert_contains "${lines[0]}" "parameter 'id'"
	done
	# the Upgrade really happened: 101, then the answer in HTTP/2
	run curl -sS -v --http2 "$base/items/1"
	assert_contains "$output" "< HTTP/1.1 101 Switching Protocols"
	assert_contains "$output" "< HTTP/2 200"
	# and TLS really negotiated h2 by ALPN
	run curl -sS -v -k --http2 "$tbase/items/1"
	assert_contains "$output" "ALPN: server accepted h2"
}

@test "a POST with a JSON body over h2c and h2; a duplicate is 409" {
	run fetch h2c /items -H 'Content-Type: application/json' -d '{"id": 40, "name": "plum", "price": 2.5}'
	assert_same "200 2" "${lines[-1]}"
	jq -e '.id == 40 and .name == "plum" and .price == 2.5' <<<"${lines[0]}"
	run fetch h2tls /items -H 'Content-Type: application/json' -d '{"id": 41, "name": "fig", "price": 3}'
	assert_same "200 2" "${lines[-1]}"
	jq -e '.id == 41 and .name == "fig"' <<<"${lines[0]}"
	run fetch h2c /items -H 'Content-Type: application/json' -d '{"id": 40, "name": "plum", "price": 2.5}'
	assert_same "409 2" "${lines[-1]}"
	[ "$(psql_fa -tA -c 'select count(*) from faserveh2.items where id in (40, 41)')" = 2 ]
	psql_fa -q -c 'delete from faserveh2.items where id in (40, 41)'
}

@test "a request header list over --h2-max-header-list is 431 on its stream, the connection lives" {
	big=$(head -c 40000 /dev/zero | tr '\0' a)
	run fetch h2c /live -H "X-Big: $big"
	assert_same "431 2" "${lines[-1]}"
	jq -e '.error.status == 431' <<<"${lines[0]}"
	# the next request on the same connection is answered (curl 7.88 will not
	# reuse a connection after sending such a header: a raw client does)
	run timeout 10 "$PY" "$BATS_TEST_DIRNAME/h2attack.py" "$port" oversize-header --wait 0.2
	echo "$output"
	assert_contains "$output" "goaway=none closed=0"
	assert_contains "$output" "stream=1 status=431"
	assert_contains "$output" "stream=3 status=200 data=3 ended="
}

@test "nghttp -nv shows the configured SETTINGS, HEADERS and DATA with END_STREAM" {
	start_server --listen 127.0.0.1:0 --threads 1 --h2-max-streams 7 --h2-window 100000 \
		--h2-max-frame 32768 --h2-max-header-list 8192
	run nghttp -nv "http://127.0.0.1:$sport/items/1"
	assert_status 0
	assert_contains "$output" "recv SETTINGS frame"
	assert_contains "$output" "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7]"
	assert_contains "$output" "[SETTINGS_INITIAL_WINDOW_SIZE(0x04):100000]"
	assert_contains "$output" "[SETTINGS_MAX_FRAME_SIZE(0x05):32768]"
	assert_contains "$output" "[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):8192]"
	assert_contains "$output" "(stream_id=13) :status: 200"
	assert_contains "$output" "recv HEADERS frame <length="
	assert_contains "$output" "recv DATA frame <length=37, flags=0x01, stream_id=13>
          ; END_STREAM"
	# a bodyless answer (404 has a body; a 304 does not) ends with its HEADERS
	etag=$(curl -sS --http2-prior-knowledge -D - -o /dev/null "http://127.0.0.1:$sport/items/1" |
		sed -n 's/^etag: \(.*\)\r$/\1/p')
	[ -n "$etag" ]
	run nghttp -nv -H "if-none-match: $etag" "http://127.0.0.1:$sport/items/1"
	assert_contains "$output" ":status: 304"
	assert_contains "$output" "; END_STREAM | END_HEADERS"
	# the same over TLS, ALPN h2
	stop_server
	start_server --tls-listen 127.0.0.1:0 --tls-self-signed --threads 1 --h2-max-streams 7
	run nghttp -nv "https://127.0.0.1:$stport/items/1"
	assert_status 0
	assert_contains "$output" "The negotiated protocol: h2"
	assert_contains "$output" "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7]"
	assert_contains "$output" "; END_STREAM"
	stop_server
}

@test "h2load multiplexes 2000 requests, 20 at a time on 4 connections, over h2c and h2" {
	for url in "$base/items/1" "$tbase/items/1"; do
		run h2load -n 2000 -c 4 -m 20 "$url"
		echo "$output"
		assert_status 0
		assert_contains "$output" "2000 succeeded, 0 failed, 0 errored, 0 timeout"
		assert_contains "$output" "status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx"
	done
	assert_contains "$output" "Application protocol: h2"
}

@test "a large stream arrives complete over h2c and h2" {
	for p in h2c h2tls; do
		run fetch "$p" /big -H 'Accept: application/x-ndjson' -o "$BATS_TEST_TMPDIR/big"
		assert_same "200 2" "${lines[-1]}"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/big")" = 200000 ]
		jq -e '.i == 1' < <(head -1 "$BATS_TEST_TMPDIR/big")
		jq -e '.i == 200000' < <(tail -1 "$BATS_TEST_TMPDIR/big")
	done
	# and as JSON, one array
	[ "$(curl -sS -k --http2 "$tbase/big?n=50000" | jq length)" = 50000 ]
}

@test "a slow reader of a stream stalls neither other connections nor other streams, and is not buffered" {
	# ASan keeps freed memory in quarantine: that is not rows being held
	# (each stalled stream holds a database connection: four of them)
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" start_server --listen 127.0.0.1:0 --threads 1 --pool 4
	before=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
	timeout 4 curl -sS --http2-prior-knowledge --limit-rate 300k -H 'Accept: application/x-ndjson' \
		"http://127.0.0.1:$sport/big?n=1000000" -o "$BATS_TEST_TMPDIR/slow" &
	cpid=$!
	sleep 0.5
	# another connection on the same (only) worker
	run curl -sS --http2-prior-knowledge -w '\n%{http_code} %{time_total}' "http://127.0.0.1:$sport/items/1"
	echo "$output"
	[ "${lines[1]%% *}" = 200 ]
	awk -v t="${lines[1]#* }" 'BEGIN { exit !(t < 1) }'
	# another stream on the connection whose first stream has no window left
	run timeout 10 "$PY" "$BATS_TEST_DIRNAME/h2attack.py" "$sport" slow-neighbour --wait 0.2
	echo "$output"
	assert_contains "$output" "stream=1 status=200 data=65535 ended=no"
	[[ "$output" =~ stream=3\ status=200\ data=37\ ended=0\.[5-9] ]]
	wait "$cpid" || true
	after=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
	echo "peak RSS KiB before $before, after a slow stream $after; read $(wc -c < "$BATS_TEST_TMPDIR/slow") bytes"
	# 1M rows are about 50 MB of NDJSON: the server may hold only a little of it
	[ $((after - before)) -lt 20000 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/slow")" -lt 1000000 ]
	stop_server
}

@test "a listen route streams Server-Sent Events over h2c and h2, compressed or not" {
	out=$BATS_TEST_TMPDIR
	timeout 10 curl -sS -N --http2-prior-knowledge "$base/events" > "$out/plain" & c1=$!
	timeout 10 curl -sS -N -k --http2 --compressed -H 'Accept-Encoding: zstd' -D "$out/zh" \
		"$tbase/events" > "$out/zstd" & c2=$!
	timeout 10 curl -sS -N --http2-prior-knowledge --compressed -H 'Accept-Encoding: gzip' -D "$out/gh" \
		"$base/events" > "$out/gzip" & c3=$!
	for _ in $(seq 50); do
		[ "$(cat "$out/plain" "$out/zstd" "$out/gzip" | grep -c '^: listening')" = 3 ] && break
		sleep 0.1
	done
	psql_fa -q -c "notify faserveh2_events, '{\"over\": \"h2\"}'"
	for _ in $(seq 50); do
		[ "$(cat "$out/plain" "$out/zstd" "$out/gzip" | grep -c '^data: {"over": "h2"}')" = 3 ] && break
		sleep 0.1
	done
	kill "$c1" "$c2" "$c3" 2>/dev/null || true
	wait || true
	for f in plain zstd gzip; do
		assert_contains "$(cat "$out/$f")" "$(printf 'event: faserveh2_events\ndata: {"over": "h2"}\n')"
	done
	grep -qi '^content-encoding: zstd' "$out/zh"
	grep -qi '^content-encoding: gzip' "$out/gh"
	grep -qi '^content-type: text/event-stream' "$out/zh"
}

@test "zstd and gzip decode to the identity body, with Content-Encoding and Vary, on every protocol" {
	for p in h1 h2c h2tls; do
		run fetch "$p" /rows
		ident=$(sed '$d' <<<"$output")
		[ "$(jq length <<<"$ident")" = 200 ]
		for coding in zstd gzip; do
			run fetch "$p" /rows --compressed -H "Accept-Encoding: $coding" -D "$BATS_TEST_TMPDIR/h"
			assert_same "200 $(version_of "$p")" "${lines[-1]}"
			assert_same "$ident" "$(sed '$d' <<<"$output")"
			grep -qix "content-encoding: $coding"$'\r' "$BATS_TEST_TMPDIR/h"
			grep -qix 'vary: accept-encoding'$'\r' "$BATS_TEST_TMPDIR/h"
		done
	done
	# the bytes on the wire really are zstd and gzip frames, and smaller
	curl -sS --http2-prior-knowledge -H 'Accept-Encoding: zstd' "$base/rows" -o "$BATS_TEST_TMPDIR/z"
	[ "$(head -c 4 "$BATS_TEST_TMPDIR/z" | od -An -tx1 | tr -d ' ')" = 28b52ffd ]
	zstd -dc < "$BATS_TEST_TMPDIR/z" | cmp - <(printf '%s\n' "$ident")
	curl -sS --http2-prior-knowledge -H 'Accept-Encoding: gzip' "$base/rows" -o "$BATS_TEST_TMPDIR/g"
	[ "$(head -c 2 "$BATS_TEST_TMPDIR/g" | od -An -tx1 | tr -d ' ')" = 1f8b ]
	gzip -dc < "$BATS_TEST_TMPDIR/g" | cmp - <(printf '%s\n' "$ident")
	[ "$(wc -c < "$BATS_TEST_TMPDIR/z")" -lt $((${#ident} / 2)) ]
}

# The Content-Encoding an Accept-Encoding value gets, over h2c ("" for none).
# The Content-Encoding of GET $2 (/rows) with Accept-Encoding $1, from
# the shared server or the one at $3.
coding_for() {
	curl -sS --http2-prior-knowledge -D - -o /dev/null ${1:+-H "Accept-Encoding: $1"} "${3:-$base}${2:-/rows}" |
		sed -n 's/^content-encoding: \(.*\)\r$/\1/p'
}

@test "Accept-Encoding: identity or none, q-values, and bodies under --compress-min" {
	[ "$(coding_for '')" = "" ]
	[ "$(coding_for identity)" = "" ]
	[ "$(coding_for 'zstd, gzip')" = zstd ]
	[ "$(coding_for 'gzip, zstd')" = zstd ]
	[ "$(coding_for 'gzip;q=1, zstd;q=0.5')" = gzip ]
	[ "$(coding_for 'zstd;q=0, gzip')" = gzip ]
	[ "$(coding_for 'zstd;q=0, gzip;q=0')" = "" ]
	[ "$(coding_for 'br, deflate')" = "" ]
	[ "$(coding_for '*')" = zstd ]
	# identity answers still say they vary
	curl -sS --http2-prior-knowledge -D - -o /dev/null "$base/rows" | grep -qix 'vary: accept-encoding'$'\r'
	# 37 and 241 bytes are under the default 1024: not worth it
	[ "$(coding_for zstd /items/1)" = "" ]
	[ "$(coding_for gzip '/rows?n=5')" = "" ]
	[ "$(coding_for gzip '/rows?n=30')" = gzip ]
	# --compress-min moves the line
	start_server --listen 127.0.0.1:0 --threads 1 --compress-min 100000
	[ "$(coding_for 'zstd' '/rows' "http://127.0.0.1:$sport")" = "" ]
	[ "$(coding_for 'zstd' '/rows?n=5000' "http://127.0.0.1:$sport")" = zstd ]
	stop_server
}

@test "--zstd-level 0 and --gzip-level 0 turn a coding off" {
	start_server --listen 127.0.0.1:0 --threads 1 --zstd-level 0
	[ "$(coding_for 'zstd' '/rows' "http://127.0.0.1:$sport")" = "" ]
	[ "$(coding_for 'gzip' '/rows' "http://127.0.0.1:$sport")" = gzip ]
	stop_server
	start_server --listen 127.0.0.1:0 --threads 1 --gzip-level 0
	[ "$(coding_for 'gzip' '/rows' "http://127.0.0.1:$sport")" = "" ]
	[ "$(coding_for 'zstd' '/rows' "http://127.0.0.1:$sport")" = zstd ]
	stop_server
}

@test "--zstd-level 0: a client offering zstd and gzip gets gzip, as if zstd had not been offered" {
	start_server --listen 127.0.0.1:0 --threads 1 --zstd-level 0
	[ "$(coding_for 'zstd, gzip' '/rows' "http://127.0.0.1:$sport")" = gzip ]
	[ "$(coding_for 'gzip;q=0.5, zstd' '/rows' "http://127.0.0.1:$sport")" = gzip ]
	stop_server
}

@test "a compressed NDJSON stream delivers its first rows before it ends" {
	for coding in zstd gzip; do
		for url in "--http2-prior-knowledge $base/trickle" "-k --http2 $tbase/trickle"; do
			# the route sleeps 2 s before its last row
			run timeout 1.5 curl -sS -N --compressed -H "Accept-Encoding: $coding" \
				-H 'Accept: application/x-ndjson' $url
			echo "$coding $url: $status, ${#lines[@]} rows"
			[ "$status" = 124 ]
			[ "${#lines[@]}" -ge 1000 ]
			[ "${#lines[@]}" -lt 3000 ]
			jq -e '.i == 1' <<<"${lines[0]}"
		done
	done
}

@test "a compressed answer's ETag ends in -zstd or -gzip; If-None-Match with it is 304" {
	for p in h2c h2tls; do
		plain=$(fetch "$p" /rows -D - -o /dev/null | sed -n 's/^etag: \(.*\)\r$/\1/p')
		ztag=$(fetch "$p" /rows -D - -o /dev/null -H 'Accept-Encoding: zstd' | sed -n 's/^etag: \(.*\)\r$/\1/p')
		gtag=$(fetch "$p" /rows -D - -o /dev/null -H 'Accept-Encoding: gzip' | sed -n 's/^etag: \(.*\)\r$/\1/p')
		echo "$p: $plain $ztag $gtag"
		[[ "$plain" =~ ^\"[0-9a-f]+\"$ ]]
		assert_same "${plain%\"}-zstd\"" "$ztag"
		assert_same "${plain%\"}-gzip\"" "$gtag"
		run fetch "$p" /rows -o /dev/null -H 'Accept-Encoding: zstd' -H "If-None-Match: $ztag"
		assert_same "304 2" "${lines[-1]}"
		run fetch "$p" /rows -o /dev/null -H 'Accept-Encoding: gzip' -H "If-None-Match: $gtag"
		assert_same "304 2" "${lines[-1]}"
		run fetch "$p" /rows -o /dev/null -H "If-None-Match: $plain"
		assert_same "304 2" "${lines[-1]}"
		# a tag is only good for the representation it names
		run fetch "$p" /rows -o /dev/null -H 'Accept-Encoding: gzip' -H "If-None-Match: $ztag"
		assert_same "200 2" "${lines[-1]}"
		run fetch "$p" /rows -o /dev/null -H "If-None-Match: $ztag"
		assert_same "200 2" "${lines[-1]}"
	done
}

@test "TLS: 1.1 is refused, 1.2 and 1.3 work, 1.2 sessions resume" {
	run timeout 5 openssl s_client -connect "127.0.0.1:$tport" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null
	echo "$output"
	[ "$status" -ne 0 ]
	assert_contains "$output" "alert protocol version"
	[[ "$output" != *"Cipher is ECDHE"* ]]
	for v in 1.2 1.3; do
		run timeout 5 openssl s_client -connect "127.0.0.1:$tport" "-tls${v/./_}" </dev/null
		assert_contains "$output" "New, TLSv$v"
	done
	sess=$BATS_TEST_TMPDIR/sess
	timeout 5 openssl s_client -connect "127.0.0.1:$tport" -tls1_2 -sess_out "$sess" </dev/null >/dev/null 2>&1
	run timeout 5 openssl s_client -connect "127.0.0.1:$tport" -tls1_2 -sess_in "$sess" </dev/null
	assert_contains "$output" "Reused, TLSv1.2"
}

@test "ALPN: h2 when offered, http/1.1 otherwise; --no-http2 never chooses h2" {
	run timeout 5 openssl s_client -connect "127.0.0.1:$tport" -alpn h2,http/1.1 </dev/null
	assert_contains "$output" "ALPN protocol: h2"
	run timeout 5 openssl s_client -connect "127.0.0.1:$tport" -alpn http/1.1 </dev/null
	assert_contains "$output" "ALPN protocol: http/1.1"
	start_server --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --tls-self-signed --threads 1 --no-http2
	run timeout 5 openssl s_client -connect "127.0.0.1:$stport" -alpn h2,http/1.1 </dev/null
	assert_contains "$output" "ALPN protocol: http/1.1"
	run timeout 5 openssl s_client -connect "127.0.0.1:$stport" -alpn h2 </dev/null
	[[ "$output" != *"ALPN protocol: h2"* ]]
	run curl -sS -k --http2 -w ' %{http_version}' "https://127.0.0.1:$stport/live"
	assert_same "ok
 1.1" "$output"
	# cleartext: no Upgrade, and no prior knowledge either
	run curl -sS --http2 -w ' %{http_version}' "http://127.0.0.1:$sport/live"
	assert_same "ok
 1.1" "$output"
	run curl -sS --http2-prior-knowledge -w '%{http_version}' "http://127.0.0.1:$sport/live"
	[ "$status" -ne 0 ]
	[[ "$output" != *ok* ]]
	stop_server
}

# The three rows of /items/:id as curl gets them over TLS, one a line.
item_bodies() {
	for i in 1 2 3; do
		printf '%s\n' "$(curl -sS -k --http1.1 "$tbase/items/$i")"
	done
}

@test "HTTP/1.1 over TLS: pipelined requests in one record, in several, and sent while an answer is under way are all answered in order" {
	# 1 slow request; 300 more in one write (one TLS record) while it runs,
	# which pauses reading until its answer is out, and the client waits
	# for all 301 answers before it sends again; then 600 in one write
	# (two records back to back).  901 answers, under --keepalive-requests.
	run timeout 60 "$PY" - "$tport" 300 600 <<'PY'
import socket, ssl, sys, time

port, n1, n2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
s.settimeout(20)
buf = b""


def gets(first, n):
    return b"".join(b"GET /items/%d HTTP/1.1\r\nHost: t\r\n\r\n" % (1 + (first + i) % 3)
                    for i in range(n))


def more():
    global buf
    d = s.recv(65536)
    if not d:
        sys.exit("the server closed the connection")
    buf += d


def answer():
    """One response, by its Content-Length: 'STATUS BODY'."""
    global buf
    while b"\r\n\r\n" not in buf:
        more()
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    size = int(dict(l.split(b": ", 1) for l in lines[1:])[b"Content-Length"])
    while len(buf) < size:
        more()
    body, buf = buf[:size], buf[size:]
    return lines[0].split()[1].decode() + " " + body.decode().rstrip("\n")


s.sendall(b"GET /sleepy HTTP/1.1\r\nHost: t\r\n\r\n")
time.sleep(0.3)
s.sendall(gets(0, n1))
for _ in range(1 + n1):         # nothing more is sent until they are all in
    print(answer())
s.sendall(gets(n1, n2))
for _ in range(n2):
    print(answer())
PY
	[ "$status" -eq 0 ] || { echo "$output" | tail -5; false; }
	mapfile -t body < <(item_bodies)
	want=$(printf '200 {"slept":""}\n'; for ((i = 0; i < 900; i++)); do printf '200 %s\n' "${body[i % 3]}"; done)
	assert_same "$want" "$output"
}

@test "h2 over TLS: streams sent right behind the client's Finished, in one segment and nothing after, are all answered" {
	# The preface, SETTINGS and 20 requests go as records of their own in
	# the same send() as the handshake's last message, and the client
	# sends nothing more (not even a SETTINGS ack): records that OpenSSL
	# took off the socket when HTTP/2 began must be read without waiting
	# for an epoll event.
	run timeout 30 "$PY" - "$tport" 20 <<'PY'
import socket, ssl, struct, sys
from hpack import Decoder, Encoder

port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
sock = socket.create_connection(("127.0.0.1", port))
sock.settimeout(20)
rd, wr = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(rd, wr)


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid) + payload


def more():
    d = sock.recv(65536)
    if not d:
        sys.exit("the server closed the connection")
    rd.write(d)


while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        sock.sendall(wr.read())
        more()
if tls.selected_alpn_protocol() != "h2":
    sys.exit("ALPN chose %s" % tls.selected_alpn_protocol())
enc = Encoder()
tls.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
tls.write(frame(4, 0, 0))
for i in range(n):
    tls.write(frame(1, 0x5, 2 * i + 1, enc.encode([
        (":method", "GET"), (":scheme", "https"), (":path", "/items/%d" % (1 + i % 3)),
        (":authority", "127.0.0.1")])))
sock.sendall(wr.read())         # the client's Finished and all of the above

dec, buf, status, body, ended = Decoder(), b"", {}, {}, set()
while len(ended) < n:
    try:
        buf += tls.read(65536)
    except ssl.SSLWantReadError:
        more()
        continue
    while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
        size = int.from_bytes(buf[:3], "big")
        ftype, flags, sid = buf[3], buf[4], struct.unpack(">I", buf[5:9])[0] & 0x7fffffff
        payload, buf = buf[9:9 + size], buf[9 + size:]
        if ftype == 1:
            status[sid] = dict(dec.decode(payload))[":status"]
        elif ftype == 0:
            body[sid] = body.get(sid, b"") + payload
        if ftype in (0, 1) and flags & 0x1:
            ended.add(sid)
for i in range(n):
    print(status[2 * i + 1], body.get(2 * i + 1, b"").decode().rstrip("\n"))
PY
	[ "$status" -eq 0 ] || { echo "$output" | tail -5; false; }
	mapfile -t body < <(item_bodies)
	want=$(for ((i = 0; i < 20; i++)); do printf '200 %s\n' "${body[i % 3]}"; done)
	assert_same "$want" "$output"
}

@test "--tls-cert and --tls-key: curl verifies with the CA file; the printed fingerprint is the certificate's" {
	cp "$BATS_FILE_TMPDIR/a.crt" "$BATS_TEST_TMPDIR/cert.pem"
	cp "$BATS_FILE_TMPDIR/a.key" "$BATS_TEST_TMPDIR/key.pem"
	start_server --tls-listen 127.0.0.1:0 --threads 1 --tls-cert "$BATS_TEST_TMPDIR/cert.pem" \
		--tls-key "$BATS_TEST_TMPDIR/key.pem"
	[ -z "$sport" ]         # --tls-listen alone: no cleartext listener
	for host in localhost 127.0.0.1; do
		run curl -sS --cacert "$BATS_FILE_TMPDIR/a.crt" -w ' %{http_version}' --http2 "https://$host:$stport/live"
		assert_same "ok
 2" "$output"
	done
	want=$(openssl x509 -in "$BATS_FILE_TMPDIR/a.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
	printed=$(sed -n 's/^fa-serve: TLS on .*certificate SHA-256 \([0-9A-F:]*\)$/\1/p' "$slog")
	assert_same "$want" "$printed"
	# a key and certificate together in one file work too
	stop_server
	cat "$BATS_FILE_TMPDIR/a.crt" "$BATS_FILE_TMPDIR/a.key" > "$BATS_TEST_TMPDIR/both.pem"
	start_server --tls-listen 127.0.0.1:0 --threads 1 --tls-cert "$BATS_TEST_TMPDIR/both.pem"
	run curl -sS --cacert "$BATS_FILE_TMPDIR/a.crt" "https://localhost:$stport/live"
	assert_same ok "$output"
	stop_server
}

@test "SIGHUP reloads the certificate: new connections get it, an open h2 stream keeps going; a broken file keeps the old" {
	cert=$BATS_TEST_TMPDIR/cert.pem key=$BATS_TEST_TMPDIR/key.pem
	cp "$BATS_FILE_TMPDIR/a.crt" "$cert"
	cp "$BATS_FILE_TMPDIR/a.key" "$key"
	start_server --tls-listen 127.0.0.1:0 --threads 1 --tls-cert "$cert" --tls-key "$key"
	url=https://localhost:$stport
	# an h2 connection opened before the reload, held by an event stream
	timeout 10 curl -sS -N --http2 --cacert "$BATS_FILE_TMPDIR/a.crt" "$url/events" > "$BATS_TEST_TMPDIR/sse" &
	cpid=$!
	for _ in $(seq 50); do grep -q '^: listening' "$BATS_TEST_TMPDIR/sse" && break; sleep 0.1; done
	cp "$BATS_FILE_TMPDIR/b.crt" "$cert"
	cp "$BATS_FILE_TMPDIR/b.key" "$key"
	kill -HUP "$spid"
	want=$(openssl x509 -in "$BATS_FILE_TMPDIR/b.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
	for _ in $(seq 50); do grep -q "^fa-serve: certificate SHA-256 $want" "$slog" && break; sleep 0.1; done
	grep -q "^fa-serve: certificate SHA-256 $want" "$slog"
	run curl -sS --cacert "$BATS_FILE_TMPDIR/b.crt" "$url/live"
	assert_same ok "$output"
	run curl -sS --cacert "$BATS_FILE_TMPDIR/a.crt" "$url/live"
	[ "$status" = 60 ]      # the old CA no longer verifies new connections
	# the connection from before still works: an event reaches it
	psql_fa -q -c "notify faserveh2_events, 'after the reload'"
	for _ in $(seq 50); do grep -q 'after the reload' "$BATS_TEST_TMPDIR/sse" && break; sleep 0.1; done
	grep -qx 'data: after the reload' "$BATS_TEST_TMPDIR/sse"
	kill -0 "$cpid"
	# a broken certificate file: said on stderr, the one before stays
	echo 'not a certificate' > "$cert"
	kill -HUP "$spid"
	for _ in $(seq 50); do grep -q 'old certificate stays' "$slog" && break; sleep 0.1; done
	grep -q "cannot load certificate '$cert'.*the old certificate stays" "$slog"
	run curl -sS --cacert "$BATS_FILE_TMPDIR/b.crt" "$url/live"
	assert_same ok "$output"
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" || true
	stop_server
}

@test "certificate reload under load: h2load over TLS while SIGHUP comes twice, no request fails" {
	cert=$BATS_TEST_TMPDIR/cert.pem key=$BATS_TEST_TMPDIR/key.pem
	cp "$BATS_FILE_TMPDIR/a.crt" "$cert"
	cp "$BATS_FILE_TMPDIR/a.key" "$key"
	start_server --tls-listen 127.0.0.1:0 --threads 2 --tls-cert "$cert" --tls-key "$key"
	# long connections across both reloads, and new handshakes all along
	h2load -D 3 -c 4 -m 10 "https://127.0.0.1:$stport/items/1" > "$BATS_TEST_TMPDIR/long" &
	lpid=$!
	(
		end=$((SECONDS + 3))
		while [ "$SECONDS" -lt "$end" ]; do
			h2load -n 200 -c 2 -m 10 "https://127.0.0.1:$stport/items/1" || echo "h2load exited $?"
		done
	) > "$BATS_TEST_TMPDIR/short" &
	spid2=$!
	sleep 1
	cp "$BATS_FILE_TMPDIR/b.crt" "$cert"
	cp "$BATS_FILE_TMPDIR/b.key" "$key"
	kill -HUP "$spid"
	sleep 1
	cp "$BATS_FILE_TMPDIR/a.crt" "$cert"
	cp "$BATS_FILE_TMPDIR/a.key" "$key"
	kill -HUP "$spid"
	wait "$lpid"
	wait "$spid2"
	grep -E 'requests:|status codes:' "$BATS_TEST_TMPDIR/long"
	[ "$(grep -c '^fa-serve: certificate SHA-256' "$slog")" = 2 ]
	grep -q ' 0 failed, 0 errored, 0 timeout' "$BATS_TEST_TMPDIR/long"
	grep -q 'status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx' "$BATS_TEST_TMPDIR/long"
	runs=$(grep -c '^requests:' "$BATS_TEST_TMPDIR/short")
	echo "$runs short runs"
	[ "$runs" -ge 3 ]
	! grep -q 'h2load exited' "$BATS_TEST_TMPDIR/short"
	[ "$(grep -c '200 succeeded, 0 failed, 0 errored, 0 timeout' "$BATS_TEST_TMPDIR/short")" = "$runs" ]
	stop_server
}

# Runs fa-serve with these options and expects it to exit $1 (on a
# sanitizer build a leak would make it 99).
fails_with() {
	local want=$1
	shift
	run "$FA_BIN/fa-serve" "$@" "$BATS_FILE_TMPDIR/routes"
	assert_status "$want"
}

@test "bad TLS usage: exit 2 with a message naming what is wrong" {
	fails_with 2 --tls-listen 127.0.0.1:0
	assert_contains "$output" "--tls-listen needs --tls-cert FILE or --tls-self-signed"
	fails_with 2 --tls-listen 127.0.0.1:0 --tls-cert "$BATS_TEST_TMPDIR/none.pem"
	assert_contains "$output" "cannot load certificate '$BATS_TEST_TMPDIR/none.pem': No such file or directory"
	echo garbage > "$BATS_TEST_TMPDIR/bad.pem"
	fails_with 2 --tls-listen 127.0.0.1:0 --tls-cert "$BATS_TEST_TMPDIR/bad.pem"
	assert_contains "$output" "cannot load certificate '$BATS_TEST_TMPDIR/bad.pem'"
	fails_with 2 --tls-listen 127.0.0.1:0 --tls-cert "$BATS_FILE_TMPDIR/a.crt" --tls-key "$BATS_TEST_TMPDIR/none.key"
	assert_contains "$output" "'$BATS_TEST_TMPDIR/none.key'"
	# a key that is not the certificate's
	fails_with 2 --tls-listen 127.0.0.1:0 --tls-cert "$BATS_FILE_TMPDIR/a.crt" --tls-key "$BATS_FILE_TMPDIR/b.key"
	assert_contains "$output" "$BATS_FILE_TMPDIR/b.key"
	fails_with 2 --listen 127.0.0.1:0 --tls-self-signed
	assert_contains "$output" "go with --tls-listen"
	fails_with 2 --listen 127.0.0.1:0 --h2-max-streams 0
	assert_contains "$output" "--h2-max-streams"
}

# Runs an attack from tests/h2attack.py on port $1; its report is $output.
attack() {
	run timeout 20 "$PY" "$BATS_TEST_DIRNAME/h2attack.py" "$@"
	echo "$output"
	assert_status 0
}

# The server still answers a new client, over h2c and HTTP/1.1.
still_serves() {
	run curl -sS --max-time 5 --http2-prior-knowledge -w ' %{http_code}' "http://127.0.0.1:$1/live"
	assert_same "ok
 200" "$output"
	run curl -sS --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$1/live"
	assert_same "ok
 200" "$output"
}

# The server is not spinning: under 30 CPU ticks (0.3 s) in one idle second.
idle() {
	local t0 t1
	sleep 0.2
	t0=$(cpu_ticks "$1")
	sleep 1
	t1=$(cpu_ticks "$1")
	echo "CPU ticks in an idle second: $((t1 - t0))"
	[ $((t1 - t0)) -lt 30 ]
}

@test "attack: rapid reset (CVE-2023-44487) gets GOAWAY; the server serves the next client" {
	attack "$port" rapid-reset
	[[ "$output" =~ goaway=0x[0-9a-f]+\ last_stream=[0-9]+\ closed=1 ]]
	# stopped near the burst of 1000, not after all 3000 streams
	last=$(sed -n 's/.*last_stream=\([0-9]*\).*/\1/p' <<<"$output")
	[ "$last" -lt 4000 ]
	still_serves "$port"
}

@test "attack: a CONTINUATION flood (CVE-2024-28182) gets GOAWAY ENHANCE_YOUR_CALM and a close" {
	attack "$port" continuation
	assert_contains "$output" "goaway=0xb last_stream=1 closed=1"
	still_serves "$port"
	idle "$pid"
}

@test "attack: SETTINGS and PING floods, unread acks, end the connection; the server serves others" {
	for a in settings-flood ping-flood; do
		attack "$port" "$a"
		# GOAWAY (ENHANCE_YOUR_CALM) or a plain close are both fair; staying open is not
		[[ "$output" =~ closed=1 ]]
		[[ "$output" =~ goaway=(none|0xb) ]]
		still_serves "$port"
	done
	attack "$port" settings-entries
	assert_contains "$output" "goaway=0xb"
	idle "$pid"
}

@test "attack: an HPACK bomb gets GOAWAY ENHANCE_YOUR_CALM; the server serves the next client" {
	attack "$port" hpack-bomb
	assert_contains "$output" "goaway=0xb last_stream=1 closed=1"
	still_serves "$port"
}

@test "attack: a zero-window stall is closed after --send-timeout, holding no rows" {
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" start_server --listen 127.0.0.1:0 --threads 1 --send-timeout 1000
	before=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
	attack "$sport" zero-window --wait 8
	[[ "$output" =~ goaway=0x0\ last_stream=1\ closed=1\ seconds=([0-9.]+)\ status=200 ]]
	# 1 s of no progress, then GOAWAY and close: well before the 8 s we waited
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 0.9 && t < 4) }'
	assert_contains "$output" "data=0 "
	after=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
	echo "peak RSS KiB before $before, after $after"
	[ $((after - before)) -lt 20000 ]
	still_serves "$sport"
	idle "$spid"
	stop_server
}

@test "attack: slowloris over h2, a body that never comes, is closed after the timeout" {
	start_server --listen 127.0.0.1:0 --threads 1 --header-timeout 1000 --body-timeout 1000
	attack "$sport" slowloris --wait 8
	[[ "$output" =~ goaway=0x[0-9a-f]+\ last_stream=[01]\ closed=1\ seconds=([0-9.]+) ]]
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 0.9 && t < 4) }'
	still_serves "$sport"
	stop_server
}

@test "a stream reset, or a connection gone, while its query runs: the server finishes it and lives" {
	start_server --listen 127.0.0.1:0 --threads 1
	attack "$sport" reset-running --wait 0.4
	assert_contains "$output" "closed=0"
	# both queries end after the client left; a sanitizer build would
	# report reading the gone stream's request then
	sleep 1.2
	still_serves "$sport"
	# and a stream route left mid-stream by its connection
	timeout 0.5 curl -sS --http2-prior-knowledge -H 'Accept: application/x-ndjson' \
		"http://127.0.0.1:$sport/big?n=1000000" -o /dev/null || true
	still_serves "$sport"
	stop_server
}

@test "SIGTERM while an h2 request runs: it completes with 200, the client sees GOAWAY, exit 0" {
	start_server --listen 127.0.0.1:0 --threads 1
	nghttp -nv "http://127.0.0.1:$sport/sleepy" > "$BATS_TEST_TMPDIR/out" 2>&1 &
	cpid=$!
	for _ in $(seq 50); do grep -q 'send HEADERS frame' "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
	sleep 0.2
	stop_server
	wait "$cpid"
	out=$(cat "$BATS_TEST_TMPDIR/out")
	echo "$out"
	assert_contains "$out" "recv GOAWAY frame"
	assert_contains "$out" "error_code=NO_ERROR(0x00)"
	assert_contains "$out" "(stream_id=13) :status: 200"
	assert_contains "$out" "; END_STREAM"
	# GOAWAY came first, the answer after it
	g=$(grep -n 'recv GOAWAY' <<<"$out" | head -1 | cut -d: -f1)
	s=$(grep -n ':status: 200' <<<"$out" | head -1 | cut -d: -f1)
	[ "$g" -lt "$s" ]
}

@test "the shared server, after all of the above, drains and exits 0" {
	still_serves "$port"
	kill -TERM "$pid"
	for _ in $(seq 100); do [ -s "$BATS_FILE_TMPDIR/status" ] && break; sleep 0.1; done
	cat "$BATS_FILE_TMPDIR/serve.log"
	assert_same 0 "$(cat "$BATS_FILE_TMPDIR/status")"
}
