#!/usr/bin/env bats
# fa-mcp proxy: the front's resource subscriptions asked of the
# upstreams (a 2026-07-28 one in the subscriptions/listen the proxy holds
# with it, a 2025 one in the proxy's session), and their resources/updated
# to the clients subscribed; which client's notifications/cancelled ends
# a listen the proxy serves, or a call; an upstream that ends the proxy's
# listen.
# The upstreams are fa-mcp serve over stdio and Streamable HTTP; a reload
# (SIGHUP) of one tells its subscribers each of its resources was updated.

load helpers
load mcp_helpers

setup() {
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
	INIT='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	for up in a b; do
		mkdir -p "$BATS_TEST_TMPDIR/$up"
		printf -- '-- name: %s_motd\n-- resource: test://%s/motd\nSELECT %s;\n\n-- name: echo\n-- tool: Echoes a number\n-- param: n int\n-- returns: one\nSELECT :n::int AS n;\n' \
			$up $up "'$up'" > "$BATS_TEST_TMPDIR/$up/r.sql"
	done
	pids=()
}

teardown() {
	end_checked "${pids[*]} ${ppid_:-} ${spid:-}" "$BATS_TEST_TMPDIR/proxy.log" "$BATS_TEST_TMPDIR/own.log"
}

# The uris of the resources/updated in event stream file $1, sorted, one a line.
updated() {
	events "$1" | jq -r 'select(.method == "notifications/resources/updated") | .params.uri' | sort
}

# reload_until FILE URI...: SIGHUP to the upstreams ($spid, b over HTTP,
# and the proxy's stdio child, a, when it has one) until FILE heard of
# each URI, for 10 s at most: what the proxy asks of an upstream follows
# a subscription after it.
reload_until() {
	local file=$1 uri missing
	shift
	for _ in $(seq 50); do
		# shellcheck disable=SC2046
		kill -HUP "$spid" $(pgrep -P "$ppid_")
		sleep 0.2
		missing=
		for uri in "$@"; do
			updated "$file" | grep -qxF "$uri" || missing=1
		done
		[ -z "$missing" ] && return
	done
	echo "$file heard of no update to $* in 10 s" >&2
	return 1
}

# subscribers_hear ERA: upstreams a (stdio) and b (HTTP) of protocol ERA
# behind the proxy; listener A subscribed to both's resources, C to none;
# sessions S and S2 to b's, T to none; then S unsubscribes.  Each
# resources/updated reaches those subscribed, under their own URI (and
# A's subscriptionId), no one else, and S's unsubscribe leaves S2's.
subscribers_hear() {
	start_own "$BATS_TEST_TMPDIR/b"
	pids+=("$spid")
	start_proxy --protocol "$1" "a=stdio:fa-mcp serve $BATS_TEST_TMPDIR/a" "b=$url"
	listen26 "$BATS_TEST_TMPDIR/A" '"A"' '{"resourceSubscriptions":["test://a/motd","test://b/motd"]}'
	pids+=("$lpid")
	listen26 "$BATS_TEST_TMPDIR/C" '"C"' '{"resourcesListChanged":true}'
	pids+=("$lpid")
	local s
	for s in S S2 T; do
		open_session
		eval "sid_$s=\$sid"
		[ $s = T ] || post '{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"test://b/motd"}}' -H "Mcp-Session-Id: $sid"
		[ $s = T ] || assert_same '{"jsonrpc":"2.0","id":1,"result":{}}' "$body"
		stream25 "$BATS_TEST_TMPDIR/$s"
		pids+=("$gpid")
	done

	reload_until "$BATS_TEST_TMPDIR/S" test://b/motd
	reload_until "$BATS_TEST_TMPDIR/A" test://a/motd test://b/motd
	assert_same 'test://a/motd
test://b/motd' "$(updated "$BATS_TEST_TMPDIR/A" | uniq)"
	assert_same test://b/motd "$(updated "$BATS_TEST_TMPDIR/S" | uniq)"
	# A's under its own subscriptionId, not that of the proxy's listen upstream
	assert_same '"A"' "$(events "$BATS_TEST_TMPDIR/A" | jq -c 'select(.method == "notifications/resources/updated") | .params._meta["io.modelcontextprotocol/subscriptionId"]' | sort -u)"
	# C and T heard the reloads, and no update
	assert_contains "$(events "$BATS_TEST_TMPDIR/C")" resources/list_changed
	assert_contains "$(events "$BATS_TEST_TMPDIR/T")" resources/list_changed
	assert_same '' "$(updated "$BATS_TEST_TMPDIR/C")"
	assert_same '' "$(updated "$BATS_TEST_TMPDIR/T")"

	# S unsubscribes: it hears no more, S2 still does
	post '{"jsonrpc":"2.0","id":2,"method":"resources/unsubscribe","params":{"uri":"test://b/motd"}}' -H "Mcp-Session-Id: $sid_S"
	assert_same '{"jsonrpc":"2.0","id":2,"result":{}}' "$body"
	sleep 0.5
	local before_s before_s2
	before_s=$(updated "$BATS_TEST_TMPDIR/S" | wc -l)
	before_s2=$(updated "$BATS_TEST_TMPDIR/S2" | wc -l)
	kill -HUP "$spid"
	for _ in $(seq 50); do [ "$(updated "$BATS_TEST_TMPDIR/S2" | wc -l)" -gt "$before_s2" ] && break; sleep 0.1; done
	assert_same $((before_s2 + 1)) "$(updated "$BATS_TEST_TMPDIR/S2" | wc -l)"
	assert_same "$before_s" "$(updated "$BATS_TEST_TMPDIR/S" | wc -l)"
}

