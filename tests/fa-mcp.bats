#!/usr/bin/env bats
# fa-mcp serve driven as an MCP client drives it: JSON lines through its
# stdin and stdout, and Streamable HTTP with curl, in both protocol eras
# (2025-11-25 with initialize and sessions, the stateless 2026-07-28);
# tools from a SQL file, their schemas, calls, errors, reloads and a
# database restart.

load helpers
load mcp_helpers

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS famcp CASCADE;
CREATE SCHEMA famcp;
CREATE TABLE famcp.items (id int PRIMARY KEY, name text NOT NULL, price numeric,
	tags text[], attrs jsonb);
INSERT INTO famcp.items VALUES (1, 'apple', 1.25, '{fruit,red}', '{"color": "red"}'),
	(2, 'pear', 0.5, '{fruit}', NULL), (3, 'Zoë "quoted"', 10, '{}', '{}');
CREATE TABLE famcp.log (n int);
-- a function that writes, called by statements whose words only read
CREATE FUNCTION famcp.sneaky() RETURNS int LANGUAGE sql VOLATILE AS
	$$ INSERT INTO famcp.log VALUES (1) RETURNING n $$;
CREATE FUNCTION famcp.sneaky_slow() RETURNS int LANGUAGE plpgsql VOLATILE AS
	$$ BEGIN PERFORM pg_sleep(1.5); INSERT INTO famcp.log VALUES (2); RETURN 2; END $$;
CREATE FUNCTION famcp.noisy() RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN RAISE NOTICE 'psst'; RETURN E'two\nlines'; END $$;
SQL
	mkdir -p "$BATS_FILE_TMPDIR/tools"
	cat > "$BATS_FILE_TMPDIR/tools/shop.sql" <<'SQL'
-- List the items, cheapest first.
-- name: list_items
-- tool:
-- param: min_price numeric = 0  Cheapest price to list
-- param: tag text = null  Only items with this tag
SELECT id, name, price, tags FROM famcp.items
 WHERE price >= :min_price AND (:tag IS NULL OR :tag = ANY (tags)) ORDER BY id;

-- name: get_item
-- tool: Fetch one item by id
-- param: id int  The item's id
-- returns: one
SELECT id, name, price, attrs FROM famcp.items WHERE id = :id;

-- name: add_item
-- tool: Add an item
-- param: id int  The new item's id
-- param: name text
-- param: price numeric = 1
-- param: tags text[] = {}
-- param: attrs jsonb = null
-- returns: one
INSERT INTO famcp.items (id, name, price, tags, attrs)
VALUES (:id, :name, :price, :tags, :attrs) RETURNING id, name, price, tags, attrs;

-- name: rename_item
-- tool: Rename an item
-- param: id int
-- param: name text
-- returns: none
UPDATE famcp.items SET name = :name WHERE id = :id;

-- name: route_only
-- route: GET /route-only
SELECT 1 AS one;

-- name: sneaky
-- tool: Reads, by its words
SELECT famcp.sneaky() AS n;

-- name: sneaky_slow
-- tool: Reads by its words, writes after a while
SELECT famcp.sneaky_slow() AS n;

-- name: types
-- tool: Echo typed values
-- param: i bigint = 7
-- param: f float = 1.5
-- param: b bool = true
-- param: d date = null
-- param: t timestamptz = null
-- param: u uuid = null
-- param: j json = null
-- param: ids int[] = null
-- returns: one
SELECT :i AS i, :f AS f, :b AS b, :d AS d, :t AS t, :u AS u, :j AS j, :ids AS ids;

-- name: echo_num
-- tool: Echo a numeric as text
-- param: n numeric
-- returns: one
SELECT :n::text AS n;

-- name: nap
-- tool: Sleep a while
-- param: s float = 1
-- returns: one
SELECT :s AS s FROM pg_sleep(:s);

-- name: divide
-- tool: Sixty divided by n
-- param: n int
-- returns: one
SELECT 60 / :n AS q;

-- name: noisy
-- tool: Raises a notice, returns two lines
-- returns: one
SELECT famcp.noisy() AS t;
SQL
	mkdir -p "$BATS_FILE_TMPDIR/more"
	cat > "$BATS_FILE_TMPDIR/more/more.sql" <<'SQL'
-- The item's name.
-- name: item_name
-- resource: shop://items/{id}/name
-- param: id int  The item's id
SELECT name FROM famcp.items WHERE id = :id;

-- name: motd
-- resource: shop://motd text/markdown
SELECT '# Hello';

-- name: logo
-- resource: shop://logo image/png
SELECT decode('iVBORw0KGgo=', 'base64');

-- name: broken_res
-- resource: shop://broken
SELECT 1 / 0;

-- name: ask_about
-- prompt: Ask about an item
-- arg: item  The item's name
-- param: n int = 1  How many questions
SELECT 'user' AS role, 'Tell me about ' || :item AS content
UNION ALL SELECT 'assistant', 'Sure, ' || :n || ' question(s).';

-- name: pic
-- tool: A picture and a caption
-- content: img image/png
-- content: caption text/plain
-- content: doc application/json shop://doc
SELECT decode('iVBORw0KGgo=', 'base64') AS img, 'a caption' AS caption, '{"a":1}' AS doc
UNION ALL SELECT NULL, 'second', NULL;
SQL
	# the server shared by the HTTP tests; its exit status goes to rc
	(
		fa-mcp serve --listen 127.0.0.1:0 --threads 2 --max-message 4096 \
			--allow-origin http://good.example "$BATS_FILE_TMPDIR/tools" \
			> /dev/null 2> "$BATS_FILE_TMPDIR/serve.log" &
		echo $! > "$BATS_FILE_TMPDIR/pid"
		wait $!
		echo $? > "$BATS_FILE_TMPDIR/rc"
	) 3>&- &
	for _ in $(seq 50); do
		[ -s "$BATS_FILE_TMPDIR/pid" ] && break
		sleep 0.1
	done
	for _ in $(seq 100); do
		grep -q 'listening on' "$BATS_FILE_TMPDIR/serve.log" 2>/dev/null && break
		sleep 0.1
	done
	sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$BATS_FILE_TMPDIR/serve.log" | head -1 > "$BATS_FILE_TMPDIR/port"
}

teardown_file() {
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
	psql_fa -q -c 'DROP SCHEMA IF EXISTS famcp CASCADE'
}

setup() {
	TOOLS=$BATS_FILE_TMPDIR/tools
	port=$(cat "$BATS_FILE_TMPDIR/port")
	url=http://127.0.0.1:$port/mcp
	META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
}

# A server a test started for itself ($spid) must not outlive a failure.
teardown() {
	if [ -n "${spid:-}" ]; then kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
}

# ---- stdio: lifecycle and lists ----

