#!/usr/bin/env bats
# fa-mcp serve --sql-tool and --schema-resources: the query tool (bound
# params, row limit, timeout, one statement, and a READ ONLY transaction
# that COMMIT, SET TRANSACTION, BEGIN and a committing procedure cannot
# escape) and the tables as postgres://DB/SCHEMA/TABLE/schema resources,
# over stdio and once over Streamable HTTP.

load helpers
load mcp_helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS famcps CASCADE;
CREATE SCHEMA famcps;
CREATE TABLE famcps.customers (id int PRIMARY KEY, name text NOT NULL,
	joined date DEFAULT current_date);
COMMENT ON TABLE famcps.customers IS 'People who buy';
COMMENT ON COLUMN famcps.customers.name IS 'Full name';
CREATE TABLE famcps.orders (id bigserial PRIMARY KEY,
	customer int NOT NULL REFERENCES famcps.customers ON DELETE CASCADE, total numeric(10,2));
CREATE TABLE famcps."Odd name/with slash" (k text PRIMARY KEY);
CREATE VIEW famcps.big_orders AS SELECT * FROM famcps.orders WHERE total > 100;
CREATE TABLE famcps.log (n int);
INSERT INTO famcps.customers (id, name) SELECT g, 'c' || g FROM generate_series(1, 50) g;
INSERT INTO famcps.orders (customer, total) VALUES (1, 10), (2, 250);
-- a procedure that commits, then writes: a new transaction must stay read-only
CREATE PROCEDURE famcps.escape() LANGUAGE plpgsql AS
	$$ BEGIN COMMIT; INSERT INTO famcps.log VALUES (1); END $$;
CREATE FUNCTION famcps.sneaky() RETURNS int LANGUAGE sql VOLATILE AS
	$$ INSERT INTO famcps.log VALUES (2) RETURNING n $$;
SQL
	mkdir -p "$BATS_FILE_TMPDIR/sql"
	cat > "$BATS_FILE_TMPDIR/sql/files.sql" <<'SQL'
-- name: motd
-- resource: shop://motd
SELECT 'hello';

-- name: query
-- tool: A file's tool that --sql-tool hides
SELECT 'from the file' AS who;

-- name: where_am_i
-- tool: The search_path the SQL files' tools see
-- returns: one
SELECT current_setting('search_path') AS path;
SQL
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS famcps CASCADE'
}

setup() {
	SQL=$BATS_FILE_TMPDIR/sql
	TOOLS=$SQL        # what mcp_helpers' stdio serves
	DB=$(psql_fa -Atc 'SELECT current_database()')
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
}

teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
}

# query ID SQL [PARAMS-JSON]: a tools/call of the query tool.
query() {
	jq -cn --argjson id "$1" --arg sql "$2" --argjson params "${3:-null}" \
		'{jsonrpc: "2.0", id: $id, method: "tools/call", params: {name: "query",
		  arguments: ({sql: $sql} + (if $params == null then {} else {params: $params} end))}}'
}

# read ID URI [META]: a resources/read request.
read_uri() {
	jq -cn --argjson id "$1" --arg uri "$2" --argjson meta "{${3:+$META}}" '{jsonrpc: "2.0", id: $id,
		method: "resources/read", params: ({uri: $uri} + $meta)}'
}

# The error text of answer $1 (an isError result).
tool_error() {
	answer "$1" | jq -r 'if .result.isError then .result.content[0].text else "not an error: \(.)" end'
}

@test "schema: tools/list has query, read-only, with its schemas; it hides the file's tool of that name" {
	run stdio --sql-tool -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' \
		"$(query 2 'SELECT 1 AS one')"
	assert_status 0
	assert_same 'query where_am_i' "$(answer 1 | jq -r '[.result.tools[].name] | sort | join(" ")')"
	assert_same '{"readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}' \
		"$(answer 1 | jq -c '.result.tools[] | select(.name == "query") | .annotations')"
	assert_same '["sql"] ["params","sql"] false' \
		"$(answer 1 | jq -r '.result.tools[] | select(.name == "query") | .inputSchema |
			"\(.required | tojson) \(.properties | keys | tojson) \(.additionalProperties)"')"
	assert_same '["rows","truncated"]' \
		"$(answer 1 | jq -c '.result.tools[] | select(.name == "query") | .outputSchema.required')"
	assert_same '{"rows":[{"one":1}],"truncated":false}' "$(answer 2 | jq -c .result.structuredContent)"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/stderr")" "files.sql:5: the tool 'query' is hidden by --sql-tool's"
	# without the option the file's tool answers
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{}}}'
	assert_same 'query where_am_i' "$(answer 1 | jq -r '[.result.tools[].name] | sort | join(" ")')"
	assert_same '{"rows":[{"who":"from the file"}]}' "$(answer 2 | jq -c .result.structuredContent)"
}

