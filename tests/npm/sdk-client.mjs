// tests/npm/sdk-client.mjs: the official TypeScript SDK's Client against
// an MCP server, for tests/fa-mcp-interop.bats.
//
//   node sdk-client.mjs --stdio 'SHELL COMMAND' OP...
//   node sdk-client.mjs --http URL OP...
//   node sdk-client.mjs --sse URL OP...       (the 2024-11-05 HTTP+SSE transport)
//
// Connects (initialize, as every SDK client does), runs each OP and prints
// one line for it on stdout, then closes: over stdio by closing the
// server's stdin (as the SDK does), over HTTP by deleting the session
// (transport.terminateSession) and checking that the old session id then
// gets 404.  OPs:
//
//   list             tools: NAME NAME...
//   call NAME JSON   NAME: {"isError":...,"structuredContent":...,"content":[...]}
//
// Calls go through client.callTool after list, so the SDK also checks
// structuredContent against each tool's outputSchema.  The server's stderr
// (stdio) goes to ours.  Any error ends the run with exit status 1.
// The SDK comes from FA_NPM/node_modules (default build/npm), where
// scripts/npm-deps installs tests/npm/package-lock.json.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const npmDir = resolve(process.env.FA_NPM || join(here, '../../build/npm'));
const require = createRequire(join(npmDir, 'package.json'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { SSEClientTransport } = require('@modelcontextprotocol/sdk/client/sse.js');

function usage() {
	console.error("usage: sdk-client.mjs --stdio 'COMMAND' | --http URL | --sse URL [list | call NAME JSON]...");
	process.exit(2);
}

const [mode, target, ...ops] = process.argv.slice(2);
if (!target || !['--stdio', '--http', '--sse'].includes(mode)) usage();

let transport;
if (mode === '--stdio') {
	// The whole environment: the SDK's default passes only HOME, PATH and a
	// few more, and fa-mcp finds its database through FA_HOME.
	transport = new StdioClientTransport({ command: '/bin/sh', args: ['-c', target], env: process.env });
} else if (mode === '--sse') {
	transport = new SSEClientTransport(new URL(target));
} else {
	transport = new StreamableHTTPClientTransport(new URL(target));
}

// The version the client settled on in initialize.
let negotiated = '?';
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => {
	negotiated = v;
	setVersion?.(v);
};

const client = new Client({ name: 'fa-interop-sdk', version: '1.0.0' });
await client.connect(transport);
const info = client.getServerVersion();
console.log(`server: ${info.name} ${info.version}, protocol ${negotiated}`);

while (ops.length) {
	const op = ops.shift();
	if (op === 'list') {
		const { tools } = await client.listTools();
		console.log(`tools: ${tools.map((t) => t.name).join(' ')}`);
	} else if (op === 'call' && ops.length >= 2) {
		const name = ops.shift();
		const args = JSON.parse(ops.shift());
		const r = await client.callTool({ name, arguments: args });
		const shown = { isError: r.isError ?? false, structuredContent: r.structuredContent, content: r.content };
		console.log(`${name}: ${JSON.stringify(shown)}`);
	} else {
		usage();
	}
}

if (mode === '--http') {
	const id = transport.sessionId;
	await transport.terminateSession();
	// The deleted session is gone: a request that names it gets 404.
	const res = await fetch(target, {
		method: 'POST',
		headers: {
			'content-type': 'application/json',
			accept: 'application/json, text/event-stream',
			'mcp-session-id': id,
			'mcp-protocol-version': negotiated,
		},
		body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
	});
	await res.body?.cancel();
	console.log(`session deleted: ${id ? 'yes' : 'no id'}, then ${res.status}`);
	await client.close();
} else if (mode === '--sse') {
	await client.close();
	console.log('closed: the stream ended');
} else {
	// The SDK ends stdin, waits 2 s for the server to exit, then signals it.
	const t0 = Date.now();
	await client.close();
	const ms = Date.now() - t0;
	console.log(ms < 2000 ? 'closed: the server exited when its stdin closed' : `closed after ${ms} ms (signalled)`);
}
