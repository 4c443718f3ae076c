#!/usr/bin/env bats
# fa-pg for scripts: output formats against psql, parameters, errors and
# exit codes, transactions, -j, --pipeline, streaming memory, signals.

load helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS fapg CASCADE;
CREATE SCHEMA fapg;
CREATE TABLE fapg.items (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2) CHECK (price >= 0));
INSERT INTO fapg.items VALUES (1, 'apple', 1.25), (2, 'pear, green', 0.5), (3, 'Zoë "quoted"', 10);
CREATE TABLE fapg.log (n int, pid int);
SQL
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS fapg CASCADE'
}

# Values psql users meet: types, quoting, NULL, non-ASCII, multi-line.
TYPES_SQL="select 1.50::numeric n, 'NaN'::numeric nn, 42::bigint big, 2.5::float8 f, true b,
  '2026-01-02 03:04:05+00'::timestamptz ts, interval '1 day 2 hours' iv, array[1,2,null] arr,
  array['a b','c,\"d'] tarr, '{\"k\": [1, \"x\"]}'::json j, '{\"k\": 1}'::jsonb jb,
  '\\x00ff'::bytea by, 'quote \" comma , nl
x' t, 'Zoë 日本' u, null::text nul, ' sp ' sp, '\\.' bs, 1e100::float8 fe, 'Infinity'::float8 inf"

@test "table output is psql's aligned format, byte for byte" {
	for q in "$TYPES_SQL" "select * from fapg.items order by id" "select 1 where false" \
		"select 'a
b' as multi, 'x' as y" "select"; do
		expected=$(psql_fa -c "$q")
		run fa-pg -c "$q"
		assert_status 0
		assert_same "$expected" "$output"
	done
}

@test "csv output is psql --csv, except an empty string is \"\" (not NULL)" {
	q="$TYPES_SQL, ''::text empty"
	expected=$(psql_fa --csv -c "$q")
	run fa-pg -F csv -c "$q"
	assert_status 0
	# psql writes '' and NULL alike; fa-pg keeps them apart as COPY CSV does.
	assert_same "${expected%,*}," "${output%,*},"
	[ "${output##*,}" = '""' ]
	[ "$(fa-pg -F csv -t -c "select null::text, ''::text")" = ',""' ]
}

@test "json and ndjson keep types as to_json does; json/jsonb and arrays nest; NaN and Infinity are strings" {
	run fa-pg -F json -c "$TYPES_SQL"
	assert_status 0
	echo "$output" | jq -e '.[0] | .n == 1.50 and .nn == "NaN" and .big == 42 and .f == 2.5
		and .b == true and .ts == "2026-01-02T03:04:05+00:00" and .arr == [1,2,null]
		and .tarr == ["a b","c,\"d"]
		and .j.k[1] == "x" and .jb.k == 1 and .by == "\\x00ff" and .t == "quote \" comma , nl\nx"
		and .u == "Zoë 日本" and .nul == null and .fe == 1e100 and .inf == "Infinity"'
	run fa-pg -F ndjson -c "select id, name from fapg.items order by id" -c "select 7 as n"
	assert_status 0
	[ "${#lines[@]}" -eq 4 ]
	echo "${lines[2]}" | jq -e '.id == 3 and .name == "Zoë \"quoted\""'
	echo "${lines[3]}" | jq -e '.n == 7'
}

@test "tsv output escapes tabs and newlines and writes NULL as \\N" {
	run fa-pg -F tsv -c "select E'a\tb' x, E'l1\nl2' y, null::int z"
	assert_status 0
	assert_same "$(printf 'x\ty\tz\na\\tb\tl1\\nl2\t\\N')" "$output"
}

@test "command tags like psql, none in json output, none with -q" {
	run fa-pg -c "create temp table tt(a int)" -c "insert into tt values (1),(2)"
	assert_same "$(printf 'CREATE TABLE\nINSERT 0 2')" "$output"
	run fa-pg -F json -c "create temp table tt(a int)" -c "insert into tt values (1) returning a"
	assert_same '[{"a":1}]' "$output"
	run fa-pg -q -c "create temp table tt(a int)"
	assert_same "" "$output"
}