@test "schema: query returns rows as structuredContent and text; params are bound, an injection stays a value" {
	run stdio --sql-tool -- \
		"$(query 1 'SELECT id, name FROM famcps.customers WHERE id <= $1 ORDER BY id' '[2]')" \
		"$(query 2 'SELECT $1::text AS v, $2::int[] AS a, $3::jsonb AS j, $4::bool AS b, $5::text IS NULL AS n' \
			'["x'"'"'; DROP TABLE famcps.log; --", [1, 2], {"k": [1]}, true, null]')" \
		"$(query 3 'SELECT count(*) AS n FROM famcps.customers WHERE name = $1' '["c1'"'"' OR '"'"'1'"'"'='"'"'1"]')"
	assert_status 0
	assert_same '{"rows":[{"id":1,"name":"c1"},{"id":2,"name":"c2"}],"truncated":false}' \
		"$(answer 1 | jq -c .result.structuredContent)"
	assert_same "$(answer 1 | jq -c .result.structuredContent.rows)" \
		"$(answer 1 | jq -c '.result.content[0].text | fromjson')"
	assert_same '{"v":"x'"'"'; DROP TABLE famcps.log; --","a":[1,2],"j":{"k":[1]},"b":true,"n":true}' \
		"$(answer 2 | jq -c '.result.structuredContent.rows[0]')"
	assert_same '[{"n":0}]' "$(answer 3 | jq -c .result.structuredContent.rows)"
	assert_same 1 "$(psql_fa -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'famcps' AND tablename = 'log'")"
}

@test "schema: --sql-limit cuts the rows and says truncated; a statement without rows answers none" {
	run stdio --sql-tool --sql-limit 5 -- \
		"$(query 1 'SELECT id FROM famcps.customers ORDER BY id')" \
		"$(query 2 'SELECT id FROM famcps.customers ORDER BY id LIMIT 5')" \
		"$(query 3 'SET LOCAL work_mem = '"'"'8MB'"'"'')"
	assert_status 0
	assert_same '{"rows":[{"id":1},{"id":2},{"id":3},{"id":4},{"id":5}],"truncated":true}' \
		"$(answer 1 | jq -c .result.structuredContent)"
	assert_same 'false 5' "$(answer 2 | jq -r '"\(.result.structuredContent.truncated) \(.result.structuredContent.rows | length)"')"
	assert_same '{"rows":[],"truncated":false}' "$(answer 3 | jq -c .result.structuredContent)"
}

@test "schema: --sql-timeout cancels a slow statement: isError with SQLSTATE 57014, and the next call runs" {
	local t0=$SECONDS
	run stdio --sql-tool --sql-timeout 300ms --pool 1 -- "$(query 1 'SELECT pg_sleep(5)')" "$(query 2 'SELECT 2 AS two')"
	assert_status 0
	assert_same 'ERROR 57014: canceling statement due to statement timeout' "$(tool_error 1)"
	assert_same '[{"two":2}]' "$(answer 2 | jq -c .result.structuredContent.rows)"
	[ $((SECONDS - t0)) -lt 4 ]
}

