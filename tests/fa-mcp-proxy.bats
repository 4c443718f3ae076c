#!/usr/bin/env bats
# fa-mcp proxy: MCP servers behind one front, driven as clients drive it.
# The upstreams are fa-mcp serve itself, over stdio and Streamable HTTP;
# the front is stdio or --listen, in both eras.

load helpers
load mcp_helpers

setup() {
	TOOLS=$BATS_TEST_TMPDIR/tools
	mkdir -p "$TOOLS"
	cat > "$TOOLS/p.sql" <<'SQL'
-- name: echo
-- tool: Echoes a number
-- param: n int
-- returns: one
SELECT :n::int AS n;

-- name: sleepy
-- tool: Sleeps s seconds, then echoes n
-- param: s float
-- param: n int
-- returns: one
SELECT pg_sleep(:s) IS NULL AS slept, :n::int AS n;

-- name: motd
-- resource: test://motd
SELECT 'hello';
SQL
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
	INIT='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
}

teardown() {
	end_checked "${ppid_:-} ${spid:-}" "$BATS_TEST_TMPDIR/proxy.log" "$BATS_TEST_TMPDIR/stderr"
}

# apart DIR: this subshell's post writes its files in a directory of its
# own, so that posts running at once do not share them.
apart() {
	BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/$1
	mkdir -p "$BATS_TEST_TMPDIR"
}

# call26 ID TOOL ARGS [CURL-ARG]...: a 2026-07-28 tools/call on $url.
call26() {
	post26 tools/call "$2" '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"'"$2"'","arguments":'"$3"','"$META"'}}' "${@:4}"
}

# npm_peers: the MCP peers from npm on PATH (FA_NPM), or the test is skipped.
npm_peers() {
	npm=${FA_NPM:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build/npm}
	[ -x "$npm/node_modules/.bin/node" ] ||
		skip "the MCP peers from npm are not in $npm: scripts/npm-deps installs them (make check runs it)"
	export FA_NPM=$npm PATH="$npm/node_modules/.bin:$PATH" HOME=$BATS_TEST_TMPDIR/home
}

# everything_http: server-everything over Streamable HTTP on a free port; $spid, $ev (its /mcp).
everything_http() {
	local port
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	PORT=$port mcp-server-everything streamableHttp > "$BATS_TEST_TMPDIR/everything.log" 2>&1 &
	spid=$!
	for _ in $(seq 150); do
		grep -q "listening on port $port" "$BATS_TEST_TMPDIR/everything.log" && break
		sleep 0.1
	done
	ev=http://127.0.0.1:$port/mcp
}

# conformance_all URL FILE WHAT: the conformance server suite on URL, which
# must fail exactly as tests/npm/FILE says; else its summary on stderr,
# naming WHAT.
conformance_all() {
	run conformance server --url "$1" --suite all -o "$BATS_TEST_TMPDIR/results-$3" \
		--expected-failures "$BATS_TEST_DIRNAME/npm/$2"
	if [ "$status" -ne 0 ]; then
		echo "$3:" >&2
		sed -n '/=== SUMMARY ===/,$p' <<< "$output" >&2
		false
	fi
}

@test "proxy: stdio front, stdio upstream: initialize, lists, a call, a resource" {
	run bash -c "printf '%s\n' '$INIT' \
		'{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}' \
		'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}' \
		'$(call 2 echo '{"n":41}')' \
		'{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":\"test://motd\"}}' \
		'{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}' |
		timeout 30 fa-mcp proxy 'pg=stdio:fa-mcp serve $TOOLS' 2> $BATS_TEST_TMPDIR/stderr"
	assert_status 0
	assert_same 2025-11-25 "$(answer 0 | jq -r .result.protocolVersion)"
	assert_same "echo motd sleepy" "$(answer 1 | jq -r '[.result.tools[].name] + ["motd"] | sort | join(" ")')"
	assert_same 41 "$(answer 2 | jq -r .result.structuredContent.n)"
	# a 2025 client gets no 2026 marks from a 2026 upstream
	assert_same null "$(answer 2 | jq -r .result.resultType)"
	assert_same hello "$(answer 3 | jq -r '.result.contents[0].text')"
	assert_same '{}' "$(answer 4 | jq -c .result)"
}

@test "proxy: a 2026-07-28 client reaches a 2025-11-25 upstream; server/discover is the proxy's" {
	start_proxy --protocol 2025-11-25 "pg=stdio:fa-mcp serve $TOOLS"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "upstream 'pg' (stdio) speaks 2025-11-25"
	post26 server/discover '' '{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{'"$META"'}}'
	assert_same 200 "$code"
	assert_same true "$(jq '.result.supportedVersions | index("2026-07-28") != null' <<< "$body")"
	assert_same true "$(jq '.result.capabilities.tools != null' <<< "$body")"
	call26 7 echo '{"n":7}'
	assert_same 200 "$code"
	assert_same 7 "$(jq -r .id <<< "$body")"
	assert_same 7 "$(jq -r .result.structuredContent.n <<< "$body")"
	assert_same complete "$(jq -r .result.resultType <<< "$body")"
	# the 2026 headers are checked at the front as serve checks them
	post26 tools/call other '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{"n":1},'"$META"'}}'
	assert_same 400 "$code"
}

