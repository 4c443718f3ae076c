#!/usr/bin/env bats
# lib/pgbinary (binary COPY encoding) against the real server, through the
# driver modes of the unit test binary (see tests/unit/test_pgbinary.c):
# - for edge and random values of every supported type, the encoder must
#   refuse exactly what the server's input function refuses, with the same
#   message, and otherwise produce the bytes of the server's send function;
# - rows loaded with COPY (FORMAT binary) must equal the same rows loaded
#   as text, byte for byte.
# Random data: the seed is printed; PGBIN_SEED=N repeats a run.

load helpers

setup_file() {
	: "${FA_UNIT:=$BATS_TEST_DIRNAME/../build/obj/unit}"
	export FA_UNIT
	: "${PGBIN_SEED:=$(( (RANDOM << 15) | RANDOM ))}"
	export PGBIN_SEED
	fresh_schema pgbin
	# The server's verdict on v as type t: its send function's bytes as
	# hex (jsonb sends normalised text, so only "OK -"), or its message.
	psql_fa -q <<'SQL'
CREATE FUNCTION pgbin.try_send(v text, t oid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text; tn text; sn text;
BEGIN
	SELECT typname, typsend::text INTO tn, sn FROM pg_type WHERE oid = t;
	IF tn = 'jsonb' THEN
		EXECUTE format('SELECT %L::jsonb', v);
		RETURN 'OK -';
	END IF;
	EXECUTE format('SELECT encode(%s(%L::%I), ''hex'')', sn, v, tn) INTO r;
	RETURN 'OK ' || r;
EXCEPTION WHEN others THEN
	RETURN 'ERR ' || sqlerrm;
END $$;
SQL
}

teardown_file() {
	psql_fa -q -c "DROP SCHEMA IF EXISTS pgbin CASCADE"
}

@test "pgbinary: unit tests" {
	run "$FA_UNIT/test_pgbinary"
	echo "$output"
	assert_status 0
}

@test "pgbinary: verdicts, messages and bytes match the server for edge and random values" {
	local d=$BATS_TEST_TMPDIR
	echo "# seed $PGBIN_SEED" >&3
	"$FA_UNIT/test_pgbinary" --gen-values "$PGBIN_SEED" 150 >"$d/vals.tsv"
	"$FA_UNIT/test_pgbinary" --check <"$d/vals.tsv" >"$d/ours.txt"
	psql_fa -q -c "CREATE TABLE pgbin.vals (n serial, t oid, v text)" \
		-c "\\copy pgbin.vals (t, v) from '$d/vals.tsv'" \
		-c "\\copy (SELECT pgbin.try_send(v, t) FROM pgbin.vals ORDER BY n) to '$d/theirs.txt'"
	assert_same "$(wc -l <"$d/vals.tsv")" "$(wc -l <"$d/theirs.txt")"
	assert_same "$(wc -l <"$d/vals.tsv")" "$(wc -l <"$d/ours.txt")"
	# SKIP (FA_EUSAGE: send as text) may meet any server verdict; a json
	# message may add the server's DETAIL after ": ".
	run awk -F'\t' '
		{ total++ }
		$3 ~ /^SKIP/ { skip++; next }
		$3 == $4 { next }
		index($3, $4 ": ") == 1 { next }
		{ bad++; if (bad <= 20) printf "type %s, value [%s]\n  ours:   %s\n  server: %s\n", $1, $2, $3, $4 }
		END { printf "%d values, %d sent as text, %d mismatches\n", total, skip, bad; exit bad > 0 }
	' < <(paste "$d/vals.tsv" "$d/ours.txt" "$d/theirs.txt")
	echo "seed $PGBIN_SEED: $output"
	assert_status 0
	assert_contains "$output" " 0 mismatches"
}

@test "pgbinary: rows loaded as binary equal the same rows loaded as text" {
	local d=$BATS_TEST_TMPDIR cols oids
	echo "# seed $PGBIN_SEED" >&3
	cols=$("$FA_UNIT/test_pgbinary" --columns | sed -n 1p)
	oids=$("$FA_UNIT/test_pgbinary" --columns | sed -n 2p)
	"$FA_UNIT/test_pgbinary" --gen-rows "$PGBIN_SEED" 400 >"$d/rows.tsv"
	"$FA_UNIT/test_pgbinary" --encode "$oids" <"$d/rows.tsv" >"$d/rows.bin"
	psql_fa -q -c "CREATE TABLE pgbin.bin ($cols); CREATE TABLE pgbin.txt ($cols)"
	psql_fa -q -c "\\copy pgbin.bin from '$d/rows.bin' with (format binary)"
	# Binary input never depends on DateStyle or TimeZone; what the
	# encoder accepts must read the same as text under unusual settings.
	PGOPTIONS="-c DateStyle=SQL,DMY -c TimeZone=Asia/Kolkata" \
		psql_fa -q -c "\\copy pgbin.txt from '$d/rows.tsv' with (format text)"
	run psql_fa -At -c "SELECT (SELECT count(*) FROM pgbin.bin) || ' ' || (SELECT count(*) FROM pgbin.txt)"
	assert_same "400 400" "$output"
	# Rows compared as text (json has no equality; text also tells -0
	# from 0 and 1.0 from 1.00), both ways.
	run psql_fa -At -c "SELECT r::text FROM pgbin.bin r EXCEPT SELECT r::text FROM pgbin.txt r"
	assert_same "" "$output"
	run psql_fa -At -c "SELECT r::text FROM pgbin.txt r EXCEPT SELECT r::text FROM pgbin.bin r"
	assert_same "" "$output"
	# And the stored values, byte for byte.
	psql_fa -q -c "\\copy (SELECT * FROM pgbin.bin ORDER BY id) to '$d/bin.out' with (format binary)" \
		-c "\\copy (SELECT * FROM pgbin.txt ORDER BY id) to '$d/txt.out' with (format binary)"
	cmp "$d/bin.out" "$d/txt.out"
}

@test "pgbinary: a rejected value fails with the message the server gives for it" {
	local d=$BATS_TEST_TMPDIR
	printf '1\t12,5\n' >"$d/bad.tsv"
	run "$FA_UNIT/test_pgbinary" --encode 23,23 <"$d/bad.tsv"
	assert_status 4
	assert_same 'line 1, column 2: invalid input syntax for type integer: "12,5"' "$output"
	psql_fa -q -c "CREATE TABLE pgbin.two (a int4, b int4)"
	run psql_fa -q -c "\\copy pgbin.two from '$d/bad.tsv'"
	assert_contains "$output" 'invalid input syntax for type integer: "12,5"'
}

@test "pgbinary: a timestamptz without offset is left to the server" {
	local d=$BATS_TEST_TMPDIR
	printf '2026-01-02 03:04:05\n' >"$d/tz.tsv"
	run "$FA_UNIT/test_pgbinary" --encode 1184 <"$d/tz.tsv"
	assert_status 2
	assert_contains "$output" "depends on the session TimeZone"
}