@test "proxy: a 2026 upstream's resources/updated reaches the 2026 listeners and 2025 sessions subscribed to it, no one else" {
	subscribers_hear 2026-07-28
}

@test "proxy: a 2025 upstream's resources/updated reaches the 2026 listeners and 2025 sessions subscribed to it, no one else" {
	subscribers_hear 2025-11-25
}

@test "proxy: another client's notifications/cancelled with a listen's id leaves it; its own session's ends it" {
	start_own "$BATS_TEST_TMPDIR/b"
	pids+=("$spid")
	start_proxy "b=$url"
	listen_cancel_scoped kill -HUP "$spid"
}

@test "proxy: another client's notifications/cancelled with a call's id leaves the call to answer" {
	printf -- '-- name: nap\n-- tool: Naps a second\n-- returns: one\nSELECT 42 AS napped FROM pg_sleep(1);\n' \
		> "$BATS_TEST_TMPDIR/b/n.sql"
	start_proxy "b=stdio:fa-mcp serve $BATS_TEST_TMPDIR/b"
	call_cancel_scoped
}

@test "proxy: a 2026 client that closes its stream cancels its call upstream: the statement ends" {
	printf -- '-- name: doze\n-- tool: Dozes a while\n-- returns: one\nSELECT 42 AS dozed FROM pg_sleep(30) /* proxy doze */;\n' \
		> "$BATS_TEST_TMPDIR/b/d.sql"
	start_proxy "b=stdio:fa-mcp serve $BATS_TEST_TMPDIR/b"
	dozing() {
		psql_fa -Atc "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%proxy doze%' AND pid <> pg_backend_pid()"
	}
	curl -sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: doze' \
		--data-binary '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"doze","arguments":{},'"$META"'}}' \
		"$url" > /dev/null &
	local cpid=$!
	wait_until [ "$(dozing)" = 1 ]
	kill "$cpid"
	wait "$cpid" || true
	wait_until [ "$(dozing)" = 0 ]
	# the proxy goes on serving
	curl -sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' \
		--data-binary '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"n":5},'"$META"'}}' \
		"$url" > "$BATS_TEST_TMPDIR/echo"
	assert_same 5 "$(sed -n 's/^data: //p; /^{/p' "$BATS_TEST_TMPDIR/echo" | jq -r .result.structuredContent.n)"
}

@test "proxy: stdio front: the one client's notifications/cancelled ends its listen, and only the listen of that id" {
	start_own "$BATS_TEST_TMPDIR/b"
	pids+=("$spid")
	stdio_listen_cancel "$spid" fa-mcp proxy "b=$url"
}