@test "schema: writes are refused with 25006, and so are the escapes: COMMIT first, SET TRANSACTION, BEGIN READ WRITE, a committing procedure" {
	psql_fa -qc 'TRUNCATE famcps.log'
	run stdio --sql-tool --pool 1 -- \
		"$(query 1 'INSERT INTO famcps.log VALUES (3)')" \
		"$(query 2 'SELECT famcps.sneaky()')" \
		"$(query 3 'SET TRANSACTION READ WRITE')" \
		"$(query 4 'BEGIN READ WRITE')" \
		"$(query 5 'SET transaction_read_only = off')" \
		"$(query 6 'CALL famcps.escape()')" \
		"$(query 7 'COMMIT')" \
		"$(query 8 'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE')" \
		"$(query 9 'DELETE FROM famcps.customers')" \
		"$(query 10 'ROLLBACK')" \
		"$(query 11 'CALL famcps.escape()')" \
		"$(query 12 'CREATE TABLE famcps.made (x int)')"
	assert_status 0
	assert_same 'ERROR 25006: cannot execute INSERT in a read-only transaction' "$(tool_error 1)"
	assert_same 'ERROR 25006: cannot execute INSERT in a read-only transaction' "$(tool_error 2)"
	assert_same 'ERROR 25001: transaction read-write mode must be set before any query' "$(tool_error 3)"
	assert_same 'ERROR 25001: transaction read-write mode must be set before any query' "$(tool_error 4)"
	assert_same 'ERROR 25001: transaction read-write mode must be set before any query' "$(tool_error 5)"
	assert_same 'ERROR 25006: cannot execute INSERT in a read-only transaction' "$(tool_error 6)"
	assert_same 'false' "$(answer 7 | jq -c .result.isError)"
	assert_same 'false' "$(answer 8 | jq -c .result.isError)"
	assert_same 'ERROR 25006: cannot execute DELETE in a read-only transaction' "$(tool_error 9)"
	assert_same 'ERROR 25006: cannot execute INSERT in a read-only transaction' "$(tool_error 11)"
	assert_same 'ERROR 25006: cannot execute CREATE TABLE in a read-only transaction' "$(tool_error 12)"
	assert_same 0 "$(psql_fa -Atc 'SELECT count(*) FROM famcps.log')"
	assert_same 50 "$(psql_fa -Atc 'SELECT count(*) FROM famcps.customers')"
}

@test "schema: more than one statement, none, or COPY is refused before the database sees it" {
	psql_fa -qc 'TRUNCATE famcps.log'
	run stdio --sql-tool -- \
		"$(query 1 'COMMIT; INSERT INTO famcps.log VALUES (4)')" \
		"$(query 2 'SELECT 1; SELECT 2')" \
		"$(query 3 '  -- nothing
;')" \
		"$(query 4 '/* out */ copy famcps.customers TO STDOUT')" \
		"$(query 5 "SELECT ';' AS semi, \$\$a;b\$\$ AS d -- ; DELETE
;")" \
		"$(query 6 'SELECT 6 AS six')"
	assert_status 0
	assert_same 'ERROR 42601: the query tool runs one statement at a time: send each in a call of its own' "$(tool_error 1)"
	assert_same 'ERROR 42601: the query tool runs one statement at a time: send each in a call of its own' "$(tool_error 2)"
	assert_same 'ERROR 42601: the SQL holds no statement' "$(tool_error 3)"
	assert_same 'ERROR 0A000: COPY to or from the client is not offered: use SELECT' "$(tool_error 4)"
	assert_same '[{"semi":";","d":"a;b"}]' "$(answer 5 | jq -c .result.structuredContent.rows)"
	assert_same '[{"six":6}]' "$(answer 6 | jq -c .result.structuredContent.rows)"
	assert_same 0 "$(psql_fa -Atc 'SELECT count(*) FROM famcps.log')"
}

