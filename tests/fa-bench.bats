#!/usr/bin/env bats
# fa-bench against real servers: the embedded PostgreSQL, fa-serve and
# fa-mcp (behind tests/tlsproxy.py for https).
# Counts are checked against what the servers recorded; no timing is
# asserted except the one-second stall the coordinated-omission test
# injects on purpose, with wide margins.

load helpers
load bench_helpers

setup_file() {
	bench_setup_file fabench --threads 1
	# the tools of the fa-mcp tests, over HTTP and over stdio
	mkdir -p "$BATS_FILE_TMPDIR/tools"
	cat > "$BATS_FILE_TMPDIR/tools/t.sql" <<'SQL'
-- name: hit
-- tool: Record a hit
-- param: k int  The key
-- returns: none
INSERT INTO fabench.hits (k) VALUES (:k);

-- name: fail
-- tool: Always fails
-- returns: one
SELECT 1 / 0 AS x;
SQL
}

teardown_file() {
	bench_teardown_file fabench
}

setup() {
	bench_setup fabench
}

teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
	if [ -n "${xpid:-}" ]; then kill -TERM "$xpid" 2>/dev/null || true; wait "$xpid" 2>/dev/null || true; fi
}

@test "pg -n: exactly N statements reach the database, seq() values are unique" {
	run fa-bench pg -c 3 -t 2 -n 500 -D 'k=seq(1,1000000)' \
		-e 'insert into fabench.hits (k) values (:k)'
	assert_status 0
	assert_contains "$output" "500 requests"
	run psql_fa -Atq -c 'select count(*), count(distinct k) from fabench.hits'
	assert_same "500|500" "$output"
	# open loop, faster than the server: the backlog grows, still exactly N
	psql_fa -q -c 'TRUNCATE fabench.hits'
	run fa-bench pg -c 1 -t 1 --rate 5000 -n 300 -D 'k=seq(1,1000000)' \
		-e 'insert into fabench.hits (k) select :k from pg_sleep(0.001)'
	assert_status 0
	run psql_fa -Atq -c 'select count(*), count(distinct k) from fabench.hits'
	assert_same "300|300" "$output"
}

@test "pg: simple, extended and prepared modes and --pipeline each run exactly -n statements" {
	local m
	for m in simple extended prepared; do
		run fa-bench pg -M "$m" -c 2 -t 1 -n 100 -D 'k=random(1,10)' \
			-e 'insert into fabench.hits (k) values (:k)'
		assert_status 0
	done
	run fa-bench pg -M prepared --pipeline 8 -c 2 -t 2 -n 1000 -D 'k=random(5,7)' \
		-e 'insert into fabench.hits (k) values (:k)'
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k) >= 1, max(k) <= 10,
		count(*) filter (where id > 300 and k not between 5 and 7) from fabench.hits'
	assert_same "1300|t|t|0" "$output"
}

@test "pg -f: pgbench-style scripts with \\set, one statement or a transaction of several" {
	cat > "$BATS_TEST_TMPDIR/s.sql" <<'SQL'
\set k random_zipfian(1, 100, 1.5)
\set z random_gaussian(1000, 2000, 2.5)
insert into fabench.hits (k) values (:k + :z * 0);
SQL
	run fa-bench pg -c 2 -n 300 -f "$BATS_TEST_TMPDIR/s.sql"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k) >= 1 and max(k) <= 100 from fabench.hits'
	assert_same "300|t" "$output"
	# zipfian: the first value is the most common
	run psql_fa -Atq -c 'select k from fabench.hits group by k order by count(*) desc limit 1'
	assert_same "1" "$output"
	# pgbench's expressions over constants: -D scale=2, then 1000 * :scale
	psql_fa -q -c 'TRUNCATE fabench.hits'
	printf '\\set k random(1001, 1000 * :scale)\ninsert into fabench.hits (k) values (:k);\n' \
		> "$BATS_TEST_TMPDIR/scale.sql"
	run fa-bench pg -c 2 -n 200 -D scale=2 -f "$BATS_TEST_TMPDIR/scale.sql"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k) >= 1001, max(k) <= 2000 from fabench.hits'
	assert_same "200|t|t" "$output"
	run fa-bench pg -c 2 -n 200 -f "$BATS_TEST_TMPDIR/scale.sql"
	assert_status 4
	assert_contains "$output" "scale.sql line 1"
	# several statements: one transaction a request, the same draws in each
	cat > "$BATS_TEST_TMPDIR/tx.sql" <<'SQL'
