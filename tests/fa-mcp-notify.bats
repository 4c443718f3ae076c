#!/usr/bin/env bats
# fa-mcp serve's notifications, as clients see them: log messages and
# progress made from the NOTICEs a statement raises, on the request's own
# stream (a stdout line, or an SSE answer over HTTP); list_changed and
# resources/updated after a reload, to the stdio client, a session's GET
# stream and a 2026 subscriptions/listen; logging/setLevel,
# resources/subscribe and completion/complete.

load helpers
load mcp_helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS famcpn CASCADE;
CREATE SCHEMA famcpn;
CREATE FUNCTION famcpn.chatty() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RAISE DEBUG 'a debug line';
	RAISE INFO 'started';
	RAISE NOTICE 'progress: 1/4';
	RAISE NOTICE 'a notice';
	RAISE NOTICE 'progress: 2.5/4 more than half';
	RAISE WARNING 'careful' USING DETAIL = 'the detail', HINT = 'a hint';
	RAISE NOTICE 'progress: 4';
	RETURN 'done';
END $$;
CREATE TABLE famcpn.wrote (n int);
CREATE FUNCTION famcpn.slow(n int) RETURNS int LANGUAGE plpgsql AS
	$$ BEGIN PERFORM pg_sleep(3); RETURN n; END $$;
SQL
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS famcpn CASCADE'
}

setup() {
	TOOLS=$BATS_TEST_TMPDIR/tools
	mkdir -p "$TOOLS"
	cat > "$TOOLS/n.sql" <<'SQL'
-- name: chatty
-- tool: Raises notices while it runs
-- returns: one
SELECT famcpn.chatty() AS r;

-- name: quiet
-- tool: Raises nothing
-- returns: one
SELECT 1 AS one;

-- name: slow_write
-- tool: Writes a row after three seconds
-- param: n int
-- returns: none
INSERT INTO famcpn.wrote SELECT famcpn.slow(:n);

-- name: motd
-- resource: test://motd
SELECT 'hello';

-- name: other
-- resource: test://other
SELECT 'other';

-- name: greet
-- prompt: Greets someone
-- param: who text
SELECT 'user' AS role, 'Hello ' || :who AS text;
SQL
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
	INIT='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
}

teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
	if [ -n "${cpid:-}" ]; then kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true; fi
}

set_level() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"logging/setLevel","params":{"level":"%s"}}' "$1" "$2"
}

# The params of the notifications of method $1 among the lines of $output, one per line.
notes() {
	jq -c --arg m "$1" 'select(.method == $m) | .params' <<< "$output"
}

# ---- log messages ----

@test "logging/setLevel: a call's notices come before its answer as log messages at that level and up" {
	run stdio -- "$INIT" "$(set_level 1 warning)" "$(call 2 chatty '{}')"
	assert_status 0
	assert_same '{"jsonrpc":"2.0","id":1,"result":{}}' "$(answer 1)"
	assert_same '{"level":"warning","logger":"postgresql","data":{"message":"careful","detail":"the detail","hint":"a hint","sqlstate":"01000"}}' \
		"$(notes notifications/message)"
	# the log line is written before the answer
	[ "$(grep -n notifications/message <<< "$output" | cut -d: -f1)" -lt "$(grep -n '"id":2' <<< "$output" | cut -d: -f1)" ]
	assert_same '"done"' "$(answer 2 | jq -c .result.structuredContent.r)"

	run stdio -- "$INIT" "$(set_level 1 debug)" "$(call 2 chatty '{}')"
	assert_same '["info","notice","warning"]' "$(notes notifications/message | jq -sc 'map(.level)')"
	assert_same '["started","a notice"]' "$(notes notifications/message | jq -sc '[.[] | .data | strings]')"
}

@test "logging: no level set, no log messages; progress notices are never log messages" {
	run stdio -- "$INIT" "$(call 2 chatty '{}')"
	assert_status 0
	assert_same "" "$(notes notifications/message)"
	run stdio -- "$INIT" "$(set_level 1 debug)" "$(call 2 chatty '{}')"
	[ -z "$(notes notifications/message | grep progress)" ]
}

@test "logging/setLevel: an unknown level is -32602 naming the levels; 2026 has no setLevel (-32601)" {
	run stdio -- "$INIT" "$(set_level 1 loud)" \
		'{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"info",'"$META"'}}'
	assert_same -32602 "$(answer 1 | jq .error.code)"
	assert_contains "$(answer 1 | jq -r .error.message)" "debug, info, notice, warning"
	assert_same -32601 "$(answer 2 | jq .error.code)"
}