@test "parameters after -- are bound, never interpolated" {
	run fa-pg -F csv -t -c 'select $1::int + 1, $2::text, length($2)' -- 41 "O'Brien"
	assert_status 0
	assert_same "42,O'Brien,7" "$output"
	evil="'); drop table fapg.items; --"
	run fa-pg -F csv -t -c 'select $1::text' -- "$evil"
	assert_same "$evil" "$output"
	[ "$(psql_fa -tA -c 'select count(*) from fapg.items')" = 3 ]
	# $n inside quotes, comments and dollar quotes is not a parameter
	run fa-pg -F csv -t -c "select '\$1', \$\$ \$2 \$\$ /* \$3 */, \$1::int" -- 5
	assert_status 0
	assert_same "\$1, \$2 ,5" "$output"
}

@test "a statement using more parameters than given is a usage error (exit 2)" {
	run fa-pg -c 'select $1, $2' -- only-one
	assert_status 2
	assert_contains "$output" 'statement uses $2, but 1 parameter was given after --'
}

@test "variables: -v, \\set, :name, :'name' quoted as a literal, :\"name\" as an identifier" {
	run fa-pg -F csv -t -v "who=O'Brien; drop table x" -v tbl=items -c "select :'who'" \
		-c '\set col name' -c 'select :"col" from fapg.:tbl where id = 1'
	assert_status 0
	assert_same "$(printf '%s\n%s' "O'Brien; drop table x" apple)" "$output"
}

@test "\\gset stores a row's columns in variables" {
	run fa-pg -F csv -t -c "select 7 as a, 'x' as b \\gset p_" -c "select :p_a * 2, :'p_b'"
	assert_status 0
	assert_same "14,x" "$output"
}

@test "a script stops at the first error: exit 1, file:line, caret; nothing after runs" {
	script="$BATS_TEST_TMPDIR/s.sql"
	printf 'select 1;\n\n-- a comment\nselect *\n  from nope;\ninsert into fapg.log values (99, 0);\n' > "$script"
	run fa-pg -f "$script"
	assert_status 1
	assert_contains "$output" "fa-pg:$script:4: ERROR:  42P01: relation \"nope\" does not exist"
	assert_contains "$output" "LINE 2:   from nope"
	assert_contains "$output" "$(printf 'LINE 2:   from nope\n               ^')"
	[ "$(psql_fa -tA -c 'select count(*) from fapg.log where n = 99')" = 0 ]
}

@test "--continue-on-error runs the rest and still exits 1" {
	run fa-pg --continue-on-error -F csv -t -c 'select 1/0' -c 'select 2'
	assert_status 1
	assert_contains "$output" "22012: division by zero"
	[ "${lines[-1]}" = 2 ]
}

@test "-1 runs a script in one transaction: an error rolls all of it back" {
	run fa-pg -1 -c "insert into fapg.log values (1, 0)" -c "insert into fapg.log values ('x', 0)"
	assert_status 1
	assert_contains "$output" "rolled back"
	[ "$(psql_fa -tA -c 'select count(*) from fapg.log where n = 1')" = 0 ]
	run fa-pg -1 -q -c "insert into fapg.log values (1, 0)" -c "insert into fapg.log values (1, 0)"
	assert_status 0
	[ "$(psql_fa -tA -c 'select count(*) from fapg.log where n = 1')" = 2 ]
	psql_fa -q -c 'delete from fapg.log'
}

@test "--pipeline loads 2500 inserts; a failing batch rolls back alone and stops" {
	psql_fa -q -c 'create table fapg.ins (a int, b text)'
	script="$BATS_TEST_TMPDIR/ins.sql"
	for i in $(seq 1 2500); do echo "insert into fapg.ins values ($i, 'row $i');"; done > "$script"
	run fa-pg -q --pipeline -f "$script"
	assert_status 0
	[ "$(psql_fa -tA -c 'select count(*), sum(a) from fapg.ins')" = "2500|3126250" ]
	psql_fa -q -c 'truncate fapg.ins'
	sed -i '1300s/.*/insert into fapg.ins values (oops);/' "$script"
	run fa-pg -q --pipeline --batch 500 -f "$script"
	assert_status 1
	assert_contains "$output" "fa-pg:$script:1300: ERROR:  42703"
	assert_contains "$output" "200 statements after it in that batch did not run"
	# batches 1-1000 committed; 1001-1500 (the failed one) and the rest did not
	[ "$(psql_fa -tA -c 'select count(*), max(a) from fapg.ins')" = "1000|1000" ]
}

