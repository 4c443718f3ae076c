#!/usr/bin/env bats
# fa-copy: round trips through every format and compressor, batches that
# cut multi-line CSV, the reject file, stopping on the first error, resume
# after kill -9, Ctrl-C, lost connections (a restart mid-load, retries used
# up, COMMITs whose answer is lost), malformed input, NDJSON, the in
# options, the out direction, usage errors and flat memory.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS facopy CASCADE;
CREATE SCHEMA facopy;
CREATE EXTENSION IF NOT EXISTS pg_visibility SCHEMA facopy;
-- every type the issue names, and values that are hard to carry: quotes,
-- commas, CR/LF, backslashes, \. alone on a line, non-ASCII, NULL and ''
CREATE TABLE facopy.mixed (id bigint PRIMARY KEY, t text, f float8, ts timestamptz,
	i int, n numeric, j json, jb jsonb);
INSERT INTO facopy.mixed VALUES
 (1, 'plain', 1.5, '2026-01-02 03:04:05+00', 7, 1.50, '{"a":[1,2]}', '{"b":null}'),
 (2, E'quote " comma , nl\nx\r\ncrlf', '-0', '1999-12-31 23:59:59.123456+05:30', NULL, 'NaN', '"s"', '[]'),
 (3, 'Zoë 日本 ✓ 😀', 1e300, NULL, -2147483648, 123456789012345678901234567890.123, '[1,"two",{"3":4}]', '{}'),
 (4, '', NULL, 'infinity', 0, NULL, NULL, NULL),
 (5, NULL, 'NaN', '-infinity', 1, -0.5, '{}', '"x"'),
 (6, E'\\.', 'Infinity', '2026-06-01 12:00:00+02', 2, 0, '1', '2'),
 (7, E'a\n\\.\nb', '-Infinity', '2000-01-01', 3, 1e-20, 'true', 'false'),
 (8, E'tab\there back\\slash \\N "\\"', 2.2250738585072014e-308, '2026-01-01', 4, -0, '{"k":"v\"q"}', '{"k":"v\"q"}');
SELECT setseed(0.31);
INSERT INTO facopy.mixed SELECT 100 + g,
  CASE WHEN random() < 0.1 THEN NULL WHEN random() < 0.1 THEN '' ELSE
   (SELECT string_agg(chr((ARRAY[34,44,10,13,92,9,233,26085,128512,97,98,32,46,78])[1 + floor(random() * 14)::int]), '')
      FROM generate_series(1, 1 + (random() * 20)::int + g * 0)) END,
  CASE WHEN random() < 0.1 THEN NULL ELSE (random() - 0.5) * 10 ^ (random() * 30)::int END,
  CASE WHEN random() < 0.1 THEN NULL ELSE timestamptz '2000-01-01' + random() * interval '40 years' END,
  CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 4e9 - 2e9)::int END,
  CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 1e6)::numeric, (random() * 8)::int) END,
  CASE WHEN random() < 0.1 THEN NULL ELSE json_build_object('k', g, 's', md5(g::text) || E'"\n') END,
  CASE WHEN random() < 0.1 THEN NULL ELSE jsonb_build_array(g, random() < 0.5, NULL) END
 FROM generate_series(1, 2000) g;
CREATE TABLE facopy.mixed_copy (LIKE facopy.mixed INCLUDING ALL);

CREATE TABLE facopy.parent (id int PRIMARY KEY);
INSERT INTO facopy.parent SELECT generate_series(1, 10);
CREATE TABLE facopy.strict (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0),
	pid int REFERENCES facopy.parent, note text);

-- a statement-level trigger that naps: every batch (one COPY) takes 50 ms,
-- so that a signal or a lost connection lands mid-load; a session started
-- with PGOPTIONS='-c facopy.nap=0' (a rerun that only has to finish) does not
CREATE TABLE facopy.slow (id bigint PRIMARY KEY, v text);
CREATE FUNCTION facopy.nap() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM pg_sleep(coalesce(nullif(current_setting('facopy.nap', true), '')::float8, 0.05));
     RETURN NULL; END $$;
CREATE TRIGGER nap AFTER INSERT ON facopy.slow FOR EACH STATEMENT EXECUTE FUNCTION facopy.nap();
SQL
	echo "# facopy.mixed: random rows from setseed(0.31)" >&3
}

teardown_file() {
	# a test that failed half way may have left these set
	psql_fa -q -c "ALTER SYSTEM RESET synchronous_standby_names" \
		-c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null
	psql_fa -q -c 'DROP SCHEMA IF EXISTS facopy CASCADE' \
		-c "DO \$\$ BEGIN IF to_regclass('fa_copy_progress') IS NOT NULL THEN
			DELETE FROM fa_copy_progress WHERE id LIKE 'facopy-%'; END IF; END \$\$"
}