@test "schema: bad arguments are -32602; a SQL error is isError with the SQLSTATE; params must match the \$n used" {
	run stdio --sql-tool -- \
		'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{}}}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1","params":"x"}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1","other":1}}}' \
		'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"query","arguments":{"sql":7}}}' \
		"$(query 5 'SELECT * FROM famcps.nowhere')" \
		"$(query 6 'SELECT 1/0')" \
		"$(query 7 'SELECT $1::int AS a, $2::int AS b' '[1]')" \
		"$(query 8 'SELECT 1 AS a' '[1]')" \
		"$(query 9 "SELECT '\$3' AS a, \$1::int AS b -- \$2" '[9]')"
	assert_status 0
	assert_same "-32602 missing argument 'sql' (text)" "$(answer 1 | jq -r '"\(.error.code) \(.error.message)"')"
	assert_same "-32602 argument 'params': want an array of values" "$(answer 2 | jq -r '"\(.error.code) \(.error.message)"')"
	assert_same "-32602 unknown argument 'other'" "$(answer 3 | jq -r '"\(.error.code) \(.error.message)"')"
	assert_same "-32602 argument 'sql': want a string" "$(answer 4 | jq -r '"\(.error.code) \(.error.message)"')"
	assert_same 'ERROR 42P01: relation "famcps.nowhere" does not exist' "$(tool_error 5)"
	assert_same 'ERROR 22012: division by zero' "$(tool_error 6)"
	# a Bind that does not match would be 08P01, and cost the connection: refused first
	assert_same 'ERROR 42P02: the statement uses $1 to $2, but params holds 1 value' "$(tool_error 7)"
	assert_same 'ERROR 42P02: the statement uses no $n, but params holds 1 value' "$(tool_error 8)"
	assert_same '[{"a":"$3","b":9}]' "$(answer 9 | jq -c .result.structuredContent.rows)"
}

@test "schema: what a statement sets or holds does not outlive it, nor reach the SQL files' tools" {
	psql_fa -qc 'DROP ROLE IF EXISTS famcps_other; CREATE ROLE famcps_other'
	run stdio --sql-tool --pool 1 -- \
		"$(query 1 'SELECT set_config('"'"'search_path'"'"', '"'"'famcps'"'"', false)')" \
		"$(query 2 'SHOW search_path')" \
		"$(query 3 'SELECT pg_advisory_lock(4242)')" \
		"$(query 4 "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242")" \
		"$(query 5 'PREPARE p AS SELECT 1')" \
		"$(query 6 'SELECT count(*) AS n FROM pg_prepared_statements')" \
		'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"where_am_i","arguments":{}}}' \
		"$(query 8 'SET ROLE famcps_other')" \
		"$(query 9 'SELECT current_user = session_user AS same')" \
		"$(query 10 'SET SESSION AUTHORIZATION famcps_other')" \
		"$(query 11 'SELECT current_user = session_user AS same, session_user = '"'"'famcps_other'"'"' AS other')"
	psql_fa -qc 'DROP ROLE famcps_other'
	assert_status 0
	assert_same 'false false' "$(answer 8 | jq -c .result.isError) $(answer 10 | jq -c .result.isError)"
	assert_same '[{"same":true}]' "$(answer 9 | jq -c .result.structuredContent.rows)"
	assert_same '[{"same":true,"other":false}]' "$(answer 11 | jq -c .result.structuredContent.rows)"
	assert_same '[{"search_path":"\"$user\", public"}]' "$(answer 2 | jq -c .result.structuredContent.rows)"
	assert_same '[{"n":0}]' "$(answer 4 | jq -c .result.structuredContent.rows)"
	assert_same '[{"n":0}]' "$(answer 6 | jq -c .result.structuredContent.rows)"
	assert_same '{"path":"\"$user\", public"}' "$(answer 7 | jq -c .result.structuredContent)"
}

