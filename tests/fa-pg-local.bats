#!/usr/bin/env bats
# The embedded default database: created on first use in its own home,
# announced once, reused, safe to start from two processes at once, and
# managed with fa-pg --local.  Uses a home of its own, not the suite's.

load helpers

setup() {
	home=$(mktemp -d /tmp/fa-local.XXXXXX)
	chmod 755 "$home"
}

teardown() {
	FA_HOME=$home fa-pg --local remove || true
	rm -rf "$home"
}

# Creating a cluster takes seconds (initdb syncs every file), so one test
# makes it for two first uses at once: one of them creates the cluster and
# says so, the other waits on the lock and finds it running.
@test "first use creates and starts the cluster, announces it once, then reuses it; two first uses at once both succeed (lock)" {
	FA_HOME=$home fa-pg -t -F csv -c 'select 1' > "$home/a" 2>&1 &
	a=$!
	FA_HOME=$home fa-pg -t -F csv -c 'select 2' > "$home/b" 2>&1 &
	b=$!
	wait $a
	wait $b
	cat "$home/a" "$home/b"
	[ "$(tail -1 "$home/a")" = 1 ]
	[ "$(tail -1 "$home/b")" = 2 ]
	# exactly one of them created it, and said where
	[ "$(cat "$home/a" "$home/b" | grep -c "created and started the embedded PostgreSQL in $home/pg")" = 1 ]
	# the next use finds it running and says nothing
	FA_HOME=$home run fa-pg -t -F csv -c 'select 3'
	assert_status 0
	assert_same 3 "$output"
	# unix socket only, UTF-8, the database named after the user
	FA_HOME=$home run fa-pg -t -F csv -c "select current_setting('listen_addresses'), pg_encoding_to_char(encoding), current_database() = current_user from pg_database where datname = current_database()"
	assert_same '"",UTF8,t' "$output"
}

@test "--local status, stop, start again on demand, conninfo works for psql, remove" {
	FA_HOME=$home run fa-pg --local status
	assert_contains "$output" "state:    not created"
	FA_HOME=$home fa-pg --local start 2>/dev/null
	FA_HOME=$home run fa-pg --local status
	assert_contains "$output" "state:    running (pid "
	if [ "$(id -u)" = 0 ]; then
		assert_contains "$output" "(as user postgres)"
		# the server really runs unprivileged
		pid=$(sed -n 1p "$home/pg/data/postmaster.pid")
		[ "$(stat -c %U /proc/$pid)" != root ]
	fi
	ci=$(FA_HOME=$home fa-pg --local conninfo)
	[ "$(psql -X -tA "$ci" -c 'select 40 + 2')" = 42 ]
	FA_HOME=$home run fa-pg --local stop
	assert_status 0
	FA_HOME=$home run fa-pg --local status
	assert_contains "$output" "state:    stopped"
	FA_HOME=$home run fa-pg -t -F csv -c 'select 3'
	assert_status 0
	assert_contains "$output" "started the embedded PostgreSQL"
	[ "${lines[-1]}" = 3 ]
	FA_HOME=$home run fa-pg --local remove
	assert_status 0
	[ ! -e "$home/pg" ]
	FA_HOME=$home run fa-pg --local status
	assert_contains "$output" "state:    not created"
}

@test "a server that cannot start is a connection error (exit 3) naming the log" {
	mkdir -p "$home/pg/data"
	echo 15 > "$home/pg/data/PG_VERSION"       # looks created, is not a cluster
	[ "$(id -u)" != 0 ] || chown -R postgres "$home/pg" 2>/dev/null || chown -R nobody "$home/pg"
	FA_HOME=$home run fa-pg -c 'select 1'
	assert_status 3
	assert_contains "$output" "cannot start the embedded PostgreSQL server (see $home/pg/log)"
}

@test "an unreachable home is refused with advice, not a half-made cluster" {
	[ "$(id -u)" = 0 ] || skip "only root hands the server to another user"
	chmod 700 "$home"
	FA_HOME=$home/inner run fa-pg -c 'select 1'
	assert_status 3
	assert_contains "$output" "cannot enter '$home'; set FA_HOME to a directory it can reach"
	[ ! -e "$home/inner/pg/data" ]
}