@test "2026-07-28: the logLevel of a request's _meta asks for its log messages, that request only" {
	local meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"notice"}'
	run stdio -- \
		'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"chatty","arguments":{},'"$meta"'}}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"chatty","arguments":{},'"$META"'}}'
	assert_status 0
	assert_same '["notice","warning"]' "$(notes notifications/message | jq -sc 'map(.level)')"
	assert_same '"done"' "$(answer 2 | jq -c .result.structuredContent.r)"
}

# ---- progress ----

@test "progress: 'progress: N/T text' notices become notifications/progress for the call's progressToken" {
	run stdio -- "$INIT" \
		'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"chatty","arguments":{},"_meta":{"progressToken":"tok"}}}' \
		"$(call 2 chatty '{}')"
	assert_status 0
	assert_same '{"progressToken":"tok","progress":1,"total":4}
{"progressToken":"tok","progress":2.5,"total":4,"message":"more than half"}
{"progressToken":"tok","progress":4}' "$(notes notifications/progress)"
	assert_same '"done"' "$(answer 2 | jq -c .result.structuredContent.r)"
}

# ---- Streamable HTTP ----

@test "HTTP: a call with notifications answers as an event stream, its notifications first; others stay JSON" {
	start_own "$TOOLS"
	open_session
	post "$(set_level 1 info)" -H "Mcp-Session-Id: $sid"
	post '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"chatty","arguments":{},"_meta":{"progressToken":5}}}' \
		-H "Mcp-Session-Id: $sid"
	assert_same 200 "$code"
	assert_contains "$(header Content-Type)" text/event-stream
	run bash -c "sed -n 's/^data: //p' <<< \"\$1\"" _ "$body"
	assert_same '["notifications/message","notifications/progress","notifications/message","notifications/progress","notifications/message","notifications/progress",null]' \
		"$(jq -sc 'map(.method)' <<< "$output")"
	assert_same '"done"' "$(tail -1 <<< "$output" | jq -c .result.structuredContent.r)"

	# nothing to say first: plain JSON
	post "$(call 3 quiet '{}')" -H "Mcp-Session-Id: $sid"
	assert_contains "$(header Content-Type)" application/json
	assert_same 1 "$(jq .result.structuredContent.one <<< "$body")"
	# a client that takes JSON only gets the answer alone
	code=$(curl -sS -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers" -w '%{http_code}' \
		-H 'Content-Type: application/json' -H 'Accept: application/json' -H "Mcp-Session-Id: $sid" \
		--data-binary "$(call 4 chatty '{}')" "$url")
	assert_same 200 "$code"
	assert_same '"done"' "$(jq -c .result.structuredContent.r "$BATS_TEST_TMPDIR/body")"
}

@test "HTTP GET: a session's stream hears list_changed and its subscribed resources/updated after SIGHUP" {
	start_own "$TOOLS"
	# a stream needs a session, an open one, and an Accept for it
	run curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' "$url"
	assert_same 400 "$output"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H 'Mcp-Session-Id: 0123' "$url"
	assert_same 404 "$output"
	open_session
	run curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json' -H "Mcp-Session-Id: $sid" "$url"
	assert_same 406 "$output"

	post '{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"test://motd"}}' -H "Mcp-Session-Id: $sid"
	assert_same '{"jsonrpc":"2.0","id":1,"result":{}}' "$body"
	post '{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"test://other"}}' -H "Mcp-Session-Id: $sid"
	post '{"jsonrpc":"2.0","id":3,"method":"resources/unsubscribe","params":{"uri":"test://other"}}' -H "Mcp-Session-Id: $sid"
	assert_same '{"jsonrpc":"2.0","id":3,"result":{}}' "$body"

	curl -sN -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $sid" "$url" > "$BATS_TEST_TMPDIR/stream" &
	cpid=$!
	for _ in $(seq 50); do grep -q 'stream open' "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	kill -HUP "$spid"
	for _ in $(seq 50); do grep -q resources/updated "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	run sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/stream"
	assert_same '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}
{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}
{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}
{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"test://motd"}}' "$output"
	# the session ends: the stream's client leaves, the server goes on
	kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=
	post "$(call 9 quiet '{}')" -H "Mcp-Session-Id: $sid"
	assert_same 1 "$(jq .result.structuredContent.one <<< "$body")"
}