@test "schema: the tables are resources, beside the files' ones, with columns, keys and comments" {
	run stdio --schema-resources -- '{"jsonrpc":"2.0","id":1,"method":"resources/list"}' \
		"$(read_uri 2 "postgres://$DB/famcps/orders/schema")" \
		"$(read_uri 3 "postgres://$DB/famcps/customers/schema")" \
		"$(read_uri 4 "postgres://$DB/famcps/big_orders/schema")" \
		'{"jsonrpc":"2.0","id":5,"method":"tools/list"}'
	assert_status 0
	assert_same "shop://motd
postgres://$DB/famcps/Odd%20name%2Fwith%20slash/schema famcps.Odd name/with slash
postgres://$DB/famcps/big_orders/schema famcps.big_orders
postgres://$DB/famcps/customers/schema famcps.customers People who buy
postgres://$DB/famcps/log/schema famcps.log
postgres://$DB/famcps/orders/schema famcps.orders" \
		"$(answer 1 | jq -r '.result.resources[] | select(.uri == "shop://motd" or (.uri | contains("/famcps/"))) |
			if .uri == "shop://motd" then .uri else "\(.uri) \(.name)\(if .description | startswith("Columns") then "" else " " + .description end)" end')"
	assert_same 'application/json' "$(answer 1 | jq -r '[.result.resources[] | select(.uri | startswith("postgres:")) | .mimeType] | unique | join(" ")')"
	assert_same '[]' "$(answer 1 | jq -c '[.result.resources[] | select(.uri | test("/(pg_catalog|information_schema)/"))]')"
	assert_same '{"database":"'"$DB"'","schema":"famcps","name":"orders","kind":"table","comment":null,"columns":[{"name":"id","type":"bigint","nullable":false,"default":"nextval('"'"'famcps.orders_id_seq'"'"'::regclass)","comment":null},{"name":"customer","type":"integer","nullable":false,"default":null,"comment":null},{"name":"total","type":"numeric(10,2)","nullable":true,"default":null,"comment":null}],"primaryKey":["id"],"foreignKeys":[{"name":"orders_customer_fkey","columns":["customer"],"references":{"schema":"famcps","table":"customers","columns":["id"]},"onUpdate":"NO ACTION","onDelete":"CASCADE"}],"definition":null}' \
		"$(answer 2 | jq -c '.result.contents[0].text | fromjson')"
	assert_same "postgres://$DB/famcps/orders/schema application/json" \
		"$(answer 2 | jq -r '.result.contents[0] | "\(.uri) \(.mimeType)"')"
	assert_same '"People who buy" [{"name":"id","comment":null},{"name":"name","comment":"Full name"},{"name":"joined","comment":null}] "CURRENT_DATE"' \
		"$(answer 3 | jq -r '.result.contents[0].text | fromjson | "\(.comment | tojson) \([.columns[] | {name, comment}] | tojson) \(.columns[2].default | tojson)"')"
	assert_same 'view null true' \
		"$(answer 4 | jq -r '.result.contents[0].text | fromjson | "\(.kind) \(.primaryKey) \(.definition | contains("total > "))"')"
	# the tables without the query tool: the file's tool of that name stays
	assert_same "[\"A file's tool that --sql-tool hides\"]" \
		"$(answer 5 | jq -c '[.result.tools[] | select(.name == "query") | .description]')"
}

@test "schema: the template reads any table by name; unknown is -32002 (2025) or -32602 (2026); the list follows the catalog" {
	run stdio --sql-tool -- '{"jsonrpc":"2.0","id":1,"method":"resources/templates/list"}' \
		"$(read_uri 2 "postgres://$DB/famcps/Odd%20name%2Fwith%20slash/schema")" \
		"$(read_uri 3 "postgres://$DB/famcps/nowhere/schema")" \
		"$(read_uri 4 "postgres://not_$DB/famcps/orders/schema")" \
		"$(read_uri 5 "postgres://$DB/pg_catalog/pg_class/schema")" \
		"$(read_uri 6 "postgres://$DB/famcps/nowhere/schema" meta)" \
		"$(read_uri 7 "postgres://$DB/famcps/orders/schema" meta)" \
		"$(read_uri 8 "postgres://$DB/famcps/orders")"
	assert_status 0
	assert_same '[{"uriTemplate":"postgres://'"$DB"'/{schema}/{table}/schema","name":"table_schema","description":"Columns, keys and comments of a table or view, by its schema and name","mimeType":"application/json"}]' \
		"$(answer 1 | jq -c .result.resourceTemplates)"
	assert_same '["k"] text' "$(answer 2 | jq -r '.result.contents[0].text | fromjson | "\(.primaryKey | tojson) \(.columns[0].type)"')"
	assert_same '{"code":-32002,"message":"Resource not found: postgres://'"$DB"'/famcps/nowhere/schema","data":{"uri":"postgres://'"$DB"'/famcps/nowhere/schema"}}' \
		"$(answer 3 | jq -c .error)"
	assert_same -32002 "$(answer 4 | jq -c .error.code)"
	assert_same -32002 "$(answer 5 | jq -c .error.code)"
	assert_same -32602 "$(answer 6 | jq -c .error.code)"
	assert_same 'complete orders' "$(answer 7 | jq -r '"\(.result.resultType) \(.result.contents[0].text | fromjson | .name)"')"
	assert_same -32002 "$(answer 8 | jq -c .error.code)"
	# a table made while the server runs is listed at the next list
	psql_fa -qc 'DROP TABLE IF EXISTS famcps.later'
	coproc SERVER { timeout 60 fa-mcp serve --schema-resources "$SQL" 2>/dev/null; }
	echo '{"jsonrpc":"2.0","id":1,"method":"resources/list"}' >&"${SERVER[1]}"
	read -r line <&"${SERVER[0]}"
	assert_same 0 "$(jq '[.result.resources[] | select(.name == "famcps.later")] | length' <<< "$line")"
	psql_fa -qc 'CREATE TABLE famcps.later (x int)'
	echo '{"jsonrpc":"2.0","id":2,"method":"resources/list"}' >&"${SERVER[1]}"
	read -r line <&"${SERVER[0]}"
	assert_same 1 "$(jq '[.result.resources[] | select(.name == "famcps.later")] | length' <<< "$line")"
	exec {SERVER[1]}>&-
	wait "$SERVER_PID"
	psql_fa -qc 'DROP TABLE famcps.later'
}