@test "stdio: initialize answers the version asked when known, else 2025-11-25; ping; notifications get no answer" {
	run stdio -- \
		'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}' \
		'{"jsonrpc":"2.0","method":"notifications/initialized"}' \
		'{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}' \
		'{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{}}}' \
		'{"jsonrpc":"2.0","id":5,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{}}}' \
		'{"jsonrpc":"2.0","id":"p","method":"ping"}' \
		'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'
	assert_status 0
	assert_same 6 "$(wc -l <<< "$output")"
	assert_same '"2024-11-05"' "$(answer 5 | jq -c .result.protocolVersion)"
	assert_same '"2025-06-18"' "$(answer 1 | jq -c .result.protocolVersion)"
	assert_same '"2025-11-25"' "$(answer 2 | jq -c .result.protocolVersion)"
	assert_same '"2025-11-25"' "$(answer 3 | jq -c .result.protocolVersion)"
	assert_same '"2025-03-26"' "$(answer 4 | jq -c .result.protocolVersion)"
	assert_same '{"completions":{},"logging":{},"prompts":{"listChanged":true},"resources":{"listChanged":true,"subscribe":true},"tools":{"listChanged":true}}' \
		"$(answer 1 | jq -cS .result.capabilities)"
	assert_same '"fa-mcp"' "$(answer 1 | jq -c .result.serverInfo.name)"
	assert_same '{"jsonrpc":"2.0","id":"p","result":{}}' "$(answer '"p"')"
}

@test "stdio: tools/list gives schemas and annotations; a query without tool: is not listed" {
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	assert_status 0
	assert_same "list_items get_item add_item rename_item sneaky sneaky_slow types echo_num nap divide noisy" \
		"$(jq -r '[.result.tools[].name] | join(" ")' <<< "$output")"
	# a read
	assert_same "$(jq -cS . <<< '{"name":"get_item","description":"Fetch one item by id",
		"inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"id":{"type":"integer","description":"The item'"'"'s id"}},
			"required":["id"],"additionalProperties":false},
		"outputSchema":{"type":"object"},
		"annotations":{"readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}}')" \
		"$(jq -cS '.result.tools[] | select(.name == "get_item")' <<< "$output")"
	# an INSERT: writes, destroys nothing
	assert_same "$(jq -cS . <<< '{"name":"add_item","description":"Add an item",
		"inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{
			"id":{"type":"integer","description":"The new item'"'"'s id"},"name":{"type":"string"},
			"price":{"type":["number","string"],"default":"1"},
			"tags":{"type":"array","items":{"type":"string"}},
			"attrs":{"default":null}},
			"required":["id","name"],"additionalProperties":false},
		"outputSchema":{"type":"object"},
		"annotations":{"readOnlyHint":false,"destructiveHint":false,"idempotentHint":false,"openWorldHint":false}}')" \
		"$(jq -cS '.result.tools[] | select(.name == "add_item") | del(.inputSchema.properties.tags.default)' <<< "$output")"
	# an UPDATE: destructive; returns none has the rows shape
	assert_same "$(jq -cS . <<< '{"name":"rename_item","description":"Rename an item",
		"inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},
			"required":["id","name"],"additionalProperties":false},
		"outputSchema":{"type":"object","properties":{"rows":{"type":"array","items":{"type":"object"}}},"required":["rows"]},
		"annotations":{"readOnlyHint":false,"destructiveHint":true,"idempotentHint":false,"openWorldHint":false}}')" \
		"$(jq -cS '.result.tools[] | select(.name == "rename_item") | .inputSchema.required |= sort' <<< "$output")"
	# the description lines stand in for an empty tool:
	assert_same '"List the items, cheapest first."' \
		"$(jq -c '.result.tools[] | select(.name == "list_items") | .description' <<< "$output")"
}

@test "stdio: a jsonb parameter's '-- schema:' goes into the inputSchema's \$defs; a bad one stops the load" {
	local dir=$BATS_TEST_TMPDIR/schema
	mkdir -p "$dir"
	cat > "$dir/a.sql" <<'SQL'
-- name: locate
-- tool: Where an address is
-- param: who text
-- param: address jsonb = null  Street and city
-- schema: address {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SELECT :who AS who, :address->>'city' AS city;
SQL
	TOOLS=$dir run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' \
		"$(call 2 locate '{"who":"ann","address":{"city":"Oslo"}}')"
	assert_status 0
	assert_same '{"$defs":{"address":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}},"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"properties":{"address":{"$ref":"#/$defs/address","default":null,"description":"Street and city"},"who":{"type":"string"}},"required":["who"],"type":"object"}' \
		"$(answer 1 | jq -cS '.result.tools[0].inputSchema')"
	assert_same '[{"who":"ann","city":"Oslo"}]' "$(answer 2 | jq -c .result.structuredContent.rows)"
	# a schema for no parameter, for a text one, or that is no JSON object
	for line in '-- schema: nobody {}' '-- schema: who {}' '-- schema: address [1]' '-- schema: address {"type":'; do
		sed "s/^-- schema: .*/$line/" "$dir/a.sql" > "$dir/b.sql"
		run fa-mcp serve "$dir/b.sql" < /dev/null
		assert_status 4
		assert_contains "$output" "b.sql:5: "
	done
	assert_contains "$output" "schema of 'address' is not a JSON object"
}

@test "stdio: parameter types map to JSON Schema types and formats" {
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	assert_status 0
	assert_same "$(jq -cS . <<< '{"i":{"type":"integer"},"f":{"type":"number"},"b":{"type":"boolean"},
		"d":{"type":"string","format":"date"},"t":{"type":"string","format":"date-time"},
		"u":{"type":"string","format":"uuid"},"j":{},"ids":{"type":"array","items":{"type":"integer"}}}')" \
		"$(jq -cS '.result.tools[] | select(.name == "types") | .inputSchema.properties | map_values(del(.default))' <<< "$output")"
	assert_same '{"b":true,"f":1.5,"i":7}' \
		"$(jq -cS '.result.tools[] | select(.name == "types") | .inputSchema.properties | {i: .i.default, f: .f.default, b: .b.default}' <<< "$output")"
	assert_same '[]' "$(jq -c '.result.tools[] | select(.name == "types") | .inputSchema.required' <<< "$output")"
	assert_same '{"type":["number","string"]}' \
		"$(jq -c '.result.tools[] | select(.name == "echo_num") | .inputSchema.properties.n' <<< "$output")"
}