@test "2026 subscriptions/listen over HTTP: acknowledged first, then list_changed tagged with its id" {
	start_own "$TOOLS"
	local listen='{"jsonrpc":"2.0","id":"sub-1","method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true,"somethingElse":true,"resourceSubscriptions":["test://motd"]},'"$META"'}}'
	curl -sN -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: subscriptions/listen' \
		--data-binary "$listen" "$url" > "$BATS_TEST_TMPDIR/stream" &
	cpid=$!
	for _ in $(seq 50); do grep -q acknowledged "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	kill -HUP "$spid"
	for _ in $(seq 50); do grep -q resources/updated "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	run sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/stream"
	assert_same '{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"notifications":{"toolsListChanged":true,"resourceSubscriptions":["test://motd"]},"_meta":{"io.modelcontextprotocol/subscriptionId":"sub-1"}}}
{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"sub-1"}}}
{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"test://motd","_meta":{"io.modelcontextprotocol/subscriptionId":"sub-1"}}}' "$output"
	# a client that leaves ends its subscription; the server goes on
	kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=
	sleep 0.2
	kill -HUP "$spid"
	post26 tools/call quiet '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"quiet","arguments":{},'"$META"'}}'
	assert_same 1 "$(jq .result.structuredContent.one <<< "$body")"
	# and a listen that cannot stream is refused
	run curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -H 'Accept: application/json' \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: subscriptions/listen' --data-binary "$listen" "$url"
	assert_same 400 "$(tail -1 <<< "$output")"
	assert_contains "$output" "text/event-stream"
}

@test "stdio: after initialize the client hears list_changed on SIGHUP; a 2026 listen ends with notifications/cancelled" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	fa-mcp serve "$TOOLS" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	spid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	printf '%s\n' "$INIT" >&7
	for _ in $(seq 50); do grep -q '"id":0' "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
	kill -HUP "$spid"
	for _ in $(seq 50); do grep -q resources/list_changed "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
	printf '%s\n' '{"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{"notifications":{"promptsListChanged":true},'"$META"'}}' >&7
	for _ in $(seq 50); do grep -q acknowledged "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
	printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}' >&7
	exec 7>&-
	wait "$spid"
	spid=
	run jq -c '.method // .id' "$BATS_TEST_TMPDIR/out"
	assert_same '0
"notifications/tools/list_changed"
"notifications/prompts/list_changed"
"notifications/resources/list_changed"
"notifications/subscriptions/acknowledged"
5' "$output"
	assert_same '"complete"' "$(jq -c 'select(.id == 5) | .result.resultType' "$BATS_TEST_TMPDIR/out")"
}

# ---- HTTP+SSE, the 2024-11-05 transport ----

@test "HTTP+SSE: GET /sse names the endpoint; POSTs get 202 and their answers, notifications and list_changed come down the stream" {
	start_own "$TOOLS"
	local base=${url%/mcp}
	curl -sN "$base/sse" > "$BATS_TEST_TMPDIR/stream" &
	cpid=$!
	for _ in $(seq 50); do grep -q '^data: ' "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	assert_same 'event: endpoint' "$(head -1 "$BATS_TEST_TMPDIR/stream")"
	local ep
	ep=$(sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/stream" | head -1)
	[[ $ep == /messages?sessionId=* ]]
	msg() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$1" "$base$2"; }
	assert_same 202 "$(msg "$INIT" "$ep")"
	assert_same 202 "$(msg "$(set_level 1 warning)" "$ep")"
	assert_same 202 "$(msg '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"chatty","arguments":{},"_meta":{"progressToken":"p"}}}' "$ep")"
	assert_same 400 "$(msg 'not json' "$ep")"
	assert_same 400 "$(msg "$INIT" /messages)"
	assert_same 404 "$(msg "$INIT" '/messages?sessionId=0123')"
	for _ in $(seq 50); do grep -q '"id":2' "$BATS_TEST_TMPDIR/stream" && grep -q -- -32700 "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	kill -HUP "$spid"
	for _ in $(seq 50); do grep -q resources/list_changed "$BATS_TEST_TMPDIR/stream" && break; sleep 0.1; done
	run sed -n 's/^data: {/{/p' "$BATS_TEST_TMPDIR/stream"
	assert_same '"2025-11-25"' "$(jq -c 'select(.id == 0) | .result.protocolVersion' <<< "$output")"
	assert_same '"done"' "$(jq -c 'select(.id == 2) | .result.structuredContent.r' <<< "$output")"
	assert_same 3 "$(jq -c 'select(.method == "notifications/progress")' <<< "$output" | wc -l)"
	assert_same '["warning"]' "$(jq -sc 'map(select(.method == "notifications/message") | .params.level)' <<< "$output")"
	assert_same -32700 "$(jq -c 'select(.error) | .error.code' <<< "$output")"
	assert_same 3 "$(grep -c list_changed <<< "$output")"
	# the client leaves: its session is gone
	kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=
	for _ in $(seq 50); do [ "$(msg "$INIT" "$ep")" = 404 ] && break; sleep 0.1; done
	assert_same 404 "$(msg "$INIT" "$ep")"
}

# ---- cancellation ----

@test "notifications/cancelled: the call gets no answer and its statement is cancelled on the server" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	fa-mcp serve "$TOOLS" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	spid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	printf '%s\n' "$INIT" "$(call 1 slow_write '{"n":1}')" >&7
	# wait until the statement runs on the server
	for _ in $(seq 50); do
		[ "$(psql_fa -tAc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO famcpn.wrote%'")" = 1 ] && break
		sleep 0.1
	done
	printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"changed my mind"}}' \
		"$(call 2 quiet '{}')" >&7
	exec 7>&-
	wait "$spid"
	spid=
	run jq -c '.id' "$BATS_TEST_TMPDIR/out"
	assert_same $'0\n2' "$output"
	assert_same 0 "$(psql_fa -tAc 'SELECT count(*) FROM famcpn.wrote')"
	# a call that is not cancelled writes
	run stdio -- "$INIT" "$(call 3 slow_write '{"n":3}')" \
		'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}'
	assert_same false "$(answer 3 | jq -c .result.isError)"
	assert_same 1 "$(psql_fa -tAc 'SELECT count(*) FROM famcpn.wrote')"
}

