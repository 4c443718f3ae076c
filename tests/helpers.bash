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