@test "stdio: a client that sends the defaults the schema advertises gets the call run" {
	# an array parameter's default is advertised as a JSON array ("{}" is [])
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	assert_status 0
	local args
	args=$(jq -c '.result.tools[] | select(.name == "add_item") | .inputSchema.properties
		| with_entries(select(.value | has("default")) | .value |= .default) + {id: 500, name: "defaults"}' <<< "$output")
	run stdio -- "$(call 1 add_item "$args")"
	assert_status 0
	assert_same '{"id":500,"name":"defaults","price":1,"tags":[],"attrs":null}' \
		"$(answer 1 | jq -c .result.structuredContent)"
}

@test "stdio: --read-only lists only the tools that read, and will not call the others" {
	run stdio --read-only -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' \
		"$(call 2 add_item '{"id":600,"name":"no"}')" "$(call 3 get_item '{"id":2}')"
	assert_status 0
	assert_same "list_items get_item sneaky sneaky_slow types echo_num nap divide noisy" \
		"$(answer 1 | jq -r '[.result.tools[].name] | join(" ")')"
	assert_same '{"code":-32602,"message":"unknown tool '"'"'add_item'"'"'"}' "$(answer 2 | jq -c .error)"
	assert_same '"pear"' "$(answer 3 | jq -c .result.structuredContent.name)"
	assert_same 0 "$(psql_fa -Atc 'SELECT count(*) FROM famcp.items WHERE id = 600')"
}

# ---- stdio: calls ----

@test "stdio: tools/call returns many (rows), one (the row), none, and defaults fill what is left out" {
	run stdio -- "$(call 1 list_items '{"tag":"fruit"}')" "$(call 2 list_items '{"min_price":"1","tag":"fruit"}')" \
		"$(call 3 get_item '{"id":1}')" "$(call 4 get_item '{"id":99}')" \
		"$(call 5 types '{}')" "$(call 6 list_items '{}')"
	assert_status 0
	assert_same '{"rows":[{"id":1,"name":"apple","price":1.25,"tags":["fruit","red"]},{"id":2,"name":"pear","price":0.5,"tags":["fruit"]}]}' \
		"$(answer 1 | jq -c .result.structuredContent)"
	assert_same 'false' "$(answer 1 | jq -c .result.isError)"
	# the text block holds the same rows as JSON text
	assert_same "$(answer 1 | jq -c .result.structuredContent.rows)" "$(answer 1 | jq -c '.result.content[0].text | fromjson')"
	assert_same '"text"' "$(answer 1 | jq -c '.result.content[0].type')"
	assert_same '[1]' "$(answer 2 | jq -c '[.result.structuredContent.rows[].id]')"
	assert_same '{"id":1,"name":"apple","price":1.25,"attrs":{"color":"red"}}' "$(answer 3 | jq -c .result.structuredContent)"
	assert_same '{"content":[{"type":"text","text":"not found: the query returned no row"}],"isError":true}' \
		"$(answer 4 | jq -c .result)"
	assert_same '{"i":7,"f":1.5,"b":true,"d":null,"t":null,"u":null,"j":null,"ids":null}' \
		"$(answer 5 | jq -c .result.structuredContent)"
	assert_same '[1,2,3]' "$(answer 6 | jq -c '[.result.structuredContent.rows[].id | select(. <= 3)]')"

	run stdio -- "$(call 7 rename_item '{"id":3,"name":"Zoë renamed"}')"
	assert_status 0
	assert_same '{"rows":[]}' "$(answer 7 | jq -c .result.structuredContent)"
	assert_same 'Zoë renamed' "$(psql_fa -Atc 'SELECT name FROM famcp.items WHERE id = 3')"
	psql_fa -qc "UPDATE famcp.items SET name = 'Zoë \"quoted\"' WHERE id = 3"
}

@test "stdio: typed, array and json arguments reach the database as given" {
	run stdio -- \
		"$(call 1 types '{"i":9007199254740993,"f":2.5,"b":false,"d":"2026-01-02","t":"2026-01-02T03:04:05Z","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","j":{"a":[1,"x"]},"ids":[1,2,null]}')" \
		"$(call 2 add_item '{"id":100,"name":"kiwi, \"green\"","price":"2.10","tags":["a b","c\"d",null,"{x}"],"attrs":{"k":[1,2],"s":"é"}}')" \
		"$(call 3 types '{"ids":[[1,2],[3,4]],"j":"just a string"}')" \
		"$(call 4 types '{"i":null}')"
	assert_status 0
	assert_contains "$(answer 1)" '"structuredContent":{"i":9007199254740993,"f":2.5,"b":false,"d":"2026-01-02","t":"2026-01-02T03:04:05+00:00","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","j":{"a":[1,"x"]},"ids":[1,2,null]},"isError":false}' 
	assert_same 'false' "$(answer 2 | jq -c .result.isError)"
	assert_same 'kiwi, "green"|2.10|4|a b|c"d|t|{x}|{"k": [1, 2], "s": "é"}' \
		"$(psql_fa -Atc 'SELECT name, price, array_length(tags, 1), tags[1], tags[2], tags[3] IS NULL, tags[4], attrs FROM famcp.items WHERE id = 100')"
	assert_same '[[1,2],[3,4]] "just a string"' "$(answer 3 | jq -r '.result.structuredContent | "\(.ids | tojson) \(.j | tojson)"')"
	# an explicit null is SQL NULL, not the default
	assert_same 'null' "$(answer 4 | jq -c .result.structuredContent.i)"
}

@test "stdio: a numeric argument keeps the digits its JSON carried: a string exactly, a number as its double" {
	# A JSON number is a double to a JavaScript client and to fa-mcp: 0.1
	# stays 0.1 (the shortest text of that double), an integer past 64 bits
	# is read as the double a JavaScript client would have sent (1e20);
	# a numeric that needs more digits goes as a string, which the schema
	# allows ("type": ["number", "string"]).
	run stdio -- "$(call 1 echo_num '{"n":0.1}')" "$(call 2 echo_num '{"n":"12345678901234567890.123456789"}')" \
		"$(call 3 echo_num '{"n":99999999999999999999}')" "$(call 4 echo_num '{"n":1e-7}')"
	assert_status 0
	assert_same '{"n":"12345678901234567890.123456789"}' "$(answer 2 | jq -c .result.structuredContent)"
	assert_same '{"n":"0.1"}' "$(answer 1 | jq -c .result.structuredContent)"
	assert_same '{"n":"100000000000000000000"}' "$(answer 3 | jq -c .result.structuredContent)"
	assert_same '{"n":"0.0000001"}' "$(answer 4 | jq -c .result.structuredContent)"
}

@test "stdio: a missing, an unknown and a bad argument, and an unknown tool, are -32602 naming it" {
	run stdio -- "$(call 1 get_item '{}')" "$(call 2 get_item '{"id":1,"idd":2}')" \
		"$(call 3 get_item '{"id":"abc"}')" "$(call 4 no_such_tool '{}')" "$(call 5 route_only '{}')" \
		"$(call 6 types '{"ids":5}')" "$(call 7 types '{"ids":[1,"x"]}')" "$(call 8 get_item '[1]')" \
		"$(call 9 types '{"d":"2026-13-01"}')" '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{}}'
	assert_status 0
	assert_same '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"missing argument '"'"'id'"'"' (int)"}}' "$(answer 1)"
	assert_same '{"code":-32602,"message":"unknown argument '"'"'idd'"'"'"}' "$(answer 2 | jq -c .error)"
	assert_same '{"code":-32602,"message":"parameter '"'"'id'"'"': \"abc\" is not a valid int"}' "$(answer 3 | jq -c .error)"
	assert_same '{"code":-32602,"message":"unknown tool '"'"'no_such_tool'"'"'"}' "$(answer 4 | jq -c .error)"
	assert_same '{"code":-32602,"message":"unknown tool '"'"'route_only'"'"'"}' "$(answer 5 | jq -c .error)"
	assert_same '{"code":-32602,"message":"argument '"'"'ids'"'"': want an array"}' "$(answer 6 | jq -c .error)"
	assert_same '-32602' "$(answer 7 | jq -c .error.code)"
	assert_contains "$(answer 7 | jq -r .error.message)" "parameter 'ids'"
	assert_same '{"code":-32602,"message":"\"arguments\" must be an object"}' "$(answer 8 | jq -c .error)"
	assert_same '-32602' "$(answer 9 | jq -c .error.code)"
	assert_contains "$(answer 9 | jq -r .error.message)" "parameter 'd'"
	assert_same '-32602' "$(answer 10 | jq -c .error.code)"
}