# Fails unless the two queries return the same rows (duplicates counted)
# and at least one; prints "only in first/second, count, count" otherwise.
same_rows() {
	local got
	got=$(psql_fa -At -F ' ' -c "SELECT (SELECT count(*) FROM ($1 EXCEPT ALL $2) a),
		(SELECT count(*) FROM ($2 EXCEPT ALL $1) b), (SELECT count(*) FROM ($1) c),
		(SELECT count(*) FROM ($2) d)")
	read -r only1 only2 n1 n2 <<<"$got"
	if [ "$only1" != 0 ] || [ "$only2" != 0 ] || [ "$n1" != "$n2" ] || [ "$n1" = 0 ]; then
		echo "rows differ: only in first $only1, only in second $only2, counts $n1 vs $n2" >&2
		return 1
	fi
}

# Whole rows as text: the strictest comparison (-0 vs 0, json spacing).
same_tables() {
	same_rows "SELECT x::text FROM $1 x" "SELECT y::text FROM $2 y"
}

# The last JSON line fa-copy wrote on stderr (--summary json).
summary() {
	grep '^{' <<<"$1" | tail -1
}

# The ids of table $1 as merged ranges, "1-50, 61-70", the way fa-copy
# reports committed input lines (for inputs where id = line).
id_ranges() {
	psql_fa -At -c "SELECT coalesce(string_agg(lo || '-' || hi, ', ' ORDER BY lo), '') FROM
		(SELECT min(id) lo, max(id) hi FROM (SELECT id, id - row_number() OVER (ORDER BY id) g
		FROM $1) s GROUP BY g) r"
}

truncate_copy() {
	psql_fa -q -c "TRUNCATE facopy.mixed_copy"
}

# ---- round trips ----

@test "csv round trip: mixed types out, into an empty copy, row for row and byte for byte" {
	f="$BATS_TEST_TMPDIR/m.csv"
	truncate_copy
	run fa-copy out -q facopy.mixed -o "$f"
	assert_status 0
	[ "$(wc -c <"$f")" -gt 10000 ]
	run fa-copy in -q -j 3 --batch-rows 97 facopy.mixed_copy "$f"
	assert_status 0
	same_tables facopy.mixed facopy.mixed_copy
	# the copy writes out the same bytes as the original
	q='select * from %s order by id'
	assert_same "$(fa-copy out -q "$(printf "$q" facopy.mixed)" | md5sum)" \
		"$(fa-copy out -q "$(printf "$q" facopy.mixed_copy)" | md5sum)"
	# NULL and '' stay apart
	[ "$(psql_fa -At -c "select t is null, t = '' from facopy.mixed_copy where id in (4, 5) order by id")" = "$(printf 'f|t\nt|')" ]
}

@test "tsv and text round trips" {
	for fmt in tsv text; do
		truncate_copy
		fa-copy out -q -F "$fmt" facopy.mixed >"$BATS_TEST_TMPDIR/m.$fmt"
		run fa-copy in -q -F "$fmt" -j 2 --batch-rows 101 facopy.mixed_copy "$BATS_TEST_TMPDIR/m.$fmt"
		assert_status 0
		same_tables facopy.mixed facopy.mixed_copy
	done
}

@test "ndjson round trip: every value back, json values equal as jsonb" {
	f="$BATS_TEST_TMPDIR/m.ndjson"
	truncate_copy
	fa-copy out -q -F ndjson facopy.mixed >"$f"
	[ "$(wc -l <"$f")" -eq 2008 ]
	jq -e -s 'length == 2008 and (map(select(.id == 2))[0].t == "quote \" comma , nl\nx\r\ncrlf")' "$f"
	run fa-copy in -q -F ndjson -j 2 --batch-rows 300 facopy.mixed_copy "$f"
	assert_status 0
	# lib/pg/ndjson.h: nested values arrive compacted, so json keeps its meaning, not its spacing
	cols='id, t, f::text, ts, i, n::text, j::jsonb, jb'
	same_rows "SELECT $cols FROM facopy.mixed" "SELECT $cols FROM facopy.mixed_copy"
}

@test "compressed: -o .gz, -o .zst, --compress zstd out; gzip -c and zstd -c piped in" {
	d=$BATS_TEST_TMPDIR
	fa-copy out -q facopy.mixed -o "$d/m.csv.gz"
	fa-copy out -q facopy.mixed -o "$d/m.csv.zst"
	fa-copy out -q facopy.mixed --compress zstd >"$d/m.zstd-stdout"
	fa-copy out -q facopy.mixed >"$d/m.csv"
	[ "$(head -c 2 "$d/m.csv.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ]
	[ "$(head -c 4 "$d/m.csv.zst" | od -An -tx1 | tr -d ' ')" = 28b52ffd ]
	[ "$(head -c 4 "$d/m.zstd-stdout" | od -An -tx1 | tr -d ' ')" = 28b52ffd ]
	cmp "$d/m.csv" <(gzip -dc "$d/m.csv.gz")
	cmp "$d/m.csv" <(zstd -dc "$d/m.csv.zst")
	for f in m.csv.gz m.csv.zst m.zstd-stdout; do
		truncate_copy
		run fa-copy in -q -j 2 facopy.mixed_copy "$d/$f"
		assert_status 0
		same_tables facopy.mixed facopy.mixed_copy
	done
	for z in gzip zstd; do
		truncate_copy
		run bash -c "$z -c '$d/m.csv' | fa-copy in -q --batch-rows 333 -j 3 facopy.mixed_copy"
		assert_status 0
		same_tables facopy.mixed facopy.mixed_copy
		truncate_copy
		run bash -c "$z -c '$d/m.csv' | fa-copy in -q facopy.mixed_copy -"
		assert_status 0
		same_tables facopy.mixed facopy.mixed_copy
	done
}

# ---- batches ----

@test "multi-line quoted CSV fields straddling batch boundaries: -j 4, --batch-rows 7" {
	psql_fa -q -c "CREATE TABLE facopy.ml (id int PRIMARY KEY, body text, tail text)"
	for eol in lf crlf; do
		f="$BATS_TEST_TMPDIR/ml-$eol.csv"
		python3 - "$f" "$eol" <<'PY'
import random, sys
seed = 1234
r = random.Random(seed)
eol = "\r\n" if sys.argv[2] == "crlf" else "\n"
with open(sys.argv[1], "w", newline="") as out:
    for i in range(1, 2001):
        n = r.choice([0, 0, 1, 2, 5, 9])
        body = eol.join('l%d, "q" é' % k for k in range(n)) if n else ("" if i % 3 else eol)
        out.write('%d,"%s",t%d%s' % (i, body.replace('"', '""'), i, eol))
print("# seed %d" % seed, file=sys.stderr)
PY
		psql_fa -q -c "TRUNCATE facopy.ml"
		run --separate-stderr fa-copy in -j 4 --batch-rows 7 --summary json facopy.ml "$f"
		assert_status 0
		summary "$stderr" | jq -e '.records == 2000 and .loaded == 2000 and .batches_committed == 286'
		python3 - "$f" >"$BATS_TEST_TMPDIR/want" <<'PY'
import csv, hashlib, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print(len(rows), sum(int(r[0]) for r in rows),
      hashlib.md5("\x1e".join("|".join(r) for r in rows).encode()).hexdigest())
PY
		got=$(psql_fa -At -F ' ' -c "select count(*), sum(id), md5(string_agg(id || '|' || body || '|' || tail, chr(30) order by id)) from facopy.ml")
		assert_same "$(cat "$BATS_TEST_TMPDIR/want")" "$got"
	done
}

# ---- rejects ----

# Writes a CSV of $2 records for facopy.strict, about a fifth of them bad in
# one of five ways (seed $1, batches of $3 records), and $4.expect.json:
# each record's first line -> [raw text, kind].
gen_rejects() {
	python3 - "$@" <<'PY'
import json, random, sys
seed, n, batch, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = random.Random(seed)
def q(s): return '"' + s.replace('"', '""') + '"'
recs, ids, k = [], [], 0
while len(recs) < n:
    k += 1
    x, kind = r.random(), "good"
    if x < 0.04: kind = "type"
    elif x < 0.08: kind = "notnull"
    elif x < 0.12: kind = "check"
    elif x < 0.16: kind = "fk"
    # a duplicate of the previous record's key, in the same batch (so the
    # first one always wins, whatever order the parallel batches commit in)
    elif x < 0.20 and len(recs) % batch and recs[-1][1] == "good": kind = "dup"
    key = ids[-1] if kind == "dup" else k
    lines = r.choice([1, 1, 1, 2, 3])
    note = "\n".join('l%d, "x" é' % j for j in range(lines))
    name = q("n%d" % k) if r.random() < 0.5 else "n%d" % k
    qty, pid = str(r.randint(0, 99)), str(r.randint(1, 10))
    if kind == "type": qty = r.choice(["x", "1.5", "99999999999", "''"])
    if kind == "notnull": name = ""
    if kind == "check": qty = str(-r.randint(1, 9))
    if kind == "fk": pid = str(r.randint(11, 99))
    recs.append((",".join([str(key), name, qty, pid, q(note)]), kind))
    if kind != "dup": ids.append(key)
starts, line = {}, 1
with open(out, "w", newline="") as f:
    for raw, kind in recs:
        f.write(raw + "\n")
        starts[line] = (raw, kind)
        line += raw.count("\n") + 1
json.dump(starts, open(out + ".expect.json", "w"))
print("# seed %d: %d records, %d bad" % (seed, n, sum(k != "good" for _, k in recs)), file=sys.stderr)
PY
}

# Checks the reject file and its log against gen_rejects' expectations;
# prints the good rows' count and checksum, as the table should have them.
check_rejects() {
	python3 - "$@" <<'PY'
import csv, hashlib, io, json, sys
src, rej, name = sys.argv[1:4]
starts = json.load(open(src + ".expect.json"))
log = [json.loads(l) for l in open(rej + ".log")]
want = b"".join((starts[str(e["line"])][0] + "\n").encode() for e in log)
got = open(rej, "rb").read()
assert got == want, "the reject file is not the bad records verbatim, in the log's order"
bad = sorted(int(l) for l, (raw, kind) in starts.items() if kind != "good")
lines = sorted(e["line"] for e in log)
assert lines == bad, "rejected lines %s, bad lines %s" % (lines[:20], bad[:20])
states = {"type": ("22P02", "22003"), "notnull": ("23502",), "check": ("23514",),
          "fk": ("23503",), "dup": ("23505",)}
for e in log:
    kind = starts[str(e["line"])][1]
    assert e["sqlstate"] in states[kind], "line %d is %s, logged %s" % (e["line"], kind, e)
    assert e["file"] == name and e["error"], e
good = sorted((next(csv.reader(io.StringIO(raw))) for raw, kind in starts.values() if kind == "good"),
              key=lambda f: int(f[0]))
print(len(good), hashlib.md5("\x1e".join("|".join(f) for f in good).encode()).hexdigest())
PY
}

@test "rejects: type, NOT NULL, CHECK, duplicate and FK errors isolated, verbatim, by line and SQLSTATE" {
	f="$BATS_TEST_TMPDIR/strict.csv"
	rej="$BATS_TEST_TMPDIR/strict.rej"
	gen_rejects 20260101 3000 7 "$f"
	psql_fa -q -c "TRUNCATE facopy.strict"
	run --separate-stderr fa-copy in -j 4 --batch-rows 7 --rejects "$rej" --summary json facopy.strict "$f"
	echo "$stderr"
	assert_status 1
	want=$(check_rejects "$f" "$rej" "$f")
	nbad=$(wc -l <"$rej.log")
	s=$(summary "$stderr")
	echo "$s" | jq -e --argjson bad "$nbad" '.records == 3000 and .rejected == $bad
		and .loaded + .rejected == .records and .error == null'
	got=$(psql_fa -At -F ' ' -c "select count(*), md5(string_agg(concat_ws('|', id, name, qty, pid, note), chr(30) order by id)) from facopy.strict")
	assert_same "$want" "$got"
	[ "$(echo "$s" | jq .loaded)" = "${want%% *}" ]
}

@test "rejects from stdin, one batch, one job: the same records, file named stdin" {
	f="$BATS_TEST_TMPDIR/strict.csv"
	rej="$BATS_TEST_TMPDIR/one.rej"
	gen_rejects 77 400 400 "$f"
	psql_fa -q -c "TRUNCATE facopy.strict"
	run --separate-stderr fa-copy in --rejects "$rej" --summary json facopy.strict <"$f"
	assert_status 1
	want=$(check_rejects "$f" "$rej" stdin)
	summary "$stderr" | jq -e '.records == 400 and .loaded + .rejected == 400 and .file == "stdin"'
	got=$(psql_fa -At -F ' ' -c "select count(*), md5(string_agg(concat_ws('|', id, name, qty, pid, note), chr(30) order by id)) from facopy.strict")
	assert_same "$want" "$got"
}

# ---- stopping on the first error ----

@test "without --rejects, one batch: the bad row's line is named, exit 1, nothing loaded" {
	psql_fa -q -c "CREATE TABLE facopy.ck (id int PRIMARY KEY, v int CHECK (v < 1000))"
	f="$BATS_TEST_TMPDIR/ck.csv"
	# a type error (the client cannot encode it) and a CHECK violation (only the server knows)
	for bad in "x" "5000"; do
		seq 1 100 | awk -v bad="$bad" '{ print $1 "," ($1 == 57 ? bad : $1) }' >"$f"
		psql_fa -q -c "TRUNCATE facopy.ck"
		run fa-copy in facopy.ck "$f"
		assert_status 1
		assert_contains "$output" "line 57:"
		assert_contains "$output" "committed input lines: none"
		[ "$(psql_fa -At -c 'select count(*) from facopy.ck')" = 0 ]
	done
}

@test "without --rejects, many batches: the load stops at the bad row and names it" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.ck (id int PRIMARY KEY, v int CHECK (v < 1000))"
	f="$BATS_TEST_TMPDIR/ck.csv"
	seq 1 100 | awk '{ print $1 "," ($1 == 57 ? "oops" : $1) }' >"$f"
	psql_fa -q -c "TRUNCATE facopy.ck"
	run --separate-stderr fa-copy in -j 1 --batch-rows 10 --summary json facopy.ck "$f"
	echo "$stderr"
	assert_status 1
	[ "$(psql_fa -At -c 'select count(*), min(id), max(id) from facopy.ck')" = "50|1|50" ]
	summary "$stderr" | jq -e '.committed_lines == "1-50" and .loaded == 50'
	assert_contains "$stderr" "line 57: 22P02"
	summary "$stderr" | jq -e '.error | test("line 57: 22P02: invalid input syntax")'
}