\set k random(1, 1000)
\set d random(-50, 50)
BEGIN;
insert into fabench.hits (k) values (:k);
update fabench.hits set k = k + :d where id = (select max(id) from fabench.hits where k = :k);
END;
SQL
	local m
	for m in simple extended prepared; do
		psql_fa -q -c 'TRUNCATE fabench.hits'
		run fa-bench pg -M "$m" -c 2 -n 100 -f "$BATS_TEST_TMPDIR/tx.sql"
		assert_status 0
		run psql_fa -Atq -c 'select count(*), min(k) >= -49, max(k) <= 1050 from fabench.hits'
		assert_same "100|t|t" "$output"
	done
	printf '\\sleep 1\nselect 1;\n' > "$BATS_TEST_TMPDIR/bad.sql"
	run fa-bench pg -n 1 -f "$BATS_TEST_TMPDIR/bad.sql"
	assert_status 4
	assert_contains "$output" "bad.sql line 1"
}

@test "percentiles against known delays: every 10th statement sleeps 50 ms" {
	local j=$BATS_TEST_TMPDIR/d.json
	run fa-bench pg -c 1 -t 1 -n 200 -D 'i=seq(1,10)' --json "$j" \
		-e 'select pg_sleep(case when :i = 1 then 0.05 else 0 end)'
	assert_status 0
	echo "p50 $(jval "$j" ".p50") p90 $(jval "$j" ".p90") p99 $(jval "$j" ".p99")" >&2
	# exactly 20 of 200 slept: p99 and max at least 50 ms, p50 below
	[ "$(jval "$j" ".p99 >= 50 and .max >= 50")" = true ]
	[ "$(jval "$j" ".p50 < 50")" = true ]
	python3 - "$j" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d['histogram']
# rebuild the counts at or above 50 ms from the lossless histogram
sub_half = 1 << (len(bin(2 * 10 ** h['digits'] - 1)) - 2 - 1)
def value(i):
    b = (i >> (sub_half.bit_length() - 1)) - 1
    s = (i & (sub_half - 1)) + sub_half
    if b < 0:
        s -= sub_half; b = 0
    return s << b
slow = sum(c for i, c in h['counts'] if value(i) >= 49_000_000)
assert slow == 20, slow
PY
}

@test "http -n: exactly N requests reach fa-serve, with generated path parts" {
	run fa-bench http -c 4 -t 2 -n 300 --method POST "$base/hit/{7..9}"
	assert_status 0
	assert_contains "$output" "300 requests"
	run psql_fa -Atq -c 'select count(*), min(k), max(k) from fabench.hits'
	assert_same "300|7|9" "$output"
}

@test "http --h2 -m: exactly N requests over h2c, many streams a connection" {
	local j=$BATS_TEST_TMPDIR/h2.json
	run fa-bench http --h2 -c 2 -t 1 -m 8 -n 400 --method POST "$base/hit/{1..5}" --json "$j"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k) >= 1, max(k) <= 5 from fabench.hits'
	assert_same "400|t|t" "$output"
	[ "$(jval "$j" ".config.protocol")" = h2 ]
	[ "$(jval "$j" ".config.depth")" = 8 ]
	[ "$(jval "$j" ".requests")" = 400 ]
	[ "$(jval "$j" ".errors")" = 0 ]
	# the summary says what was spoken
	run fa-bench http --h2 -c 1 -m 4 -n 20 "$base/items/{1..9}"
	assert_status 0
	assert_contains "$output" "http (h2): 20 requests"
	# an HTTP/1.1 connection carries one request at a time
	run fa-bench http -m 4 -n 20 "$base/items/1"
	assert_status 2
	assert_contains "$output" "--h2"
}

