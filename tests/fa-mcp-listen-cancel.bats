#!/usr/bin/env bats
# fa-mcp serve: a 2026 subscriptions/listen, or a call, ends on
# notifications/cancelled only from its own client: over stdio the one
# client; over HTTP, where a 2026 client cancels by closing the stream, a
# cancel counts only from the open 2025 session the request came in.

load helpers
load mcp_helpers

setup() {
	TOOLS=$BATS_TEST_TMPDIR/tools
	mkdir -p "$TOOLS"
	printf -- '-- name: quiet\n-- tool: Raises nothing\n-- returns: one\nSELECT 1 AS one;\n' > "$TOOLS/q.sql"
	printf -- '-- name: nap\n-- tool: Naps a second\n-- returns: one\nSELECT 42 AS napped FROM pg_sleep(1);\n' > "$TOOLS/n.sql"
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
	INIT='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
}

teardown() {
	end_checked "${spid:-}" "$BATS_TEST_TMPDIR/own.log"
}

@test "HTTP: another client's notifications/cancelled with a listen's id leaves it; its own session's ends it" {
	start_own "$TOOLS"
	listen_cancel_scoped kill -HUP "$spid"
}

@test "stdio: the one client's notifications/cancelled ends its listen, and only the listen of that id" {
	stdio_listen_cancel '' fa-mcp serve "$TOOLS"
}

@test "HTTP: another client's notifications/cancelled with a call's id leaves the call to answer" {
	start_own "$TOOLS"
	call_cancel_scoped
}
