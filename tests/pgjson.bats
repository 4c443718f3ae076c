#!/usr/bin/env bats
# Arrays and composites in JSON output are what PostgreSQL's to_json()
# makes of the same values: every built-in array type, composites nested
# both ways, the quoting edge cases; through fa-pg, fa-copy, fa-serve and
# fa-mcp.  Both sides are parsed and compared (numbers as written, so 1.50
# and 1.5 differ, and a number never equals a string).

load helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS fajt CASCADE;
CREATE SCHEMA fajt;
CREATE TYPE fajt.pair AS (id int, name text, tags text[]);
CREATE TYPE fajt.outer AS (p fajt.pair, ps fajt.pair[], ok bool, at timestamptz);
CREATE TYPE fajt.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN fajt.ints AS int[];
CREATE DOMAIN fajt.posint AS int CHECK (VALUE > 0);
CREATE TYPE fajt.dropped AS (a int, gone text, b text);
ALTER TYPE fajt.dropped DROP ATTRIBUTE gone;
CREATE TABLE fajt.t (
	id int PRIMARY KEY, tags text[], ints int[], nums numeric[], fl float8[], b bool[],
	grid int[], bounded int[], j jsonb[], ts timestamptz[], boxes box[], p fajt.pair,
	ps fajt.pair[], o fajt.outer, moods fajt.mood[], d fajt.ints, pos fajt.posint[],
	dr fajt.dropped, words varchar(5)[]
);
INSERT INTO fajt.t VALUES
 (1, '{"a,b",NULL,"NULL","",vegan," sp ","q\"b\\s","{x}"}', '{}', '{1.50,NaN,-0.000,1e-20}',
  '{1.5,NaN,Infinity,-Infinity,1e300,-0}', '{t,f,NULL}', '{{1,2},{3,NULL}}', '[0:1]={1,2}',
  ARRAY['{"a": [1, {"b": null}]}', '"s"', 'null', NULL]::jsonb[],
  '{"2026-01-02 03:04:05+00","1999-12-31 23:59:59.123456+05:30",infinity}',
  '{(1,1),(0,0);(3,3),(2,2)}', '(1,"x, \"y\"","{a,NULL}")',
  ARRAY['(1,a,{})', NULL, '(,,)', '(2,"(b)","{\"c d\"}")']::fajt.pair[],
  ROW(ROW(1, 'a', '{}'), ARRAY[ROW(2, 'b', '{y}')::fajt.pair], true, '2026-01-02 03:04:05+00'),
  '{sad,happy}', '{7,8}', '{1,2}', ROW(1, 'z'), '{ab,"c d"}'),
 (2, '{}', NULL, NULL, '{}', NULL, '[-1:0][2:3]={{1,2},{3,4}}', '[5:5]={9}', '{}', NULL, '{}',
  NULL, '{}', ROW(NULL, NULL, NULL, NULL), '{}', '{}', NULL, ROW(NULL, NULL), NULL),
 (3, '{{a,b},{c,d}}', '{{{1}},{{2}}}', '{1}', NULL, '{}', '{}', '{}', NULL, '{}', NULL,
  '(,"","{}")', ARRAY[ROW(3, '', '{"",NULL}')]::fajt.pair[], NULL, NULL, NULL, NULL, NULL,
  '{}');
SQL
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS fajt CASCADE'
}