@test "http: a client that leaves before its answer cancels the call on the server, and the server goes on" {
	psql_fa -q -c 'TRUNCATE famcpn.wrote'
	start_own "$TOOLS"
	# the client gives up after half a second, a 2026 POST and a 2025 one
	post26 tools/call slow_write '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow_write","arguments":{"n":1},'"$META"'}}' \
		--max-time 0.5 || true
	open_session
	post "$(call 2 slow_write '{"n":2}')" -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25' --max-time 0.5 || true
	# nothing is left running, nothing was written, and a call that waits is answered
	for _ in $(seq 50); do
		[ "$(psql_fa -tAc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO famcpn.wrote%' AND state = 'active'")" = 0 ] && break
		sleep 0.1
	done
	assert_same 0 "$(psql_fa -tAc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO famcpn.wrote%' AND state = 'active'")"
	sleep 3
	assert_same 0 "$(psql_fa -tAc 'SELECT count(*) FROM famcpn.wrote')"
	post26 tools/call quiet '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"quiet","arguments":{},'"$META"'}}'
	assert_same 200 "$code"
	assert_same '{"one":1}' "$(jq -c .result.structuredContent <<< "$body")"
	kill -TERM "$spid"
	wait "$spid"
	spid=
	if grep -E 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/own.log" >&2; then return 1; fi
}

# ---- the small methods ----

@test "pagination: --page-size cuts lists into pages chained by nextCursor; a foreign cursor is -32602" {
	for i in 1 2 3 4 5; do
		printf -- '-- name: t%s\n-- tool: tool %s\nSELECT %s AS n;\n\n' "$i" "$i" "$i" >> "$TOOLS/n.sql"
	done
	local list='{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}' names= cursor= n=0
	while :; do
		run stdio --page-size 3 -- "$INIT" "$list"
		assert_status 0
		names="$names $(answer 1 | jq -r '[.result.tools[].name] | join(" ")')"
		cursor=$(answer 1 | jq -c '.result.nextCursor // empty')
		[ -n "$cursor" ] || break
		list='{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":'"$cursor"'}}'
		n=$((n + 1))
		[ "$n" -lt 10 ]
	done
	assert_same " chatty quiet slow_write t1 t2 t3 t4 t5" "$names"
	assert_same 2 "$n"
	run stdio -- "$INIT" '{"jsonrpc":"2.0","id":2,"method":"prompts/list","params":{"cursor":"abc"}}' \
		'{"jsonrpc":"2.0","id":3,"method":"resources/list","params":{"cursor":""}}' \
		'{"jsonrpc":"2.0","id":4,"method":"resources/list","params":{"cursor":"fa1.999"}}'
	assert_same '{"code":-32602,"message":"prompts/list: invalid cursor"}' "$(answer 2 | jq -c .error)"
	assert_same '["test://motd","test://other"]' "$(answer 3 | jq -c '[.result.resources[].uri]')"
	assert_same '[]' "$(answer 4 | jq -c .result.resources)"
	run fa-mcp serve --page-size 0 "$TOOLS"
	assert_status 2
}

@test "completion/complete: an empty list for a known prompt, -32602 for an unknown one; subscribe needs a uri" {
	run stdio -- "$INIT" \
		'{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"who","value":"a"}}}' \
		'{"jsonrpc":"2.0","id":2,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"nope"},"argument":{"name":"who","value":"a"}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"completion/complete","params":{}}' \
		'{"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{}}'
	assert_status 0
	assert_same '{"completion":{"values":[],"total":0,"hasMore":false}}' "$(answer 1 | jq -c .result)"
	assert_same -32602 "$(answer 2 | jq .error.code)"
	assert_same -32602 "$(answer 3 | jq .error.code)"
	assert_same -32602 "$(answer 4 | jq .error.code)"
	assert_contains "$(answer 0 | jq -c .result.capabilities)" '"logging":{},"completions":{}'
}