@test "without --rejects, in parallel: the committed line ranges are exactly what the table holds" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.ck (id int PRIMARY KEY, v int CHECK (v < 1000))"
	f="$BATS_TEST_TMPDIR/ck.csv"
	# what committed may have gaps; the bad row (a CHECK violation) is not among it
	seq 1 5000 | awk '{ print $1 "," ($1 == 2500 ? 5000 : $1 % 1000) }' >"$f"
	psql_fa -q -c "TRUNCATE facopy.ck"
	run --separate-stderr fa-copy in -j 4 --batch-rows 100 --summary json facopy.ck "$f"
	echo "$stderr"
	assert_status 1
	s=$(summary "$stderr")
	assert_same "$(echo "$s" | jq -r .committed_lines)" "$(id_ranges facopy.ck)"
	[ "$(echo "$s" | jq .loaded)" = "$(psql_fa -At -c 'select count(*) from facopy.ck')" ]
	[ "$(psql_fa -At -c 'select count(*) from facopy.ck where id between 2401 and 2500')" = 0 ]
	assert_contains "$stderr" "line 2500: 23514"
}

# ---- resume and signals ----

# Source rows for the slow table: $1 rows, every seventh value multi-line.
slow_source() {
	psql_fa -q -c "DROP TABLE IF EXISTS facopy.src; CREATE TABLE facopy.src (id bigint PRIMARY KEY, v text);
		INSERT INTO facopy.src SELECT g, md5(g::text) || CASE WHEN g % 7 = 0 THEN E'\n,\"' ELSE '' END
		FROM generate_series(1, $1) g; TRUNCATE facopy.slow"
}

checksum() {
	psql_fa -At -c "select count(*), sum(id), md5(string_agg(id || ':' || v, ',' order by id)) from $1"
}