@test "https: --cacert verifies, ALPN chooses h2 or --h1 asks for HTTP/1.1, -k skips the check" {
	local j=$BATS_TEST_TMPDIR/tls.json
	run fa-bench http --cacert "$ca" -c 3 -t 1 -n 150 --method POST "$tbase/hit/{7..9}" --json "$j"
	assert_status 0
	[ "$(jval "$j" ".config.protocol")" = h2 ]
	run fa-bench http --h1 --cacert "$ca" -c 2 -t 1 -n 50 --method POST "$tbase/hit/{7..9}"
	assert_status 0
	assert_contains "$output" "http (http/1.1): 50 requests"
	run fa-bench http -k --h2 -m 4 -c 2 -t 2 -n 100 --method POST "$tbase/hit/{7..9}"
	assert_status 0
	assert_contains "$output" "http (h2): 100 requests"
	run psql_fa -Atq -c 'select count(*), min(k), max(k) from fabench.hits'
	assert_same "300|7|9" "$output"
	# the system's CAs do not know this certificate: a connect error
	run fa-bench http -c 1 -n 5 "$tbase/items/1"
	assert_status 3
	assert_contains "$output" "certificate"
	run fa-bench http --cacert "$BATS_TEST_TMPDIR/none.pem" -n 5 "$tbase/items/1"
	assert_status 2
	assert_contains "$output" "none.pem"
}

@test "mcp: exactly N tool calls, the handshake timed apart, isError counted" {
	local j=$BATS_TEST_TMPDIR/m.json url
	serve_bg "$BATS_TEST_TMPDIR" fa-mcp serve --listen 127.0.0.1:0 --threads 1 "$BATS_FILE_TMPDIR/tools"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	url=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/mcp
	run fa-bench mcp -c 3 -t 1 -n 200 --tool hit "$url" k:=4 --json "$j"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k), max(k) from fabench.hits'
	assert_same "200|4|4" "$output"
	[ "$(jval "$j" ".handshake.count")" = 3 ]
	[ "$(jval "$j" ".requests")" = 200 ]
	run fa-bench mcp -c 1 -n 10 --tool fail "$url"
	assert_status 1
	assert_contains "$output" "mcp isError: 10"
	# the stateless era: a server/discover per connection, then calls with _meta and headers
	psql_fa -q -c 'TRUNCATE fabench.hits'
	run fa-bench mcp -c 2 -t 1 -n 50 --protocol 2026-07-28 --tool hit "$url" k:=5 --json "$j"
	assert_status 0
	assert_same "50|5|5" "$(psql_fa -Atq -c 'select count(*), min(k), max(k) from fabench.hits')"
	[ "$(jval "$j" ".handshake.count")" = 2 ]
	run fa-bench mcp -c 1 -n 5 --protocol 2026-07-28 --tool fail "$url"
	assert_status 1
	assert_contains "$output" "mcp isError: 5"
	run fa-bench mcp -c 1 -n 5 --protocol 2025-06-18 --tool hit "$url" k:=5
	assert_status 2
	assert_contains "$output" "--protocol '2025-06-18'"
	run fa-bench mcp -c 1 -n 10 "$url"
	assert_status 2
	assert_contains "$output" "--tool"
	run fa-bench mcp -c 1 -n 10 --tool hit "$url" 'k:=[1,'
	assert_status 2
	assert_contains "$output" "k:=[1,"
	kill -TERM "$spid"
	wait "$spid" || true
	spid=
}

@test "mcp over https: --cacert verifies, -k skips the check, the system's CAs refuse" {
	local url
	serve_bg "$BATS_TEST_TMPDIR" fa-mcp serve --listen 127.0.0.1:0 --threads 1 "$BATS_FILE_TMPDIR/tools"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	# TLS in front of it, with the file's certificate
	python3 "$BATS_TEST_DIRNAME/tlsproxy.py" "$ca" "$BATS_FILE_TMPDIR/key.pem" "$(cat "$BATS_TEST_TMPDIR/port")" \
		> "$BATS_TEST_TMPDIR/proxy.port" &
	xpid=$!
	wait_until test -s "$BATS_TEST_TMPDIR/proxy.port"
	url=https://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/proxy.port")/mcp
	run fa-bench mcp --cacert "$ca" -c 2 -t 1 -n 60 --tool hit "$url" k:=5
	assert_status 0
	assert_contains "$output" "60 requests"
	run fa-bench mcp -k -c 1 -n 40 --tool hit "$url" k:=6
	assert_status 0
	run psql_fa -Atq -c 'select count(*) filter (where k = 5), count(*) filter (where k = 6) from fabench.hits'
	assert_same "60|40" "$output"
	run fa-bench mcp -c 1 -n 5 --tool hit "$url" k:=7
	assert_status 3
	assert_contains "$output" "certificate"
	run fa-bench mcp --cacert "$BATS_TEST_TMPDIR/none.pem" -c 1 -n 5 --tool hit "$url" k:=7
	assert_status 2
	assert_contains "$output" "none.pem"
}

