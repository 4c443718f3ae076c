#!/usr/bin/env bats
# The C unit tests for pure modules (tests/unit/*.c), one bats test each.

setup() {
	: "${FA_UNIT:=$BATS_TEST_DIRNAME/../build/obj/unit}"
}

@test "unit: HdrHistogram: precision, percentiles, merges, spectrum (stats)" {
	run "$FA_UNIT/test_stats"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: event loop (loop): an io deleted in a turn gets no more of its events" {
	run "$FA_UNIT/test_loop"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: SQL splitter (sqlsplit)" {
	run "$FA_UNIT/test_sqlsplit"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: row formatters (fmt)" {
	run "$FA_UNIT/test_fmt"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: JSON writer (json)" {
	run "$FA_UNIT/test_json"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: record splitter (csvrec)" {
	run "$FA_UNIT/test_csvrec"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: NDJSON row mapper (ndjson)" {
	run "$FA_UNIT/test_ndjson"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: gzip and zstd streams (zcodec)" {
	run "$FA_UNIT/test_zcodec"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: binary COPY encoder (pgbinary)" {
	run "$FA_UNIT/test_pgbinary"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: annotated query files (sqlfile)" {
	run "$FA_UNIT/test_sqlfile" "$BATS_TEST_DIRNAME/../examples/routes"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP/1.1 parser and writer (h1)" {
	run "$FA_UNIT/test_h1"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP mapping of errors and Accept (hmap)" {
	run "$FA_UNIT/test_hmap"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: PostgreSQL text values per type (pgtext)" {
	run "$FA_UNIT/test_pgtext"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: files over HTTP: paths, types, validators (hfile)" {
	run "$FA_UNIT/test_hfile"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: files opened beneath a directory, with openat2 and without (hstatic)" {
	run "$FA_UNIT/test_hstatic"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP content coding (hencode)" {
	run "$FA_UNIT/test_hencode"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: TLS server side, ALPN, reload (tls)" {
	run "$FA_UNIT/test_tls"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: JSON-RPC messages (jsonrpc)" {
	run "$FA_UNIT/test_jsonrpc"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: Server-Sent Events parser (sse)" {
	run "$FA_UNIT/test_sse"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP/2 client session against nghttp2's server (h2client)" {
	run "$FA_UNIT/test_h2client"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP/1.1 client against an in-process server (hclient)" {
	run "$FA_UNIT/test_hclient"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: WebSocket frames, handshake, close codes, permessage-deflate (ws)" {
	run "$FA_UNIT/test_ws"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: JWT verification, keys, claim paths, token cache (jwt)" {
	run "$FA_UNIT/test_jwt"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: the query tool's params and rows (mcp), durations (opt)" {
	run "$FA_UNIT/test_mcp"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: arrays and records as JSON (pgjson)" {
	run "$FA_UNIT/test_pgjson"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: fa-bench generators, thresholds, Mann-Whitney, histogram JSON, arrivals, suite files (bench)" {
	run "$FA_UNIT/test_bench"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP/3 response buffers, backpressure and datagram headers (h3)" {
	run "$FA_UNIT/test_h3"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: HTTP/3 client against the server in memory: a request, the stream limit, a cancel, a refused certificate (h3client)" {
	run "$FA_UNIT/test_h3client"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "unit: child processes (proc): the shell-like splitter, spawn, the stop that ends in SIGKILL" {
	run "$FA_UNIT/test_proc"
	echo "$output"
	[ "$status" -eq 0 ]
}
