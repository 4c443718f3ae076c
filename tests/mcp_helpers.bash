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


# listen26 FILE ID FILTER [CURL-ARG]...: a 2026-07-28 subscriptions/listen
# of request id ID (JSON) and notifications FILTER (a JSON object) POSTed
# to $url, its event stream into FILE from the background ($lpid); back
# once it was acknowledged.
listen26() {
	local file=$1 id=$2 filter=$3
	shift 3
	curl -sN -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: subscriptions/listen' "$@" \
		--data-binary '{"jsonrpc":"2.0","id":'"$id"',"method":"subscriptions/listen","params":{"notifications":'"$filter"','"$META"'}}' \
		"$url" > "$file" &
	lpid=$!
	for _ in $(seq 100); do grep -q acknowledged "$file" 2>/dev/null && return; sleep 0.1; done
	echo "listen $id on $url was not acknowledged" >&2
	return 1
}

# stream25 FILE: the GET stream of session $sid on $url into FILE from
# the background ($gpid); back once it is open.
stream25() {
	curl -sN -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $sid" "$url" > "$1" &
	gpid=$!
	for _ in $(seq 100); do grep -q 'stream open' "$1" 2>/dev/null && return; sleep 0.1; done
	echo "the GET stream of session $sid on $url did not open" >&2
	return 1
}

# The JSON-RPC messages of the event stream in file $1, one a line.
events() {
	sed -n 's/^data: //p' "$1"
}

# cancel26 ID [CURL-ARG]...: a 2026-07-28 notifications/cancelled for request ID (JSON) POSTed to $url.
cancel26() {
	local id=$1
	shift
	post26 notifications/cancelled '' '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":'"$id"','"$META"'}}' "$@"
}

# end_checked "PID..." FILE...: each PID stopped (TERM, then waited for),
# then a sanitizer build's complaints in any FILE (said at a process's end
# or meanwhile) fail the test: for teardown.
end_checked() {
	local p f
	for p in $1; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	shift
	for f in "$@"; do
		if [ -f "$f" ] && grep -q 'Sanitizer\|runtime error' "$f"; then
			cat "$f" >&2
			return 1
		fi
	done
}

# start_proxy ARG...: fa-mcp proxy --listen 127.0.0.1:0 ARG... in the
# background: $ppid_, $url (its /mcp), $base, stderr in
# $BATS_TEST_TMPDIR/proxy.log.
start_proxy() {
	start_front fa-mcp proxy --listen 127.0.0.1:0 "$@"
}

# start_front COMMAND...: as start_proxy, for any command that serves as the proxy does.
start_front() {
	"$@" 2> "$BATS_TEST_TMPDIR/proxy.log" &
	ppid_=$!
	for _ in $(seq 150); do
		grep -q 'proxy: serving' "$BATS_TEST_TMPDIR/proxy.log" 2>/dev/null && break
		sleep 0.1
	done
	base=http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/proxy.log" | head -1)
	url=$base/mcp
}

