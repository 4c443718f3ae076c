-- The fixtures of the MCP conformance suite's server scenarios
-- (@modelcontextprotocol/conformance 0.1.16) that a SQL file can declare:
-- tools, resources and prompts, none needing a table.  tests/fa-mcp-interop.bats
-- serves this file with fa-mcp serve --listen and runs the whole server
-- suite against it, with conformance-expected-failures.yaml beside it.
-- By hand:
--   fa-mcp serve --listen 127.0.0.1:8000 tests/npm/conformance.sql &
--   build/npm/node_modules/.bin/conformance server --url http://127.0.0.1:8000/mcp --suite all

-- tools-call-simple-text: the content line makes the column a bare text
-- block, the sentence of the suite's description.
-- name: test_simple_text
-- tool: Returns the text "This is a simple text response for testing."
-- content: text text/plain
SELECT 'This is a simple text response for testing.' AS text;

-- tools-call-error: a statement that fails is a result with isError true.
-- name: test_error_handling
-- tool: Always fails, with "This tool intentionally returns an error for testing"
-- returns: none
DO $$ BEGIN RAISE EXCEPTION 'This tool intentionally returns an error for testing'; END $$;

-- name: test_image_content
-- tool: Returns an image: a PNG of one red pixel
-- content: png image/png
SELECT decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64') AS png;

-- name: test_audio_content
-- tool: Returns audio: a WAV with no samples
-- content: wav audio/wav
SELECT 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=' AS wav;

-- name: test_embedded_resource
-- tool: Returns an embedded text resource
-- content: body text/plain test://embedded-resource
SELECT 'This is an embedded resource content.' AS body;

-- name: test_multiple_content_types
-- tool: Returns text, an image and an embedded resource
-- content: intro text/plain
-- content: png image/png
-- content: res application/json test://mixed-content-resource
SELECT 'Multiple content types test:' AS intro,
       decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64') AS png,
       '{"test":"data","value":123}' AS res;

-- tools-call-with-logging: each RAISE INFO is a notifications/message at
-- level info, sent before the answer to a client that set a level.
-- name: test_tool_with_logging
-- tool: Sends three log messages while it runs
-- returns: none
DO $$ BEGIN
  RAISE INFO 'Tool execution started';
  PERFORM pg_sleep(0.05);
  RAISE INFO 'Tool processing data';
  PERFORM pg_sleep(0.05);
  RAISE INFO 'Tool execution completed';
END $$;

-- 2026-07-28's server-stateless (conformance 0.2.0): a request without
-- _meta's logLevel gets no log messages.
-- name: test_logging_tool
-- tool: Raises a notice, a log message only for a client that asked
-- returns: none
DO $$ BEGIN RAISE INFO 'A log message'; END $$;

-- tools-call-with-progress: a notice "progress: DONE/TOTAL" is a
-- notifications/progress for a call that gave a progressToken.
-- name: test_tool_with_progress
-- tool: Reports progress 0/100, 50/100 and 100/100 while it runs
-- returns: none
DO $$ BEGIN
  RAISE NOTICE 'progress: 0/100';
  PERFORM pg_sleep(0.05);
  RAISE NOTICE 'progress: 50/100';
  PERFORM pg_sleep(0.05);
  RAISE NOTICE 'progress: 100/100';
END $$;

-- json-schema-2020-12: a jsonb parameter's "-- schema:" goes into the
-- tool's inputSchema under $defs, with $schema and additionalProperties.
-- name: json_schema_2020_12_tool
-- tool: Tool with JSON Schema 2020-12 features
-- param: name text = null
-- param: address jsonb = null
-- schema: address {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}
SELECT :name AS name, :address AS address;

-- A static text resource.
-- name: static_text
-- resource: test://static-text
SELECT 'This is the content of the static text resource.';

-- A static binary resource: a bytea is read as a base64 blob.
-- name: static_binary
-- resource: test://static-binary image/png
SELECT decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

-- A resource template: the id comes from the URI read.
-- name: template_data
-- resource: test://template/{id}/data application/json
-- param: id text  The id in the URI
SELECT json_build_object('id', :id, 'templateTest', true, 'data', 'Data for ID: ' || :id)::text;

-- name: test_simple_prompt
-- prompt: A simple prompt without arguments
SELECT 'user' AS role, 'This is a simple prompt for testing.' AS content;

-- name: test_prompt_with_arguments
-- prompt: A prompt with two arguments
-- arg: arg1  First argument
-- arg: arg2  Second argument
SELECT 'Prompt with arguments: arg1=''' || :arg1 || ''', arg2=''' || :arg2 || '''' AS content;

-- prompts-get-embedded-resource: the resource's URI is the argument
-- resourceUri, through the column uri ({uri} in the content line).
-- name: test_prompt_with_embedded_resource
-- prompt: A prompt with an embedded resource, then a request about it
-- arg: resourceUri  URI of the resource to embed
-- content: res text/plain {uri}
-- content: note text/plain
SELECT 'Embedded resource content for testing.' AS res, NULL AS note, :resourceUri AS uri
UNION ALL
SELECT NULL, 'Please process the embedded resource above.', NULL;

-- name: test_prompt_with_image
-- prompt: A prompt with an image
-- content: png image/png
SELECT decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64') AS png;