# Waits until fa_copy_progress holds at least $2 batches for id $1.
wait_batches() {
	for _ in $(seq 300); do
		if [ "$(psql_fa -At -c "select to_regclass('fa_copy_progress') is not null")" = t ] &&
			[ "$(psql_fa -At -c "select count(*) from fa_copy_progress where id = '$1'")" -ge "$2" ]; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

@test "kill -9 in the middle of a parallel load, then the same command with --resume loads exactly the rest" {
	slow_source 200000
	f="$BATS_TEST_TMPDIR/src.csv.zst"
	fa-copy out -q facopy.src -o "$f"
	id=facopy-kill9
	cmd=(fa-copy in -j 4 --batch-rows 1000 --resume "$id" --summary json facopy.slow "$f")
	"${cmd[@]}" 2>"$BATS_TEST_TMPDIR/err1" &
	pid=$!
	wait_batches "$id" 20
	kill -9 "$pid"
	wait "$pid" || true
	# the server may still be finishing a COMMIT it was sent
	for _ in $(seq 100); do
		[ "$(psql_fa -At -c "select count(*) from pg_stat_activity where application_name = 'fa-copy'")" = 0 ] && break
		sleep 0.05
	done
	before=$(psql_fa -At -c "select count(*) from facopy.slow")
	done_batches=$(psql_fa -At -c "select count(*) from fa_copy_progress where id = '$id'")
	echo "killed with $before rows, $done_batches batches committed"
	[ "$before" -gt 0 ] && [ "$before" -lt 200000 ]
	# each committed batch is recorded, and only those
	[ "$before" -eq $((done_batches * 1000)) ]

	# the rest, without the nap: nothing is interrupted any more
	PGOPTIONS='-c facopy.nap=0' run --separate-stderr "${cmd[@]}"
	echo "$stderr"
	assert_status 0
	summary "$stderr" | jq -e --argjson before "$before" '.records == 200000
		and .skipped_resume == $before and .loaded == 200000 - $before'
	assert_same "$(checksum facopy.src)" "$(checksum facopy.slow)"
	[ "$(psql_fa -At -c "select count(*), sum(loaded) from fa_copy_progress where id = '$id'")" = "200|200000" ]

	# once more: nothing left to load
	run --separate-stderr "${cmd[@]}"
	assert_status 0
	summary "$stderr" | jq -e '.loaded == 0 and .skipped_resume == 200000'
	assert_same "$(checksum facopy.src)" "$(checksum facopy.slow)"

	# a different batch size cannot resume these batches
	run fa-copy in -j 4 --batch-rows 500 --resume "$id" facopy.slow "$f"
	assert_status 2
	assert_contains "$output" "--batch-rows"
}

@test "Ctrl-C (SIGINT) and SIGTERM: exit 130, what committed and how to resume; whole batches only" {
	psql_fa -q -c "TRUNCATE facopy.slow"
	f="$BATS_TEST_TMPDIR/ints.csv"
	seq 1 100000 | sed 's/$/,v/' >"$f"
	for sig in INT TERM; do
		psql_fa -q -c "TRUNCATE facopy.slow"
		resume=()
		[ "$sig" = TERM ] && resume=(--resume facopy-term)
		fa-copy in -j 2 --batch-rows 1000 "${resume[@]}" facopy.slow "$f" 2>"$BATS_TEST_TMPDIR/err" &
		pid=$!
		for _ in $(seq 200); do
			[ "$(psql_fa -At -c 'select count(*) from facopy.slow')" -ge 3000 ] && break
			sleep 0.05
		done
		kill -"$sig" "$pid"
		status=0
		wait "$pid" || status=$?
		err=$(cat "$BATS_TEST_TMPDIR/err")
		echo "$sig: $err"
		[ "$status" -eq 130 ]
		n=$(psql_fa -At -c 'select count(*) from facopy.slow')
		[ "$n" -gt 0 ] && [ "$n" -lt 100000 ] && [ $((n % 1000)) -eq 0 ]
		assert_contains "$err" "committed $n rows into facopy.slow"
		assert_same "$(sed -n 's/.*committed input lines: \([^;]*\);.*/\1/p' <<<"$err")" \
			"$(id_ranges facopy.slow)"
		if [ "$sig" = INT ]; then
			assert_contains "$err" "with --resume ID a rerun loads only the rest"
		else
			assert_contains "$err" "run the same command again to load the rest"
		fi
	done
	# and the rerun after SIGTERM completes the load (without the nap)
	PGOPTIONS='-c facopy.nap=0' run fa-copy in -q -j 2 --batch-rows 1000 --resume facopy-term facopy.slow "$f"
	assert_status 0
	[ "$(psql_fa -At -c 'select count(*), sum(id) from facopy.slow')" = "100000|5000050000" ]
}

# ---- lost connections ----

# The lines "1-1000, 2001-3000" of a summary as an int8multirange literal.
as_multirange() {
	[ "$1" = none ] && set -- ""
	printf "'{%s}'::int8multirange" "$(sed -E 's/([0-9]+)-([0-9]+)/[\1,\2]/g' <<<"$1")"
}

# Fails unless table $1 holds every line (= id) of the committed ranges $2,
# and nothing outside them but lines of the unknown ranges $3.
holds_committed() {
	local got
	got=$(psql_fa -At -F ' ' -c "SELECT
		(SELECT count(*) FROM $1 WHERE id <@ $(as_multirange "$2")),
		(SELECT coalesce(sum(upper(r) - lower(r)), 0) FROM unnest($(as_multirange "$2")) r),
		(SELECT count(*) FROM $1 WHERE NOT id <@ ($(as_multirange "$2") + $(as_multirange "$3")))")
	read -r inside want outside <<<"$got"
	if [ "$inside" != "$want" ] || [ "$outside" != 0 ]; then
		echo "$1: $inside of the $want committed lines, $outside rows outside committed and unknown" >&2
		return 1
	fi
}

# Makes the COMMITs of sessions started with PGOPTIONS='-c
# synchronous_commit=on' wait for a synchronous standby that never comes:
# the commit is durable here, the answer never sent.  Every other session
# commits locally.  sync_rep off undoes it.  Both return once new sessions
# see the change (the reload is asynchronous).
sync_rep() {
	local names=fa_nobody
	if [ "$1" = on ]; then
		psql_fa -q -c "ALTER SYSTEM SET synchronous_commit = local" \
			-c "ALTER SYSTEM SET synchronous_standby_names = '$names'" \
			-c "SELECT pg_reload_conf()" >/dev/null
	else
		names=
		psql_fa -q -c "ALTER SYSTEM RESET synchronous_standby_names" \
			-c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null
	fi
	for _ in $(seq 100); do
		[ "$(psql_fa -At -c 'SHOW synchronous_standby_names')" = "$names" ] && return 0
		sleep 0.05
	done
	echo "synchronous_standby_names is not '$names' after the reload" >&2
	return 1
}

# Waits until $1 fa-copy backends match the SQL condition $2.
wait_backends() {
	for _ in $(seq 200); do
		[ "$(psql_fa -At -c "SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'fa-copy' AND $2")" -ge "$1" ] && return 0
		sleep 0.05
	done
	echo "no $1 fa-copy backends with $2 in:" >&2
	psql_fa -c "SELECT pid, state, wait_event, query FROM pg_stat_activity
		WHERE application_name = 'fa-copy'" >&2
	return 1
}

@test "--resume across a PostgreSQL restart mid-load: -j 4 reconnects by itself, every row exactly once" {
	# 100 batches that nap 150 ms each (four at a time): the load lasts
	# seconds whatever the machine's speed, so the restart lands mid-load
	# and the workers reconnect while there is still plenty left to load
	psql_fa -q -c "CREATE TABLE facopy.big (id bigint PRIMARY KEY, v text);
		CREATE TRIGGER nap AFTER INSERT ON facopy.big FOR EACH STATEMENT EXECUTE FUNCTION facopy.nap()"
	f="$BATS_TEST_TMPDIR/big.csv"
	seq 1 100000 | awk '{ print $1 ",row-" $1 "-" ($1 * 7919) % 1000003 }' >"$f"
	want="100000|$(awk -F, '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $1, $2 }' "$f" | md5sum | cut -d' ' -f1)"
	# little WAL to replay, so the restart takes seconds, not minutes
	psql_fa -q -c CHECKPOINT
	started=$(psql_fa -At -c "SELECT pg_postmaster_start_time()")
	id=facopy-restart
	PGOPTIONS='-c facopy.nap=0.15' fa-copy in -j 4 --batch-rows 1000 --resume "$id" --summary json \
		facopy.big "$f" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_batches "$id" 10
	fds=$(ls /proc/"$pid"/fd | wc -l)
	pg_restart_immediate
	kill -0 "$pid"          # still loading: the restart landed mid-load
	# every worker used its connection, lost it and made a new one
	for _ in $(seq 600); do
		[ "$(grep -c 'reconnected after' "$BATS_TEST_TMPDIR/err")" -ge 4 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid"          # still loading, so its descriptors can be counted
	fds_after=$(ls /proc/"$pid"/fd | wc -l)
	status=0
	wait "$pid" || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	echo "# descriptors: $fds before the restart, $fds_after after reconnecting" >&3
	[ "$status" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	[ "$fds_after" -le "$fds" ]
	[ "$(psql_fa -At -c "SELECT pg_postmaster_start_time()")" != "$started" ]
	assert_contains "$err" "connection lost"
	assert_contains "$err" "reconnecting now (attempt 1 of 8)"
	summary "$err" | jq -e '.loaded == 100000 and .skipped_resume == 0 and .reconnects >= 4
		and .committed_lines == "1-100000" and .error == null'
	# batches committed before the restart and after it
	psql_fa -At -c "SELECT count(*) FILTER (WHERE committed_at < pg_postmaster_start_time()),
		count(*) FILTER (WHERE committed_at > pg_postmaster_start_time()), count(*), sum(loaded)
		FROM fa_copy_progress WHERE id = '$id'" | {
		IFS='|' read -r before after n rows
		echo "batches committed: $before before the restart, $after after"
		[ "$before" -ge 10 ] && [ "$after" -ge 1 ] && [ "$n" = 100 ] && [ "$rows" = 100000 ]
	}
	assert_same "$want" "$(psql_fa -At -c "SELECT count(*), md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM facopy.big")"
}

@test "without --resume a lost connection stops the load: exit 3, the committed lines are in the table, nothing else but lines in doubt" {
	psql_fa -q -c "CREATE TABLE facopy.cut (LIKE facopy.slow INCLUDING ALL);
		CREATE TRIGGER nap AFTER INSERT ON facopy.cut FOR EACH STATEMENT EXECUTE FUNCTION facopy.nap()"
	f="$BATS_TEST_TMPDIR/cut.csv"
	seq 1 100000 | sed 's/$/,v/' >"$f"
	fa-copy in -j 4 --batch-rows 1000 --summary json facopy.cut "$f" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	for _ in $(seq 200); do
		[ "$(psql_fa -At -c 'select count(*) from facopy.cut')" -ge 5000 ] && break
		sleep 0.05
	done
	pg_kill_backends fa-copy
	status=0
	wait "$pid" || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 3 ]
	assert_contains "$err" "connection lost ("
	[ "$(grep -c reconnecting <<<"$err")" = 0 ]
	s=$(summary "$err")
	holds_committed facopy.cut "$(jq -r .committed_lines <<<"$s")" "$(jq -r .unknown_lines <<<"$s")"
	[ "$(jq .loaded <<<"$s")" -gt 0 ]
	jq -e '.error | test("^lines [0-9]+-[0-9]+: connection lost \\(")' <<<"$s"

	# the text summary says the same, and how to do better
	psql_fa -q -c "TRUNCATE facopy.cut"
	fa-copy in -j 4 --batch-rows 1000 facopy.cut "$f" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	for _ in $(seq 200); do
		[ "$(psql_fa -At -c 'select count(*) from facopy.cut')" -ge 5000 ] && break
		sleep 0.05
	done
	pg_kill_backends fa-copy
	status=0
	wait "$pid" || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 3 ]
	committed=$(sed -n 's/.*committed input lines: \([^;]*\);.*/\1/p' <<<"$err")
	unknown=$(sed -n 's/.*before COMMIT answered): \([^;]*\);.*/\1/p' <<<"$err")
	holds_committed facopy.cut "$committed" "$unknown"
	assert_contains "$err" "(with --resume ID a rerun loads only the rest)"
}

@test "--retries 0, and retries used up while the database stays down: exit 3, what committed, how to resume; Ctrl-C while waiting; the rerun loads exactly the rest" {
	psql_fa -q -c "TRUNCATE facopy.slow"
	f="$BATS_TEST_TMPDIR/ints.csv"
	seq 1 100000 | sed 's/$/,v/' >"$f"
	id=facopy-giveup
	cmd=(fa-copy in -j 2 --batch-rows 1000 --resume "$id")
	args=(facopy.slow "$f")

	# --retries 0: the first loss ends it
	"${cmd[@]}" --retries 0 "${args[@]}" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_batches "$id" 5
	pg_kill_backends fa-copy
	status=0
	wait "$pid" || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 3 ]
	assert_contains "$err" "connection lost ("
	assert_contains "$err" "; --retries 0"
	[ "$(grep -c 'reconnecting' <<<"$err")" = 0 ]
	assert_contains "$err" "run the same command again to load the rest"
	committed1=$(sed -n 's/.*committed input lines: \([^;]*\);.*/\1/p' <<<"$err")
	[ -n "$committed1" ] && [ "$committed1" != none ]
	holds_committed facopy.slow "$committed1" "$(sed -n 's/.*before COMMIT answered): \([^;]*\);.*/\1/p' <<<"$err")"

	# --retries 2 with the server stopped for good: two attempts, then the same account
	first=$(psql_fa -At -c "select count(*) from fa_copy_progress where id = '$id'")
	"${cmd[@]}" --retries 2 "${args[@]}" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_batches "$id" $((first + 5))
	pgctl -w -m immediate stop >/dev/null
	status=0
	wait "$pid" || status=$?
	pgctl -w start >/dev/null
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 3 ]
	assert_contains "$err" "reconnecting now (attempt 1 of 2)"
	assert_contains "$err" "(attempt 2 of 2)"
	assert_contains "$err" "no connection after 2 attempts (--retries 2)"
	assert_contains "$err" "run the same command again to load the rest"
	grep -q "^fa-copy: $f lines [0-9]*-[0-9]*: connection lost" <<<"$err"
	[ "$(grep -c 'reconnected' <<<"$err")" = 0 ]
	# what this run committed, besides what the first one did
	committed=$(sed -n 's/.*committed input lines: \([^;]*\);.*/\1/p' <<<"$err")
	unknown=$(sed -n 's/.*before COMMIT answered): \([^;]*\);.*/\1/p' <<<"$err")
	holds_committed facopy.slow "$committed1, $committed" "$unknown"

	# Ctrl-C while it waits to reconnect: exit 130 at once, not after the waits
	"${cmd[@]}" "${args[@]}" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_batches "$id" $(($(psql_fa -At -c "select count(*) from fa_copy_progress where id = '$id'") + 3))
	pgctl -w -m immediate stop >/dev/null
	for _ in $(seq 200); do
		grep -q 'reconnecting in' "$BATS_TEST_TMPDIR/err" && break
		sleep 0.05
	done
	t0=$(date +%s%N)
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	t1=$(date +%s%N)
	pgctl -w start >/dev/null
	cat "$BATS_TEST_TMPDIR/err"
	echo "# SIGINT during a reconnection wait: exit $status in $(((t1 - t0) / 1000000)) ms" >&3
	[ "$status" -eq 130 ]
	[ $((t1 - t0)) -lt 1000000000 ]
	committed=$(sed -n 's/.*committed input lines: \([^;]*\);.*/\1/p' "$BATS_TEST_TMPDIR/err")
	[ -n "$committed" ]

	# once it is back, the same command loads exactly the rest (without the nap)
	PGOPTIONS='-c facopy.nap=0' run --separate-stderr "${cmd[@]}" --summary json "${args[@]}"
	echo "$stderr"
	assert_status 0
	summary "$stderr" | jq -e '.loaded + .skipped_resume == 100000 and .skipped_resume > 0'
	[ "$(psql_fa -At -c 'select count(*), sum(id) from facopy.slow')" = "100000|5000050000" ]
	[ "$(psql_fa -At -c "select count(*), sum(loaded) from fa_copy_progress where id = '$id'")" = "100|100000" ]
}