@test "proxy: an upstream is asked for less when the last subscriber leaves (a listen closed, a session ended): a 2026 one's listen opened anew, a 2025 one unsubscribed" {
	start_own "$BATS_TEST_TMPDIR/b"
	pids+=("$spid")
	local own=$url rec=$BATS_TEST_TMPDIR/rec.ndjson
	# what upstream b sent of its own, as --record keeps it
	sent() { jq -c --arg m "$1" 'select(.type == "notification" and .message.method == $m)' "$rec" | wc -l; }
	for era in 2026-07-28 2025-11-25; do
		rm -f "$rec"
		start_proxy --protocol "$era" --record "$rec" "b=$own"
		listen26 "$BATS_TEST_TMPDIR/A" '"A"' '{"resourceSubscriptions":["test://b/motd"]}'
		reload_until "$BATS_TEST_TMPDIR/A" test://b/motd
		updated "$BATS_TEST_TMPDIR/A" | grep -qx test://b/motd
		# A leaves: b hears it is no longer wanted
		kill "$lpid"
		wait "$lpid" 2>/dev/null || true
		sleep 0.5
		n=$(sent notifications/resources/updated)
		m=$(sent notifications/tools/list_changed)
		[ "$n" -gt 0 ]
		kill -HUP "$spid"
		# b's other news still comes (its listen or session lives), no update
		for _ in $(seq 50); do [ "$(sent notifications/tools/list_changed)" -gt "$m" ] && break; sleep 0.1; done
		[ "$(sent notifications/tools/list_changed)" -gt "$m" ]
		sleep 0.3
		assert_same "$n" "$(sent notifications/resources/updated)"
		# a session subscribed, then ended (DELETE) with its stream still open
		open_session
		post '{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"test://b/motd"}}' -H "Mcp-Session-Id: $sid"
		stream25 "$BATS_TEST_TMPDIR/S-$era"
		pids+=("$gpid")
		reload_until "$BATS_TEST_TMPDIR/S-$era" test://b/motd
		run curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Mcp-Session-Id: $sid" "$url"
		assert_same 204 "$output"
		sleep 0.5
		n=$(sent notifications/resources/updated)
		m=$(sent notifications/tools/list_changed)
		kill -HUP "$spid"
		for _ in $(seq 50); do [ "$(sent notifications/tools/list_changed)" -gt "$m" ] && break; sleep 0.1; done
		[ "$(sent notifications/tools/list_changed)" -gt "$m" ]
		sleep 0.3
		assert_same "$n" "$(sent notifications/resources/updated)"
		kill -TERM "$ppid_"
		wait "$ppid_" || true
		ppid_=
	done
}

@test "proxy: stdio front: a 2025 client's resources/subscribe reaches a 2026 upstream's updates to it" {
	start_own "$BATS_TEST_TMPDIR/b"
	pids+=("$spid")
	mkfifo "$BATS_TEST_TMPDIR/in"
	fa-mcp proxy --protocol 2026-07-28 "b=$url" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/proxy.log" &
	ppid_=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	printf '%s\n' "$INIT" '{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"test://b/motd"}}' >&7
	for _ in $(seq 50); do
		kill -HUP "$spid"
		sleep 0.2
		grep -q resources/updated "$BATS_TEST_TMPDIR/out" && break
	done
	exec 7>&-
	wait "$ppid_"
	ppid_=
	assert_same '{"jsonrpc":"2.0","id":1,"result":{}}' "$(jq -c 'select(.id == 1)' "$BATS_TEST_TMPDIR/out")"
	assert_same '{"uri":"test://b/motd"}' "$(jq -c 'select(.method == "notifications/resources/updated") | .params' "$BATS_TEST_TMPDIR/out" | sort -u)"
}

@test "proxy: a subscription to a URI no upstream has yet is asked of the one that comes to have it" {
	start_own "$BATS_TEST_TMPDIR/b"
	pids+=("$spid")
	start_proxy --protocol 2026-07-28 "a=stdio:fa-mcp serve $BATS_TEST_TMPDIR/a" "b=$url"
	listen26 "$BATS_TEST_TMPDIR/A" '"A"' '{"resourceSubscriptions":["test://b/later"]}'
	pids+=("$lpid")
	printf -- '-- name: later\n-- resource: test://b/later\nSELECT 1;\n' > "$BATS_TEST_TMPDIR/b/later.sql"
	reload_until "$BATS_TEST_TMPDIR/A" test://b/later
	assert_same test://b/later "$(updated "$BATS_TEST_TMPDIR/A" | uniq)"
}

@test "proxy: a 2026 stdio upstream that ends the proxy's listen (notifications/cancelled) is listened to again" {
	start_proxy "up=stdio:$BATS_TEST_DIRNAME/listen-ending-server.py"
	listen26 "$BATS_TEST_TMPDIR/A" '"A"' '{"toolsListChanged":true}'
	pids+=("$lpid")
	# the second listen tells of a change, which reaches A once the list is read again
	for _ in $(seq 50); do grep -q tools/list_changed "$BATS_TEST_TMPDIR/A" && break; sleep 0.1; done
	assert_contains "$(events "$BATS_TEST_TMPDIR/A")" notifications/tools/list_changed
	assert_same 'listen 1
listen 2' "$(grep '^listen' "$BATS_TEST_TMPDIR/proxy.log")"
	# the list read again after it
	assert_same t2 "$(tool_names)"
}