@test "mcp --stdio: exactly N calls through fa-mcp serve children, closed and open loop, isError counted" {
	local j=$BATS_TEST_TMPDIR/s.json cmd
	cmd="fa-mcp serve '$BATS_FILE_TMPDIR/tools/t.sql'"
	run fa-bench mcp --stdio "$cmd" --tool hit -c 3 -t 1 -n 200 k:=4 --json "$j"
	assert_status 0
	run psql_fa -Atq -c 'select count(*), min(k), max(k) from fabench.hits'
	assert_same "200|4|4" "$output"
	[ "$(jval "$j" ".handshake.count")" = 3 ]
	[ "$(jval "$j" ".requests")" = 200 ]
	[ "$(jval "$j" ".config.what")" = "$cmd" ]
	# several calls in flight per child, matched by id
	run fa-bench mcp --stdio "$cmd" --tool hit -c 2 -t 2 --pipeline 4 -n 300 k:=5
	assert_status 0
	[ "$(psql_fa -Atq -c 'select count(*) from fabench.hits where k = 5')" = 300 ]
	# open loop
	run fa-bench mcp --stdio "$cmd" --tool hit -c 2 -t 1 --rate 400 -n 100 k:=6
	assert_status 0
	[ "$(psql_fa -Atq -c 'select count(*) from fabench.hits where k = 6')" = 100 ]
	# the stateless era over stdio: server/discover, then calls with _meta
	run fa-bench mcp --stdio "$cmd" --protocol 2026-07-28 --tool hit -c 2 -t 1 -n 60 k:=7 --json "$j"
	assert_status 0
	[ "$(psql_fa -Atq -c 'select count(*) from fabench.hits where k = 7')" = 60 ]
	[ "$(jval "$j" ".handshake.count")" = 2 ]
	run fa-bench mcp --stdio "$cmd" --tool fail -c 2 -t 1 -n 10
	assert_status 1
	assert_contains "$output" "mcp isError: 10"
	assert_contains "$output" "division by zero"
	# every child was stopped
	! pgrep -f -- "serve $BATS_FILE_TMPDIR/tools/t.sql" >/dev/null
}

@test "mcp --stdio: a command that does not exist, a child that exits, a child that writes garbage" {
	local fake=$BATS_TEST_TMPDIR/fake.sh
	run fa-bench mcp --stdio 'no-such-fa-server --x' --tool t -c 1 -n 5
	assert_status 3
	assert_contains "$output" "cannot start 'no-such-fa-server': No such file or directory"
	run fa-bench mcp --stdio "sh -c 'exit 7'" --tool t -c 1 -n 5
	assert_status 3
	assert_contains "$output" "the MCP server 'sh -c 'exit 7'' exited with status 7"
	run fa-bench mcp --stdio "sh -c 'echo hello; cat > /dev/null'" --tool t -c 1 -n 5
	assert_status 3
	assert_contains "$output" "wrote a line that is not JSON-RPC: 'hello'"
	run fa-bench mcp --stdio "sh -c 'open" --tool t -c 1 -n 5
	assert_status 2
	assert_contains "$output" "an open quote"
	run fa-bench mcp --stdio cat -H 'X-A: b' --tool t -c 1 -n 5
	assert_status 2
	assert_contains "$output" "not --stdio"
	# a server that makes the handshake, then answers each call with
	# garbage (protocol errors), or exits on its first call (connect errors)
	cat > "$fake" <<'SH'
read -r line
echo '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"fake","version":"1"}}}'
while read -r line; do
	case $line in
	*tools/call*) [ "$1" = exit ] && exit 9; echo 'not json' ;;
	esac