# listen_cancel_scoped RELOAD...: on $url (fa-mcp serve --listen, or a
# proxy in front of one), which client's notifications/cancelled ends a
# 2026 listen; RELOAD... makes the tools change.  B's cancel with A's id,
# from no session or another, leaves A's listen streaming; over HTTP a
# 2026 client ends its own by closing the stream, or with a cancel from
# the same 2025 session its listen came in.
listen_cancel_scoped() {
	local dir=$BATS_TEST_TMPDIR sa sb
	# A without a session: B's cancels, 2026 without a session, with a
	# session header of no open session, and from a session of its own
	listen26 "$dir/A" 1 '{"toolsListChanged":true}'
	local apid=$lpid
	cancel26 1
	assert_same 202 "$code"
	cancel26 1 -H 'Mcp-Session-Id: 0123456789abcdef0123456789abcdef'
	assert_same 202 "$code"
	open_session
	sb=$sid
	post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}' -H "Mcp-Session-Id: $sb"
	assert_same 202 "$code"
	# A's listen came in session SA: B's cancels (2025 and 2026, in SB) leave it; A's own ends it
	open_session
	sa=$sid
	listen26 "$dir/A2" 2 '{"toolsListChanged":true}' -H "Mcp-Session-Id: $sa"
	local a2pid=$lpid
	post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}' -H "Mcp-Session-Id: $sb"
	assert_same 202 "$code"
	cancel26 2 -H "Mcp-Session-Id: $sb"
	assert_same 202 "$code"
	cancel26 2
	assert_same 202 "$code"
	"$@"
	for _ in $(seq 100); do
		grep -q list_changed "$dir/A" && grep -q list_changed "$dir/A2" && break
		sleep 0.1
	done
	# both still stream: they heard the change, with no answer to end them
	assert_same '{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":1}}}' \
		"$(events "$dir/A" | jq -c 'select(.method != "notifications/subscriptions/acknowledged")')"
	assert_same '{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":2}}}' \
		"$(events "$dir/A2" | jq -c 'select(.method != "notifications/subscriptions/acknowledged")')"
	kill -0 "$apid"
	kill -0 "$a2pid"
	# A's own cancel, in its session: the listen answers, and the stream ends
	post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}' -H "Mcp-Session-Id: $sa"
	assert_same 202 "$code"
	for _ in $(seq 100); do kill -0 "$a2pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$a2pid" 2>/dev/null
	assert_same '2 {}' "$(events "$dir/A2" | jq -r 'select(.id) | "\(.id) \(.result | del(.resultType, ._meta))"')"
	kill "$apid"
}

# call_cancel_scoped: on $url (fa-mcp serve --listen, or a proxy in front
# of one, with the tool nap: pg_sleep(1)), client A's 2026 call of nap with
# id 7 is in flight while B cancels id 7 over HTTP, without a session and
# from a 2025 session of its own: A still gets its answer.
call_cancel_scoped() {
	local out=$BATS_TEST_TMPDIR/A.json apid
	curl -sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: nap' \
		--data-binary '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"nap","arguments":{},'"$META"'}}' \
		"$url" > "$out" &
	apid=$!
	for _ in $(seq 100); do
		[ "$(psql_fa -Atc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(1)%' AND pid <> pg_backend_pid()")" = 1 ] && break
		sleep 0.05
	done
	cancel26 7
	assert_same 202 "$code"
	open_session
	post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}' -H "Mcp-Session-Id: $sid"
	assert_same 202 "$code"
	wait "$apid"
	assert_same 42 "$(sed -n "s/^data: //p; /^{/p" "$out" | jq -r .result.structuredContent.napped)"
}

# stdio_listen_cancel PID COMMAND...: COMMAND (fa-mcp serve or proxy on
# stdio) gets two 2026 listens, 5 and 6, then notifications/cancelled for
# 5; a SIGHUP to PID (the server, or the proxy's upstream) changes the
# tools.  5 is answered and ends; 6 alone hears the change.
stdio_listen_cancel() {
	local hup=$1 dir=$BATS_TEST_TMPDIR cpid
	shift
	mkfifo "$dir/in"
	"$@" < "$dir/in" > "$dir/out" 2> "$dir/stdio.log" &
	cpid=$!
	exec 7> "$dir/in"
	for id in 5 6; do
		printf '%s\n' '{"jsonrpc":"2.0","id":'$id',"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},'"$META"'}}' >&7
	done
	for _ in $(seq 50); do [ "$(grep -c acknowledged "$dir/out")" = 2 ] && break; sleep 0.1; done
	printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}' >&7
	for _ in $(seq 50); do grep -q '"id":5' "$dir/out" && break; sleep 0.1; done
	kill -HUP "${hup:-$cpid}"
	for _ in $(seq 50); do grep -q list_changed "$dir/out" && break; sleep 0.1; done
	exec 7>&-
	wait "$cpid"
	if grep -q 'Sanitizer\|runtime error' "$dir/stdio.log"; then
		cat "$dir/stdio.log" >&2
		return 1
	fi
	run jq -c 'if .id then {id, result: (.result | del(.resultType, ._meta))} else {method, sub: .params._meta["io.modelcontextprotocol/subscriptionId"]} end' "$dir/out"
	assert_same '{"method":"notifications/subscriptions/acknowledged","sub":5}
{"method":"notifications/subscriptions/acknowledged","sub":6}
{"id":5,"result":{}}
{"method":"notifications/tools/list_changed","sub":6}' "$output"
}