# same_json FILE_A FILE_B [MODE]: the two JSON texts hold equal values;
# numbers compare by their text, and a difference is shown path by path.
# MODE reads FILE_A otherwise: "first" takes element 0 of its array,
# "lines" one value per line, "mcp" the rows of the structuredContent of
# the JSON-RPC answer with id 1, numbers then compared by value (jansson
# writes 1.50 as 1.5).
same_json() {
	python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
from decimal import Decimal

mode = sys.argv[3]
def num(s):
    return ("num", Decimal(s) if mode == "mcp" and s not in ("NaN", "Infinity", "-Infinity") else s)

def loads(text):
    return json.loads(text, parse_float=num, parse_int=num, parse_constant=num)

def load(path, how):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if how == "first":
        return loads(text)[0]
    if how == "lines":
        return [loads(l) for l in text.splitlines() if l.strip()]
    if how == "mcp":
        for l in text.splitlines():
            m = loads(l)
            if m.get("id") == ("num", 1) or m.get("id") == ("num", Decimal(1)):
                return m["result"]["structuredContent"]["rows"]
        return "<no answer>"
    return loads(text)

def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k, "<missing>"), b.get(k, "<missing>"), path + "." + k, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), out)
    elif a != b:
        out.append("%s:\n  fa:      %s\n  to_json: %s" % (path, str(a)[:300], str(b)[:300]))

out = []
diff(load(sys.argv[1], mode), load(sys.argv[2], ""), "", out)
print("\n".join(out))
sys.exit(1 if out else 0)
PY
}

# to_json of every row of fajt.t, as one JSON array in $1.
expect_rows() {
	psql_fa -At -c "SELECT json_agg(t ORDER BY id) FROM fajt.t t" > "$1"
}