done
SH
	run fa-bench mcp --stdio "sh $fake garbage" --tool t -c 1 -n 5
	assert_status 1
	assert_contains "$output" "protocol: 5"
	assert_contains "$output" "the MCP server 'sh $fake garbage' wrote a line that is not JSON-RPC: 'not json'"
	run fa-bench mcp --stdio "sh $fake exit" --tool t -c 1 -n 3
	assert_status 3
	assert_contains "$output" "connect: 3"
	assert_contains "$output" "the MCP server 'sh $fake exit' exited with status 9"
	# one that exits on its first call and then cannot make the handshake
	# again: the calls end as connect errors, so a run of -n still ends
	rm -f "$BATS_TEST_TMPDIR/once"
	run timeout 30 fa-bench mcp --stdio "sh -c '[ -e $BATS_TEST_TMPDIR/once ] && exit 4; touch $BATS_TEST_TMPDIR/once; sh $fake exit'" --tool t -c 1 -n 5
	assert_status 3
	assert_contains "$output" "connect: 5"
	assert_contains "$output" "exited with status 9"
	# one whose command is gone when it is started again: refused calls
	printf '#!/bin/sh\nrm -f "$0"\nexec sh %s exit\n' "$fake" > "$BATS_TEST_TMPDIR/selfdel"
	chmod +x "$BATS_TEST_TMPDIR/selfdel"
	run timeout 30 fa-bench mcp --stdio "$BATS_TEST_TMPDIR/selfdel" --tool t -c 1 -n 4
	assert_status 3
	assert_contains "$output" "connect: 4"
	assert_contains "$output" "exited with status 9"
	run fa-bench mcp --stdio "$BATS_TEST_TMPDIR/selfdel" --tool t -c 1 -n 1
	assert_status 3
	assert_contains "$output" "cannot start '$BATS_TEST_TMPDIR/selfdel'"
	! pgrep -f -- "$fake" >/dev/null
}

@test "errors by kind: SQLSTATE, HTTP status class, connect" {
	run fa-bench pg -c 1 -n 20 -e 'select 1/0' --json "$BATS_TEST_TMPDIR/e.json"
	assert_status 1
	assert_contains "$output" "sqlstate 22012: 20"
	[ "$(jval "$BATS_TEST_TMPDIR/e.json" ".errors_by_kind[0].detail")" = 22012 ]
	run fa-bench http -c 1 -n 20 "$base/fails"
	assert_status 1
	assert_contains "$output" "status 4xx: 20"
	run fa-bench http -c 1 -n 5 --timeout 2s http://127.0.0.1:1/
	assert_status 3
	assert_contains "$output" "connect"
	run fa-bench pg -c 1 -n 5 --db 'host=127.0.0.1 port=1 connect_timeout=2' -e 'select 1'
	assert_status 3
}

@test "coordinated omission: a 1 s stall under --rate shows in p99, not in service time or closed loop" {
	local pid json=$BATS_TEST_TMPDIR/open.json
	stall() {
		for _ in $(seq 50); do
			pid=$(psql_fa -Atq -c "select pid from pg_stat_activity where application_name = 'fa-bench' limit 1")
			[ -n "$pid" ] && break
			sleep 0.05
		done
		sleep 0.5
		kill -STOP "$pid"
		sleep 1
		kill -CONT "$pid"
	}
	# the stall from 0.5 s to 1.5 s, then 1.5 s for the backlog to drain
	stall &
	fa-bench pg -c 1 -t 1 --rate 200 -d 3s -e 'select 1' --json "$json" >/dev/null
	wait
	echo "open loop: p99 $(jval "$json" ".p99") service p99 $(jval "$json" ".service.p99")" >&2
	# about 200 of 600 scheduled requests waited out some of the stall
	[ "$(jval "$json" ".p99 >= 800")" = true ]
	[ "$(jval "$json" ".service.p99 < 500")" = true ]
	[ "$(jval "$json" ".late > 100")" = true ]
	[ "$(jval "$json" ".requests")" -ge 500 ]
	# the same stall in a closed loop hides in one slow request
	json=$BATS_TEST_TMPDIR/closed.json
	stall &
	fa-bench pg -c 1 -t 1 -d 3s -e 'select 1' --json "$json" >/dev/null
	wait
	echo "closed loop: p99 $(jval "$json" ".p99") max $(jval "$json" ".max")" >&2
	[ "$(jval "$json" ".max >= 800")" = true ]
	[ "$(jval "$json" ".p99 < 500")" = true ]
}