@test "stdio: a SQL error is a tool result with isError and the SQLSTATE, not a protocol error; so is a unique violation" {
	run stdio -- "$(call 1 divide '{"n":0}')" "$(call 2 add_item '{"id":1,"name":"again"}')" "$(call 3 divide '{"n":7}')"
	assert_status 0
	assert_same '{"content":[{"type":"text","text":"ERROR 22012: division by zero"}],"isError":true}' \
		"$(answer 1 | jq -c .result)"
	assert_same 'null' "$(answer 1 | jq -c .error)"
	assert_same 'true' "$(answer 2 | jq -c .result.isError)"
	assert_same 'ERROR 23505: duplicate key value violates unique constraint "items_pkey"
DETAIL: Key (id)=(1) already exists.' "$(answer 2 | jq -r '.result.content[0].text')"
	assert_same '{"q":8}' "$(answer 3 | jq -c .result.structuredContent)"
}

@test "stdio: a read-only tool cannot write, even through a function (25006 inside isError)" {
	psql_fa -qc 'TRUNCATE famcp.log'
	run stdio -- "$(call 1 sneaky '{}')"
	assert_status 0
	assert_same 'true' "$(answer 1 | jq -c .result.isError)"
	assert_same 'ERROR 25006: cannot execute INSERT in a read-only transaction' "$(answer 1 | jq -r '.result.content[0].text')"
	assert_same 0 "$(psql_fa -Atc 'SELECT count(*) FROM famcp.log')"
}

@test "stdio: a read-only tool sent again after its connection died still cannot write" {
	# the call's transaction_read_only is set by a query of its own in the
	# same batch; the pool sends a batch again only whole, so when the
	# connection dies under the statement it is not sent alone (and writes)
	psql_fa -qc 'TRUNCATE famcp.log'
	# both connections up, the call, then its backend terminated under it
	scenario() {
		{
			echo '{"jsonrpc":"2.0","id":0,"method":"ping"}'
			sleep 0.5
			call 1 sneaky_slow '{}'
			echo
			sleep 0.5
			psql_fa -Atqc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE application_name = 'fa-mcp' AND query LIKE '%sneaky_slow%'" > /dev/null
		} | timeout 60 fa-mcp serve --pool 2 "$TOOLS"
	}
	run scenario
	assert_status 0
	assert_same 'true' "$(answer 1 | jq -c .result.isError)"
	assert_same 0 "$(psql_fa -Atc 'SELECT count(*) FROM famcp.log')"
}

# ---- stdio: JSON-RPC framing ----

@test "stdio: -32700 for garbage with id null, -32600 for a batch, a missing jsonrpc and a null id, -32601 for an unknown method" {
	run stdio -- 'garbage{' '[{"jsonrpc":"2.0","id":1,"method":"ping"}]' '{"id":3,"method":"ping"}' \
		'{"jsonrpc":"2.0","id":null,"method":"ping"}' '{"jsonrpc":"2.0","id":5,"method":"no/such"}' \
		'{"jsonrpc":"2.0","id":6,"method":"ping"}'
	assert_status 0
	assert_same 6 "$(wc -l <<< "$output")"
	mapfile -t lines <<< "$output"
	assert_same '{"id":null,"code":-32700}' "$(jq -c '{id, code: .error.code}' <<< "${lines[0]}")"
	assert_same '{"id":null,"code":-32600}' "$(jq -c '{id, code: .error.code}' <<< "${lines[1]}")"
	assert_same '{"id":3,"code":-32600}' "$(jq -c '{id, code: .error.code}' <<< "${lines[2]}")"
	assert_contains "${lines[2]}" '\"jsonrpc\" must be \"2.0\"'
	assert_same '{"id":null,"code":-32600}' "$(jq -c '{id, code: .error.code}' <<< "${lines[3]}")"
	assert_same '{"code":-32601,"message":"method not found"}' "$(answer 5 | jq -c .error)"
	assert_same '{"jsonrpc":"2.0","id":6,"result":{}}' "$(answer 6)"
}

@test "stdio: a message over --max-message is refused with -32600, and the next line is served" {
	local big
	big='{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"'$(head -c 3000 /dev/zero | tr '\0' a)'"}}'
	run stdio --max-message 2048 -- "$big" '{"jsonrpc":"2.0","id":2,"method":"ping"}'
	assert_status 0
	assert_same '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"message over 2048 bytes"}}
{"jsonrpc":"2.0","id":2,"result":{}}' "$output"
}

@test "stdio: answers carry their ids when a fast call overtakes a slow one" {
	# a first call, and time for both connections to be up
	scenario() {
		{
			call '"warm"' get_item '{"id":1}'
			echo
			sleep 0.5
			call '"slow"' nap '{"s":1.5}'
			echo
			sleep 0.2
			call '"fast"' get_item '{"id":2}'
			echo
		} | timeout 60 fa-mcp serve --pool 2 "$TOOLS"
	}
	run scenario
	assert_status 0
	assert_same 'warm fast slow' "$(jq -r .id <<< "$output" | paste -sd' ')"
	assert_same '{"s":1.5}' "$(answer '"slow"' | jq -c .result.structuredContent)"
	assert_same '"pear"' "$(answer '"fast"' | jq -c .result.structuredContent.name)"
	assert_same '"apple"' "$(answer '"warm"' | jq -c .result.structuredContent.name)"
}

@test "stdio: stdout holds only JSON-RPC lines, one per answer, whatever the tools and errors do" {
	local stdout=$BATS_TEST_TMPDIR/stdout
	stdio --max-message 1024 -- "$(call 1 noisy '{}')" 'not json' \
		"{\"pad\":\"$(head -c 2000 /dev/zero | tr '\0' b)\"}" "$(call 2 divide '{"n":0}')" \
		'{"jsonrpc":"2.0","id":3,"method":"tools/list"}' '' "$(call 4 get_item '{"id":3}')" > "$stdout"
	assert_same 6 "$(wc -l < "$stdout")"
	while IFS= read -r line; do
		jq -e 'type == "object" and .jsonrpc == "2.0" and has("id")' <<< "$line" > /dev/null ||
			{ echo "not a JSON-RPC line: $line" >&2; return 1; }
	done < "$stdout"
	output=$(cat "$stdout")
	assert_same '{"t":"two\nlines"}' "$(answer 1 | jq -c .result.structuredContent)"
	assert_same '"Zoë \"quoted\""' "$(answer 4 | jq -c .result.structuredContent.name)"
}

@test "stdio: EOF on stdin ends the server with 0 once the calls in flight have answered" {
	local start=$SECONDS
	run stdio -- "$(call 1 nap '{"s":1}')" "$(call 2 get_item '{"id":2}')"
	assert_status 0
	assert_same '{"s":1}' "$(answer 1 | jq -c .result.structuredContent)"
	assert_same '"pear"' "$(answer 2 | jq -c .result.structuredContent.name)"
	[ $((SECONDS - start)) -lt 30 ]
}