@test "every built-in array type, and arrays of catalog row types, as to_json gives them" {
	# A sample of each array type, made by casting candidate literals to
	# its element type (two values and a NULL where the type allows), or
	# for composite elements two rows of the relation; stored as text so
	# that both sides read the very same value.
	psql_fa -q <<'SQL'
CREATE TABLE fajt.samples (n serial, arr text, lit text);
DO $$
DECLARE
	r record;
	c text;
	v text;
	cands text[] := ARRAY['1', '2020-01-02 03:04:05.5+05:30', 'a', '(1,2)', '1.5', 't',
		'00:11:22:33:44:55', '00:11:22:33:44:55:66:77', '192.168.0.1/24', '{"a": [1, null]}',
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[1,5)', '{[1,5)}', '1 day 02:03:04',
		'<(1,2),3>', '((0,0),(1,1),(1,0))', '{1,2,3}', '[(0,0),(1,1)]', '(1,2),(3,4)',
		'$1.50', 'B0/1', '10:20:30', '10:20:30+02', '<a>x</a>', 'fat & rat', '''fat'':1',
		'1 2', '10:20:', '{}', 'x', '01', 'NaN', '[2020-01-02,2020-01-05)', '[2020-01-02 03:04,2020-01-05 06:07)',
		'YES', quote_ident(current_user) || '=arw/' || quote_ident(current_user)];
BEGIN
	FOR r IN SELECT t.oid::regtype::text AS arr, e.oid::regtype::text AS elem,
			e.typrelid::regclass::text AS rel
		 FROM pg_type t JOIN pg_type e ON e.oid = t.typelem
		 WHERE t.typcategory = 'A' AND t.typlen = -1
		   AND t.typnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
		 ORDER BY t.oid
	LOOP
		v := NULL;
		IF r.rel IS NOT NULL AND r.rel <> '-' THEN
			BEGIN
				EXECUTE format('SELECT (SELECT array_agg(x) FROM (SELECT x FROM %s x LIMIT 2) x)::text',
					       r.rel) INTO v;
				EXECUTE format('SELECT %L::%s', v, r.arr);
			EXCEPTION WHEN OTHERS THEN v := NULL;
			END;
			IF v IS NULL THEN       -- an empty catalog: a row of NULL fields
				EXECUTE format('SELECT ARRAY[jsonb_populate_record(NULL::%s, ''{}''), NULL]::text',
					       r.rel) INTO v;
			END IF;
		ELSE
			FOREACH c IN ARRAY cands LOOP
				BEGIN
					EXECUTE format('SELECT ARRAY[%L::%s, NULL, %L::%s]::%s::text',
						       c, r.elem, c, r.elem, r.arr) INTO v;
				EXCEPTION WHEN OTHERS THEN
					BEGIN
						EXECUTE format('SELECT ARRAY[%L::%s, %L::%s]::%s::text',
							       c, r.elem, c, r.elem, r.arr) INTO v;
					EXCEPTION WHEN OTHERS THEN v := NULL;
					END;
				END;
				EXIT WHEN v IS NOT NULL;
			END LOOP;
		END IF;
		IF v IS NOT NULL THEN
			INSERT INTO fajt.samples (arr, lit) VALUES (r.arr, v);
		END IF;
	END LOOP;
END $$;
SQL
	builtin="typcategory = 'A' AND typlen = -1
		AND typnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)"
	total=$(psql_fa -At -c "SELECT count(*) FROM pg_type WHERE $builtin")
	made=$(psql_fa -At -c "SELECT count(*) FROM fajt.samples")
	echo "samples for $made of $total array types; none for:"
	psql_fa -At -c "SELECT oid::regtype FROM pg_type WHERE $builtin
		AND oid::regtype::text NOT IN (SELECT arr FROM fajt.samples)"
	# all but gtsvector[] (no input function) have one
	[ "$made" -ge $((total - 1)) ]
	[ "$(psql_fa -At -c "SELECT count(*) FROM fajt.samples WHERE arr IN ('int2vector', 'oidvector',
		'text[]', 'box[]', 'numeric[]', 'timestamp without time zone[]', 'jsonb[]', 'pg_class[]')")" -eq 8 ]
	psql_fa -At -c "SELECT 'SELECT ' || string_agg(format('%L::%s AS %I', lit, arr, 'c' || n), ', '
		ORDER BY n) FROM fajt.samples" > "$BATS_TEST_TMPDIR/q.sql"
	psql_fa -At -c "SELECT to_json(x) FROM ($(cat "$BATS_TEST_TMPDIR/q.sql")) x" > "$BATS_TEST_TMPDIR/want"
	fa-pg -F json -f "$BATS_TEST_TMPDIR/q.sql" > "$BATS_TEST_TMPDIR/got"
	run same_json "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want" first
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fa-pg -F json and ndjson: quoting, NULL and \"NULL\", bounds, nesting, composites as to_json" {
	expect_rows "$BATS_TEST_TMPDIR/want"
	fa-pg -F json -c "SELECT * FROM fajt.t ORDER BY id" > "$BATS_TEST_TMPDIR/got"
	run same_json "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	echo "$output"
	[ "$status" -eq 0 ]
	# the spelled-out cases, so that a shared mistake cannot pass
	jq -e '.[0].tags == ["a,b",null,"NULL","","vegan"," sp ","q\"b\\s","{x}"]
		and .[0].bounded == [1,2] and .[1].grid == [[1,2],[3,4]] and .[0].grid == [[1,2],[3,null]]
		and .[0].ps[1] == null and .[0].ps[2] == {"id":null,"name":null,"tags":null}
		and .[0].o.ps[0].tags == ["y"] and .[0].o.at == "2026-01-02T03:04:05+00:00"
		and .[0].d == [7,8] and .[0].dr == {"a":1,"b":"z"} and .[2].p.name == ""
		and .[0].boxes == ["(1,1),(0,0)","(3,3),(2,2)"] and .[0].j[0].a[1].b == null
		and .[1].tags == [] and .[2].ints == [[[1]],[[2]]]' "$BATS_TEST_TMPDIR/got"
	grep -q '"nums":\[1.50,"NaN",0.000,1E-20\]\|"nums":\[1.50,"NaN",0.000,0.00000000000000000001\]' \
		"$BATS_TEST_TMPDIR/got"
	fa-pg -F ndjson -c "SELECT * FROM fajt.t ORDER BY id" > "$BATS_TEST_TMPDIR/nd"
	run same_json "$BATS_TEST_TMPDIR/nd" "$BATS_TEST_TMPDIR/want" lines
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fa-copy out --format json and ndjson: arrays and composites as to_json" {
	expect_rows "$BATS_TEST_TMPDIR/want"
	fa-copy out -q --format json 'SELECT * FROM fajt.t ORDER BY id' > "$BATS_TEST_TMPDIR/got"
	run same_json "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	echo "$output"
	[ "$status" -eq 0 ]
	fa-copy out -q --format ndjson 'SELECT * FROM fajt.t ORDER BY id' > "$BATS_TEST_TMPDIR/nd"
	run same_json "$BATS_TEST_TMPDIR/nd" "$BATS_TEST_TMPDIR/want" lines
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fa-serve: a route's arrays and composites as to_json" {
	mkdir -p "$BATS_TEST_TMPDIR/routes"
	cat > "$BATS_TEST_TMPDIR/routes/t.sql" <<'SQL'
-- name: all_t
-- route: GET /t
SELECT * FROM fajt.t ORDER BY id;
SQL
	serve_bg "$BATS_TEST_TMPDIR" fa-serve --listen 127.0.0.1:0 --threads 1 "$BATS_TEST_TMPDIR/routes"
	spid=$(cat "$BATS_TEST_TMPDIR/pid")
	port=$(cat "$BATS_TEST_TMPDIR/port")
	expect_rows "$BATS_TEST_TMPDIR/want"
	# twice: the second answer comes from the worker's cached types
	for _ in 1 2; do
		curl -sS "http://127.0.0.1:$port/t" > "$BATS_TEST_TMPDIR/got"
		run same_json "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
		echo "$output"
		[ "$status" -eq 0 ]
	done
	kill -TERM "$spid"
	wait "$spid" || true
	spid=
}

teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
}

@test "fa-mcp: structuredContent rows keep arrays and composites as to_json" {
	mkdir -p "$BATS_TEST_TMPDIR/tools"
	cat > "$BATS_TEST_TMPDIR/tools/t.sql" <<'SQL'
-- name: all_t
-- tool: Every row of fajt.t
SELECT * FROM fajt.t ORDER BY id;
SQL
	expect_rows "$BATS_TEST_TMPDIR/want"
	printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"all_t","arguments":{}}}' |
		timeout 60 fa-mcp serve "$BATS_TEST_TMPDIR/tools" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	run same_json "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want" mcp
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a composite altered during a session: a string until it matches again, never wrong keys" {
	psql_fa -q -c "CREATE TYPE fajt.ev AS (a int, b text)"
	run fa-pg -F ndjson -c "SELECT ROW(1, 'x')::fajt.ev AS v" \
		-c "ALTER TYPE fajt.ev ADD ATTRIBUTE c int" \
		-c "SELECT ROW(1, 'x', 3)::fajt.ev AS v" \
		-c "DROP TYPE fajt.ev" -c "CREATE TYPE fajt.ev AS (a int, b text, c int)" \
		-c "SELECT ROW(1, 'x', 3)::fajt.ev AS v"
	assert_status 0
	echo "$output"
	# described once: after ADD ATTRIBUTE the field count differs, so the
	# text is kept whole; a type made again has a new OID and is read afresh
	assert_same '{"v":{"a":1,"b":"x"}}
{"v":"(1,x,3)"}
{"v":{"a":1,"b":"x","c":3}}' "$output"
	psql_fa -q -c "DROP TYPE fajt.ev"
}

@test "\\c to another database: its types are looked up there, the old ones forgotten" {
	psql_fa -q -c "DROP DATABASE IF EXISTS fajt_other" -c "CREATE DATABASE fajt_other"
	psql -X -q -v ON_ERROR_STOP=1 "$FA_CONNINFO dbname=fajt_other" -c "CREATE TYPE public.pair2 AS (x int, y int)"
	run fa-pg -F ndjson -c "SELECT ROW(1, 'a', '{b}')::fajt.pair AS v" -c "\\c fajt_other" \
		-c "SELECT ROW(1, 2)::pair2 AS v"
	psql_fa -q -c "DROP DATABASE fajt_other"
	assert_status 0
	echo "$output"
	[ "${lines[0]}" = '{"v":{"id":1,"name":"a","tags":["b"]}}' ]
	[ "${lines[-1]}" = '{"v":{"x":1,"y":2}}' ]
}
