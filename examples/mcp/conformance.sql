-- The fixtures the MCP conformance suite's server scenarios call, as one
-- SQL file for fa-mcp serve: tools, resources and prompts whose answers
-- are the exact texts and bytes the scenarios expect.  The image is a
-- 1x1 PNG and the audio a short WAV, both as bytea literals.

-- name: test_simple_text
-- tool: Returns a simple text response
-- content: text text/plain
SELECT 'This is a simple text response for testing.' AS text;

-- name: test_image_content
-- tool: Returns an image
-- content: img image/png
SELECT decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64') AS img;

-- name: test_audio_content
-- tool: Returns audio
-- content: wav audio/wav
SELECT decode('UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=', 'base64') AS wav;

-- name: test_embedded_resource
-- tool: Returns an embedded resource
-- content: doc text/plain test://embedded-resource
SELECT 'This is an embedded resource content.' AS doc;

-- name: test_multiple_content_types
-- tool: Returns text, an image and a resource
-- content: txt text/plain
-- content: img image/png
-- content: res application/json test://mixed-content-resource
SELECT 'Multiple content types test:' AS txt,
       decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64') AS img,
       '{"test":"data","value":123}' AS res;

-- name: test_error_handling
-- tool: Always fails, with the message the scenario looks for
SELECT 'This tool intentionally returns an error for testing'::int AS never;

-- name: static_text
-- resource: test://static-text text/plain
SELECT 'This is the content of the static text resource.';

-- name: static_binary
-- resource: test://static-binary image/png
SELECT decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

-- name: template_data
-- resource: test://template/{id}/data application/json
-- param: id text  The id to show
SELECT json_build_object('id', :id, 'templateTest', true, 'data', 'Data for ID: ' || :id)::text;

-- name: test_simple_prompt
-- prompt: A simple prompt without arguments
SELECT 'user' AS role, 'This is a simple prompt for testing.' AS content;

-- name: test_prompt_with_arguments
-- prompt: A prompt with arguments
-- arg: arg1  First test argument
-- arg: arg2  Second test argument
SELECT 'user' AS role, format('Prompt with arguments: arg1=''%s'', arg2=''%s''', :arg1, :arg2) AS content;

-- name: test_prompt_with_image
-- prompt: A prompt with an image
-- content: img image/png
SELECT 'user' AS role,
       decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64') AS img
;