@test "open loop schedules: a ramp sends its integral, Poisson arrivals repeat with a seed" {
	local j=$BATS_TEST_TMPDIR/o.json p1=$BATS_TEST_TMPDIR/p1.json p2=$BATS_TEST_TMPDIR/p2.json n1 n2 a b
	# the three runs at once: what is counted is what was scheduled, sent
	# or dropped, however busy the machine
	fa-bench pg -c 2 -t 2 --rate 300 --poisson --seed 42 -d 2s -e 'select 1' --json "$p1" >/dev/null &
	a=$!
	fa-bench pg -c 2 -t 2 --rate 300 --poisson --seed 42 -d 2s -e 'select 1' --json "$p2" >/dev/null &
	b=$!
	# 0 to 1000 per second over 2 s: 1000 requests, every one sent or dropped
	run fa-bench pg -c 2 -t 1 --ramp 0:1000/2s -d 2s -e 'select 1' --json "$j"
	wait "$a"
	wait "$b"
	assert_status 0
	[ "$(jval "$j" ".requests + .dropped")" = 1000 ]
	[ "$(jval "$j" ".config.model")" = open ]
	n1=$(jval "$p1" ".requests + .dropped")
	n2=$(jval "$p2" ".requests + .dropped")
	echo "poisson arrivals: $n1 and $n2" >&2
	[ "$n1" = "$n2" ]
	[ "$n1" -ne 600 ]
	[ "$n1" -gt 400 ] && [ "$n1" -lt 800 ]
}

@test "--threshold: met is 0, not met is 6 naming it, malformed is 2 with the position" {
	run fa-bench pg -c 1 -n 50 -e 'select 1' --threshold 'p99<10s,errors<1%,rate>1'
	assert_status 0
	run fa-bench pg -c 1 -n 50 -e 'select 1' --threshold 'p50<1ns,errors<=0'
	assert_status 6
	assert_contains "$output" "threshold not met: p50<1ns"
	run fa-bench pg -c 1 -n 50 -e 'select 1/0' --threshold 'errors<1%'
	assert_status 6
	run fa-bench pg -c 1 -n 50 -e 'select 1' --threshold 'p99<5parsecs'
	assert_status 2
	assert_contains "$output" "position 6"
	run fa-bench pg -c 1 -n 50 -e 'select 1' --threshold 'p97<5ms'
	assert_status 2
	assert_contains "$output" "position 1"
}

@test "--find-max: a closed-loop probe then seven open-loop steps; exit 6 when no rate meets the SLO" {
	local j=$BATS_TEST_TMPDIR/fm.json
	run fa-bench pg -c 2 -t 1 -d 250ms --find-max --slo 'p99<10s' -e 'select 1' --json "$j"
	assert_status 0
	assert_contains "$output" "highest rate meeting the SLO"
	[ "$(jval "$j" ".steps | length")" = 8 ]
	[ "$(jval "$j" ".best_rate > 0 and .steps[0].rate == 0")" = true ]
	run fa-bench pg -c 1 -t 1 -d 100ms --find-max --slo 'p50<1ns' -e 'select 1'
	assert_status 6
	run fa-bench pg --find-max --rate 100 -e 'select 1'
	assert_status 2
	run fa-bench pg --find-max --slo 'p99<' -e 'select 1'
	assert_status 2
}

