# Shared helpers for the bats files: load with `load helpers`.

# psql against the same cluster the tools use.
psql_fa() {
	psql -X -v ON_ERROR_STOP=1 "$FA_CONNINFO" "$@"
}

# A fresh schema per test file, dropped by the caller's teardown_file.
fresh_schema() {
	psql_fa -q -c "DROP SCHEMA IF EXISTS $1 CASCADE; CREATE SCHEMA $1;"
}

# Fails with both texts shown when they differ.
assert_same() {
	if [ "$1" != "$2" ]; then
		printf 'expected:\n%s\nactual:\n%s\n' "$1" "$2" >&2
		diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") >&2 || true
		return 1
	fi
}

# Fails unless status equals $1 (bats' run sets $status and $output).
assert_status() {
	if [ "$status" -ne "$1" ]; then
		printf 'expected exit %s, got %s; output:\n%s\n' "$1" "$status" "$output" >&2
		return 1
	fi
}

assert_contains() {
	case "$1" in
	*"$2"*) return 0 ;;
	esac
	printf 'expected to find:\n%s\nin:\n%s\n' "$2" "$1" >&2
	return 1
}

# pg_ctl on this run's cluster (FA_HOME/pg/data), as the user the server
# runs as (postgres when we are root): pgctl stop -m immediate, pgctl start.
pgctl() {
	local bindir owner data="$FA_HOME/pg/data"
	bindir=${FA_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
	owner=$(stat -c %U "$data")
	if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
		runuser -u "$owner" -- "$bindir/pg_ctl" -D "$data" -l "$FA_HOME/pg/log" "$@"
	else
		"$bindir/pg_ctl" -D "$data" -l "$FA_HOME/pg/log" "$@"
	fi
}

# Restarts the cluster the way a crash would (-m immediate), waiting until
# it accepts connections again.
pg_restart_immediate() {
	pgctl -w -m immediate restart >/dev/null
}

# Terminates every backend of application_name $1 (a LIKE pattern).
pg_kill_backends() {
	psql_fa -Atq -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name LIKE '$1' AND pid <> pg_backend_pid()"
}

# Starts a server, "$@", in the background with its stderr in $1/serve.log
# (shift the directory off first: serve_bg DIR fa-serve ARGS...), and waits
# until it says "(port N)": then $1/pid holds its pid and $1/port the port.
serve_bg() {
	local dir=$1
	shift
	"$@" 2> "$dir/serve.log" &
	echo $! > "$dir/pid"
	for _ in $(seq 100); do
		grep -q '(port [0-9]*)' "$dir/serve.log" 2>/dev/null && break
		sleep 0.05
	done
	sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/serve.log" | head -1 > "$dir/port"
}

# Runs "$@" every 50 ms until it succeeds, for at most 5 s: its status then.
wait_until() {
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# A throwaway certificate for localhost and 127.0.0.1: $1/cert.pem, $1/key.pem.
make_test_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
}

# One fa-serve for a whole test file, started from setup_file: cleartext,
# TLS with $BATS_FILE_TMPDIR/cert.pem and key.pem (made by make_test_cert
# unless the file made its own) and HTTP/3, plus the arguments given; its
# log in $BATS_FILE_TMPDIR/serve.log.  Returns once it serves.
# file_server_ports reads its ports, file_server_stop stops it.
file_server_start() {
	local log=$BATS_FILE_TMPDIR/serve.log
	[ -s "$BATS_FILE_TMPDIR/cert.pem" ] || make_test_cert "$BATS_FILE_TMPDIR"
	"$FA_BIN/fa-serve" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
		--tls-cert "$BATS_FILE_TMPDIR/cert.pem" --tls-key "$BATS_FILE_TMPDIR/key.pem" \
		--h3-listen 127.0.0.1:0 "$@" 2> "$log" 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/pid"
	for _ in $(seq 100); do
		grep -q '^fa-serve: HTTP/3 on' "$log" && return 0
		sleep 0.1
	done
	cat "$log" >&2
	return 1
}

# Sets port, tport and h3port to the ports of file_server_start's server.
file_server_ports() {
	local log=$BATS_FILE_TMPDIR/serve.log
	port=$(sed -n 's/^fa-serve: listening on .*(port \([0-9]*\)).*/\1/p' "$log")
	tport=$(sed -n 's/^fa-serve: TLS on .*(port \([0-9]*\)).*/\1/p' "$log")
	h3port=$(sed -n 's/^fa-serve: HTTP\/3 on .*(UDP port \([0-9]*\)).*/\1/p' "$log")
}

# From teardown_file: stops that server; fails when it does not stop on
# SIGTERM, or when a sanitizer build said anything (leaks show at exit).
file_server_stop() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		echo "fa-serve did not stop on SIGTERM" >&2
		return 1
	fi
	! grep -E 'Sanitizer|runtime error' "$BATS_FILE_TMPDIR/serve.log" >&2
}