@test "a COMMIT whose answer is lost: looked up and found committed, or not found and loaded again, rejects written once; without --resume named apart" {
	psql_fa -q -c "CREATE TABLE facopy.doubt (id bigint PRIMARY KEY, v text)"
	clean="$BATS_TEST_TMPDIR/clean.csv"
	seq 1 3000 | sed 's/$/,v/' >"$clean"
	# one bad record in each of the two batches whose COMMIT is cut off
	f="$BATS_TEST_TMPDIR/doubt.csv"
	sed 's/^\(500\|1500\),/x&/' "$clean" >"$f"
	rejected=$(printf 'x500,v\nx1500,v')

	# the server commits, then waits for a standby that never answers; the
	# connection is cut while it waits (fa_copy_progress is made beforehand,
	# so that only the batches' COMMITs wait)
	fa-copy in -q --resume facopy-doubt0 facopy.doubt </dev/null
	sync_rep on
	PGOPTIONS='-c synchronous_commit=on' fa-copy in -j 2 --batch-rows 1000 --resume facopy-doubt1 \
		--rejects "$BATS_TEST_TMPDIR/rej1.csv" facopy.doubt "$f" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_backends 2 "wait_event = 'SyncRep'"
	pg_kill_backends fa-copy
	for _ in $(seq 100); do
		[ "$(grep -c 'found committed' "$BATS_TEST_TMPDIR/err")" -ge 2 ] && break
		sleep 0.05
	done
	sync_rep off
	status=0
	wait "$pid" || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 1 ]     # records were rejected
	[ "$(grep -c 'commit unknown, found committed' <<<"$err")" = 2 ]
	assert_contains "$err" "batch 0 (lines 1-1000): commit unknown, found committed"
	assert_contains "$err" "loaded 2998 rows into facopy.doubt"
	assert_contains "$err" "2 rejected"
	[ "$(psql_fa -At -c 'select count(*), count(distinct id), sum(id) from facopy.doubt')" = "2998|2998|4499500" ]
	assert_same "$rejected" "$(sort -V "$BATS_TEST_TMPDIR/rej1.csv")"

	# the connection is cut while a deferred trigger runs in COMMIT: rolled back
	psql_fa -q -c "TRUNCATE facopy.doubt;
		CREATE FUNCTION facopy.nap_long() RETURNS trigger LANGUAGE plpgsql AS
		  \$\$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END \$\$;
		CREATE CONSTRAINT TRIGGER nap_at_commit AFTER INSERT ON facopy.doubt
		  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.id % 1000 = 1)
		  EXECUTE FUNCTION facopy.nap_long()"
	fa-copy in -j 2 --batch-rows 1000 --resume facopy-doubt2 --rejects "$BATS_TEST_TMPDIR/rej2.csv" \
		facopy.doubt "$f" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_backends 2 "wait_event = 'PgSleep' AND query = 'COMMIT'"
	pg_kill_backends fa-copy
	status=0
	wait "$pid" || status=$?
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 1 ]
	[ "$(grep -c 'commit unknown, not committed: loading it again' <<<"$err")" = 2 ]
	[ "$(psql_fa -At -c 'select count(*), count(distinct id), sum(id) from facopy.doubt')" = "2998|2998|4499500" ]
	# the attempts cut off had isolated the same records: written once all the same
	assert_same "$rejected" "$(sort -V "$BATS_TEST_TMPDIR/rej2.csv")"
	psql_fa -q -c "DROP TRIGGER nap_at_commit ON facopy.doubt; TRUNCATE facopy.doubt"

	# without --resume: the batches in doubt are named apart, and are in fact there
	sync_rep on
	PGOPTIONS='-c synchronous_commit=on' fa-copy in -j 2 --batch-rows 1000 facopy.doubt "$clean" \
		2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_backends 2 "wait_event = 'SyncRep'"
	pg_kill_backends fa-copy
	status=0
	wait "$pid" || status=$?
	sync_rep off
	err=$(cat "$BATS_TEST_TMPDIR/err")
	echo "$err"
	[ "$status" -eq 3 ]
	assert_contains "$err" "committed input lines: none; commit unknown (the connection was lost before COMMIT answered): 1-2000;"
	[ "$(psql_fa -At -c 'select count(*), sum(id) from facopy.doubt')" = "2000|2001000" ]
}