@test "stdio: SIGTERM ends the server with 130" {
	local fifo=$BATS_TEST_TMPDIR/in st=0
	mkfifo "$fifo"
	exec 7<> "$fifo"
	fa-mcp serve "$TOOLS" < "$fifo" > "$BATS_TEST_TMPDIR/out" 2>&1 &
	spid=$!
	echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' >&7
	for _ in $(seq 50); do
		[ -s "$BATS_TEST_TMPDIR/out" ] && break
		sleep 0.1
	done
	kill -TERM "$spid"
	wait "$spid" || st=$?
	spid=
	exec 7>&-
	assert_same 130 "$st"
	assert_same '{"jsonrpc":"2.0","id":1,"result":{}}' "$(cat "$BATS_TEST_TMPDIR/out")"
}

@test "stdio: the 2026-07-28 era: _meta required, -32022 for another version, resultType on results, no initialize" {
	local bad='"_meta":{"io.modelcontextprotocol/protocolVersion":"2030-01-01","io.modelcontextprotocol/clientCapabilities":{}}'
	run stdio -- \
		'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_item","arguments":{"id":2},'"$META"'}}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$bad"'}}' \
		'{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2026-07-28",'"$META"'}}' \
		'{"jsonrpc":"2.0","id":5,"method":"server/discover","params":{'"$META"'}}'
	assert_status 0
	assert_same '{"name":"pear","isError":false,"resultType":"complete"}' \
		"$(answer 1 | jq -c '{name: .result.structuredContent.name, isError: .result.isError, resultType: .result.resultType}')"
	assert_same '-32602' "$(answer 2 | jq -c .error.code)"
	assert_same '{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2030-01-01"}}' \
		"$(answer 3 | jq -c .error)"
	assert_same '-32601' "$(answer 4 | jq -c .error.code)"
	assert_same '["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"] "complete"' \
		"$(answer 5 | jq -c '.result.supportedVersions, .result.resultType' | paste -sd' ')"
}

@test "stdio: SIGHUP loads the files again" {
	local dir=$BATS_TEST_TMPDIR/hup
	mkdir -p "$dir"
	printf -- '-- name: one\n-- tool: One\nSELECT 1 AS n;\n' > "$dir/a.sql"
	local fifo=$BATS_TEST_TMPDIR/in out=$BATS_TEST_TMPDIR/out st=0
	mkfifo "$fifo"
	exec 7<> "$fifo"
	# the server must not hold the writing end of its own stdin (7>&-)
	fa-mcp serve "$dir" < "$fifo" > "$out" 2> "$BATS_TEST_TMPDIR/err" 7>&- &
	spid=$!
	echo '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' >&7
	for _ in $(seq 50); do
		[ -s "$out" ] && break
		sleep 0.1
	done
	printf -- '-- name: two\n-- tool: Two\nSELECT 2 AS n;\n' > "$dir/b.sql"
	kill -HUP "$spid"
	for _ in $(seq 20); do
		grep -q reloaded "$BATS_TEST_TMPDIR/err" && break
		sleep 0.1
	done
	echo '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' >&7
	exec 7>&-
	wait "$spid" || st=$?
	spid=
	output=$(cat "$out")
	assert_same 0 "$st"
	assert_same '["one"]' "$(answer 1 | jq -c '[.result.tools[].name]')"
	assert_same '["one","two"]' "$(answer 2 | jq -c '[.result.tools[].name] | sort')"
}

@test "fa-mcp: usage errors exit 2, a broken SQL file 4" {
	run fa-mcp
	assert_status 2
	run fa-mcp serve
	assert_status 2
	run fa-mcp serve --max-message 10 "$TOOLS"
	assert_status 2
	run fa-mcp serve "$BATS_TEST_TMPDIR/missing.sql"
	assert_status 4
	printf -- '-- name: broken\n-- tool: x\n-- bogus: 1\nSELECT 1;\n' > "$BATS_TEST_TMPDIR/broken.sql"
	run fa-mcp serve "$BATS_TEST_TMPDIR/broken.sql"
	assert_status 4
	assert_contains "$output" "broken.sql:3:"
}

# ---- Streamable HTTP, 2025-11-25 ----

@test "http 2025: initialize opens a session; without it 400, unknown 404; DELETE 204 then 404" {
	open_session
	[[ $sid =~ ^[!-~]+$ ]]
	assert_same '"2025-11-25"' "$(jq -c .result.protocolVersion <<< "$body")"
	assert_same 'application/json' "$(header Content-Type)"

	post '{"jsonrpc":"2.0","method":"notifications/initialized"}' -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25'
	assert_same 202 "$code"
	assert_same '' "$body"

	post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
	assert_same 400 "$code"
	assert_same '{"id":2,"code":-32600}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
	post '{"jsonrpc":"2.0","id":3,"method":"tools/list"}' -H 'Mcp-Session-Id: 0123456789abcdef0123456789abcdef'
	assert_same 404 "$code"

	post "$(call 4 get_item '{"id":1}')" -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25'
	assert_same 200 "$code"
	assert_same '{"id":1,"name":"apple","price":1.25,"attrs":{"color":"red"}}' "$(jq -c .result.structuredContent <<< "$body")"
	assert_same 'null' "$(jq -c .result.resultType <<< "$body")"

	post '{"jsonrpc":"2.0","id":5,"method":"ping"}' -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 1999-01-01'
	assert_same 400 "$code"

	code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "Mcp-Session-Id: $sid" "$url")
	assert_same 204 "$code"
	post '{"jsonrpc":"2.0","id":6,"method":"ping"}' -H "Mcp-Session-Id: $sid"
	assert_same 404 "$code"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "Mcp-Session-Id: $sid" "$url")
	assert_same 404 "$code"
}

@test "http: 415 for a wrong Content-Type, 405 for PUT and a 2026 GET, 404 elsewhere, 400 with -32700 and -32600" {
	CT=text/plain post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}'
	assert_same 415 "$code"
	code=$(curl -sS -o /dev/null -D "$BATS_TEST_TMPDIR/headers" -w '%{http_code}' -X PUT "$url")
	assert_same 405 "$code"
	assert_same 'GET, POST, DELETE' "$(header Allow)"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' "$url")
	assert_same 405 "$code"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "${url%/mcp}/other")
	assert_same 404 "$code"
	post 'garbage{'
	assert_same 400 "$code"
	assert_same '{"id":null,"code":-32700}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
	post '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'
	assert_same 400 "$code"
	assert_same '{"id":null,"code":-32600}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
}

@test "http: Origin from another site is 403; localhost and --allow-origin are served" {
	local init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}'
	post "$init" -H 'Origin: http://evil.example.com'
	assert_same 403 "$code"
	post "$init" -H 'Origin: http://localhost.evil.example.com'
	assert_same 403 "$code"
	post "$init" -H 'Origin: http://localhost:1234'
	assert_same 200 "$code"
	post "$init" -H 'Origin: http://good.example'
	assert_same 200 "$code"
	post26 tools/list '' '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{'"$META"'}}' -H 'Origin: http://evil.example.com'
	assert_same 403 "$code"
}

