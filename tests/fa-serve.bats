#!/usr/bin/env bats
# fa-serve over HTTP/1.1 with curl and raw sockets: routes of every shape,
# content negotiation, status mapping, limits, smuggling, draining.

load helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS faserve CASCADE;
CREATE SCHEMA faserve;
CREATE TABLE faserve.items (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2) CHECK (price >= 0), tags text[]);
INSERT INTO faserve.items VALUES (1, 'apple', 1.25, '{fruit,red}'), (2, 'pear, green', 0.5, '{fruit}'), (3, 'Zoë "quoted"', 10, '{}');
-- fails when asked for an 11th row: proves a limit stopped the server
CREATE FUNCTION faserve.upto10(i int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN IF i > 10 THEN RAISE EXCEPTION 'row % was made', i; END IF; RETURN i; END $$;
SQL
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/items.sql" <<'SQL'
-- name: list_items
-- route: GET /items
-- param: min_price numeric = 0  Cheapest price to list
-- param: name_like text = null  Only names like this
SELECT id, name, price, tags FROM faserve.items WHERE price >= :min_price
  AND (:name_like IS NULL OR name LIKE :name_like) ORDER BY id;

-- name: get_item
-- route: GET /items/:id
-- param: id int  The item's id
-- returns: one
SELECT id, name, price FROM faserve.items WHERE id = :id;

-- name: add_item
-- route: POST /items
-- param: id int
-- param: name text
-- param: price numeric
-- returns: one
INSERT INTO faserve.items (id, name, price) VALUES (:id, :name, :price) RETURNING id, name, price;

-- name: delete_item
-- route: DELETE /items/:id
-- param: id int
-- returns: none
DELETE FROM faserve.items WHERE id = :id;

-- name: slow
-- route: GET /slow
-- timeout: 200ms
SELECT pg_sleep(3);

-- name: events
-- route: GET /events
-- listen: faserve_events

-- name: events_snap
-- route: GET /events/snap
-- listen: faserve_snap
-- param: upto int = 2
SELECT id FROM faserve.items WHERE id <= :upto ORDER BY id;

-- name: echo_num
-- route: POST /echo
-- param: n numeric
-- param: big numeric = 0
-- param: note text = null
-- returns: one
SELECT :n::text AS n, :big::text AS big, :note AS note;

-- name: sleepy
-- route: GET /sleepy
SELECT pg_sleep(0.4) AS slept;

-- name: long
-- route: GET /long
SELECT pg_sleep(3) AS slept;

-- name: rows
-- route: GET /rows
-- param: n int = 10
SELECT i, md5(i::text) AS h FROM generate_series(1, :n) i;

-- name: big
-- route: GET /big
-- returns: stream
SELECT i, md5(i::text) AS h FROM generate_series(1, 1000000) i;

-- name: first3
-- route: GET /first3
-- limit: 3
SELECT faserve.upto10(i) AS n FROM generate_series(1, 1000000) i;

-- name: add_many
-- route: POST /many
-- limit: 2
INSERT INTO faserve.items (id, name, price) SELECT i, 'n' || i, 1 FROM generate_series(100, 104) i
RETURNING id;

-- name: div
-- route: GET /div/:n
-- param: n int
-- returns: one
SELECT 60 / :n AS q, :n AS n;

-- name: breaks
-- route: GET /breaks
-- returns: stream
SELECT CASE WHEN i < 50000 THEN i ELSE 1 / (i - i) END AS n FROM generate_series(1, 100000) i;
SQL
	serve_bg "$BATS_FILE_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 2 --header-timeout 2000 \
		--max-body 4096 --cors 'http://a.example, http://b.example' "$dir"
}

teardown_file() {
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
	wait "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
	psql_fa -q -c 'DROP SCHEMA IF EXISTS faserve CASCADE'
}

setup() {
	port=$(cat "$BATS_FILE_TMPDIR/port")
	base=http://127.0.0.1:$port
}

# A server a test started for itself ($spid) must not outlive a failure:
# bats would wait for it.
teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; fi
}

# Sends raw bytes, prints what comes back (the server closes or 2 s pass).
raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf "$1" >&3
	timeout 3 cat <&3 || true
	exec 3<&-
}

@test "/live and /ready answer 200" {
	run curl -sS -w ' %{http_code}' "$base/live"
	assert_same "ok
 200" "$output"
	run curl -sS -w ' %{http_code}' "$base/ready"
	assert_same "ready
 200" "$output"
}