# ---- malformed input ----

@test "invalid UTF-8: the error names the line and byte offset, exit 4, the records before it load" {
	psql_fa -q -c "CREATE TABLE facopy.u (id int, t text)"
	f="$BATS_TEST_TMPDIR/utf.csv"
	printf '1,ok\n2,"multi\nline"\n3,bad\xff\xfeX\n4,after\n' >"$f"
	run fa-copy in facopy.u "$f"
	assert_status 4
	# "1,ok\n" is 5 bytes, the multi-line record 15: 0xff is at offset 25, on line 4
	assert_contains "$output" "line 4, byte 25: invalid UTF-8"
	[ "$(psql_fa -At -c 'select count(*) from facopy.u')" = 2 ]
	# lines 1-3 committed; the summary must not say less
	assert_contains "$output" "committed input lines: 1-3;"
}

@test "invalid UTF-8 deep in a parallel load: committed lines match the table" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.u (id int, t text); TRUNCATE facopy.u"
	f="$BATS_TEST_TMPDIR/utf2.csv"
	python3 -c "
import sys
w = sys.stdout.buffer.write
for i in range(1, 30001): w(b'%d,row%d\n' % (i, i))
w(b'30001,\xc3(\n30002,x\n')" >"$f"
	run --separate-stderr fa-copy in --summary json --batch-rows 7000 -j 3 facopy.u "$f"
	echo "$stderr"
	assert_status 4
	assert_contains "$stderr" "line 30001, byte $(( $(head -30000 "$f" | wc -c) + 6 )): invalid UTF-8 sequence 0xc3 0x28"
	s=$(summary "$stderr")
	assert_same "$(echo "$s" | jq -r .committed_lines)" "$(id_ranges facopy.u)"
}

@test "an unterminated quote at the end of input names the line where it began, exit 4" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.u (id int, t text); TRUNCATE facopy.u"
	printf '1,ok\n2,ok\n3,"never\nclosed\n4,x\n' >"$BATS_TEST_TMPDIR/q.csv"
	run fa-copy in facopy.u "$BATS_TEST_TMPDIR/q.csv"
	assert_status 4
	assert_contains "$output" "unterminated quoted field starting at line 3"
	[ "$(psql_fa -At -c 'select count(*) from facopy.u')" = 2 ]
	# through a pipe and a compressor too
	psql_fa -q -c "TRUNCATE facopy.u"
	run bash -c "gzip -c '$BATS_TEST_TMPDIR/q.csv' | fa-copy in facopy.u"
	assert_status 4
	assert_contains "$output" "stdin"
	assert_contains "$output" "unterminated quoted field starting at line 3"
}

@test "a truncated or corrupt gzip/zstd input: exit 4 with a clear message" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.u (id int, t text)"
	d=$BATS_TEST_TMPDIR
	seq 1 200000 | sed 's/$/,row/' >"$d/n.csv"
	gzip -c "$d/n.csv" >"$d/n.gz"
	zstd -qc "$d/n.csv" >"$d/n.zst"
	head -c $(( $(wc -c <"$d/n.gz") / 2 )) "$d/n.gz" >"$d/half.gz"
	head -c $(( $(wc -c <"$d/n.zst") / 2 )) "$d/n.zst" >"$d/half.zst"
	python3 -c "
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
for i in range(5000, 5100): d[i] ^= 0x55
open(sys.argv[2], 'wb').write(d)" "$d/n.gz" "$d/bad.gz"
	printf '\x1f\x8b\x08\x00garbage' >"$d/tiny.gz"
	for f in half.gz half.zst bad.gz tiny.gz; do
		psql_fa -q -c "TRUNCATE facopy.u"
		run fa-copy in facopy.u "$d/$f"
		echo "$f: $output"
		assert_status 4
		case $f in
		half.gz) assert_contains "$output" "truncated gzip stream" ;;
		half.zst) assert_contains "$output" "truncated zstd stream" ;;
		*) assert_contains "$output" "gzip stream" ;;
		esac
		# whatever loaded is what the summary says
		n=$(psql_fa -At -c 'select count(*) from facopy.u')
		assert_contains "$output" "committed $n rows"
		[ "$n" -lt 200000 ]
	done
}

# ---- NDJSON ----

@test "ndjson: missing keys take the default or NULL, extra keys are ignored, nesting goes into json/jsonb, blank lines skipped" {
	psql_fa -q -c "CREATE TABLE facopy.nd (id int PRIMARY KEY, name text DEFAULT 'dflt', qty int,
		doc jsonb, raw json, ok boolean, at timestamptz)"
	printf '%s\n' \
		'{"id":1,"name":"a","qty":1,"doc":{"k":[1,{"z":null}]},"raw":[1,"two"],"ok":true}' \
		'' \
		'{"id":2,"qty":2,"extra":"ignored","more":{"x":[1]}}' \
		'   ' \
		'{"id":3,"name":null,"doc":[],"raw":{"a":"b\"c"},"at":"2026-01-02T03:04:05Z"}' \
		'{"name":"Zoë \u65e5 \"q\"\n","id":4,"qty":null,"ok":false}' >"$BATS_TEST_TMPDIR/nd.json"
	run --separate-stderr fa-copy in -F ndjson --summary json facopy.nd "$BATS_TEST_TMPDIR/nd.json"
	assert_status 0
	summary "$stderr" | jq -e '.records == 4 and .loaded == 4'
	run psql_fa -At -c "select id, coalesce(name, '<null>'), coalesce(qty::text, '<null>'), doc #>> '{k,1}',
		raw::jsonb #>> '{1}', raw::jsonb ->> 'a', ok, at = '2026-01-02 03:04:05+00' from facopy.nd order by id"
	assert_same "1|a|1|{\"z\": null}|two||t|
2|dflt|2|||||
3|<null>|<null>|||b\"c||t
4|Zoë 日 \"q\"
|<null>||||f|" "$output"
	[ "$(psql_fa -At -c "select jsonb_typeof(doc) from facopy.nd where id = 3")" = array ]
}

@test "ndjson: a malformed line exits 4 naming it; with --rejects it goes to the reject file" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.nd2 (id int PRIMARY KEY, name text, qty int); TRUNCATE facopy.nd2"
	f="$BATS_TEST_TMPDIR/bad.json"
	printf '%s\n' '{"id":1,"name":"a"}' '' '{"id":2,"name":"b"' '{"id":3,"qty":"notint"}' '[1,2]' \
		'{"id":5,"qty":1.5}' '{"id":6,"name":"ok"}' >"$f"
	run fa-copy in -F ndjson facopy.nd2 "$f"
	assert_status 4
	assert_contains "$output" "line 3: 22P02: byte 19: invalid JSON"
	[ "$(psql_fa -At -c 'select count(*) from facopy.nd2')" = 0 ]

	rej="$BATS_TEST_TMPDIR/nd.rej"
	run --separate-stderr fa-copy in -F ndjson -j 2 --batch-rows 2 --rejects "$rej" --summary json facopy.nd2 "$f"
	assert_status 1
	summary "$stderr" | jq -e '.records == 6 and .loaded == 2 and .rejected == 4'
	[ "$(psql_fa -At -c 'select string_agg(id::text, $$,$$ order by id) from facopy.nd2')" = "1,6" ]
	# each rejected line verbatim, with its own line number
	run jq -r '"\(.line) \(.sqlstate)"' "$rej.log"
	assert_same "3 22P02
