#!/usr/bin/env bats
# fa-mcp against the official MCP peers from npm, driven as a user drives
# them: the TypeScript SDK's Client (tests/npm/sdk-client.mjs) over stdio
# and Streamable HTTP, the Inspector's CLI in both protocol eras, and the
# conformance suite's server scenarios (0.1.16 for the 2025 versions, the
# 0.2.0 alpha for 2026-07-28).  scripts/npm-deps (run by make
# check) installs them from tests/npm/package-lock.json into build/npm,
# with the Node 22 they run on.

load helpers

setup_file() {
	FA_NPM=${FA_NPM:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build/npm}
	export FA_NPM
	# node, mcp-inspector and conformance: the project's, as npx would run them.
	export PATH="$FA_NPM/node_modules/.bin:$PATH"
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS interop CASCADE;
CREATE SCHEMA interop;
CREATE TABLE interop.items (id int PRIMARY KEY, name text UNIQUE NOT NULL, price numeric(8,2) NOT NULL);
INSERT INTO interop.items VALUES (1, 'kettle', 24.50), (2, 'mug', 6.00), (3, 'teapot', 31.00);
SQL
	cat > "$BATS_FILE_TMPDIR/interop.sql" <<'SQL'
-- Items, cheapest first.
-- name: items
-- tool: List items, optionally only those below a price
-- param: max_price numeric = null  Only items cheaper than this
SELECT id, name, price FROM interop.items
 WHERE :max_price IS NULL OR price < :max_price
 ORDER BY price, id;

-- name: item
-- tool: One item by id
-- param: id int  The item's id
-- returns: one
SELECT id, name, price FROM interop.items WHERE id = :id;

-- name: add_item
-- tool: Adds an item; a name already there fails
-- param: id int  The new item's id
-- param: name text  Its name
-- param: price numeric  Its price
-- returns: one
INSERT INTO interop.items (id, name, price) VALUES (:id, :name, :price) RETURNING id, name, price;
SQL
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS interop CASCADE'
}

setup() {
	[ -x "$FA_NPM/node_modules/.bin/node" ] ||
		skip "the MCP peers from npm are not in $FA_NPM: scripts/npm-deps installs them (make check runs it)"
	sql=$BATS_FILE_TMPDIR/interop.sql
	sdk=$BATS_TEST_DIRNAME/npm/sdk-client.mjs
	# The Inspector passes a stdio server only the environment it is given.
	inspector_env=(-e "ASAN_OPTIONS=$ASAN_OPTIONS" -e "UBSAN_OPTIONS=$UBSAN_OPTIONS")
	# and keeps its state under HOME: not the user's.
	export HOME=$BATS_TEST_TMPDIR/home
}

# A server a test started for itself ($spid) must not outlive a failure.
teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; fi
}

# fa-mcp serve --listen on a free port with ARGS; sets spid and url.
start_http() {
	fa-mcp serve --listen 127.0.0.1:0 --threads 1 "$@" 2> "$BATS_TEST_TMPDIR/server.err" &
	spid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$BATS_TEST_TMPDIR/server.err" 2>/dev/null && break
		sleep 0.1
	done
	url=http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/server.err")/mcp
}

