# One private PostgreSQL cluster for the whole bats run, created through
# fa's own embedded default in a temporary FA_HOME and removed at the end,
# even when tests fail.  Every test sees FA_HOME and FA_BIN on PATH, and
# no DATABASE_URL or PG* variable, so the tools use the embedded default.

setup_suite() {
	: "${FA_BIN:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin}"
	export FA_BIN
	export PATH="$FA_BIN:$PATH"
	unset DATABASE_URL PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGPASSWORD
	# The server may run as another user (when we are root): the home
	# must be reachable by it, and a short path keeps the socket valid.
	FA_HOME=$(mktemp -d /tmp/fa-test.XXXXXX)
	chmod 755 "$FA_HOME"
	export FA_HOME
	export FA_PG_HISTORY="$FA_HOME/history"
	# Sanitizer builds: fail on leaks and errors in the tools we run.
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"
	fa-pg --local start >/dev/null
	FA_CONNINFO=$(fa-pg --local conninfo)
	export FA_CONNINFO
}

teardown_suite() {
	[ -n "${FA_HOME:-}" ] || return 0
	fa-pg --local remove || true
	rm -rf "$FA_HOME"
}