@test "suite: every scenario runs with the lines of options before it, into one JSON" {
	local f=$BATS_TEST_TMPDIR/s.suite j=$BATS_TEST_TMPDIR/s.json
	cat > "$f" <<EOF
# three scenarios, 40 requests each unless they say otherwise
-n 40 -t 1
ins: pg -c 2 -D 'k=seq(1,1000)' -e 'insert into fabench.hits (k) values (:k)'
h1:  http -c 2 --method POST "$base/hit/{1001..1001}"
h2:  http --h2 -m 4 -c 1 -n 60 --method POST $base/hit/2000   # its own -n
EOF
	run fa-bench suite "$f" --json "$j"
	assert_status 0
	assert_contains "$output" "== ins ($f line 3): -n 40 -t 1 pg -c 2 -D 'k=seq(1,1000)'"
	assert_contains "$output" "http (h2): 60 requests"
	run psql_fa -Atq -c 'select count(*) filter (where k <= 1000), count(*) filter (where k = 1001),
		count(*) filter (where k = 2000) from fabench.hits'
	assert_same "40|40|60" "$output"
	[ "$(jval "$j" "[.scenarios[].name]")" = '["ins","h1","h2"]' ]
	[ "$(jval "$j" "[.scenarios[].result.requests]")" = "[40,40,60]" ]
	[ "$(jval "$j" "[.scenarios[].exit]")" = "[0,0,0]" ]
	[ "$(jval "$j" ".scenarios[2].result.config.protocol")" = h2 ]
	[ "$(jval "$j" ".scenarios[1].line")" = 4 ]
	cp "$j" "$BATS_TEST_TMPDIR/first.json"
	# a failing scenario does not stop the others; the first failure is the exit status
	printf 'bad: pg -c 1 -n 5 -e "select 1/0"\nok: pg -c 1 -n 5 -e "select 1"\n' > "$f"
	run fa-bench suite "$f" --json "$j"
	assert_status 1
	[ "$(jval "$j" "[.scenarios[].exit]")" = "[1,0]" ]
	[ "$(jval "$j" ".scenarios[1].result.requests")" = 5 ]
	# compare goes scenario by scenario, by name; merge takes runs, not suites
	run fa-bench compare "$BATS_TEST_TMPDIR/first.json" "$BATS_TEST_TMPDIR/first.json"
	assert_status 0
	assert_contains "$output" "== h2"
	run fa-bench compare "$BATS_TEST_TMPDIR/first.json" "$j"
	assert_status 0
	assert_contains "$output" "== ok: only in the new suite"
	assert_contains "$output" "== ins: only in the old suite"
	run fa-bench merge "$j"
	assert_status 4
	assert_contains "$output" "suite"
	# every scenario's options are checked before any runs
	psql_fa -q -c 'TRUNCATE fabench.hits'
	printf 'a: pg -c 1 -n 5 -e "insert into fabench.hits (k) values (1)"\nb: http --frob %s\n' "$base" > "$f"
	run fa-bench suite "$f"
	assert_status 2
	assert_contains "$output" "--frob"
	assert_contains "$output" "in scenario 'b', $f line 2"
	run psql_fa -Atq -c 'select count(*) from fabench.hits'
	assert_same 0 "$output"
	# the file's faults name the line and column
	printf 'a: pg -e "select 1"\nb: pg -e '"'"'select 1\n' > "$f"
	run fa-bench suite "$f"
	assert_status 4
	assert_contains "$output" "$f line 2, column 10: the quote"
	printf 'a: pg\nmerge a b\n' > "$f"
	run fa-bench suite "$f"
	assert_status 4
	assert_contains "$output" "$f line 2, column 1: 'merge'"
	run fa-bench suite "$BATS_TEST_TMPDIR/none.suite"
	assert_status 4
	assert_contains "$output" "none.suite"
}

@test "memory stays flat: the resident size 1.5 s into a run and near its end differ by under 1 MiB" {
	# ASan's quarantine holds freed memory back on purpose: without it a
	# sanitizer build reuses memory as the normal one does
	local a1 a2 b1 b2 h1=$BATS_TEST_TMPDIR/h1.json h2=$BATS_TEST_TMPDIR/h2.json
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0"
	rss() {
		awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
	}
	# both protocols side by side, each watched over the same 3 s
	fa-bench http --h1 -c 4 -t 1 -d 5s --progress none --json "$h1" "$base/live" > /dev/null &
	spid=$!
	fa-bench http --h2 -c 4 -t 1 -d 5s --progress none --json "$h2" "$base/live" > /dev/null &
	xpid=$!
	sleep 1.5
	a1=$(rss "$spid")
	a2=$(rss "$xpid")
	sleep 3
	b1=$(rss "$spid")
	b2=$(rss "$xpid")
	wait "$spid"
	wait "$xpid"
	spid= xpid=
	echo "--h1: VmRSS $a1 kB, then $b1 kB; $(jval "$h1" .requests) requests in all"
	echo "--h2: VmRSS $a2 kB, then $b2 kB; $(jval "$h2" .requests) requests in all"
	[ "$((b1 - a1))" -lt 1024 ]
	[ "$((b2 - a2))" -lt 1024 ]
}

@test "bad flags and operands: exit 2 with a message naming them" {
	run fa-bench pg -c 0 -e 'select 1'
	assert_status 2
	assert_contains "$output" "--connections"
	run fa-bench pg -d 5x -e 'select 1'
	assert_status 2
	assert_contains "$output" "'5x'"
	run fa-bench pg --rate fast -e 'select 1'
	assert_status 2
	assert_contains "$output" "'fast'"
	run fa-bench pg -D 'k=random(1,' -e 'select :k'
	assert_status 2
	assert_contains "$output" "position 10"
	run fa-bench pg -e 'select :nope'
	assert_status 2
	assert_contains "$output" ":nope has no generator"
	run fa-bench pg -M fancy -e 'select 1'
	assert_status 2
	run fa-bench pg -M simple --pipeline 4 -e 'select 1'
	assert_status 2
	run fa-bench http --h2 -m 0 "$base/"
	assert_status 2
	assert_contains "$output" "streams"
	run fa-bench http --h2 -m 1001 "$base/"
	assert_status 2
	assert_contains "$output" "'1001'"
	run fa-bench http 'http://127.0.0.1:1/x/{5..1}'
	assert_status 2
	assert_contains "$output" "position"
	run fa-bench frobnicate
	assert_status 2
	run fa-bench pg -t 4 -c 2 -e 'select 1'
	assert_status 2
	run fa-bench pg -d 1s -n 5 -e 'select 1'
	assert_status 2
	run fa-bench pg --poisson -e 'select 1'
	assert_status 2
}