@test "http: a body over --max-message is 413; notifications get 202" {
	open_session
	post '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"'$(head -c 5000 /dev/zero | tr '\0' a)'"}}' -H "Mcp-Session-Id: $sid"
	assert_same 413 "$code"
	post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}' -H "Mcp-Session-Id: $sid"
	assert_same 202 "$code"
	assert_same '' "$body"
}

# ---- Streamable HTTP, 2026-07-28 ----

@test "http 2026: a tools/call with the headers that match its body, no session needed" {
	post26 tools/call get_item '{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"get_item","arguments":{"id":2},'"$META"'}}'
	assert_same 200 "$code"
	assert_same '' "$(header Mcp-Session-Id)"
	assert_same '{"jsonrpc":"2.0","id":"c1","isError":false,"resultType":"complete","row":{"id":2,"name":"pear","price":0.5,"attrs":null}}' \
		"$(jq -c '{jsonrpc, id, isError: .result.isError, resultType: .result.resultType, row: .result.structuredContent}' <<< "$body")"
	post26 tools/call divide '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"divide","arguments":{"n":0},'"$META"'}}'
	assert_same 200 "$code"
	assert_same '{"isError":true,"resultType":"complete","text":"ERROR 22012: division by zero"}' \
		"$(jq -c '{isError: .result.isError, resultType: .result.resultType, text: .result.content[0].text}' <<< "$body")"
	post26 tools/list '' '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$META"'}}'
	assert_same 200 "$code"
	assert_same '{"resultType":"complete","ttlMs":60000,"cacheScope":"public","n":11}' \
		"$(jq -c '.result | {resultType, ttlMs, cacheScope, n: (.tools | length)}' <<< "$body")"
}

@test "http 2026: Mcp-Name, Mcp-Method or MCP-Protocol-Version that disagree with the body are 400 -32020" {
	local req='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_item","arguments":{"id":2},'"$META"'}}'
	post26 tools/call list_items "$req"
	assert_same 400 "$code"
	assert_same '{"id":7,"code":-32020}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
	post26 tools/call '' "$req"
	assert_same 400 "$code"
	assert_same '-32020' "$(jq -c .error.code <<< "$body")"
	post26 tools/list get_item "$req"
	assert_same 400 "$code"
	assert_same '-32020' "$(jq -c .error.code <<< "$body")"
	post26 TOOLS/CALL get_item "$req"
	assert_same 400 "$code"
	assert_same '-32020' "$(jq -c .error.code <<< "$body")"
	post "$req" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: get_item'
	assert_same 400 "$code"
	assert_same '-32020' "$(jq -c .error.code <<< "$body")"
	# prompts/get names a prompt, resources/read a URI
	post26 prompts/get other '{"jsonrpc":"2.0","id":8,"method":"prompts/get","params":{"name":"ask_about",'"$META"'}}'
	assert_same 400 "$code"
	assert_same '-32020' "$(jq -c .error.code <<< "$body")"
	post26 resources/read shop://other '{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"shop://motd",'"$META"'}}'
	assert_same 400 "$code"
	assert_same '-32020' "$(jq -c .error.code <<< "$body")"
	# with the right header the request goes through (to -32602: not served here)
	post26 resources/read shop://motd '{"jsonrpc":"2.0","id":10,"method":"resources/read","params":{"uri":"shop://motd",'"$META"'}}'
	assert_same '-32602' "$(jq -c .error.code <<< "$body")"
}

@test "http 2026: missing _meta capabilities is 400 -32602; an unsupported version 400 -32022 with data.supported" {
	post26 tools/list '' '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}'
	assert_same 400 "$code"
	assert_same '{"id":1,"code":-32602}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
	post26 tools/list '' '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
	assert_same 400 "$code"
	assert_same '-32602' "$(jq -c .error.code <<< "$body")"
	post '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2030-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}' \
		-H 'MCP-Protocol-Version: 2030-01-01' -H 'Mcp-Method: tools/list'
	assert_same 400 "$code"
	assert_same '{"jsonrpc":"2.0","id":3,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2030-01-01"}}}' "$body"
}

@test "http 2026: initialize and ping are 404 -32601; server/discover answers supportedVersions and resultType" {
	post26 initialize '' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2026-07-28","capabilities":{},'"$META"'}}'
	assert_same 404 "$code"
	assert_same '{"id":1,"code":-32601}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
	post26 ping '' '{"jsonrpc":"2.0","id":2,"method":"ping","params":{'"$META"'}}'
	assert_same 404 "$code"
	assert_same '{"id":2,"code":-32601}' "$(jq -c '{id, code: .error.code}' <<< "$body")"
	post26 server/discover '' '{"jsonrpc":"2.0","id":3,"method":"server/discover","params":{'"$META"'}}'
	assert_same 200 "$code"
	assert_same "$(jq -cS . <<< '{"supportedVersions":["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"],
		"capabilities":{"tools":{"listChanged":true},"prompts":{"listChanged":true},
			"resources":{"listChanged":true,"subscribe":true},"logging":{},"completions":{}},
		"resultType":"complete","ttlMs":60000,"cacheScope":"public",
		"server":"fa-mcp"}')" \
		"$(jq -cS '.result | {supportedVersions, capabilities, resultType, ttlMs, cacheScope, server: ._meta["io.modelcontextprotocol/serverInfo"].name}' <<< "$body")"
}

# ---- servers of their own ----

@test "http: SIGHUP reloads the files: a new tool appears; a broken file keeps the old ones" {
	local dir=$BATS_TEST_TMPDIR/hup
	mkdir -p "$dir"
	printf -- '-- name: one\n-- tool: One\nSELECT 1 AS n;\n' > "$dir/a.sql"
	start_own "$dir"
	assert_same 'one' "$(tool_names)"
	printf -- '-- name: two\n-- tool: Two\nSELECT 2 AS n;\n' > "$dir/b.sql"
	kill -HUP "$spid"
	for _ in $(seq 50); do
		grep -q 'reloaded' "$BATS_TEST_TMPDIR/own.log" && break
		sleep 0.1
	done
	assert_same 'one two' "$(tool_names)"
	printf -- '-- name: three\n-- tool: Three\n-- bogus: 1\nSELECT 3 AS n;\n' > "$dir/c.sql"
	kill -HUP "$spid"
	for _ in $(seq 50); do
		grep -q 'the old tools stay' "$BATS_TEST_TMPDIR/own.log" && break
		sleep 0.1
	done
	assert_contains "$(cat "$BATS_TEST_TMPDIR/own.log")" "c.sql:3:"
	assert_same 'one two' "$(tool_names)"
	post26 tools/call two '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"two","arguments":{},'"$META"'}}'
	assert_same '{"rows":[{"n":2}]}' "$(jq -c .result.structuredContent <<< "$body")"
}