@test "-j N runs statements on N connections, output in input order" {
	psql_fa -q -c 'delete from fapg.log'
	script="$BATS_TEST_TMPDIR/j.sql"
	for i in 1 2 3 4 5 6; do
		echo "insert into fapg.log select $i, pg_backend_pid() from pg_sleep(0.$((7 - i))) returning n;"
	done > "$script"
	run fa-pg -j 3 -F csv -t -f "$script"
	assert_status 0
	assert_same "$(printf '1\n2\n3\n4\n5\n6')" "$output"
	pids=$(psql_fa -tA -c 'select count(distinct pid) from fapg.log')
	[ "$pids" -ge 2 ] && [ "$pids" -le 3 ]
	psql_fa -q -c 'delete from fapg.log'
}

@test "-j stops handing out statements after an error" {
	run fa-pg -j 2 -F csv -t -c 'select 1' -c 'select 1/0' -c 'select pg_sleep(0.3)' \
		-c 'insert into fapg.log values (42, 0)' -c 'insert into fapg.log values (43, 0)'
	assert_status 1
	[ "$(psql_fa -tA -c 'select count(*) from fapg.log where n = 43')" = 0 ]
	psql_fa -q -c 'delete from fapg.log'
}

@test "statements and meta-commands from stdin; the last statement needs no semicolon" {
	run fa-pg -F csv -t <<'SQL'
\set v 3
select :v * 2;
select 'done'
SQL
	assert_status 0
	assert_same "$(printf '6\ndone')" "$output"
}

@test "input ending inside a quote is malformed input (exit 4) with its line" {
	run fa-pg -c "select 1;" -c "select 'open
and more"
	assert_status 4
	assert_contains "$output" "input ended inside a quoted string"
}

@test "a missing file is exit 4, naming the file" {
	run fa-pg -f /nonexistent/x.sql
	assert_status 4
	assert_same "fa-pg: cannot open '/nonexistent/x.sql': No such file or directory" "$output"
}

@test "usage errors exit 2 with a hint" {
	run fa-pg --frobnicate
	assert_status 2
	assert_contains "$output" "unknown option '--frobnicate'"
	assert_contains "$output" "Try 'fa-pg --help'"
	run fa-pg -F xml -c 'select 1'
	assert_status 2
	run fa-pg -j 0 -c 'select 1'
	assert_status 2
	assert_contains "$output" "'--jobs' takes a whole number from 1 to 256, not '0'"
	run fa-pg --pipeline -j 2 -c 'select 1'
	assert_status 2
	run fa-pg -c
	assert_status 2
	assert_contains "$output" "needs an argument"
}

@test "connection settings: --db, then DATABASE_URL, then PG*, then the embedded default" {
	run fa-pg --db 'host=/nonexistent port=5' -c 'select 1'
	assert_status 3
	assert_contains "$output" "cannot connect (--db)"
	DATABASE_URL='postgresql:///x?host=/nonexistent' run fa-pg -c 'select 1'
	assert_status 3
	assert_contains "$output" "cannot connect (DATABASE_URL)"
	# --db wins over DATABASE_URL
	DATABASE_URL='postgresql:///x?host=/nonexistent' run fa-pg --db "$FA_CONNINFO" -t -c 'select 5'
	assert_status 0
	PGHOST=/nonexistent run fa-pg -c 'select 1'
	assert_status 3
	assert_contains "$output" "cannot connect (PG* environment)"
	run fa-pg -t -F csv -c 'select current_database()'
	assert_status 0
	[ "$output" = "$(psql_fa -tA -c 'select current_database()')" ]
}