4 22P02
5 22P02
6 22P02" "$(sort -n <<<"$output")"
	paste -d '\t' <(jq -r .line "$rej.log") "$rej" | while IFS=$'\t' read -r line rec; do
		[ "$(sed -n "${line}p" "$f")" = "$rec" ]
	done
	[ "$(wc -l <"$rej")" -eq 4 ]
}

# ---- in options ----

@test "--header skips, --header=match maps columns in another order, --columns picks and orders" {
	psql_fa -q -c "CREATE TABLE facopy.o (a int PRIMARY KEY, b text, c numeric DEFAULT 7)"
	run fa-copy in -q --header=match facopy.o <<<$'c,a,b\n1.5,1,x\n2.5,2,"y,z"'
	assert_status 0
	run fa-copy in -q --header facopy.o <<<$'whatever,the,header\n3,p,3\n4,q,4'
	assert_status 0
	run fa-copy in -q --delimiter '|' --columns 'b, a' facopy.o <<<$'r|5\ns|6'
	assert_status 0
	assert_same "1|x|1.5
2|y,z|2.5
3|p|3
4|q|4
5|r|7
6|s|7" "$(psql_fa -At -c 'select * from facopy.o order by a')"
	# a header naming no such column, or a list naming one, is a usage error
	run fa-copy in -q --header=match facopy.o <<<$'a,zz\n9,r'
	assert_status 2
	assert_contains "$output" "no column named by the header"
	run fa-copy in -q --columns a,zz facopy.o <<<'9,r'
	assert_status 2
	assert_contains "$output" "no column named by the column list"
	[ "$(psql_fa -At -c 'select count(*) from facopy.o')" = 6 ]
}

@test "--delimiter, --quote and --null for csv; several files in one command, each its own load" {
	psql_fa -q -c "CREATE TABLE facopy.dq (id int PRIMARY KEY, t text, u text)"
	run fa-copy in -q --quote "'" --delimiter ';' --null NIL facopy.dq <<<$'1;\'a;b\';NIL\n2;\'it\'\'s\';\'\''
	assert_status 0
	assert_same $'1|a;b|<null>\n2|it\'s|' "$(psql_fa -At -c "select id, t, coalesce(u, '<null>') from facopy.dq order by id")"
	d=$BATS_TEST_TMPDIR
	printf '3,a,\n4,b,\n' >"$d/f1.csv"
	printf '5,c,\nx,d,\n6,e,\n' | gzip -c >"$d/f2.csv.gz"
	run --separate-stderr fa-copy in --rejects "$d/mf.rej" --summary json facopy.dq "$d/f1.csv" "$d/f2.csv.gz"
	assert_status 1
	[ "$(grep -c '^{' <<<"$stderr")" -eq 2 ]
	grep '^{' <<<"$stderr" | jq -s -e --arg f1 "$d/f1.csv" --arg f2 "$d/f2.csv.gz" '
		.[0].file == $f1 and .[0].loaded == 2 and .[0].committed_lines == "1-2" and
		.[1].file == $f2 and .[1].loaded == 2 and .[1].rejected == 1 and .[1].committed_lines == "1-3"'
	jq -e --arg f2 "$d/f2.csv.gz" '.file == $f2 and .line == 2 and .sqlstate == "22P02"' "$d/mf.rej.log"
	assert_same "x,d," "$(cat "$d/mf.rej")"
	[ "$(psql_fa -At -c 'select string_agg(id::text, $$,$$ order by id) from facopy.dq')" = "1,2,3,4,5,6" ]
}

@test "--progress ndjson: periodic JSON lines on stderr, the last one complete" {
	psql_fa -q -c "TRUNCATE facopy.slow"
	run --separate-stderr fa-copy in --progress ndjson --batch-rows 1000 facopy.slow <<<"$(seq 1 30000 | sed 's/$/,v/')"
	assert_status 0
	p=$(grep '^{' <<<"$stderr")
	[ "$(wc -l <<<"$p")" -ge 2 ]
	jq -e '.file == "stdin" and (.records | type) == "number" and .rejected == 0' <<<"$p" >/dev/null
	tail -1 <<<"$p" | jq -e '.records == 30000 and .loaded == 30000'
	[ "$(psql_fa -At -c 'select count(*) from facopy.slow')" = 30000 ]
}

@test "--columns takes a column's quoted form too" {
	psql_fa -q -c 'CREATE TABLE facopy.qc (a int, "Mixed Case" text)'
	run fa-copy in -q --columns '"Mixed Case", "a"' facopy.qc <<<'x,1'
	assert_status 0
	[ "$(psql_fa -At -c 'select a, "Mixed Case" from facopy.qc')" = "1|x" ]
}

@test "--truncate, --skip and --limit" {
	psql_fa -q -c "CREATE TABLE facopy.s (a int PRIMARY KEY); INSERT INTO facopy.s VALUES (-1)"
	run fa-copy in -q --truncate --header --skip 2 --limit 3 facopy.s <<<$'h\n'"$(seq 1 7)"
	assert_status 0
	[ "$(psql_fa -At -c 'select string_agg(a::text, $$,$$ order by a) from facopy.s')" = "3,4,5" ]
	run --separate-stderr fa-copy in --truncate --skip 90 --batch-rows 3 -j 2 --summary json facopy.s <<<"$(seq 1 100)"
	assert_status 0
	summary "$stderr" | jq -e '.records == 10 and .committed_lines == "91-100"'
	[ "$(psql_fa -At -c 'select string_agg(a::text, $$,$$ order by a) from facopy.s')" = "91,92,93,94,95,96,97,98,99,100" ]
	run fa-copy in -q --truncate --limit 10 --batch-rows 3 -j 2 facopy.s <<<"$(seq 1 100)"
	assert_status 0
	[ "$(psql_fa -At -c 'select count(*), sum(a) from facopy.s')" = "10|55" ]
	# more to skip than there is: nothing loads, no error
	run fa-copy in -q --truncate --skip 5 facopy.s <<<$'1\n2'
	assert_status 0
	[ "$(psql_fa -At -c 'select count(*) from facopy.s')" = 0 ]
}

@test "--create makes the table from a CSV header and from NDJSON keys" {
	run fa-copy in -q --header --create facopy.cr1 <<<$'id,Full Name,amount\n1,"Ann, B",3.5\n2,Zoë,'
	assert_status 0
	assert_same "id:text Full Name:text amount:text" \
		"$(psql_fa -At -c "select string_agg(attname || ':' || format_type(atttypid, null), ' ' order by attnum) from pg_attribute where attrelid = 'facopy.cr1'::regclass and attnum > 0")"
	assert_same $'1|Ann, B|3.5\n2|Zoë|' "$(psql_fa -At -c 'select * from facopy.cr1 order by id')"
	run fa-copy in -q -F ndjson --create facopy.cr2 <<<$'{"id":1,"name":"x","n":2.5,"ok":true,"doc":{"a":1}}\n{"id":2,"name":null,"doc":[1]}'
	assert_status 0
	assert_same "id:numeric name:text n:numeric ok:boolean doc:jsonb" \
		"$(psql_fa -At -c "select string_agg(attname || ':' || format_type(atttypid, null), ' ' order by attnum) from pg_attribute where attrelid = 'facopy.cr2'::regclass and attnum > 0")"
	assert_same $'1|x|2.5|t|{"a": 1}\n2||||[1]' "$(psql_fa -At -c 'select * from facopy.cr2 order by id')"
	# an existing table is loaded as it is
	run fa-copy in -q --header --create facopy.cr1 <<<$'id,Full Name,amount\n3,c,1'
	assert_status 0
	[ "$(psql_fa -At -c 'select count(*) from facopy.cr1')" = 3 ]
	run fa-copy in -q --create facopy.cr3 <<<'1,2'
	assert_status 2
	assert_contains "$output" "--create needs a header"
}

