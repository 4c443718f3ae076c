# Helpers for the fa-mcp serve tests: JSON lines through the stdio
# server, Streamable HTTP posts in both eras, a server of a test's own.
# They use $TOOLS (the SQL files), $url and $META as the test sets them.

# stdio [OPTION]... -- MESSAGE...: each message one line on the stdin of
# fa-mcp serve OPTION... $TOOLS; its stdout is the output, its stderr in
# $BATS_TEST_TMPDIR/stderr.
stdio() {
	local opts=()
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done
	shift
	printf '%s\n' "$@" | timeout 60 fa-mcp serve "${opts[@]}" "$TOOLS" 2> "$BATS_TEST_TMPDIR/stderr"
}

# The answer with id $1 (JSON: 1 or "a") among the lines of $output, as
# it was written (jq 1.6 would round integers past 2^53): one jq reads
# every line raw, skips what is not a JSON object, prints the line itself.
answer() {
	jq -R -r --argjson id "$1" '. as $line | (try fromjson catch null)
		| select(type == "object" and .id == $id) | $line' <<< "$output"
}

# A tools/call request: id, tool name, arguments object.
call() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$1" "$2" "$3"
}

# post BODY [CURL-ARG]...: POSTs BODY to $url as JSON (Content-Type from
# $CT when set); the status goes to $code, the body to $body, the headers
# to $BATS_TEST_TMPDIR/headers.
post() {
	local data=$1
	shift
	code=$(curl -sS -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers" -w '%{http_code}' \
		-H "Content-Type: ${CT:-application/json}" -H 'Accept: application/json, text/event-stream' \
		"$@" --data-binary "$data" "$url")
	body=$(cat "$BATS_TEST_TMPDIR/body")
}

# post26 METHOD NAME BODY [CURL-ARG]...: a 2026-07-28 POST with the
# headers that must match the body (no Mcp-Name when NAME is empty).
post26() {
	local method=$1 name=$2 data=$3
	shift 3
	post "$data" -H 'MCP-Protocol-Version: 2026-07-28' -H "Mcp-Method: $method" \
		${name:+-H "Mcp-Name: $name"} "$@"
}

# The value of response header $1 of the last post.
header() {
	sed -n "s/^$1: *//Ip" "$BATS_TEST_TMPDIR/headers" | tr -d '\r'
}

# A 2025-11-25 session on $url: its id in $sid.
open_session() {
	post '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	assert_same 200 "$code"
	sid=$(header Mcp-Session-Id)
	[ -n "$sid" ]
}

# Starts fa-mcp serve --listen 127.0.0.1:0 ARG... of its own: $spid,
# $url, stderr in $BATS_TEST_TMPDIR/own.log.
start_own() {
	fa-mcp serve --listen 127.0.0.1:0 --threads 1 "$@" 2> "$BATS_TEST_TMPDIR/own.log" &
	spid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$BATS_TEST_TMPDIR/own.log" 2>/dev/null && break
		sleep 0.1
	done
	url=http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/own.log" | head -1)/mcp
}

# The sorted names of tools/list over 2026-07-28 on $url.
tool_names() {
	post26 tools/list '' '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{'"$META"'}}'
	jq -r '[.result.tools[].name] | sort | join(" ")' <<< "$body"
}