@test "http: SIGTERM answers the call in flight and exits 0" {
	start_own "$TOOLS"
	curl -sS -H 'Content-Type: application/json' -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' \
		-H 'Mcp-Name: nap' -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nap","arguments":{"s":1},'"$META"'}}' \
		"$url" > "$BATS_TEST_TMPDIR/inflight" &
	local cpid=$! st=0
	sleep 0.4
	kill -TERM "$spid"
	wait "$spid" || st=$?
	spid=
	wait "$cpid"
	assert_same 0 "$st"
	assert_same '{"s":1}' "$(jq -c .result.structuredContent < "$BATS_TEST_TMPDIR/inflight")"
}

@test "http: fa-mcp survives a database restart: calls succeed again within seconds" {
	start_own "$TOOLS"
	post26 tools/call get_item '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_item","arguments":{"id":1},'"$META"'}}'
	assert_same 'false' "$(jq -c .result.isError <<< "$body")"
	pg_restart_immediate
	local ok= start=$SECONDS
	for _ in $(seq 50); do
		post26 tools/call get_item '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_item","arguments":{"id":1},'"$META"'}}'
		if [ "$code" = 200 ] && [ "$(jq -c .result.isError <<< "$body")" = false ]; then ok=1; break; fi
		sleep 0.2
	done
	[ -n "$ok" ] || { echo "no success after the restart; last: $code $body" >&2; return 1; }
	[ $((SECONDS - start)) -le 10 ]
	assert_same '"apple"' "$(jq -c .result.structuredContent.name <<< "$body")"
	# a tool that writes works again too
	post26 tools/call rename_item '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"rename_item","arguments":{"id":2,"name":"pear"},'"$META"'}}'
	assert_same '{"rows":[]}' "$(jq -c .result.structuredContent <<< "$body")"
}

# ---- resources, prompts, content blocks ----

@test "stdio: resources and templates are listed and read; unknown is -32002, or -32602 in 2026-07-28" {
	TOOLS=$BATS_FILE_TMPDIR/more
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"resources/list"}' \
		'{"jsonrpc":"2.0","id":2,"method":"resources/templates/list"}' \
		'{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"shop://items/2/name"}}' \
		'{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"shop://items/99/name"}}' \
		'{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"shop://items/abc/name"}}' \
		'{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"shop://motd"}}' \
		'{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"shop://logo"}}' \
		'{"jsonrpc":"2.0","id":8,"method":"resources/read","params":{"uri":"shop://broken"}}' \
		'{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"shop://nothing",'"$META"'}}' \
		'{"jsonrpc":"2.0","id":10,"method":"resources/read","params":{"uri":"shop://motd",'"$META"'}}'
	assert_status 0
	assert_same '[{"uri":"shop://motd","mimeType":"text/markdown"},{"uri":"shop://logo","mimeType":"image/png"},{"uri":"shop://broken","mimeType":"text/plain"}]' \
		"$(answer 1 | jq -c '[.result.resources[] | {uri, mimeType}]')"
	assert_same '[{"uriTemplate":"shop://items/{id}/name","name":"item_name","description":"The item'"'"'s name.","mimeType":"text/plain"}]' \
		"$(answer 2 | jq -c .result.resourceTemplates)"
	assert_same '{"contents":[{"uri":"shop://items/2/name","mimeType":"text/plain","text":"pear"}]}' "$(answer 3 | jq -c .result)"
	assert_same '{"code":-32002,"message":"Resource not found: shop://items/99/name","data":{"uri":"shop://items/99/name"}}' \
		"$(answer 4 | jq -c .error)"
	assert_same '{"code":-32602,"message":"parameter '"'"'id'"'"': \"abc\" is not a valid int"}' "$(answer 5 | jq -c .error)"
	assert_same '{"contents":[{"uri":"shop://motd","mimeType":"text/markdown","text":"# Hello"}]}' "$(answer 6 | jq -c .result)"
	assert_same '{"contents":[{"uri":"shop://logo","mimeType":"image/png","blob":"iVBORw0KGgo="}]}' "$(answer 7 | jq -c .result)"
	assert_same '{"code":-32603,"message":"ERROR 22012: division by zero"}' "$(answer 8 | jq -c .error)"
	assert_same '-32602' "$(answer 9 | jq -c .error.code)"
	assert_same '{"text":"# Hello","resultType":"complete","ttlMs":60000}' \
		"$(answer 10 | jq -c '{text: .result.contents[0].text, resultType: .result.resultType, ttlMs: .result.ttlMs}')"
}

@test "stdio: prompts are listed with their arguments and answer one message per row" {
	TOOLS=$BATS_FILE_TMPDIR/more
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"prompts/list"}' \
		'{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"ask_about","arguments":{"item":"pear","n":2}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"ask_about","arguments":{}}}' \
		'{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"nope"}}'
	assert_status 0
	assert_same '[{"name":"ask_about","description":"Ask about an item","arguments":[{"name":"item","description":"The item'"'"'s name","required":true},{"name":"n","description":"How many questions","required":false}]}]' \
		"$(answer 1 | jq -c .result.prompts)"
	assert_same '{"description":"Ask about an item","messages":[{"role":"user","content":{"type":"text","text":"Tell me about pear"}},{"role":"assistant","content":{"type":"text","text":"Sure, 2 question(s)."}}]}' \
		"$(answer 2 | jq -c .result)"
	assert_same '{"code":-32602,"message":"missing argument '"'"'item'"'"' (text)"}' "$(answer 3 | jq -c .error)"
	assert_same '{"code":-32602,"message":"unknown prompt '"'"'nope'"'"'"}' "$(answer 4 | jq -c .error)"
}

@test "stdio: a tool with content lines answers image, text and embedded resource blocks, row by row" {
	TOOLS=$BATS_FILE_TMPDIR/more
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "$(call 2 pic '{}')"
	assert_status 0
	assert_same '["pic"] false' "$(answer 1 | jq -c '[.result.tools[].name], (.result.tools[0] | has("outputSchema"))' | paste -sd' ')"
	assert_same "$(jq -c . <<< '{"content":[{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"},
		{"type":"text","text":"a caption"},
		{"type":"resource","resource":{"uri":"shop://doc","mimeType":"application/json","text":"{\"a\":1}"}},
		{"type":"text","text":"second"}],"isError":false}')" "$(answer 2 | jq -c .result)"
}

@test "stdio: a camelCase parameter is declared as written, and {column} in a content URI is the row's value" {
	TOOLS=$BATS_TEST_TMPDIR/doc.sql
	cat > "$TOOLS" <<'SQL'
-- name: doc_of
-- tool: A document whose URI comes from its row
-- param: docId int  The document
-- content: doc application/json shop://docs/{id}/{nope}
SELECT '{"a":1}' AS doc, :docId AS id;
SQL
	run stdio -- '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "$(call 2 doc_of '{"docId":7}')" "$(call 3 doc_of '{"docid":7}')"
	assert_status 0
	assert_same '["docId"]' "$(answer 1 | jq -c '.result.tools[0].inputSchema.required')"
	assert_same '{"uri":"shop://docs/7/{nope}","mimeType":"application/json","text":"{\"a\":1}"}' \
		"$(answer 2 | jq -c '.result.content[0].resource')"
	assert_same '-32602' "$(answer 3 | jq -c '.error.code')"
}