@test "COPY TO STDOUT streams; COPY FROM STDIN reads the script's following lines" {
	run fa-pg -c "copy (select id, name from fapg.items order by id) to stdout with (format csv)"
	assert_status 0
	assert_same "$(printf '1,apple\n2,"pear, green"\n3,"Zoë ""quoted"""')" "$output"
	run fa-pg -q -f - <<'SQL'
copy fapg.log (n, pid) from stdin;
7	70
8	80
\.
select 1;
SQL
	assert_status 0
	[ "$(psql_fa -tA -c 'select sum(n), sum(pid) from fapg.log')" = "15|150" ]
	psql_fa -q -c 'delete from fapg.log'
}

@test "-o writes results to a file; \\o switches output" {
	run fa-pg -o "$BATS_TEST_TMPDIR/out.csv" -F csv -c 'select 1 as a'
	assert_status 0
	[ -z "$output" ]
	assert_same "$(printf 'a\n1')" "$(cat "$BATS_TEST_TMPDIR/out.csv")"
	run fa-pg -F csv -t -c "\\o $BATS_TEST_TMPDIR/o2" -c 'select 2' -c '\o' -c 'select 3'
	assert_same 3 "$output"
	assert_same 2 "$(cat "$BATS_TEST_TMPDIR/o2")"
}

@test "\\timing prints each statement's time; \\echo; \\x expanded output" {
	run fa-pg -c '\timing on' -c 'select 1' -c 'select 1' -c 'select 2'
	assert_contains "$output" "Timing is on."
	[[ "$output" =~ Time:\ [0-9]+\.[0-9]{3}\ ms ]]
	# the same statement text again: its p50/p99 over the session
	[[ "$output" =~ Time:\ [0-9.]+\ ms\ \(p50\ [0-9.]+\ ms,\ p99\ [0-9.]+\ ms\ over\ 2\ runs\) ]]
	[ "$(grep -c 'over' <<<"$output")" = 1 ]
	run fa-pg -c '\echo hello world'
	assert_same "hello world" "$output"
	expected=$(psql_fa -x -c 'select 1 as a, $$two$$ as bb')
	run fa-pg -x -c 'select 1 as a, $$two$$ as bb'
	assert_same "$expected" "$output"
}

@test "\\d and friends print what psql prints, byte for byte" {
	psql_fa -q <<'SQL'
CREATE TABLE fapg.orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  item int NOT NULL REFERENCES fapg.items(id), qty int DEFAULT 1 CHECK (qty > 0), note text);
CREATE INDEX orders_item_idx ON fapg.orders (item) WHERE qty > 1;
CREATE VIEW fapg.big_orders AS SELECT * FROM fapg.orders WHERE qty > 10;
CREATE SEQUENCE fapg.counter;
COMMENT ON TABLE fapg.orders IS 'what people bought';
CREATE FUNCTION fapg.double(a int) RETURNS int LANGUAGE sql AS 'select a * 2';
SQL
	for m in '\dt fapg.*' '\dt+ fapg.*' '\d fapg.*' '\d+ fapg.orders' '\d fapg.items' \
		'\di fapg.*' '\dv fapg.*' '\ds fapg.*' '\df fapg.*' '\df+ fapg.*' '\dn fapg' \
		'\dn+ fapg' '\du' '\l' '\d+ fapg.big_orders' '\d fapg.orders_pkey' '\d fapg.counter'; do
		expected=$(psql_fa -c "$m" 2>&1)
		run fa-pg -c "$m"
		assert_status 0
		assert_same "$expected" "$output" || { echo "differs: $m"; return 1; }
	done
	run fa-pg -c '\d nosuchthing'
	assert_status 1
	assert_same 'Did not find any relation named "nosuchthing".' "$output"
}

@test "\\bench runs over the pool and prints tps and latency percentiles" {
	run fa-pg -c '\bench -c 2 -n 200 select 1'
	assert_status 0
	[[ "$output" =~ ^200\ statements\ in\ [0-9.]+\ s\ over\ 2\ connections:\ [0-9.]+\ tps ]]
	[[ "${lines[1]}" =~ ^latency\ ms:\ p50\ [0-9.]+\ \ p90\ [0-9.]+\ \ p99\ [0-9.]+\ \ max\ [0-9.]+$ ]]
	run fa-pg -c '\bench -n 5 select 1/0'
	assert_status 1
	assert_contains "$output" "division by zero"
	# statements are prepared once per connection: parameters bind, and a
	# statement that cannot be prepared reports the server's error
	run fa-pg -c '\bench -c 2 -n 300 select $1::int * 2' -- 21
	assert_status 0
	assert_contains "$output" "300 statements in"
	run fa-pg -c '\bench -n 5 select nosuch'
	assert_status 1
	assert_contains "$output" 'column "nosuch" does not exist'
}

@test "results stream: peak memory stays flat from 100k to 1M rows" {
	q='select i, md5(i::text), i * 1.5, now() from generate_series(1, %d) i'
	rss() { /usr/bin/time -f '%M' fa-pg -F csv -c "$(printf "$q" "$1")" 2>&1 >/dev/null | tail -1; }
	small=$(rss 100000)
	big=$(rss 1000000)
	echo "peak RSS KiB: 100k rows $small, 1M rows $big"
	# ten times the rows may not cost even 1.5 times the memory: 900k more
	# rows (about 70 MB of CSV) held would be far more than that
	[ "$big" -lt $((small * 3 / 2)) ]
}

@test "Ctrl-C (SIGINT) cancels the running statement and exits 130" {
	fa-pg -c 'select pg_sleep(30)' > "$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		[ "$(psql_fa -tA -c "select count(*) from pg_stat_activity where query = 'select pg_sleep(30)'")" = 1 ] && break
		sleep 0.1
	done
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 130 ]
	assert_contains "$(cat "$BATS_TEST_TMPDIR/out")" "canceling statement due to user request"
}

# Runs until $1 (a LIKE pattern) is an active query, at most 10 s.
wait_active() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(psql_fa -tA -c "select count(*) from pg_stat_activity
			where state = 'active' and query like '$1'")" = 1 ] && return 0
		sleep 0.1
	done
	echo "no active query like '$1' after 10 s" >&2
	return 1
}

# Terminates the backends running a query like $1.
terminate_query() {
	psql_fa -tA -c "select count(pg_terminate_backend(pid)) from pg_stat_activity
		where query like '$1' and pid <> pg_backend_pid()"
}

@test "a lost connection stops a script: exit 3, file:line and the statement whose outcome is unknown" {
	local f="$BATS_TEST_TMPDIR/lost.sql" pid status=0
	psql_fa -q -c 'create table fapg.lost (n int)'
	cat >"$f" <<'SQL'
insert into fapg.lost values (1);

-- runs until its backend is terminated
insert into fapg.lost
  select 2 from pg_sleep(30);
insert into fapg.lost values (3);
SQL
	fa-pg -f "$f" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_active 'insert into fapg.lost%pg_sleep(30)%'
	assert_same 1 "$(terminate_query 'insert into fapg.lost%pg_sleep(30)%')"
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/err"
	[ "$status" -eq 3 ]
	assert_same 'INSERT 0 1' "$(cat "$BATS_TEST_TMPDIR/out")"
	assert_same "fa-pg:$f:4: FATAL:  57P01: terminating connection due to administrator command" \
		"$(head -n 1 "$BATS_TEST_TMPDIR/err")"
	assert_same "fa-pg:$f:4: connection lost while running \"insert into fapg.lost ...\": its outcome is unknown; nothing after it was run" \
		"$(tail -n 1 "$BATS_TEST_TMPDIR/err")"
	# The terminated insert rolled back, and the one after it never ran.
	assert_same 1 "$(psql_fa -tA -c 'select string_agg(n::text, $$,$$) from fapg.lost')"

	# With -1, the open transaction is said to be lost: nothing was committed.
	status=0
	fa-pg -1 -f "$f" >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_active 'insert into fapg.lost%pg_sleep(30)%'
	terminate_query 'insert into fapg.lost%pg_sleep(30)%'
	wait "$pid" || status=$?
	[ "$status" -eq 3 ]
	assert_same 'fa-pg: the transaction in progress was lost: nothing in it was committed' \
		"$(tail -n 1 "$BATS_TEST_TMPDIR/err")"
	assert_same 1 "$(psql_fa -tA -c 'select count(*) from fapg.lost')"
	psql_fa -q -c 'drop table fapg.lost'
}

@test "-j: a lost connection exits 3 naming the statement" {
	local f="$BATS_TEST_TMPDIR/lost-j.sql" pid status=0
	printf '%s\n' 'select 1;' 'select pg_sleep(30) as lost_j;' 'select 3;' >"$f"
	fa-pg -j 2 -f "$f" >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_active 'select pg_sleep(30) as lost_j'
	terminate_query 'select pg_sleep(30) as lost_j'
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/err"
	[ "$status" -eq 3 ]
	# Whether the pool's message or fa-pg's own: the statement is named.
	assert_contains "$(tail -n 1 "$BATS_TEST_TMPDIR/err")" "fa-pg:$f:2: "
	assert_contains "$(tail -n 1 "$BATS_TEST_TMPDIR/err")" '"select pg_sleep(30) as lost_j"'
}

@test "a closed pipe ends fa-pg quietly" {
	run bash -c "fa-pg -F csv -t -c 'select generate_series(1, 1000000)' | head -2"
	assert_status 0
	assert_same "$(printf '1\n2')" "$output"
}

@test "--help and --version" {
	run fa-pg --help
	assert_status 0
	assert_contains "$output" "usage: fa-pg"
	run fa-pg --version
	assert_status 0
	[[ "$output" =~ ^fa-pg\ [0-9]+\.[0-9]+\.[0-9]+ ]]
}