@test "--atomic: an error anywhere leaves the table untouched, even with --truncate and -j 4" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.s (a int PRIMARY KEY); TRUNCATE facopy.s; INSERT INTO facopy.s VALUES (-1)"
	f="$BATS_TEST_TMPDIR/at.csv"
	seq 1 5000 | sed 's/^4999$/x/' >"$f"
	run --separate-stderr fa-copy in --atomic --truncate -j 4 --batch-rows 100 --summary json facopy.s "$f"
	echo "$stderr"
	assert_status 1
	assert_contains "$stderr" "line 4999"
	summary "$stderr" | jq -e '.loaded == 0 and .committed_lines == ""'
	[ "$(psql_fa -At -c 'select string_agg(a::text, $$,$$) from facopy.s')" = "-1" ]
	# and all of it when nothing fails
	run fa-copy in -q --atomic --truncate --batch-rows 100 facopy.s <<<"$(seq 1 5000)"
	assert_status 0
	[ "$(psql_fa -At -c 'select count(*), sum(a) from facopy.s')" = "5000|12502500" ]
}

@test "--freeze with --truncate: loaded frozen in one transaction" {
	psql_fa -q -c "CREATE TABLE IF NOT EXISTS facopy.s (a int PRIMARY KEY); TRUNCATE facopy.s; INSERT INTO facopy.s VALUES (-1)"
	run fa-copy in -q --freeze --truncate --batch-rows 1000 facopy.s <<<"$(seq 1 20000)"
	assert_status 0
	[ "$(psql_fa -At -c 'select count(*), sum(a) from facopy.s')" = "20000|200010000" ]
	[ "$(psql_fa -At -c "select bool_and(all_frozen) from facopy.pg_visibility_map('facopy.s')")" = t ]
	# the control: a plain load is not frozen
	run fa-copy in -q --truncate facopy.s <<<"$(seq 1 20000)"
	assert_status 0
	[ "$(psql_fa -At -c "select bool_and(all_frozen) from facopy.pg_visibility_map('facopy.s')")" = f ]
}

# ---- out ----

@test "out: parameters after -- are values, never SQL" {
	for v in "x' or true --" "O'Brien\"; drop table facopy.mixed; --" $'back\\slash\'\n$1 $$' ; do
		for fmt in csv ndjson; do
			run fa-copy out -q -F "$fmt" 'select count(*) as n, $1::text as v from facopy.mixed where t = $1' -- "$v"
			assert_status 0
			if [ "$fmt" = ndjson ]; then
				jq -e --arg v "$v" '.n == 0 and .v == $v' <<<"$output"
			else
				assert_same "$(python3 -c 'import csv,sys; csv.writer(sys.stdout, lineterminator="\n").writerow(["0", sys.argv[1]])' "$v")" "$output"
			fi
		done
	done
	[ "$(psql_fa -At -c 'select count(*) from facopy.mixed')" = 2008 ]
	run fa-copy out -q -F csv 'select $1::int + $2::int as s' -- 40 2
	assert_same 42 "$output"
	run fa-copy out -q 'select $1::int, $2::int' -- 1
	assert_status 2
	assert_contains "$output" 'uses $2, but 1 parameter was given'
}

@test "out: more parameters than the query uses is an error in every format" {
	# an option typed after -- is a parameter: it must not be dropped silently
	for fmt in ndjson csv; do
		run fa-copy out -q -F "$fmt" 'select $1::int as a' -- 1 -o "$BATS_TEST_TMPDIR/x.$fmt"
		echo "$fmt: $output"
		[ "$status" -ne 0 ]
	done
}

@test "out: --header, -F json is one JSON array, -F ndjson one object a line, -o .zst" {
	run fa-copy out -q --header 'select id, t from facopy.mixed where id < $1 order by id' -- 3
	assert_status 0
	assert_same 'id,t
1,plain
2,"quote "" comma , nl
x'$'\r''
crlf"' "$output"
	run fa-copy out -q -F json 'select * from facopy.mixed order by id'
	assert_status 0
	jq -e 'type == "array" and length == 2008 and .[0].jb == {"b": null} and .[2].t == "Zoë 日本 ✓ 😀"
		and .[3].t == "" and .[4].t == null and .[1].n == "NaN"' <<<"$output"
	run fa-copy out -q -F json 'select 1 where false'
	assert_same '[]' "$output"
	run fa-copy out -q -F ndjson 'select id, i from facopy.mixed where id <= 8 order by id'
	assert_status 0
	[ "${#lines[@]}" -eq 8 ]
	for l in "${lines[@]}"; do jq -e 'type == "object" and (keys == ["i", "id"])' <<<"$l" >/dev/null; done
	jq -e '.id == 3 and .i == -2147483648' <<<"${lines[2]}"
	f="$BATS_TEST_TMPDIR/o.csv.zst"
	run fa-copy out --summary json facopy.mixed -o "$f"
	assert_status 0
	jq -e '.rows == 2008' <<<"$output"
	cmp <(zstd -dc "$f") <(fa-copy out -q facopy.mixed)
}

@test "out: a bad query exits 1 with the server's message" {
	run fa-copy out 'select nope from facopy.mixed'
	assert_status 1
	assert_contains "$output" 'column "nope" does not exist'
	run fa-copy out -F ndjson 'select 1/0 as x'
	assert_status 1
	assert_contains "$output" '22012: division by zero'
	run fa-copy out facopy.nosuch
	assert_status 1
	assert_contains "$output" 'relation "facopy.nosuch" does not exist'
}

# ---- usage ----

@test "usage errors exit 2 with a clear message; a missing file exits 4; a bad --db exits 3" {
	check() {
		local want=$1 msg=$2
		shift 2
		run fa-copy "$@" </dev/null
		echo "fa-copy $*: $output"
		assert_status "$want"
		assert_contains "$output" "$msg"
	}
	check 2 "say 'in' or 'out'"
	check 2 "the first word is 'in' or 'out'" sideways facopy.s
	check 2 "in needs a TABLE" in
	check 2 "out takes one TABLE or QUERY" out
	check 2 "unknown option '--bogus'" in --bogus facopy.s
	check 2 "in reads csv, tsv, text or ndjson" in -F json facopy.s
	check 2 "--resume with --atomic" in --resume x --atomic facopy.s
	check 2 "--retries needs --resume" in --retries 3 facopy.s
	check 2 "--retries" in --resume x --retries -1 facopy.s
	check 2 "--freeze needs --truncate" in --freeze facopy.s
	check 2 "--header takes no value, or =match" in --header=bogus facopy.s
	check 2 "--header=match and --columns" in --header=match --columns a facopy.s
	check 2 "--jobs" in -j 0 facopy.s
	check 2 "--compress takes zstd, gzip or none" out --compress lz4 facopy.s
	check 4 "cannot open '$BATS_TEST_TMPDIR/missing.csv'" in facopy.s "$BATS_TEST_TMPDIR/missing.csv"
	check 3 "cannot connect" in -d "host=/nonexistent port=1 dbname=x" facopy.s /dev/null
	check 3 "cannot connect" out -d "host=/nonexistent port=1 dbname=x" facopy.s
}

# ---- memory ----

@test "peak memory stays flat from 100k to 1M rows" {
	psql_fa -q -c "CREATE TABLE facopy.mem (id bigint, t text, f float8)"
	q='select g, $$row $$ || g || $$ $$ || md5(g::text), g * 0.5 from generate_series(1, $1::int) g'
	fa-copy out -q -o "$BATS_TEST_TMPDIR/100k.csv" "$q" -- 100000
	fa-copy out -q -o "$BATS_TEST_TMPDIR/1m.csv" "$q" -- 1000000
	rss() {
		psql_fa -q -c "TRUNCATE facopy.mem"
		# batches of 10000 rows, so the smaller load fills the queue too
		ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0" /usr/bin/time -f '%M' \
			fa-copy in -q -j 4 --batch-rows 10000 facopy.mem "$1" 2>&1 | tail -1
	}
	small=$(rss "$BATS_TEST_TMPDIR/100k.csv")
	big=$(rss "$BATS_TEST_TMPDIR/1m.csv")
	echo "# peak RSS KiB: 100k rows $small, 1M rows $big" >&3
	[ "$(psql_fa -At -c 'select count(*) from facopy.mem')" = 1000000 ]
	[ "$big" -lt $((small * 3 / 2)) ]
}