@test "http: the shared server, after all of the above, stops on SIGTERM with status 0 and nothing from the sanitizers" {
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/pid")"
	for _ in $(seq 100); do
		[ -s "$BATS_FILE_TMPDIR/rc" ] && break
		sleep 0.1
	done
	assert_same 0 "$(cat "$BATS_FILE_TMPDIR/rc")"
	if grep -E 'Sanitizer|runtime error' "$BATS_FILE_TMPDIR/serve.log" >&2; then return 1; fi
}

# ---- the client commands ----

@test "client: call, list and discover against fa-mcp over stdio, in both eras" {
	run fa-mcp list --stdio "fa-mcp serve '$TOOLS'" -F text
	assert_status 0
	assert_contains "$output" $'get_item\tFetch one item by id'
	run fa-mcp call --stdio "fa-mcp serve '$TOOLS'" get_item id=2 -F ndjson
	assert_status 0
	assert_same '{"id":2,"name":"pear","price":0.5,"attrs":null}' "$output"
	# KEY=VALUE follows the schema (an integer here); KEY:=JSON is JSON
	run fa-mcp call --protocol 2025-11-25 --stdio "fa-mcp serve '$TOOLS'" list_items min_price:=5 -F ndjson
	assert_status 0
	assert_same '{"id":3,"name":"Zoë \"quoted\"","price":10,"tags":[]}' "$output"
	run fa-mcp discover --stdio "fa-mcp serve '$TOOLS'" -F ndjson
	assert_status 0
	assert_same '"2026-07-28 (stateless)" "2026-07-28"' "$(jq -c '.era, .protocolVersion' <<< "$output" | paste -sd' ')"
	run fa-mcp discover --protocol 2025-11-25 --stdio "fa-mcp serve '$TOOLS'" -F ndjson
	assert_same '"initialize" "2025-11-25" "fa-mcp"' "$(jq -c '.era, .protocolVersion, .server.serverInfo.name' <<< "$output" | paste -sd' ')"
}

@test "client: an https target through TLS: --cacert trusts its CA, -k skips the check, the system's CAs refuse" {
	local crt=$BATS_TEST_TMPDIR/c.crt key=$BATS_TEST_TMPDIR/c.key port
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-keyout "$key" -out "$crt" 2>/dev/null
	start_own "$TOOLS"
	port=${url#http://127.0.0.1:}
	port=${port%/mcp}
	python3 "$BATS_TEST_DIRNAME/tlsproxy.py" "$crt" "$key" "$port" > "$BATS_TEST_TMPDIR/tls.port" &
	xpid=$!
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/tls.port" ] && break; sleep 0.1; done
	local surl=https://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/tls.port")/mcp
	run fa-mcp call --cacert "$crt" "$surl" get_item id=2 -F ndjson
	assert_status 0
	assert_same '{"id":2,"name":"pear","price":0.5,"attrs":null}' "$output"
	run fa-mcp list -k "$surl" -F text
	assert_status 0
	assert_contains "$output" $'get_item\tFetch one item by id'
	run fa-mcp call "$surl" get_item id=2
	assert_status 3
	assert_contains "$output" 'certificate'
	run fa-mcp call --cacert "$BATS_TEST_TMPDIR/none.pem" "$surl" get_item id=2
	assert_status 2
	assert_contains "$output" 'none.pem'
	kill "$xpid"; wait "$xpid" 2>/dev/null || true
	kill -TERM "$spid"; wait "$spid" || true
	spid=
}

@test "client: over HTTP in both eras; exit 1 for isError, 4 for a protocol error, 2 for a bad argument" {
	start_own "$TOOLS"      # the shared server was stopped by the test before
	run fa-mcp call "$url" divide n=4 -F ndjson
	assert_status 0
	assert_same '{"q":15}' "$output"
	run fa-mcp call --protocol 2025-11-25 "$url" divide n=3
	assert_status 0
	assert_same 20 "$(jq .q <<< "$output")"
	run fa-mcp call "$url" divide n=0
	assert_status 1
	assert_contains "$output" 'ERROR 22012: division by zero'
	run fa-mcp call "$url" no_such_tool
	assert_status 4
	assert_contains "$output" "unknown tool 'no_such_tool' (-32602)"
	# n is an integer: x is refused before anything is sent
	run fa-mcp call "$url" divide n=x
	assert_status 2
	assert_contains "$output" "argument 'n': 'x' is not JSON"
}

@test "client: a server that cannot start, exits or writes garbage is exit 3 or 4 with the reason" {
	run fa-mcp call --stdio "no-such-command-here --x" t
	assert_status 3
	assert_contains "$output" "cannot start 'no-such-command-here': No such file or directory"
	run fa-mcp call --stdio "sh -c 'exit 7'" t
	assert_status 3
	assert_contains "$output" "the server 'sh' exited with status 7 before answering"
	run fa-mcp call --stdio "sh -c 'echo garbage; sleep 5; :'" t
	assert_status 4
	assert_contains "$output" 'the server sent a malformed message'
	run fa-mcp call http://127.0.0.1:9/mcp t
	assert_status 3
	assert_contains "$output" 'cannot connect to 127.0.0.1:9'
	run fa-mcp call --stdio "sh -c 'exec cat > /dev/null'" t
	assert_status 3
	assert_contains "$output" "the server 'sh' closed its standard output"
	run fa-mcp call --stdio "sh -c 'sleep 30; :'" --timeout 300 t
	assert_status 3
	assert_contains "$output" 'no answer to initialize within 300 ms'
}

@test "client: --env reaches the stdio server, and it is stopped cleanly" {
	run fa-mcp call --stdio "sh -c 'echo \$FA_MCP_T >&2; exec fa-mcp serve \"\$0\"' '$TOOLS'" --env FA_MCP_T=here divide n=6 -F ndjson
	assert_status 0
	assert_contains "$output" 'here'
	assert_contains "$output" '{"q":10}'
}

@test "client: list resources, templates and prompts; read a resource; get a prompt" {
	local S="fa-mcp serve '$BATS_FILE_TMPDIR/more'"
	run fa-mcp list --stdio "$S" resources -F text
	assert_status 0
	assert_contains "$output" $'shop://motd\t'
	run fa-mcp list --stdio "$S" templates -F text
	assert_contains "$output" $'shop://items/{id}/name\tThe item\'s name.'
	run fa-mcp read --stdio "$S" shop://items/1/name -F text
	assert_status 0
	assert_same 'apple' "$output"
	run fa-mcp read --stdio "$S" shop://items/999/name
	assert_status 4
	assert_contains "$output" 'Resource not found: shop://items/999/name'
	run fa-mcp prompt --stdio "$S" ask_about item=pear n=2 -F text
	assert_status 0
	assert_same $'user: Tell me about pear\nassistant: Sure, 2 question(s).' "$output"
	run fa-mcp list --stdio "$S" prompts -F ndjson
	assert_same '["item","n"]' "$(jq -c '[.arguments[].name]' <<< "$output")"
	run fa-mcp list --stdio "$S" bogus
	assert_status 2
}
