#!/usr/bin/env bats
# fa-serve survives its database: restarts under load, backends terminated,
# a database that is down when the server starts, PgBouncer in between.
# Each test starts its own server; the cluster is restarted and stopped
# here, and every test leaves it running.

load helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS fafault CASCADE;
CREATE SCHEMA fafault;
CREATE TABLE fafault.items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO fafault.items VALUES (1, 'apple'), (2, 'pear');
CREATE TABLE fafault.notes (note text);
SQL
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/faults.sql" <<'SQL'
-- name: get_item
-- route: GET /items/:id
-- param: id int
-- returns: one
SELECT id, name FROM fafault.items WHERE id = :id;

-- name: slow_read
-- route: GET /slow
SELECT 'read' AS what, pg_sleep(1.5)::text AS slept;

-- name: slow_write
-- route: POST /notes
-- param: note text
-- returns: none
INSERT INTO fafault.notes SELECT :note FROM pg_sleep(1.5);

-- name: count_notes
-- route: GET /notes/count
-- returns: one
SELECT count(*) AS n FROM fafault.notes;

-- name: events
-- route: GET /events
-- listen: fafault_events
SQL
}

teardown_file() {
	pgctl -w start >/dev/null 2>&1 || true
	psql_fa -q -c 'DROP SCHEMA IF EXISTS fafault CASCADE'
}

teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
	if [ -n "${bpid:-}" ]; then kill -TERM "$bpid" 2>/dev/null || true; wait "$bpid" 2>/dev/null || true; fi
	if [ -n "${home2:-}" ]; then FA_HOME=$home2 fa-pg --local remove >/dev/null 2>&1 || true; rm -rf "$home2"; fi
	# every test leaves the cluster running and writable for the next
	pgctl status >/dev/null 2>&1 || pgctl -w start >/dev/null
	psql_fa -q -c "ALTER SYSTEM RESET default_transaction_read_only" -c "SELECT pg_reload_conf()" \
		>/dev/null 2>&1 || true
}

# Starts fa-serve with the routes and the options given; sets spid and
# base, its log in $BATS_TEST_TMPDIR/serve.log.
serve() {
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 "$@" "$BATS_FILE_TMPDIR/routes"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	base=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
}

code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}

# Waits up to $1 seconds for $2 to answer 200; prints the seconds it took.
until_200() {
	local t0 now
	t0=$(date +%s%N)
	while [ "$(code "$2")" != 200 ]; do
		now=$(date +%s%N)
		[ $(( (now - t0) / 1000000000 )) -lt "$1" ] || { echo "no 200 from $2 within $1 s" >&2; return 1; }
		sleep 0.1
	done
	now=$(date +%s%N)
	echo "$(( (now - t0) / 1000000 )) ms" >&2
}