@test "schema: the tables come in pages of --page-size after the files' resources, chained by nextCursor" {
	local all= cursor= page
	for _ in $(seq 50); do
		run stdio --schema-resources --page-size 2 -- "$(jq -cn --arg c "$cursor" '{jsonrpc: "2.0", id: 1,
			method: "resources/list", params: (if $c == "" then {} else {cursor: $c} end)}')"
		assert_status 0
		page=$(answer 1 | jq -r '.result.resources[].name')
		[ "$(wc -l <<< "$page")" -le 2 ]
		all+=$page$'\n'
		cursor=$(answer 1 | jq -r '.result.nextCursor // empty')
		[ -n "$cursor" ] || break
	done
	assert_same 'motd|famcps.Odd name/with slash|famcps.big_orders|famcps.customers|famcps.log|famcps.orders' \
		"$(grep -E '^(motd|famcps\.)' <<< "$all" | paste -sd '|')"
	run stdio --schema-resources -- '{"jsonrpc":"2.0","id":1,"method":"resources/list","params":{"cursor":"bogus"}}'
	assert_same -32602 "$(answer 1 | jq -c .error.code)"
}

@test "schema: a role sees only the tables it holds a privilege on" {
	psql_fa -q <<'SQL'
DROP ROLE IF EXISTS famcps_reader;
CREATE ROLE famcps_reader LOGIN;
GRANT USAGE ON SCHEMA famcps TO famcps_reader;
GRANT SELECT ON famcps.customers TO famcps_reader;
SQL
	run stdio --sql-tool --pool 1 --db "$FA_CONNINFO user=famcps_reader" -- '{"jsonrpc":"2.0","id":1,"method":"resources/list"}' \
		"$(read_uri 2 "postgres://$DB/famcps/orders/schema")" \
		"$(query 3 'SELECT count(*) AS n FROM famcps.orders')" \
		"$(query 4 'SELECT count(*) AS n FROM famcps.customers')" \
		"$(query 5 'SET search_path = famcps')" \
		"$(query 6 'SELECT count(*) AS n FROM customers')"
	psql_fa -qc 'REVOKE ALL ON famcps.customers FROM famcps_reader; REVOKE ALL ON SCHEMA famcps FROM famcps_reader; DROP ROLE famcps_reader'
	assert_status 0
	assert_same 'famcps.customers' "$(answer 1 | jq -r '[.result.resources[] | select(.uri | contains("/famcps/")) | .name] | join(" ")')"
	assert_same -32002 "$(answer 2 | jq -c .error.code)"
	assert_same 'ERROR 42501: permission denied for table orders' "$(tool_error 3)"
	assert_same '[{"n":50}]' "$(answer 4 | jq -c .result.structuredContent.rows)"
	# the resets work for a role without privileges too
	assert_same 'ERROR 42P01: relation "customers" does not exist' "$(tool_error 6)"
}