# SIGTERM: the server exits 0 and the sanitizers said nothing.
stop_http() {
	local rc=0
	kill -TERM "$spid"
	wait "$spid" || rc=$?
	spid=
	if [ "$rc" -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/server.err"; then
		printf 'fa-mcp exited %s; its stderr:\n' "$rc" >&2
		cat "$BATS_TEST_TMPDIR/server.err" >&2
		return 1
	fi
}

# What the SDK client prints for the reads (the same over both transports).
sdk_reads() {
	cat <<'EOF'
tools: items item add_item
item: {"isError":false,"structuredContent":{"id":2,"name":"mug","price":6},"content":[{"type":"text","text":"{\"id\":2,\"name\":\"mug\",\"price\":6.00}"}]}
items: {"isError":false,"structuredContent":{"rows":[{"id":2,"name":"mug","price":6},{"id":1,"name":"kettle","price":24.5}]},"content":[{"type":"text","text":"[{\"id\":2,\"name\":\"mug\",\"price\":6.00},\n{\"id\":1,\"name\":\"kettle\",\"price\":24.50}]"}]}
EOF
}

# The duplicate add_item's line: a tool error naming the constraint.
check_failed_call() {
	local line
	line=$(grep '^add_item: ' <<<"$output")
	jq -e '.isError == true and (.content[0].text | test("23505.*items_name_key"))' <<<"${line#add_item: }" >/dev/null ||
		{ echo "not a tool error: $line" >&2; return 1; }
}

@test "the peers from npm run on the project's Node 22" {
	run node --version
	assert_status 0
	[[ $output == v22.* ]] || { echo "node is $output, not 22" >&2; false; }
	run conformance --version
	assert_same 0.1.16 "$output"
	run jq -r .version "$FA_NPM/node_modules/@modelcontextprotocol/sdk/package.json" \
		"$FA_NPM/node_modules/@modelcontextprotocol/inspector/package.json"
	assert_same $'1.32.2\n2.12.0' "$output"
}

@test "SDK client over stdio: initialize, tools/list, tools/call's structuredContent, a failed call's isError, closing stdin ends the server" {
	version=$(fa-mcp --version)
	run node "$sdk" --stdio "fa-mcp serve '$sql' 2> '$BATS_TEST_TMPDIR/server.err'; echo \"exit \$?\" >> '$BATS_TEST_TMPDIR/server.err'" \
		list call item '{"id":2}' call items '{"max_price":25}' call add_item '{"id":9,"name":"mug","price":3}'
	assert_status 0
	assert_same "server: $version, protocol 2025-11-25
$(sdk_reads)" "$(grep -v '^add_item: ' <<<"$output" | sed '$d')"
	check_failed_call
	assert_same 'closed: the server exited when its stdin closed' "$(tail -1 <<<"$output")"
	assert_same 'exit 0' "$(cat "$BATS_TEST_TMPDIR/server.err")"
	# the failed insert left nothing behind
	run psql_fa -Atc 'SELECT count(*) FROM interop.items'
	assert_same 3 "$output"
}

@test "SDK client over Streamable HTTP: the same calls in a session, then its DELETE, after which its id gets 404" {
	version=$(fa-mcp --version)
	start_http "$sql"
	run node "$sdk" --http "$url" list call item '{"id":2}' call items '{"max_price":25}' call add_item '{"id":9,"name":"mug","price":3}'
	assert_status 0
	assert_same "server: $version, protocol 2025-11-25
$(sdk_reads)" "$(grep -v '^add_item: ' <<<"$output" | sed '$d')"
	check_failed_call
	assert_same 'session deleted: yes, then 404' "$(tail -1 <<<"$output")"
	stop_http
}

@test "SDK client over the 2024-11-05 HTTP+SSE transport: the same calls, answered down the stream" {
	version=$(fa-mcp --version)
	start_http "$sql"
	run node "$sdk" --sse "${url%/mcp}/sse" list call item '{"id":2}' call items '{"max_price":25}' call add_item '{"id":9,"name":"mug","price":3}'
	assert_status 0
	assert_same "server: $version, protocol 2025-11-25
$(sdk_reads)" "$(grep -v '^add_item: ' <<<"$output" | sed '$d')"
	check_failed_call
	assert_same 'closed: the stream ended' "$(tail -1 <<<"$output")"
	stop_http
}

@test "Inspector CLI over stdio: tools/list, tools/call with --tool-arg, a failed call exits 5" {
	run mcp-inspector --cli --format json "${inspector_env[@]}" fa-mcp serve --db "$FA_CONNINFO" "$sql" \
		--method tools/list
	assert_status 0
	assert_same '["items","item","add_item"]' "$(jq -c '[.result.tools[].name]' <<<"$output")"
	# the Inspector re-serializes the schema, so compare keys sorted
	assert_same "$(jq -cS . <<<'{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"id":{"type":"integer","description":"The item'\''s id"}},"required":["id"],"additionalProperties":false}')" \
		"$(jq -cS '.result.tools[1].inputSchema' <<<"$output")"

	run mcp-inspector --cli --format json "${inspector_env[@]}" fa-mcp serve --db "$FA_CONNINFO" "$sql" \
		--method tools/call --tool-name item --tool-arg id=3
	assert_status 0
	assert_same '{"id":3,"name":"teapot","price":31}' "$(jq -c .result.structuredContent <<<"$output")"

	# a tool error: the Inspector's exit status 5 and its error envelope
	run mcp-inspector --cli --format json "${inspector_env[@]}" fa-mcp serve --db "$FA_CONNINFO" "$sql" \
		--method tools/call --tool-name add_item --tool-arg id=9 name=mug price=3
	assert_status 5
	assert_contains "$output" '"code":"tool_is_error"'
}

@test "Inspector CLI over stdio in the 2026-07-28 era: server/discover, then stateless calls" {
	wire=$BATS_TEST_TMPDIR/wire
	run mcp-inspector --cli --format json --protocol-era modern "${inspector_env[@]}" \
		sh -c "tee '$wire' | fa-mcp serve --db '$FA_CONNINFO' '$sql'" \
		--method tools/call --tool-name items --tool-arg max_price=7
	assert_status 0
	assert_same '{"rows":[{"id":2,"name":"mug","price":6}]}' "$(jq -c .result.structuredContent <<<"$output")"
	# what the Inspector sent: no initialize, every request with the
	# version in _meta, and a subscriptions/listen, since fa-mcp says its
	# lists can change
	run jq -r 'select(.id != null) | .method' "$wire"
	assert_same $'server/discover\nsubscriptions/listen\ntools/call\ntools/list' "$(sort <<< "$output")"
	run jq -r 'select(.id != null) | .params._meta["io.modelcontextprotocol/protocolVersion"]' "$wire"
	assert_same 2026-07-28 "$(sort -u <<< "$output")"
}

@test "Inspector CLI over Streamable HTTP, in the 2025-11-25 era and the 2026-07-28 one" {
	start_http "$sql"
	for era in legacy modern; do
		run mcp-inspector --cli --format json --protocol-era $era "$url" --method tools/list
		assert_status 0
		assert_same '["items","item","add_item"]' "$(jq -c '[.result.tools[].name]' <<<"$output")"
		run mcp-inspector --cli --format json --protocol-era $era "$url" \
			--method tools/call --tool-name item --tool-arg id=1
		assert_status 0
		assert_same '{"id":1,"name":"kettle","price":24.5}' "$(jq -c .result.structuredContent <<<"$output")"
	done
	stop_http
}

@test "conformance suite 0.1.16: the whole server suite fails exactly as tests/npm/conformance-expected-failures.yaml says" {
	start_http "$BATS_TEST_DIRNAME/npm/conformance.sql"
	run conformance server --url "$url" --suite all -o "$BATS_TEST_TMPDIR/results" \
		--expected-failures "$BATS_TEST_DIRNAME/npm/conformance-expected-failures.yaml"
	if [ "$status" -ne 0 ]; then
		# the summary and what differs from the file
		sed -n '/=== SUMMARY ===/,$p' <<<"$output" >&2
		false
	fi
	assert_contains "$output" 'Baseline check passed'
	# and the scenarios that pass do so without a warning: every check of
	# theirs is SUCCESS or INFO (the suite alone would let WARNING by)
	local f bad=
	for f in "$BATS_TEST_TMPDIR"/results/*/checks.json; do
		jq -e 'all(.[]; .status == "SUCCESS" or .status == "INFO" or .status == "FAILURE")' "$f" >/dev/null || bad+=" $f"
	done
	[ -z "$bad" ] || { echo "checks with a warning:$bad" >&2; false; }
	[ "$(ls "$BATS_TEST_TMPDIR"/results | wc -l)" -ge 32 ]
	stop_http
}

@test "conformance suite 0.2.0 alpha: the scenarios 2026-07-28 requires fail exactly as tests/npm/conformance-2026-expected-failures.yaml says" {
	start_http "$BATS_TEST_DIRNAME/npm/conformance.sql"
	run node "$FA_NPM/node_modules/conformance-next/dist/index.js" server --url "$url" \
		--requirements 2026-07-28 -o "$BATS_TEST_TMPDIR/results" \
		--expected-failures "$BATS_TEST_DIRNAME/npm/conformance-2026-expected-failures.yaml"
	if [ "$status" -ne 0 ]; then
		sed -n '/=== SUMMARY ===/,$p' <<<"$output" >&2
		false
	fi
	assert_contains "$output" 'Baseline check passed'
	# the stateless era's own checks ran and passed, not only the baseline
	assert_contains "$output" 'server-stateless: 25 passed, 3 failed'
	assert_contains "$output" '✓ tools-call-with-progress: '
	stop_http
}