# The value of metric $1 (a full name with labels) from /metrics.
metric() {
	curl -s --max-time 5 "$base/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# Succeeds when metric $1 compares to $3 as $2 says (-ge, -eq): for
# wait_until, as the counters are published once a second.
metric_is() {
	local v
	v=$(metric "$1")
	[ -n "$v" ] && [ "$v" "$2" "$3" ]
}

fds() {
	ls "/proc/$spid/fd" | wc -l
}

@test "faults: a database down at start: 503 with Retry-After, then 200 once it is up" {
	pgctl -m immediate stop >/dev/null
	serve --threads 1 --pool 2 --pool-timeout 300 --db "$FA_CONNINFO"
	# the server runs and says what it can
	[ "$(code "$base/live")" = 200 ]
	run curl -s -i --max-time 5 "$base/ready"
	echo "$output"
	assert_contains "$output" "HTTP/1.1 503"
	assert_contains "$output" "Retry-After: 1"
	run curl -s -i --max-time 5 "$base/items/1"
	echo "$output"
	assert_contains "$output" "HTTP/1.1 503"
	assert_contains "$output" "Retry-After: 1"
	assert_contains "$output" '"message":"database unavailable"'
	assert_contains "$output" 'no database connection within 0.3 s'
	kill -0 "$spid"
	pgctl -w start >/dev/null
	until_200 10 "$base/items/1"
	[ "$(curl -s "$base/items/1")" = '{"id":1,"name":"apple"}' ]
	[ "$(code "$base/ready")" = 200 ]
	# the counters saw it (published once a second, and by the worker that answers)
	[ "$(metric fa_pool_timeouts_total)" -ge 1 ]
	[ "$(metric fa_pool_connect_failures_total)" -ge 1 ]
	[ "$(metric 'fa_pool_connections{state="ready"}')" -ge 1 ]
}

@test "faults: a restart with -m immediate under load: only 200s and 503s, then 200s again" {
	serve --threads 2 --pool 2 --pool-timeout 500
	until_200 10 "$base/items/1"
	fd0=$(fds)
	# four clients in a loop, each answer's status on its own line, until
	# told to stop (or 20 s at most)
	for k in 1 2 3 4; do
		( end=$(( $(date +%s) + 20 ))
		  while [ ! -e "$BATS_TEST_TMPDIR/stop" ] && [ "$(date +%s)" -lt "$end" ]; do
			code "$base/items/2"; echo
		  done
		) > "$BATS_TEST_TMPDIR/codes.$k" &
	done
	sleep 1.5
	pg_restart_immediate
	t_up=$(date +%s%N)
	wait_for_children() { for j in $(jobs -p); do [ "$j" = "$spid" ] || wait "$j"; done; }
	until_200 10 "$base/items/2"
	echo "first 200 after the database was back: $(( ($(date +%s%N) - t_up) / 1000000 )) ms"
	# the clients go on for a second of the recovered server, then stop
	sleep 1
	touch "$BATS_TEST_TMPDIR/stop"
	wait_for_children
	cat "$BATS_TEST_TMPDIR"/codes.* > "$BATS_TEST_TMPDIR/codes"
	sort "$BATS_TEST_TMPDIR/codes" | uniq -c
	# every answer was a success or a 503: no 500, no hang, no crash
	[ -z "$(grep -v -x -e 200 -e 503 "$BATS_TEST_TMPDIR/codes")" ]
	[ "$(grep -c -x 200 "$BATS_TEST_TMPDIR/codes")" -gt 10 ]
	kill -0 "$spid"
	# the server recovers the load: 20 in a row succeed
	for _ in $(seq 20); do [ "$(code "$base/items/2")" = 200 ]; done
	[ "$(code "$base/ready")" = 200 ]
	wait_until metric_is fa_pool_reconnects_total -ge 4
	wait_until metric_is 'fa_pool_connections{state="ready"}' -eq 4
	# and holds no more descriptors than before
	[ "$(fds)" -eq "$fd0" ]
}

@test "faults: every backend terminated: the next requests succeed on new connections" {
	serve --threads 1 --pool 3
	until_200 10 "$base/items/1"
	fd0=$(fds)
	for round in 1 2 3; do
		[ "$(pg_kill_backends 'fa-serve')" -ge 1 ]
		until_200 5 "$base/items/1"
		for _ in $(seq 10); do [ "$(code "$base/items/1")" = 200 ]; done
	done
	wait_until metric_is fa_pool_reconnects_total -ge 3
	[ "$(fds)" -eq "$fd0" ]
}

# Waits until a statement like $1 runs in fa-serve's backends; prints its pid.
running_pid() {
	for _ in $(seq 100); do
		pid=$(psql_fa -Atq -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'fa-serve'
			AND state = 'active' AND query LIKE '$1' LIMIT 1")
		[ -n "$pid" ] && { echo "$pid"; return 0; }
		sleep 0.05
	done
	return 1
}

@test "faults: a read whose connection dies is sent again and answers 200" {
	serve --threads 1 --pool 2
	until_200 10 "$base/items/1"
	curl -s -i --max-time 20 "$base/slow" > "$BATS_TEST_TMPDIR/out" &
	cpid=$!
	pid=$(running_pid '%pg_sleep(1.5)%')
	psql_fa -Atq -c "SELECT pg_terminate_backend($pid)"
	wait "$cpid"
	cat "$BATS_TEST_TMPDIR/out"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "HTTP/1.1 200"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" '[{"what":"read","slept":""}]'
	[ "$(metric fa_pool_retries_total)" -eq 1 ]
}

@test "faults: a write whose connection dies is not sent again: 503, outcome unknown" {
	serve --threads 1 --pool 2
	until_200 10 "$base/items/1"
	before=$(psql_fa -Atq -c 'SELECT count(*) FROM fafault.notes')
	curl -s -i --max-time 20 -d note=lost "$base/notes" > "$BATS_TEST_TMPDIR/out" &
	cpid=$!
	pid=$(running_pid 'INSERT INTO fafault.notes%')
	psql_fa -Atq -c "SELECT pg_terminate_backend($pid)"
	wait "$cpid"
	cat "$BATS_TEST_TMPDIR/out"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "HTTP/1.1 503"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "Retry-After: 1"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "its outcome is unknown"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "terminating connection due to administrator command"
	# it ran once, and the terminated one did not commit
	[ "$(metric fa_pool_retries_total)" -eq 0 ]
	[ "$(psql_fa -Atq -c 'SELECT count(*) FROM fafault.notes')" -eq "$before" ]
	# the server goes on: a write now succeeds
	[ "$(code -d note=kept "$base/notes")" = 204 ]
}

@test "faults: a statement that leaves a transaction open does not leak into the next" {
	cat > "$BATS_TEST_TMPDIR/tx.sql" <<'SQL'
-- name: begin_only
-- route: POST /begin
-- returns: none
BEGIN;

-- name: in_tx
-- route: GET /in-tx
-- returns: one
SELECT pg_backend_pid() AS pid;
SQL
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 --pool 1 "$BATS_TEST_TMPDIR/tx.sql"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	base=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
	until_200 10 "$base/in-tx"
	pid0=$(curl -s "$base/in-tx" | jq .pid)
	[ "$(code -X POST "$base/begin")" = 204 ]
	sleep 0.2
	# a new connection serves, and none is left idle in the transaction
	pid1=$(curl -s "$base/in-tx" | jq .pid)
	echo "$pid0 -> $pid1"
	[ -n "$pid1" ] && [ "$pid1" != "$pid0" ]
	run psql_fa -Atq -c "SELECT pid, state FROM pg_stat_activity WHERE application_name = 'fa-serve'"
	echo "$output"
	[ "$output" = "$pid1|idle" ]
}

@test "faults: --pool-max-lifetime replaces old connections" {
	serve --threads 1 --pool 1 --pool-max-lifetime 300
	until_200 10 "$base/items/1"
	p1=$(psql_fa -Atq -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'fa-serve'")
	sleep 0.5
	[ "$(code "$base/items/1")" = 200 ]
	until_200 5 "$base/items/1"
	p2=$(psql_fa -Atq -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'fa-serve'")
	echo "$p1 -> $p2"
	[ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ]
	[ "$(echo "$p2" | wc -l)" -eq 1 ]
}

@test "faults: through PgBouncer in transaction mode with --unnamed-statements" {
	command -v pgbouncer >/dev/null || skip "pgbouncer is not installed (scripts/deps installs it)"
	sock=$(sed -n "s/.*host='\{0,1\}\([^' ]*\).*/\1/p" <<< "$FA_CONNINFO")
	pgport=$(sed -n "s/.*port='\{0,1\}\([0-9]*\).*/\1/p" <<< "$FA_CONNINFO")
	dbname=$(psql_fa -Atq -c 'SELECT current_database()')
	role=$(psql_fa -Atq -c 'SELECT current_user')
	bport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	# under FA_HOME, which the server's user can enter
	bdir=$FA_HOME/pgb.$BATS_TEST_NUMBER
	mkdir -p "$bdir"
	printf '"%s" ""\n' "$role" > "$bdir/users.txt"
	cat > "$bdir/pgbouncer.ini" <<EOF
[databases]
fa = host=$sock port=$pgport dbname=$dbname user=$role
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $bdir/users.txt
pool_mode = transaction
default_pool_size = 2
pidfile =
EOF
	chmod -R a+rwX "$bdir"
	if [ "$(id -u)" -eq 0 ]; then
		pgbouncer -u "$(stat -c %U "$FA_HOME/pg/data")" "$bdir/pgbouncer.ini" 2> "$bdir/log" &
	else
		pgbouncer "$bdir/pgbouncer.ini" 2> "$bdir/log" &
	fi
	bpid=$!
	for _ in $(seq 50); do
		psql -X -Atq "host=127.0.0.1 port=$bport dbname=fa" -c 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	serve --threads 2 --pool 4 --unnamed-statements --db "host=127.0.0.1 port=$bport dbname=fa"
	until_200 10 "$base/items/1"
	# concurrent requests over more connections than PgBouncer has: each answer right
	seq 200 | xargs -P 8 -I{} sh -c 'curl -s --max-time 10 "$0/items/$(( {} % 2 + 1 ))"; echo' "$base" \
		> "$BATS_TEST_TMPDIR/answers"
	sort "$BATS_TEST_TMPDIR/answers" | uniq -c
	[ "$(grep -c -x '{"id":1,"name":"apple"}' "$BATS_TEST_TMPDIR/answers")" -eq 100 ]
	[ "$(grep -c -x '{"id":2,"name":"pear"}' "$BATS_TEST_TMPDIR/answers")" -eq 100 ]
	# writes too, and a restart of the database behind PgBouncer is survived
	[ "$(code -d note=via-bouncer "$base/notes")" = 204 ]
	pg_restart_immediate
	until_200 15 "$base/items/2"
	[ "$(curl -s "$base/notes/count" | jq .n)" -ge 1 ]
}

# Waits until fa-serve's LISTEN connection listens.
until_listening() {
	for _ in $(seq 100); do
		[ "$(psql_fa -Atq -c "SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'fa-serve listen'")" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}

@test "faults: a restart ends event streams cleanly; clients that come back get events again" {
	serve --threads 1
	until_200 10 "$base/items/1"
	curl -sN --max-time 30 "$base/events" > "$BATS_TEST_TMPDIR/ev1" &
	cpid=$!
	until_listening
	psql_fa -q -c "NOTIFY fafault_events, 'before'"
	pg_restart_immediate
	# the stream ends (curl exits by itself, long before its 30 s)
	t0=$(date +%s)
	wait "$cpid" || true
	[ $(( $(date +%s) - t0 )) -lt 15 ]
	cat "$BATS_TEST_TMPDIR/ev1"
	grep -qx 'data: before' "$BATS_TEST_TMPDIR/ev1"
	# an EventSource reconnects: it is served, and hears what comes now
	curl -sN --max-time 5 "$base/events" > "$BATS_TEST_TMPDIR/ev2" &
	cpid=$!
	until_listening
	psql_fa -q -c "NOTIFY fafault_events, 'after'"
	wait_until grep -qx 'data: after' "$BATS_TEST_TMPDIR/ev2" || true
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" || true
	cat "$BATS_TEST_TMPDIR/ev2"
	grep -qx 'data: after' "$BATS_TEST_TMPDIR/ev2"
	kill -0 "$spid"
}

@test "faults: failover: libpq's multi-host string finds the primary; 25006 on a standby replaces the connection" {
	# a second embedded cluster stands in for the other host
	home2=$(mktemp -d /tmp/fa-test2.XXXXXX)
	chmod 755 "$home2"
	FA_HOME=$home2 fa-pg --local start >/dev/null
	db2=$(FA_HOME=$home2 fa-pg --local conninfo)
	psql2() { psql -X -v ON_ERROR_STOP=1 "$db2" "$@"; }
	psql2 -q <<'SQL'
CREATE SCHEMA fafault;
CREATE TABLE fafault.items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO fafault.items VALUES (1, 'apple on B'), (2, 'pear on B');
CREATE TABLE fafault.notes (note text);
SQL
	sock1=$(sed -n "s/.*host=\([^ ]*\).*/\1/p" <<< "$FA_CONNINFO")
	sock2=$(sed -n "s/.*host=\([^ ]*\).*/\1/p" <<< "$db2")
	user=$(sed -n "s/.*user=\([^ ]*\).*/\1/p" <<< "$FA_CONNINFO")
	serve --threads 1 --pool 2 --db "host=$sock1,$sock2 user=$user dbname=$user target_session_attrs=read-write"
	until_200 10 "$base/items/1"
	[ "$(curl -s "$base/items/1")" = '{"id":1,"name":"apple"}' ]
	# A turns read-only, as a primary demoted to a standby: a write there is
	# 25006 (503), its connection is replaced, and the next ones find B
	psql_fa -q -c "ALTER SYSTEM SET default_transaction_read_only = on" -c "SELECT pg_reload_conf()"
	# the reload is asynchronous: a new session sees it once it is done
	read_only() { [ "$(psql_fa -Atq -c 'SHOW default_transaction_read_only')" = on ]; }
	wait_until read_only
	run curl -s -i -d note=one "$base/notes"
	echo "$output"
	assert_contains "$output" "HTTP/1.1 503"
	assert_contains "$output" '"sqlstate":"25006"'
	# the other connection may meet A's read-only state once more
	for _ in 1 2 3; do
		c=$(code -d note=two "$base/notes")
		echo "write: $c"
		[ "$c" = 204 ] && break
	done
	[ "$c" = 204 ]
	[ "$(psql2 -Atq -c 'SELECT count(*) FROM fafault.notes')" -ge 1 ]
	until_200 10 "$base/items/1"
	for _ in $(seq 30); do
		[ "$(curl -s "$base/items/1")" = '{"id":1,"name":"apple on B"}' ] && break
		sleep 0.1
	done
	[ "$(curl -s "$base/items/1")" = '{"id":1,"name":"apple on B"}' ]
}