@test "proxy: a 2025-11-25 session reaches a 2026-07-28 upstream" {
	start_proxy --protocol 2026-07-28 "pg=stdio:fa-mcp serve $TOOLS"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "speaks 2026-07-28"
	open_session
	post "$(call 1 echo '{"n":12}')" -H "Mcp-Session-Id: $sid"
	assert_same 200 "$code"
	assert_same 12 "$(jq -r .result.structuredContent.n <<< "$body")"
	assert_same null "$(jq -r .result.resultType <<< "$body")"
	# no session, no call: the front's rules are serve's
	post "$(call 2 echo '{"n":1}')"
	assert_same 400 "$code"
}

@test "proxy: a Streamable HTTP upstream (fa-mcp serve --listen), both eras in front" {
	start_own "$TOOLS"
	own=$url
	start_proxy "web=$own"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "upstream 'web' ($own) speaks"
	call26 3 echo '{"n":3}'
	assert_same 3 "$(jq -r .result.structuredContent.n <<< "$body")"
	open_session
	post "$(call 4 echo '{"n":4}')" -H "Mcp-Session-Id: $sid"
	assert_same 4 "$(jq -r .result.structuredContent.n <<< "$body")"
	# several at once go one after the other on the upstream's connection
	pids=()
	for i in 1 2 3 4 5; do
		(apart c$i; call26 "$i" echo '{"n":'"$i"'}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in 1 2 3 4 5; do
		assert_same "$i $i" "$(jq -r '"\(.id) \(.result.structuredContent.n)"' "$BATS_TEST_TMPDIR/c$i/out")"
	done
	call26 9 echo '{"n":9}'
	assert_same 9 "$(jq -r .result.structuredContent.n <<< "$body")"
}

@test "proxy: two clients interleave calls with the same ids on one stdio child" {
	start_proxy "pg=stdio:fa-mcp serve $TOOLS"
	# client A's id 1 answers after client B's id 1: each gets its own
	(apart a; call26 1 sleepy '{"s":1,"n":100}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
	a=$!
	sleep 0.3
	(apart b; call26 1 sleepy '{"s":0,"n":200}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
	b=$!
	wait "$b"
	assert_same 1 "$(jq -r .id "$BATS_TEST_TMPDIR/b/out")"
	assert_same 200 "$(jq -r .result.structuredContent.n "$BATS_TEST_TMPDIR/b/out")"
	[ ! -s "$BATS_TEST_TMPDIR/a/out" ]          # A still waits
	wait "$a"
	assert_same 1 "$(jq -r .id "$BATS_TEST_TMPDIR/a/out")"
	assert_same 100 "$(jq -r .result.structuredContent.n "$BATS_TEST_TMPDIR/a/out")"
	# one child served both
	assert_same 1 "$(pgrep -P "$ppid_" | wc -l)"
}

@test "proxy: a client's cancellation reaches its own request, not another's with the same id" {
	start_proxy "pg=stdio:fa-mcp serve $TOOLS"
	open_session
	sa=$sid
	open_session
	sb=$sid
	(apart a; post "$(call 5 sleepy '{"s":1,"n":1}')" -H "Mcp-Session-Id: $sa"; echo "$code $body" > "$BATS_TEST_TMPDIR/out") &
	a=$!
	(apart b; post "$(call 5 sleepy '{"s":1,"n":2}')" -H "Mcp-Session-Id: $sb"; echo "$code $body" > "$BATS_TEST_TMPDIR/out") &
	b=$!
	sleep 0.3
	post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}' -H "Mcp-Session-Id: $sb"
	assert_same 202 "$code"
	wait "$a" "$b"
	assert_same 1 "$(cut -d' ' -f2- "$BATS_TEST_TMPDIR/a/out" | jq -r .result.structuredContent.n)"
	# B's call was cancelled: no answer
	assert_same 202 "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/b/out")"
}

@test "proxy: a stdio child that dies is restarted; its calls in flight get an error that says so" {
	start_proxy "pg=stdio:fa-mcp serve $TOOLS"
	child=$(pgrep -P "$ppid_")
	[ -n "$child" ]
	(apart a; call26 1 sleepy '{"s":5,"n":1}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
	a=$!
	sleep 0.5
	kill -KILL "$child"
	wait "$a"
	msg=$(jq -r .error.message "$BATS_TEST_TMPDIR/a/out")
	assert_contains "$msg" "upstream 'pg' failed"
	assert_contains "$msg" "killed by signal 9"
	assert_contains "$msg" "restarted"
	for _ in $(seq 50); do
		grep -q "started again" "$BATS_TEST_TMPDIR/proxy.log" && break
		sleep 0.1
	done
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "upstream 'pg' started again"
	call26 2 echo '{"n":2}'
	assert_same 2 "$(jq -r .result.structuredContent.n <<< "$body")"
	[ "$(pgrep -P "$ppid_")" != "$child" ]
}

@test "proxy: several upstreams merged, prefixed, filtered; /NAME/mcp serves one alone" {
	start_proxy --deny 'b=sleepy' "a=stdio:fa-mcp serve $TOOLS" "b=stdio:fa-mcp serve $TOOLS"
	assert_same "a__echo a__sleepy b__echo" "$(tool_names)"
	call26 1 b__echo '{"n":5}'
	assert_same 5 "$(jq -r .result.structuredContent.n <<< "$body")"
	call26 2 b__sleepy '{"s":0,"n":5}'
	assert_contains "$(jq -r .error.message <<< "$body")" "unknown tool 'b__sleepy'"
	call26 3 c__echo '{"n":5}'
	assert_contains "$(jq -r .error.message <<< "$body")" "unknown tool"
	url=$base/a/mcp
	assert_same "echo sleepy" "$(tool_names)"
	call26 4 echo '{"n":6}'
	assert_same 6 "$(jq -r .result.structuredContent.n <<< "$body")"
	url=$base/b/mcp
	assert_same "echo" "$(tool_names)"
	url=$base/c/mcp
	call26 5 echo '{"n":6}'
	assert_same 404 "$code"
}

@test "proxy: --allow, --separator, and collisions said at start" {
	start_proxy --separator '' --allow 'a=ech*' "a=stdio:fa-mcp serve $TOOLS" "b=stdio:fa-mcp serve $TOOLS"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "collision: tools 'echo' of upstream 'a' and of 'b'"
	assert_same "echo sleepy" "$(tool_names)"
}

@test "proxy: usage errors" {
	run fa-mcp proxy
	assert_status 2
	run fa-mcp proxy 'bad name=stdio:x'
	assert_status 2
	run fa-mcp proxy 'a=ftp://x'
	assert_status 2
	run fa-mcp proxy --deny 'z=x' 'a=stdio:true'
	assert_status 2
	assert_contains "$output" "no upstream named 'z'"
}

@test "proxy: --config in the mcpServers layout: command, args, env; url, headers; a timeout per server" {
	echo upstream-secret > "$BATS_TEST_TMPDIR/up.token"
	start_own --auth-token "$BATS_TEST_TMPDIR/up.token" "$TOOLS"
	own=$url
	cat > "$BATS_TEST_TMPDIR/servers.json" <<JSON
{"mcpServers": {
  "local": {"command": "fa-mcp", "args": ["serve", "--page-size", "1", "$TOOLS"], "env": {"FA_X": "it's"}, "timeout": 500},
  "web": {"url": "$own", "headers": {"Authorization": "Bearer upstream-secret"}}
}}
JSON
	start_proxy --config "$BATS_TEST_TMPDIR/servers.json"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "serving 2 upstreams"
	# the child's pages (one tool a page) were read whole
	assert_same "local__echo local__sleepy web__echo web__sleepy" "$(tool_names)"
	call26 1 web__echo '{"n":1}'
	assert_same 1 "$(jq -r .result.structuredContent.n <<< "$body")"
	call26 2 local__sleepy '{"s":2,"n":1}'
	assert_contains "$(jq -r .error.message <<< "$body")" "upstream 'local' did not answer tools/call within 500 ms"
	call26 3 local__echo '{"n":3}'
	assert_same 3 "$(jq -r .result.structuredContent.n <<< "$body")"
	run fa-mcp proxy --config /nonexistent.json
	assert_status 4
	echo '{"mcpServers": {"x": {"args": []}}}' > "$BATS_TEST_TMPDIR/bad.json"
	run fa-mcp proxy --config "$BATS_TEST_TMPDIR/bad.json"
	assert_status 4
	assert_contains "$output" "server 'x': give \"command\" or \"url\""
}

@test "proxy: --upstream-header reaches an HTTP upstream that wants a token" {
	echo upstream-secret > "$BATS_TEST_TMPDIR/up.token"
	start_own --auth-token "$BATS_TEST_TMPDIR/up.token" "$TOOLS"
	own=$url
	start_proxy --upstream-header 'web=Authorization: Bearer upstream-secret' "web=$own"
	call26 1 echo '{"n":8}'
	assert_same 8 "$(jq -r .result.structuredContent.n <<< "$body")"
}

@test "proxy: --auth-token on the front, the Origin check, /live, /ready, /metrics" {
	printf 'front-secret\n' > "$BATS_TEST_TMPDIR/token"
	start_proxy --auth-token "$BATS_TEST_TMPDIR/token" --access-log "$BATS_TEST_TMPDIR/access.log" \
		--log-format json "pg=stdio:fa-mcp serve $TOOLS"
	call26 1 echo '{"n":1}'
	assert_same 401 "$code"
	assert_same Bearer "$(header WWW-Authenticate)"
	call26 2 echo '{"n":2}' -H 'Authorization: Bearer wrong'
	assert_same 401 "$code"
	call26 3 echo '{"n":3}' -H 'Authorization: Bearer front-secret'
	assert_same 200 "$code"
	assert_same 3 "$(jq -r .result.structuredContent.n <<< "$body")"
	call26 4 echo '{"n":4}' -H 'Authorization: Bearer front-secret' -H 'Origin: https://evil.example'
	assert_same 403 "$code"
	run curl -sS -o /dev/null -w '%{http_code}' "$base/live"
	assert_same 200 "$output"
	run curl -sS -o /dev/null -w '%{http_code}' "$base/ready"
	assert_same 401 "$output"
	run curl -sS -H 'Authorization: Bearer front-secret' "$base/ready"
	assert_same true "$(jq -r .pg.up <<< "$output")"
	run curl -sS -H 'Authorization: Bearer front-secret' "$base/metrics"
	assert_contains "$output" 'fa_mcp_proxy_requests_total{upstream="pg"} 1'
	assert_contains "$output" 'fa_mcp_proxy_latency_seconds_count{upstream="pg"} 1'
	assert_contains "$output" 'fa_mcp_proxy_up{upstream="pg"} 1'
	assert_contains "$output" 'fa_mcp_proxy_tool_calls_total{upstream="pg",tool="echo"} 1'
	assert_contains "$output" 'fa_mcp_proxy_tool_errors_total{upstream="pg",tool="echo"} 0'
	# the access log: a line a request, 401s and 403s too
	assert_same "401 401 200 403 200 401 200 200" "$(jq -r .status "$BATS_TEST_TMPDIR/access.log" | xargs)"
	assert_same /mcp "$(jq -r .path "$BATS_TEST_TMPDIR/access.log" | head -1)"
}

@test "proxy: /ready is 503 while an upstream cannot start" {
	start_proxy "ok=stdio:fa-mcp serve $TOOLS" "gone=stdio:/nonexistent/server"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "upstream 'gone': cannot start '/nonexistent/server'"
	run curl -sS -w '\n%{http_code}' "$base/ready"
	assert_same 503 "$(tail -1 <<< "$output")"
	assert_same false "$(head -1 <<< "$output" | jq -r .gone.up)"
	call26 1 gone__x '{}'
	assert_contains "$(jq -r .error.message <<< "$body")" "upstream 'gone' is restarting"
	call26 2 ok__echo '{"n":2}'
	assert_same 2 "$(jq -r .result.structuredContent.n <<< "$body")"
}

@test "proxy: --record, then replay: the same answers without the server; an unmatched request named" {
	rec=$BATS_TEST_TMPDIR/rec.ndjson
	msgs=("$INIT" '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "$(call 2 echo '{"n":5}')" "$(call 3 echo '{"n":6}')" \
		"$(call 4 echo '{"n":5}')" '{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"test://motd"}}' \
		"$(call 6 echo '{"n":"x"}')")
	printf '%s\n' "${msgs[@]}" | timeout 30 fa-mcp proxy --record "$rec" \
		--upstream-header 'pg=Authorization: Bearer very-secret' --upstream-header 'pg=X-Trace: on' \
		"pg=stdio:fa-mcp serve $TOOLS" > "$BATS_TEST_TMPDIR/live" 2> /dev/null
	# one server line, an exchange per call, secrets redacted
	assert_same "server exchange exchange exchange exchange exchange" "$(jq -r .type "$rec" | xargs)"
	run grep -c very-secret "$rec"
	assert_same 0 "$output"
	assert_same '["Authorization: [redacted]","X-Trace: on"]' "$(head -1 "$rec" | jq -c .headers)"
	# replay over stdio: byte for byte what the live server said
	printf '%s\n' "${msgs[@]}" | timeout 30 fa-mcp replay "$rec" > "$BATS_TEST_TMPDIR/replayed" 2> /dev/null
	assert_same "$(jq -scS 'sort_by(.id) | .[] | del(.result.serverInfo)' "$BATS_TEST_TMPDIR/live")" \
		"$(jq -scS 'sort_by(.id) | .[] | del(.result.serverInfo)' "$BATS_TEST_TMPDIR/replayed")"
	assert_same 7 "$(wc -l < "$BATS_TEST_TMPDIR/replayed")"
	# a request nobody recorded
	run bash -c "printf '%s\n' '$(call 9 echo '{"n":99}')' | fa-mcp replay '$rec' 2> /dev/null"
	assert_contains "$(jq -r .error.message <<< "$output")" 'replay: nothing recorded for tools/call {"name":"echo","arguments":{"n":99}}'
	assert_contains "$output" "upstream 'pg' in $rec"
	# and as an upstream of a proxy over HTTP, in the 2026 era
	start_proxy "pg=replay:$rec"
	call26 1 echo '{"n":6}'
	assert_same 6 "$(jq -r .result.structuredContent.n <<< "$body")"
	assert_same complete "$(jq -r .result.resultType <<< "$body")"
	run fa-mcp replay /nonexistent.ndjson
	assert_status 4
}

@test "proxy: the HTTP+SSE front at /sse, fa-mcp's client in both eras, and a proxy of a proxy" {
	start_proxy "pg=stdio:fa-mcp serve $TOOLS"
	run timeout 20 fa-mcp call "$base/sse" echo n=4 -F ndjson
	assert_status 0
	assert_same '{"n":4}' "$output"
	run timeout 20 fa-mcp call --protocol 2025-11-25 "$base/pg/mcp" echo n=5 -F ndjson
	assert_same '{"n":5}' "$output"
	run timeout 20 fa-mcp call --protocol 2026-07-28 "$url" echo n=6 -F ndjson
	assert_same '{"n":6}' "$output"
	run bash -c "timeout 20 fa-mcp call --stdio \"fa-mcp proxy 'a=stdio:fa-mcp serve $TOOLS' 'b=$url'\" b__echo n=7 -F ndjson 2> /dev/null"
	assert_status 0
	assert_same '{"n":7}' "$output"
}

@test "proxy: an HTTP upstream's call past its timeout is answered so; the calls sent meanwhile still go" {
	start_own "$TOOLS"
	own=$url
	printf '{"mcpServers": {"web": {"url": "%s", "timeout": 700}}}\n' "$own" > "$BATS_TEST_TMPDIR/servers.json"
	start_proxy --config "$BATS_TEST_TMPDIR/servers.json"
	(apart a; call26 1 sleepy '{"s":1.2,"n":1}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
	a=$!
	sleep 0.2
	(apart b; call26 2 echo '{"n":2}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
	b=$!
	wait "$a" "$b"
	assert_contains "$(jq -r .error.message "$BATS_TEST_TMPDIR/a/out")" "upstream 'web' did not answer tools/call within 700 ms"
	assert_same 2 "$(jq -r .result.structuredContent.n "$BATS_TEST_TMPDIR/b/out")"
}

@test "proxy: the conformance server suite through the proxy fails as against fa-mcp serve itself, either upstream era" {
	npm_peers
	for era in 2026-07-28 2025-11-25; do
		start_proxy --protocol "$era" "up=stdio:fa-mcp serve $BATS_TEST_DIRNAME/npm/conformance.sql"
		conformance_all "$url" conformance-expected-failures.yaml "upstream era $era"
		assert_contains "$output" 'Baseline check passed'
		kill -TERM "$ppid_"
		wait "$ppid_" || true
		ppid_=
	done
}

@test "proxy: an upstream of the HTTP+SSE transport (2024-11-05), reached at its /sse" {
	start_own "$TOOLS"
	old=${url%/mcp}/sse
	start_proxy "old=$old"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "upstream 'old' ($old) speaks 2025-11-25"
	call26 1 echo '{"n":11}'
	assert_same 11 "$(jq -r .result.structuredContent.n <<< "$body")"
	open_session
	post "$(call 2 echo '{"n":12}')" -H "Mcp-Session-Id: $sid"
	assert_same 12 "$(jq -r .result.structuredContent.n <<< "$body")"
}

@test "proxy: an upstream's sampling, elicitation and roots requests reach the client whose call it is, and its answers go back" {
	npm_peers
	asked=$BATS_TEST_DIRNAME/npm/asked-client.mjs
	# stdio front, stdio upstream: one client, every kind of request
	run timeout 60 node "$asked" --stdio "fa-mcp proxy 'ev=stdio:mcp-server-everything stdio' 2>> $BATS_TEST_TMPDIR/stderr" \
		alice -- trigger-sampling-request trigger-elicitation-request get-roots-list
	assert_status 0
	assert_contains "$(grep '^alice trigger-sampling-request:' <<< "$output")" '"text": "sampled by alice"'
	assert_contains "$(grep '^alice trigger-elicitation-request:' <<< "$output")" '"name": "alice"'
	assert_contains "$(grep '^alice get-roots-list:' <<< "$output")" 'URI: file:///alice'
	# HTTP front, HTTP upstream: two clients at once, each asked only its own
	everything_http
	start_proxy "ev=$ev"
	run timeout 60 node "$asked" --http "$url" alice bob -- trigger-sampling-request trigger-elicitation-request
	assert_status 0
	for who in alice bob; do
		other=$([ $who = alice ] && echo bob || echo alice)
		line=$(grep "^$who trigger-sampling-request:" <<< "$output")
		assert_contains "$line" "\"text\": \"sampled by $who\""
		[[ $line != *$other* ]] || { echo "$line" >&2; false; }
		line=$(grep "^$who trigger-elicitation-request:" <<< "$output")
		assert_contains "$line" "\"name\": \"$who\""
		[[ $line != *$other* ]] || { echo "$line" >&2; false; }
	done
	# roots/list, which it sends on its session's own stream: the one client with a call in flight
	run timeout 60 node "$asked" --http "$url" carol -- get-roots-list
	assert_status 0
	assert_contains "$output" 'carol get-roots-list: Current MCP Roots (1 total): 1. carol URI: file:///carol'
}

@test "proxy: a stdio upstream's request while several clients' calls are in flight waits until it is clear whose it is" {
	npm_peers
	asked=$BATS_TEST_DIRNAME/npm/asked-client.mjs
	start_proxy "ev=stdio:mcp-server-everything stdio"
	# alice's long call is in flight when bob's asks for sampling: stdio says not whose; alice's ending tells
	timeout 60 node "$asked" --http "$url" alice -- 'trigger-long-running-operation={"duration":2,"steps":2}' \
		> "$BATS_TEST_TMPDIR/alice" &
	local apid=$!
	wait_until eval 'curl -s "$base/metrics" | grep -q "tool=\"trigger-long-running-operation\""'
	run timeout 60 node "$asked" --http "$url" bob -- trigger-sampling-request
	wait "$apid"
	assert_status 0
	assert_contains "$output" '"text": "sampled by bob"'
	assert_contains "$(cat "$BATS_TEST_TMPDIR/alice")" 'alice trigger-long-running-operation: Long running operation completed'
}

@test "proxy: a 2026-07-28 client is asked in band: an upstream's elicitation, sampling and roots come as input_required, and the retry's answers go back" {
	npm_peers
	mrtr=$BATS_TEST_DIRNAME/npm/mrtr-client.mjs
	# the official SDK's 2026 client, which answers the rounds itself, over a stdio and an HTTP upstream of 2025-11-25
	start_proxy "ev=stdio:mcp-server-everything stdio"
	run timeout 60 node "$mrtr" "$url" alice trigger-elicitation-request trigger-sampling-request get-roots-list
	assert_status 0
	assert_contains "$(grep '^alice trigger-elicitation-request:' <<< "$output")" '"name": "alice"'
	assert_contains "$(grep '^alice trigger-sampling-request:' <<< "$output")" '"text": "sampled by alice"'
	assert_contains "$(grep '^alice get-roots-list:' <<< "$output")" 'URI: file:///alice'
	assert_contains "$output" "rounds: 3"
	kill -TERM "$ppid_"; wait "$ppid_" || true
	everything_http
	start_proxy "ev=$ev"
	run timeout 60 node "$mrtr" "$url" bob trigger-elicitation-request
	assert_status 0
	assert_contains "$output" '"name": "bob"'
	# by hand: the result, a retry with a state the proxy never gave, then the right one
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}'
	call26 1 trigger-elicitation-request '{}'
	assert_same input_required "$(jq -r .result.resultType <<< "$body")"
	assert_same elicitation/create "$(jq -r '.result.inputRequests[].method' <<< "$body")"
	key=$(jq -r '.result.inputRequests | keys[0]' <<< "$body")
	state=$(jq -r .result.requestState <<< "$body")
	retry() {
		post26 tools/call trigger-elicitation-request '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"trigger-elicitation-request","arguments":{},"requestState":"'"$2"'","inputResponses":{"'"$key"'":{"action":"accept","content":{"name":"zed"}}},'"$META"'}}'
	}
	retry 2 "${state}0"
	assert_same -32602 "$(jq -r .error.code <<< "$body")"
	assert_contains "$(jq -r .error.message <<< "$body")" "requestState '${state}0' names no call the proxy holds"
	retry 3 "$state"
	assert_same complete "$(jq -r .result.resultType <<< "$body")"
	assert_contains "$(jq -r '.result.content[].text' <<< "$body")" "Name: zed"
	# answered: the state is spent
	retry 4 "$state"
	assert_same -32602 "$(jq -r .error.code <<< "$body")"
}

@test "proxy: a 2026-07-28 upstream's input_required reaches a 2025 client as requests, and the call goes up again with the answers" {
	npm_peers
	asker=$BATS_TEST_DIRNAME/mrtr-server.py
	# stdio front: the one client is asked an elicitation and a sampling, then gets the answer they made
	run timeout 60 node "$BATS_TEST_DIRNAME/npm/asked-client.mjs" --stdio \
		"fa-mcp proxy 'm=stdio:$asker' 2>> $BATS_TEST_TMPDIR/stderr" alice -- greet
	assert_status 0
	assert_same "alice greet: hello alice: sampled by alice" "$output"
	# HTTP front: two sessions at once, each asked its own
	start_proxy "m=stdio:$asker"
	run timeout 60 node "$BATS_TEST_DIRNAME/npm/asked-client.mjs" --http "$url" alice bob -- greet
	assert_status 0
	assert_same "alice greet: hello alice: sampled by alice
bob greet: hello bob: sampled by bob" "$output"
	# a 2026 client gets the upstream's input_required as it is, and its retry goes up as it is
	run timeout 60 node "$BATS_TEST_DIRNAME/npm/mrtr-client.mjs" "$url" carol greet
	assert_status 0
	assert_same "carol greet: hello carol: sampled by carol
rounds: 2" "$output"
	# a 2025 POST that takes no event stream cannot be asked: an error that says so
	open_session
	body=$(curl -sS -H 'Content-Type: application/json' -H 'Accept: application/json' -H "Mcp-Session-Id: $sid" \
		-H 'MCP-Protocol-Version: 2025-11-25' --data-binary "$(call 2 greet '{}')" "$url")
	assert_contains "$(jq -r .error.message <<< "$body")" "asks for input (input_required) during tools/call"
}

@test "proxy: --record keeps an upstream's requests to the client with their answers; replay asks the client them again, in either era" {
	npm_peers
	rec=$BATS_TEST_TMPDIR/asks.ndjson
	asked=$BATS_TEST_DIRNAME/npm/asked-client.mjs
	run timeout 60 node "$asked" --stdio \
		"fa-mcp proxy --record $rec 'm=stdio:$BATS_TEST_DIRNAME/mrtr-server.py' 2>> $BATS_TEST_TMPDIR/stderr" alice -- greet
	assert_status 0
	assert_same "alice greet: hello alice: sampled by alice" "$output"
	# the exchange holds both requests, each with the client's answer, in the order asked
	assert_same "elicitation/create alice sampling/createMessage sampled by alice" \
		"$(jq -r 'select(.type == "exchange" and .method == "tools/call") | .notifications[] |
			.message.method, (.response.result.content.name // .response.result.content.text)' "$rec" | xargs)"
	# replay over stdio to a 2025 client: asked both again, then the recorded answer
	run env ASKED_COUNT=1 timeout 60 node "$asked" --stdio "fa-mcp replay $rec 2>> $BATS_TEST_TMPDIR/stderr" alice -- greet
	assert_status 0
	assert_same "alice greet: hello alice: sampled by alice
alice asked: 2" "$output"
	# and over HTTP to a 2026 client, in band: one input_required round a request
	start_front fa-mcp replay --listen 127.0.0.1:0 "$rec"
	run timeout 60 node "$BATS_TEST_DIRNAME/npm/mrtr-client.mjs" "$url" alice greet
	assert_status 0
	assert_same "alice greet: hello alice: sampled by alice
rounds: 2" "$output"
}

@test "proxy: --record keeps a call's progress, log messages and list changes with its exchange; replay sends them again before the answer" {
	mkdir -p "$BATS_TEST_TMPDIR/n"
	cat > "$BATS_TEST_TMPDIR/n/n.sql" <<'SQL'
-- name: busy
-- tool: Says how far it got, then naps
-- returns: none
DO $$ BEGIN RAISE NOTICE 'progress: 1/2'; RAISE WARNING 'half way'; RAISE NOTICE 'progress: 2/2';
PERFORM pg_sleep(1.5) /* busy nap */; END $$;
SQL
	rec=$BATS_TEST_TMPDIR/rec.ndjson
	printf '%s\n' "$INIT" '{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"info"}}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"busy","arguments":{},"_meta":{"progressToken":"mine"}}}' \
		> "$BATS_TEST_TMPDIR/in"
	# a 2025 upstream session, which hears of list changes
	fa-mcp proxy --protocol 2025-11-25 --record "$rec" "pg=stdio:fa-mcp serve $BATS_TEST_TMPDIR/n" \
		< "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/live" 2> "$BATS_TEST_TMPDIR/stderr" &
	ppid_=$!
	# while the call naps, the upstream's tools change
	for _ in $(seq 100); do
		[ "$(psql_fa -Atc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%busy nap%' AND pid <> pg_backend_pid()")" = 1 ] && break
		sleep 0.1
	done
	printf -- '-- name: more\n-- tool: Another\n-- returns: one\nSELECT 1 AS one;\n' > "$BATS_TEST_TMPDIR/n/more.sql"
	kill -HUP "$(pgrep -P "$ppid_")"
	wait "$ppid_"
	ppid_=
	# the client saw two progress notifications, a warning and the change before its answer, under its own token
	changed="notifications/tools/list_changed notifications/prompts/list_changed notifications/resources/list_changed"
	assert_same "notifications/progress notifications/message notifications/progress $changed 2" \
		"$(jq -r 'select(.id != 0 and .id != 1) | .method // .id' "$BATS_TEST_TMPDIR/live" | xargs)"
	assert_same '"mine"' "$(jq -c 'select(.method == "notifications/progress") | .params.progressToken' "$BATS_TEST_TMPDIR/live" | sort -u)"
	# the recording holds them with the call's exchange, as the upstream sent them, timed
	assert_same "notifications/progress notifications/message notifications/progress $changed" \
		"$(jq -r 'select(.method == "tools/call") | .notifications[].message.method' "$rec" | xargs)"
	assert_same true "$(jq 'select(.method == "tools/call") | [.notifications[].ms | . >= 0] | all' "$rec")"
	# replay: the same lines in the same order
	fa-mcp replay "$rec" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/replayed" 2>> "$BATS_TEST_TMPDIR/stderr"
	assert_same "$(jq -cS 'del(.result.serverInfo)' "$BATS_TEST_TMPDIR/live")" \
		"$(jq -cS 'del(.result.serverInfo)' "$BATS_TEST_TMPDIR/replayed")"
}

@test "proxy: an HTTP upstream's calls overlap, each on a connection of its own into its session" {
	start_own "$TOOLS"
	own=$url
	for era in 2025-11-25 2026-07-28; do
		rm -rf "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
		start_proxy --protocol "$era" "web=$own"
		# a long call, running upstream...
		(apart a; call26 1 sleepy '{"s":30,"n":1}'; echo "$body" > "$BATS_TEST_TMPDIR/out") &
		a=$!
		for _ in $(seq 100); do
			[ "$(psql_fa -Atc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ] && break
			sleep 0.1
		done
		# ...and a short one sent after it is answered before it
		(apart b; call26 2 sleepy '{"s":0.01,"n":2}'; echo "$body" > "$BATS_TEST_TMPDIR/out")
		assert_same 2 "$(jq -r .result.structuredContent.n "$BATS_TEST_TMPDIR/b/out")"
		[ ! -s "$BATS_TEST_TMPDIR/a/out" ]
		# the long one was still running: cancelled now, it answers so
		psql_fa -Atc "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()" > /dev/null
		wait "$a"
		assert_contains "$(cat "$BATS_TEST_TMPDIR/a/out")" '57014'
		kill -TERM "$ppid_"
		wait "$ppid_" || true
		ppid_=
	done
}

@test "proxy: a 2026-07-28 listener hears when an upstream's tools change, over stdio and HTTP, in either upstream era; the list it reads then has them" {
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	cp "$TOOLS/p.sql" "$BATS_TEST_TMPDIR/a/"
	cp "$TOOLS/p.sql" "$BATS_TEST_TMPDIR/b/"
	start_own "$BATS_TEST_TMPDIR/b"
	own=$url
	# seen: how many tools/list_changed the listener heard so far
	seen() { grep -c 'notifications/tools/list_changed' "$BATS_TEST_TMPDIR/listen" || true; }
	n=0
	for era in 2026-07-28 2025-11-25; do
		start_proxy --protocol "$era" "a=stdio:fa-mcp serve $BATS_TEST_TMPDIR/a" "b=$own"
		curl -sN -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
			-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: subscriptions/listen' \
			--data-binary '{"jsonrpc":"2.0","id":"L1","method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},'"$META"'}}' \
			"$url" > "$BATS_TEST_TMPDIR/listen" &
		lpid=$!
		for _ in $(seq 100); do grep -q acknowledged "$BATS_TEST_TMPDIR/listen" && break; sleep 0.1; done
		for up in b a; do
			n=$((n + 1))
			before=$(seen)
			printf -- '-- name: more%d\n-- tool: Another\n-- returns: one\nSELECT 1 AS one;\n' $n > "$BATS_TEST_TMPDIR/$up/more$n.sql"
			if [ $up = b ]; then kill -HUP "$spid"; else kill -HUP "$(pgrep -P "$ppid_")"; fi
			for _ in $(seq 100); do [ "$(seen)" -gt "$before" ] && break; sleep 0.1; done
			assert_same $((before + 1)) "$(seen)"
			assert_contains "$(tool_names)" "${up}__more$n"
		done
		# each tagged with the listen's own id
		assert_same '"L1"' "$(sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/listen" | jq -c 'select(.method == "notifications/tools/list_changed") | .params._meta["io.modelcontextprotocol/subscriptionId"]' | sort -u)"
		kill "$lpid"
		kill -TERM "$ppid_"
		wait "$ppid_" || true
		ppid_=
	done
}

@test "proxy: the conformance server suite through the proxy in front of server-everything (stdio, HTTP) ends as against server-everything itself" {
	npm_peers
	everything_http
	start_proxy "s=stdio:mcp-server-everything stdio" "h=$ev"
	# each scenario's name and how it ended, from the summary, but the two
	# that the proxy's own front passes (the expected failures' file says why)
	outcomes() {
		sed -n 's/^\(✓\|✗\) \([a-z0-9-]*\):.*/\2 \1/p' <<< "$output" |
			grep -v -e '^server-sse-polling ' -e '^dns-rebinding-protection '
	}
	run conformance server --url "$ev" --suite all -o "$BATS_TEST_TMPDIR/direct"
	direct=$(outcomes)
	assert_same 30 "$(wc -l <<< "$direct")"
	assert_contains "$output" '✗ dns-rebinding-protection'
	for up in s h; do
		conformance_all "$base/$up/mcp" conformance-everything-expected-failures.yaml "through upstream $up"
		assert_same "$direct" "$(outcomes)"
	done
}

@test "proxy: an upstream that takes its own request back: the client hears it under the proxy's id" {
	run bash -c "printf '%s\n' '$INIT' '$(call 1 ask '{}')' |
		timeout 30 fa-mcp proxy 'up=stdio:$BATS_TEST_DIRNAME/asking-server.py' 2> $BATS_TEST_TMPDIR/stderr"
	assert_status 0
	# the request, under an id of the proxy's, then its cancellation under the same id, then the answer
	asked=$(jq -c 'select(.method == "sampling/createMessage") | .id' <<< "$output")
	[ -n "$asked" ] && [ "$asked" != '"s1"' ]
	assert_same "$asked" "$(jq -c 'select(.method == "notifications/cancelled") | .params.requestId' <<< "$output")"
	assert_same 'changed its mind' "$(jq -r 'select(.method == "notifications/cancelled") | .params.reason' <<< "$output")"
	assert_same 'sampling/createMessage notifications/cancelled 1' "$(jq -r 'select(.id != 0) | .method // .id' <<< "$output" | xargs)"
	assert_same 'asked and took it back' "$(jq -r 'select(.id == 1 and .result) | .result.content[0].text' <<< "$output")"
}

@test "proxy: an HTTP upstream's 2025 session that ends (404) is opened again; a call meanwhile gets an error that says so" {
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# own_at: fa-mcp serve on that port, $spid
	own_at() {
		fa-mcp serve --listen "127.0.0.1:$port" --threads 1 "$TOOLS" 2> "$BATS_TEST_TMPDIR/own.log" &
		spid=$!
		for _ in $(seq 100); do grep -q 'listening on' "$BATS_TEST_TMPDIR/own.log" && break; sleep 0.1; done
	}
	own_at
	start_proxy --protocol 2025-11-25 "web=http://127.0.0.1:$port/mcp"
	call26 1 echo '{"n":1}'
	assert_same 1 "$(jq -r .result.structuredContent.n <<< "$body")"
	# the server starts again: the proxy's session is not one it knows
	kill -TERM "$spid"
	wait "$spid" || true
	own_at
	call26 2 echo '{"n":2}'
	assert_contains "$(jq -r .error.message <<< "$body")" "the session is gone; it is being connected again"
	for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/ready")" = 200 ] && break; sleep 0.1; done
	call26 3 echo '{"n":3}'
	assert_same 3 "$(jq -r .result.structuredContent.n <<< "$body")"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/proxy.log")" "upstream 'web' connected again (restart 1)"
}