@test "a list route is a JSON array with types kept" {
	run curl -sS -w '\n%{http_code} %{content_type}' "$base/items"
	[ "${lines[-1]}" = "200 application/json" ]
	sed '$d' <<<"$output" | jq -e '. | length == 3 and .[0].id == 1 and .[0].price == 1.25 and .[2].name == "Zoë \"quoted\""'
	run curl -sS "$base/items?min_price=1"
	echo "$output" | jq -e 'map(.id) == [1,3]'
	# an optional parameter that stays NULL still has its declared type
	run curl -sS "$base/items?name_like=p%25"
	echo "$output" | jq -e 'map(.id) == [2]'
}

@test "Accept chooses CSV or NDJSON; an unmakeable type is 406" {
	run curl -sS -H 'Accept: text/csv' "$base/items"
	assert_same "$(printf 'id,name,price,tags\n1,apple,1.25,"{fruit,red}"\n2,"pear, green",0.50,{fruit}\n3,"Zoë ""quoted""",10.00,{}')" "$output"
	run curl -sS -H 'Accept: application/x-ndjson' "$base/items"
	[ "${#lines[@]}" -eq 3 ]
	echo "${lines[1]}" | jq -e '.name == "pear, green"'
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: image/png' "$base/items"
	[ "$output" = 406 ]
}

@test "returns one is an object, or 404 with a JSON error" {
	run curl -sS "$base/items/2"
	echo "$output" | jq -e '.id == 2 and .name == "pear, green" and .price == 0.50'
	run curl -sS -w '\n%{http_code}' "$base/items/99"
	[ "${lines[-1]}" = 404 ]
	echo "${lines[0]}" | jq -e '.error.status == 404'
}

@test "a bad parameter is a 400 naming it, before any query runs" {
	run curl -sS -w '\n%{http_code}' "$base/items/abc"
	[ "${lines[-1]}" = 400 ]
	assert_contains "${lines[0]}" "id"
	run curl -sS -w '\n%{http_code}' "$base/items?min_price=cheap"
	[ "${lines[-1]}" = 400 ]
	assert_contains "${lines[0]}" "min_price"
}

@test "POST with a JSON body; a duplicate is 409, a check violation 422" {
	run curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' \
		-d '{"id": 10, "name": "plum", "price": 2.5}' "$base/items"
	[ "${lines[-1]}" = 200 ]
	echo "${lines[0]}" | jq -e '.id == 10 and .name == "plum"'
	run curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' \
		-d '{"id": 10, "name": "plum", "price": 2.5}' "$base/items"
	[ "${lines[-1]}" = 409 ]
	echo "${lines[0]}" | jq -e '.error.sqlstate == "23505"'
	run curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' \
		-d '{"id": 11, "name": "x", "price": -1}' "$base/items"
	[ "${lines[-1]}" = 422 ]
	run curl -sS -w '\n%{http_code}' -d 'id=12&name=fig%20tree&price=3' "$base/items"
	[ "${lines[-1]}" = 200 ]
	echo "${lines[0]}" | jq -e '.name == "fig tree"'
	run curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' -d '{"id": 1' "$base/items"
	[ "${lines[-1]}" = 400 ]
	assert_contains "${lines[0]}" "invalid JSON"
}

@test "DELETE returns none: 204; unknown routes 404; wrong methods 405 with Allow" {
	run curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$base/items/12"
	[ "$output" = 204 ]
	[ "$(psql_fa -tA -c 'select count(*) from faserve.items where id = 12')" = 0 ]
	run curl -sS -o /dev/null -w '%{http_code}' "$base/nope"
	[ "$output" = 404 ]
	run curl -sS -D - -o /dev/null -X PUT "$base/items/1"
	assert_contains "$output" "405"
	assert_contains "$output" "Allow: GET, HEAD, DELETE"
}

@test "HEAD answers the headers without a body" {
	run curl -sS -I "$base/items/1"
	assert_contains "$output" "HTTP/1.1 200"
	assert_contains "$output" "Content-Length:"
	run raw 'HEAD /live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_contains "$output" "Content-Length: 3"
	[[ "$output" != *ok* ]]
}

@test "keep-alive and pipelining: two requests in one write, two answers in order" {
	run raw 'GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	[ "$(grep -c 'HTTP/1.1 200' <<<"$output")" -eq 2 ]
	first=$(grep -n '"apple"' <<<"$output" | cut -d: -f1)
	second=$(grep -n 'quoted' <<<"$output" | cut -d: -f1)
	[ "$first" -lt "$second" ]
	run curl -sS -v "$base/live" "$base/live"
	assert_contains "$output" "Re-using existing connection"
}

@test "request smuggling shapes are refused with 400" {
	run raw 'POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	assert_contains "$output" "HTTP/1.1 400"
	run raw 'POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello'
	assert_contains "$output" "HTTP/1.1 400"
	run raw 'GET /live HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'
	assert_contains "$output" "HTTP/1.1 400"
	run raw 'GET /live HTTP/1.1\nHost: x\n\n'
	assert_contains "$output" "HTTP/1.1 400"
	run raw 'GET /live HTTP/1.1\r\nBad Name: x\r\nHost: x\r\n\r\n'
	assert_contains "$output" "HTTP/1.1 400"
	run raw 'GET /live HTTP/1.1\r\n\r\n'
	assert_contains "$output" "HTTP/1.1 400"
}

@test "limits: a large body 413, a huge head 431, a slow head 408" {
	head -c 10000 /dev/zero | tr '\0' ' ' > "$BATS_TEST_TMPDIR/big.json"
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$BATS_TEST_TMPDIR/big.json" "$base/items"
	[ "$output" = 413 ]
	run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$base/live"
	[ "$output" = 431 ]
	run raw 'GET /live HTTP/1.1\r\nHost: x\r\n'
	assert_contains "$output" "HTTP/1.1 408"
}

@test "chunked request bodies are read" {
	run curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
		-d '{"id": 20, "name": "kiwi", "price": 1}' "$base/items"
	[ "${lines[-1]}" = 200 ]
	echo "${lines[0]}" | jq -e '.name == "kiwi"'
}

@test "/metrics counts requests by route and status, with a latency histogram per route" {
	own_server
	for _ in 1 2 3; do curl -sS -o /dev/null "$sbase/items/1"; done
	curl -sS -o /dev/null "$sbase/items/99"
	curl -sS -o /dev/null "$sbase/items/abc"
	curl -sS -o /dev/null "$sbase/nope"
	curl -sS -o /dev/null "$sbase/live"
	curl -sS -o "$BATS_TEST_TMPDIR/m" "$sbase/metrics"
	kill -TERM "$spid"
	wait "$spid"
	m=$BATS_TEST_TMPDIR/m
	cat "$m"
	grep -qx 'fa_http_requests_total{route="get_item",status="200"} 3' "$m"
	grep -qx 'fa_http_requests_total{route="get_item",status="404"} 1' "$m"
	grep -qx 'fa_http_requests_total{route="get_item",status="400"} 1' "$m"
	grep -qx 'fa_http_requests_total{route="-",status="404"} 1' "$m"
	grep -qx 'fa_http_requests_total{route="-",status="200"} 1' "$m"
	grep -qx '# TYPE fa_http_request_duration_seconds histogram' "$m"
	grep -qx 'fa_http_request_duration_seconds_count{route="get_item"} 5' "$m"
	grep -qx 'fa_http_request_duration_seconds_bucket{route="get_item",le="+Inf"} 5' "$m"
	grep -q '^fa_http_request_duration_seconds_sum{route="get_item"} [0-9.]*$' "$m"
	# buckets are cumulative and in order of le, and every sample line parses
	awk '/^fa_http_request_duration_seconds_bucket\{route="get_item"/ {
		split($0, f, "le=\""); split(f[2], g, "\""); le = g[1] == "+Inf" ? 1e9 : g[1] + 0
		if (le <= last_le || $2 < last_n) exit 1; last_le = le; last_n = $2; n++ }
		END { exit n != 12 }' "$m"
	awk '!/^#/ && NF != 2 { exit 1 } !/^#/ && $2 !~ /^[0-9.]+$/ { exit 1 }' "$m"
	# the pools: connections up, none broken, nothing pending once answered
	awk '$1 == "fa_pool_connections{state=\"ready\"}" && $2 >= 1 { ok = 1 } END { exit !ok }' "$m"
	grep -qx 'fa_pool_connections{state="broken"} 0' "$m"
	grep -qx 'fa_pool_queries 0' "$m"
}

@test "--check lists the routes; a broken file is exit 4 with file:line" {
	run fa-serve --check "$BATS_FILE_TMPDIR/routes"
	assert_status 0
	assert_contains "$output" "GET    /items/:id"
	printf -- '-- name: x\n-- route: GET /x\n-- param: id int\nSELECT 1;\n' > "$BATS_TEST_TMPDIR/bad.sql"
	run fa-serve --check "$BATS_TEST_TMPDIR/bad.sql"
	assert_status 4
	assert_contains "$output" "bad.sql:"
}

@test "SIGTERM lets the server finish and exit 0" {
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 "$BATS_FILE_TMPDIR/routes"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	p=$(cat "$BATS_TEST_TMPDIR/port")
	[ "$(curl -sS "http://127.0.0.1:$p/live")" = ok ]
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
}

@test "a route's timeout cancels a slow statement: 504" {
	run curl -sS -w '\n%{http_code}' "$base/slow"
	[ "${lines[-1]}" = 504 ]
	echo "${lines[0]}" | jq -e '.error.sqlstate == "57014"'
}

@test "GET answers carry an ETag; If-None-Match with it gets 304" {
	etag=$(curl -sS -D - -o /dev/null "$base/items/1" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ -n "$etag" ]
	run curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/items/1"
	[ "$output" = 304 ]
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$base/items/1"
	[ "$output" = 200 ]
	# each representation has its own tag
	csv=$(curl -sS -D - -o /dev/null -H 'Accept: text/csv' "$base/items/1" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ "$csv" != "$etag" ]
}

@test "CORS: allowed origins get the headers; a preflight is answered 204" {
	run curl -sS -D - -o /dev/null -H 'Origin: http://b.example' "$base/items/1"
	assert_contains "$output" "Access-Control-Allow-Origin: http://b.example"
	run curl -sS -D - -o /dev/null -H 'Origin: http://evil.example' "$base/items/1"
	[[ "$output" != *Access-Control-Allow-Origin* ]]
	run curl -sS -D - -o /dev/null -X OPTIONS -H 'Origin: http://a.example' \
		-H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type' "$base/items"
	assert_contains "$output" "HTTP/1.1 204"
	assert_contains "$output" "Access-Control-Allow-Methods: GET, POST"
	assert_contains "$output" "Access-Control-Allow-Headers: content-type"
}

@test "SIGHUP reloads the routes; a broken file leaves the old ones serving" {
	dir=$BATS_TEST_TMPDIR/r
	mkdir -p "$dir"
	printf -- '-- name: a\n-- route: GET /a\nSELECT 1 AS one;\n' > "$dir/a.sql"
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 2 "$dir"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	p=$(cat "$BATS_TEST_TMPDIR/port")
	exec 4<>"/dev/tcp/127.0.0.1/$p"        # a connection that must survive the reloads
	printf -- '-- name: b\n-- route: GET /b\nSELECT 2 AS two;\n' > "$dir/b.sql"
	kill -HUP "$pid"
	wait_until grep -q reloaded "$BATS_TEST_TMPDIR/serve.log"
	[ "$(curl -sS "http://127.0.0.1:$p/b")" = '[{"two":2}]' ]
	printf -- '-- name: c\n-- route: GET /c\n-- param: nope int\nSELECT 3;\n' > "$dir/c.sql"
	kill -HUP "$pid"
	wait_until grep -q 'reload failed; the old routes stay' "$BATS_TEST_TMPDIR/serve.log"
	[ "$(curl -sS "http://127.0.0.1:$p/a")" = '[{"one":1}]' ]
	printf 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&4
	assert_contains "$(timeout 3 cat <&4)" '[{"one":1}]'
	exec 4<&-
	kill -TERM "$pid"
	wait "$pid"
}

@test "SIGHUP: a route whose SQL stays but whose parameter types change is prepared anew" {
	dir=$BATS_TEST_TMPDIR/r
	mkdir -p "$dir"
	printf -- '-- name: t\n-- route: GET /t\n-- param: x int\n-- returns: one\nSELECT pg_typeof(:x)::text AS t;\n' > "$dir/t.sql"
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 --pool 1 "$dir"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	p=$(cat "$BATS_TEST_TMPDIR/port")
	[ "$(curl -sS "http://127.0.0.1:$p/t?x=1")" = '{"t":"integer"}' ]
	sed -i 's/x int/x text/' "$dir/t.sql"
	kill -HUP "$spid"
	wait_until grep -q reloaded "$BATS_TEST_TMPDIR/serve.log"
	[ "$(curl -sS "http://127.0.0.1:$p/t?x=1")" = '{"t":"text"}' ]
	kill -TERM "$spid"
	wait "$spid"
}

@test "a client that leaves while its query runs does not hurt the server" {
	for _ in 1 2 3; do timeout 0.05 curl -sS "$base/slow" || true; done
	sleep 0.4
	run curl -sS "$base/items/1"
	echo "$output" | jq -e '.id == 1'
	kill -0 "$(cat "$BATS_FILE_TMPDIR/pid")"
}

# Succeeds when file $1 holds the text $2 (trailing newlines count).
has_text() {
	local t
	t=$(cat "$1"; echo .)
	[[ $t == *"$2"* ]]
}

@test "a listen route streams NOTIFY payloads as Server-Sent Events to every subscriber" {
	for i in 1 2; do
		timeout 3 curl -sS -N "$base/events" > "$BATS_TEST_TMPDIR/sse$i" &
	done
	for _ in $(seq 50); do
		[ "$(cat "$BATS_TEST_TMPDIR"/sse* | grep -c listening)" = 2 ] && break
		sleep 0.1
	done
	psql_fa -q -c "notify faserve_events, '{\"id\": 7}'" -c "notify faserve_other, 'no'" \
		-c "notify faserve_events, 'two
lines'"
	# the streams are done once the last payload arrived (the 3 s timeout
	# is the fallback); what the other channel sent would be before it
	for i in 1 2; do
		wait_until has_text "$BATS_TEST_TMPDIR/sse$i" $'data: two\ndata: lines\n' || true
	done
	kill $(jobs -p) 2>/dev/null || true
	wait
	for i in 1 2; do
		out=$(cat "$BATS_TEST_TMPDIR/sse$i")
		assert_contains "$out" "$(printf 'event: faserve_events\ndata: {"id": 7}\n')"
		assert_contains "$out" "$(printf 'data: two\ndata: lines\n')"
		[[ "$out" != *no* ]]
	done
	run curl -sS -D - -o /dev/null --max-time 1 "$base/events"
	assert_contains "$output" "Content-Type: text/event-stream"
}

@test "a listen route with a statement sends its rows first, as the snapshot event" {
	timeout 3 curl -sS -N "$base/events/snap?upto=2" > "$BATS_TEST_TMPDIR/sse" &
	for _ in $(seq 50); do grep -q snapshot "$BATS_TEST_TMPDIR/sse" && break; sleep 0.1; done
	psql_fa -q -c "notify faserve_snap, 'changed'"
	wait_until grep -qx 'data: changed' "$BATS_TEST_TMPDIR/sse" || true
	kill $(jobs -p) 2>/dev/null || true
	wait
	cat "$BATS_TEST_TMPDIR/sse"
	# the snapshot's data lines joined are the JSON array of rows, before the NOTIFY
	awk '/^event: snapshot/ { s = 1; next } s && /^data: / { d = d substr($0, 7) "\n" } s && /^$/ { exit }
		END { printf "%s", d }' "$BATS_TEST_TMPDIR/sse" | jq -e -c '. == [{"id":1},{"id":2}]'
	snap=$(grep -n '^event: snapshot' "$BATS_TEST_TMPDIR/sse" | cut -d: -f1)
	note=$(grep -n '^event: faserve_snap' "$BATS_TEST_TMPDIR/sse" | cut -d: -f1)
	[ -n "$snap" ] && [ -n "$note" ] && [ "$snap" -lt "$note" ]
	grep -qx 'data: changed' "$BATS_TEST_TMPDIR/sse"
	# a bad parameter is still a 400, before any stream
	run curl -sS -o /dev/null -w '%{http_code}' "$base/events/snap?upto=x"
	[ "$output" = 400 ]
}

@test "SIGTERM ends open event streams and the server exits 0" {
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 "$BATS_FILE_TMPDIR/routes"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	p=$(cat "$BATS_TEST_TMPDIR/port")
	timeout 10 curl -sS -N "http://127.0.0.1:$p/events" > "$BATS_TEST_TMPDIR/sse" &
	cpid=$!
	for _ in $(seq 50); do grep -q listening "$BATS_TEST_TMPDIR/sse" && break; sleep 0.1; done
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	wait "$cpid"    # the stream ended, not the 10 s timeout
}

@test "the access log: combined format plus request and database seconds, or JSON" {
	for fmt in text json; do
		log=$BATS_TEST_TMPDIR/access-$fmt.log
		fa-serve --listen 127.0.0.1:0 --threads 1 --access-log "$log" --log-format $fmt \
			"$BATS_FILE_TMPDIR/routes" 2> "$BATS_TEST_TMPDIR/log-$fmt" &
		pid=$!
		for _ in $(seq 50); do grep -q listening "$BATS_TEST_TMPDIR/log-$fmt" && break; sleep 0.1; done
		p=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/log-$fmt")
		curl -sS -A 'bats "agent"' -o /dev/null "http://127.0.0.1:$p/items/1?x=1"
		curl -sS -0 -A 'back\slash' -e "$(printf 'ref\tx')" -o /dev/null "http://127.0.0.1:$p/items/1?q=%22"
		kill -TERM "$pid"
		wait "$pid"
		if [ $fmt = text ]; then
			cat "$log"
			[ "$(wc -l < "$log")" = 2 ]
			[[ "$(sed -n 1p "$log")" =~ ^127\.0\.0\.1\ -\ -\ \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8}\ \+0000\]\ \"GET\ /items/1\?x=1\ HTTP/1\.1\"\ 200\ [0-9]+\ \"-\"\ \"bats\ \\x22agent\\x22\"\ [0-9.]+\ [0-9.]+$ ]]
			# HTTP/1.0 is logged as such; '\' and control bytes are escaped too
			assert_contains "$(sed -n 2p "$log")" '"GET /items/1?q=%22 HTTP/1.0" 200'
			assert_contains "$(sed -n 2p "$log")" '"ref\x09x" "back\x5Cslash"'
		else
			head -1 "$log" | jq -e '.client == "127.0.0.1" and .method == "GET" and .path == "/items/1" and .status == 200 and .user_agent == "bats \"agent\"" and .db_seconds >= 0'
		fi
	done
}

# Starts a server of its own on one worker and one connection, with the
# options given: sets $spid and $sbase, its log in $BATS_TEST_TMPDIR/serve.log.
own_server() {
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 --pool 1 "$@" "$BATS_FILE_TMPDIR/routes"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	sbase=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
}

@test "a route's timeout stays with its statement: the next one on the connection runs long" {
	own_server
	run curl -sS -o /dev/null -w '%{http_code}' "$sbase/slow"
	[ "$output" = 504 ]
	run curl -sS -w '\n%{http_code}' "$sbase/sleepy"
	[ "${lines[-1]}" = 200 ]
	kill -TERM "$spid"
	wait "$spid"
	! grep -q WARNING "$BATS_TEST_TMPDIR/serve.log"
}

@test "a slow client of a stream route does not make the server hold the rows" {
	# ASan keeps freed memory in quarantine: that is not rows being held
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" own_server
	before=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
	timeout 4 curl -sS --limit-rate 300k -H 'Accept: application/x-ndjson' "$sbase/big" -o /dev/null || true
	after=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
	echo "peak RSS KiB before $before, after a 4 s slow stream $after"
	# 1M rows are about 60 MB of NDJSON: the server may hold only a little of it
	[ $((after - before)) -lt 20000 ]
	[ "$(curl -sS -H 'Accept: application/x-ndjson' "$sbase/big" | wc -l)" = 1000000 ]
	kill -TERM "$spid"
	wait "$spid"
}

@test "a stream that fails midway is cut off, not ended as if complete" {
	run curl -sS -H 'Accept: application/x-ndjson' "$base/breaks" -o "$BATS_TEST_TMPDIR/partial"
	[ "$status" -eq 18 ]    # curl: transfer closed with outstanding read data
	[ "$(wc -l < "$BATS_TEST_TMPDIR/partial")" -lt 100000 ]
	[ "$(curl -sS "$base/live")" = ok ]
}

@test "304 and 204 carry no Content-Length" {
	etag=$(curl -sS -D - -o /dev/null "$base/items/1" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	run curl -sS -D - -o /dev/null -H "If-None-Match: $etag" "$base/items/1"
	assert_contains "$output" "304"
	[[ "$output" != *Content-Length* ]]
}

@test "limit: a query stops on the server after its rows; a write runs whole and is cut" {
	run curl -sS -o "$BATS_TEST_TMPDIR/body" -w '%{http_code} %{time_total}' "$base/first3"
	echo "$output"
	[ "${output%% *}" = 200 ]
	awk -v t="${output#* }" 'BEGIN { exit !(t < 2) }'
	[ "$(jq -c . "$BATS_TEST_TMPDIR/body")" = '[{"n":1},{"n":2},{"n":3}]' ]
	[ "$(curl -sS -X POST "$base/many" | jq -c .)" = '[{"id":100},{"id":101}]' ]
	[ "$(psql_fa -tA -c 'select count(*) from faserve.items where id between 100 and 104')" = 5 ]
}

@test "JSON body numbers reach parameters exactly as written" {
	run curl -sS -H 'Content-Type: application/json' \
		-d '{"n": 0.1, "big": 123456789012345678901234567890.50, "note": "tab\there"}' "$base/echo"
	echo "$output" | jq -e '.n == "0.1" and .big == "123456789012345678901234567890.50" and .note == "tab\there"'
	run curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' -d '{"n": 1, "n": 2}' "$base/echo"
	[ "${lines[-1]}" = 400 ]
	assert_contains "${lines[0]}" "duplicate"
}

@test "a client reset while its answer waits on the database: no spin, no crash" {
	own_server
	port=${sbase##*:}
	# three clients ask for /long (3 s) and reset their connections after 0.3 s
	clients=()
	for _ in 1 2 3; do
		/usr/bin/python3 - "$port" <<'PY' &
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
		clients+=($!)
	done
	wait "${clients[@]}"
	t0=$(awk '{print $14 + $15}' "/proc/$spid/stat")
	sleep 2
	t1=$(awk '{print $14 + $15}' "/proc/$spid/stat")
	echo "CPU ticks while the three queries run on: $((t1 - t0))"
	[ $((t1 - t0)) -lt 50 ]                 # a spinning worker burns ~200 in 2 s
	sleep 1.5                               # the queries end; their answers go nowhere
	[ "$(curl -sS "$sbase/live")" = ok ]
	kill -TERM "$spid"
	wait "$spid"
}

@test "a client that reads nothing is closed by --send-timeout, even on its last answer" {
	own_server --send-timeout 1000
	port=$(cat "$BATS_TEST_TMPDIR/port")
	# a big answer that fills the socket, then a pipelined last one (Connection: close)
	run /usr/bin/python3 - "$port" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /rows?n=58500 HTTP/1.1\r\nHost: x\r\n\r\n"
          b"GET /live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
time.sleep(3)
s.settimeout(2)
got = 0
try:
    while True:
        d = s.recv(1 << 20)
        if not d:
            print("closed after", got)
            break
        got += len(d)
except socket.timeout:
    print("still open after", got)
except ConnectionResetError:
    print("reset after", got)
PY
	echo "$output"
	[[ "$output" != *"still open"* ]]
	kill -TERM "$spid"
	wait "$spid"                            # and the drain does not wait for it
}

@test "reads that share one Sync: a neighbour's error fails only itself, the others run again alone" {
	# one worker, one connection: concurrent reads go out together before one Sync
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 --pool 1 "$BATS_FILE_TMPDIR/routes"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	b=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
	# 400 requests, 16 at a time, one curl each (no shell around it): each
	# body in its own file, and a line "n status file" as each ends
	mkdir "$BATS_TEST_TMPDIR/bodies"
	seq 0 399 | awk -v d="$BATS_TEST_TMPDIR/bodies" -v b="$b" \
		'{ n = $1 % 5; printf "-o %s/%d -w \"%d %%{http_code} %s/%d\\n\" %s/div/%d\n", d, $1, n, d, $1, b, n }' |
		xargs -P 16 -L 1 curl -s >> "$BATS_TEST_TMPDIR/ended"
	# each line: n, status, body
	while read -r n code f; do
		printf '%s %s %s\n' "$n" "$code" "$(< "$f")"
	done < "$BATS_TEST_TMPDIR/ended" > "$BATS_TEST_TMPDIR/answers"
	sort "$BATS_TEST_TMPDIR/answers" | uniq -c
	# 80 each: n = 0 is its own division by zero (400), every other n its quotient
	[ "$(grep -c '^0 400 .*"sqlstate":"22012"' "$BATS_TEST_TMPDIR/answers")" -eq 80 ]
	for n in 1 2 3 4; do
		[ "$(grep -c -x "$n 200 {\"q\":$((60 / n)),\"n\":$n}" "$BATS_TEST_TMPDIR/answers")" -eq 80 ]
	done
}