@test "schema: over Streamable HTTP in both eras: query, list and read; then exit 0 with nothing from the sanitizers" {
	fa-mcp serve --listen 127.0.0.1:0 --threads 2 --sql-tool --sql-limit 2 "$SQL" 2> "$BATS_TEST_TMPDIR/own.log" &
	spid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$BATS_TEST_TMPDIR/own.log" 2>/dev/null && break
		sleep 0.1
	done
	local url=http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/own.log" | head -1)/mcp
	local h=(-sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'
		-H 'MCP-Protocol-Version: 2026-07-28')
	body=$(curl "${h[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: query' --data-binary \
		'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT id FROM famcps.customers WHERE id > $1 ORDER BY id","params":[40]},'"$META"'}}' "$url")
	assert_same '{"rows":[{"id":41},{"id":42}],"truncated":true} complete' \
		"$(jq -c '"\(.result.structuredContent | tojson) \(.result.resultType)"' -r <<< "$body")"
	body=$(curl "${h[@]}" -H 'Mcp-Method: resources/read' -H "Mcp-Name: postgres://$DB/famcps/customers/schema" --data-binary \
		'{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"postgres://'"$DB"'/famcps/customers/schema",'"$META"'}}' "$url")
	assert_same '["id"]' "$(jq -c '.result.contents[0].text | fromjson | .primaryKey' <<< "$body")"
	# 2025-11-25: a session, then the same through fa-mcp's client
	run fa-mcp list --protocol 2025-11-25 "$url" resources -F ndjson
	assert_status 0
	assert_contains "$output" "\"uri\":\"postgres://$DB/famcps/orders/schema\""
	run fa-mcp call --protocol 2025-11-25 "$url" query sql='SELECT 1/0'
	assert_status 1
	assert_contains "$output" 'ERROR 22012: division by zero'
	kill -TERM "$spid"
	wait "$spid"
	spid=
	if grep -E 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/own.log" >&2; then return 1; fi
}

@test "schema: a notice the statement raises is a log message before the answer, when the client asked" {
	run stdio --sql-tool -- \
		'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}' \
		'{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"info"}}' \
		"$(query 2 "DO \$\$ BEGIN RAISE NOTICE 'counted %', 3; END \$\$")"
	assert_status 0
	assert_same '{"level":"notice","logger":"postgresql","data":"counted 3"}' \
		"$(jq -c 'select(.method == "notifications/message") | .params' <<< "$output")"
	assert_same '{"rows":[],"truncated":false}' "$(answer 2 | jq -c .result.structuredContent)"
}

@test "schema: notifications/cancelled stops a query: no answer, the statement cancelled on the server" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	fa-mcp serve --sql-tool --pool 1 "$SQL" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	spid=$!
	exec 7> "$BATS_TEST_TMPDIR/in"
	query 1 'SELECT pg_sleep(30) AS famcps_nap' >&7
	for _ in $(seq 50); do
		[ "$(psql_fa -tAc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%famcps_nap%' AND pid <> pg_backend_pid()")" = 1 ] && break
		sleep 0.1
	done
	local t0=$SECONDS
	printf '%s
' '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}' \
		"$(query 2 'SELECT 2 AS two')" >&7
	exec 7>&-
	wait "$spid"
	spid=
	[ $((SECONDS - t0)) -lt 10 ]
	run jq -c '[.id, .result.structuredContent.rows]' "$BATS_TEST_TMPDIR/out"
	assert_same '[2,[{"two":2}]]' "$output"
}

@test "schema: --sql-timeout and --sql-limit take durations and counts; anything else is exit 2" {
	run fa-mcp serve --sql-tool --sql-timeout 30 "$SQL"
	assert_status 2
	assert_contains "$output" "option '--sql-timeout' takes a duration such as 500ms, 30s or 5min, from 1ms to 86400000ms, not '30'"
	run fa-mcp serve --sql-tool --sql-timeout 2d "$SQL"
	assert_status 2
	run fa-mcp serve --sql-tool --sql-limit 0 "$SQL"
	assert_status 2
	assert_contains "$output" "option '--sql-limit' takes a whole number from 1 to 1000000, not '0'"
	run stdio --sql-tool --sql-timeout 2min --sql-limit 7 -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	assert_status 0
	assert_contains "$(answer 1 | jq -r '.result.tools[] | select(.name == "query") | .description')" \
		'statement_timeout 120000 ms, at most 7 rows'
}
