# Shared by fa-bench.bats and fa-bench-h3.bats (load helpers first, then
# bench_helpers): one fa-serve for the whole file, over a table of hits
# that every test starts with empty.

# From setup_file: bench_setup_file SCHEMA [FA-SERVE OPTION]...  Creates
# SCHEMA.hits (id, k) and these routes in $BATS_FILE_TMPDIR/routes:
#   POST /hit/:k, POST /notes (k in the body)   insert a row into hits
#   GET /items/:id                              one row: the id and its md5
#   GET /fails                                  a division by zero
#   GET /sleepy                                 answers after 0.6 s
# then starts fa-serve on them with file_server_start (cleartext, TLS with
# $BATS_FILE_TMPDIR/cert.pem and HTTP/3) and the options given.
bench_setup_file() {
	local schema=$1 dir=$BATS_FILE_TMPDIR/routes
	shift
	psql_fa -q -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema;
		CREATE TABLE $schema.hits (id bigserial PRIMARY KEY, k bigint)"
	mkdir -p "$dir"
	cat > "$dir/hits.sql" <<SQL
-- name: hit
-- route: POST /hit/:k
-- param: k int
-- returns: none
INSERT INTO $schema.hits (k) VALUES (:k);

-- name: note
-- route: POST /notes
-- param: k int
-- returns: none
INSERT INTO $schema.hits (k) VALUES (:k);

-- name: item
-- route: GET /items/:id
-- param: id int
-- returns: one
SELECT :id AS id, md5(:id::text) AS h;

-- name: fails
-- route: GET /fails
SELECT 1 / 0;

-- name: sleepy
-- route: GET /sleepy
-- returns: one
SELECT pg_sleep(0.6)::text AS slept;
SQL
	file_server_start "$@" "$dir"
}

# From teardown_file: stops the server (failing on what a sanitizer said)
# and drops SCHEMA.
bench_teardown_file() {
	local st=0
	file_server_stop || st=$?
	psql_fa -q -c "DROP SCHEMA IF EXISTS $1 CASCADE"
	return "$st"
}

# From setup: empties SCHEMA.hits; sets port, tport and h3port, the URLs
# base (http), tbase (https) and h3base (HTTP/3), and ca, the certificate.
bench_setup() {
	file_server_ports
	base=http://127.0.0.1:$port
	tbase=https://127.0.0.1:$tport
	h3base=https://127.0.0.1:$h3port
	ca=$BATS_FILE_TMPDIR/cert.pem
	psql_fa -q -c "TRUNCATE $1.hits RESTART IDENTITY"
}

# A value of a --json file: jval FILE FILTER (a jq filter; strings raw,
# arrays on one line).  jq, not python3: it starts in a tenth of the time.
jval() {
	jq -r -c "$2" "$1"
}