@test "--json has the documented keys, --hgrm the percentile spectrum, --svg its charts, --progress ndjson one line a second" {
	local j=$BATS_TEST_TMPDIR/r.json h=$BATS_TEST_TMPDIR/r.hgrm k
	run fa-bench http -c 2 -d 2s --progress ndjson "$base/items/{1..1000}" --json "$j" --hgrm "$h"
	assert_status 0
	for k in rps p50 p90 p99 p999 max requests errors unit config host seconds histogram service; do
		[ "$(jval "$j" "has(\"$k\")")" = true ] || { echo "no $k" >&2; return 1; }
	done
	[ "$(jval "$j" ".unit")" = ms ]
	[ "$(jval "$j" ".histogram.count == .requests")" = true ]
	[ "$(jval "$j" ".p50 <= .p90 and .p90 <= .p99 and .p99 <= .p999 and .p999 <= .max")" = true ]
	[ "$(jval "$j" ".seconds | length >= 2")" = true ]
	jq -e '.config.target == "http" and .seconds[0].rps > 0' "$j"
	# each second's progress line is a JSON object
	[ "$(printf '%s\n' "$output" | grep -c '^{"t":')" -ge 2 ]
	head -1 "$h" | grep -q 'Value *Percentile *TotalCount *1/(1-Percentile)'
	grep -q '^#\[Max' "$h"
	grep -E '^ +[0-9.]+ 1\.000000000000 +[0-9]+$' "$h"
	# --svg: well-formed SVG with the two charts
	run fa-bench merge "$j" --svg "$BATS_TEST_TMPDIR/r.svg"
	assert_status 0
	python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert len(d.getElementsByTagName('polyline')) == 3" "$BATS_TEST_TMPDIR/r.svg"
	# --json - puts the document on stdout, alone
	run fa-bench pg -c 1 -n 10 -e 'select 1' --json -
	assert_status 0
	printf '%s\n' "$output" | jq -e '.requests == 10'
}

@test "merge: counts add and the histograms merge exactly; compare says ~ for equal runs" {
	local a=$BATS_TEST_TMPDIR/a.json b=$BATS_TEST_TMPDIR/b.json m=$BATS_TEST_TMPDIR/m.json
	run fa-bench pg -c 1 -n 300 -e 'select 1' --json "$a"
	assert_status 0
	run fa-bench pg -c 2 -n 500 -e 'select 1' --json "$b"
	assert_status 0
	run fa-bench merge "$a" "$b" --json "$m"
	assert_status 0
	[ "$(jval "$m" ".requests")" = 800 ]
	[ "$(jval "$m" ".histogram.count")" = 800 ]
	[ "$(jval "$m" .max)" = "$(jq -s 'map(.max) | max' "$a" "$b")" ]
	run fa-bench merge "$a" "$BATS_TEST_TMPDIR/nothing.json"
	assert_status 4
	run fa-bench compare "$a" "$a"
	assert_status 0
	assert_contains "$output" "rps"
}

@test "compare: a slower run is a significant regression past --max-regress" {
	local fast=$BATS_TEST_TMPDIR/fast.json slow=$BATS_TEST_TMPDIR/slow.json a
	# side by side: the slow run mostly waits in pg_sleep
	fa-bench pg -c 1 -d 5s -e 'select pg_sleep(0.005)' --json "$slow" >/dev/null &
	a=$!
	fa-bench pg -c 1 -d 5s -e 'select 1' --json "$fast" >/dev/null
	wait "$a"
	# five seconds each: Mann-Whitney can call 5 against 5 samples at p < 0.05
	[ "$(jval "$fast" "[.seconds[] | select(.len >= 0.9)] | length")" -ge 4 ]
	run fa-bench compare "$fast" "$slow" --max-regress 10
	assert_status 6
	assert_contains "$output" "worse"
	run fa-bench compare "$slow" "$fast" --max-regress 10
	assert_status 0
	assert_contains "$output" "better"
}
