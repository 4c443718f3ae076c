// tests/npm/asked-client.mjs: MCP SDK clients that answer the server's own
// requests (sampling, elicitation, roots), for tests/fa-mcp-proxy.bats.
//
//   node asked-client.mjs --http URL NAME... -- TOOL...
//   node asked-client.mjs --stdio 'SHELL COMMAND' NAME -- TOOL...
//
// One client per NAME, all connected at once; each declares sampling,
// elicitation and roots, and answers with its own NAME in what it gives:
// sampling/createMessage with the text "sampled by NAME", elicitation/create
// accepted with {"name": NAME}, roots/list with file:///NAME.  Then every
// client calls every TOOL at once (no arguments but a prompt; TOOL=JSON
// adds the object JSON's to them, and prints as TOOL alone), and prints
// one line per call, "NAME TOOL: TEXT", the result's texts, newlines
// as spaces.  With ASKED_COUNT=1 in the environment, a last line per client,
// "NAME asked: N", counts the requests it answered.  Any error ends the run
// with exit status 1.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const npmDir = resolve(process.env.FA_NPM || join(here, '../../build/npm'));
const require = createRequire(join(npmDir, 'package.json'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const types = require('@modelcontextprotocol/sdk/types.js');

const [mode, target, ...rest] = process.argv.slice(2);
const cut = rest.indexOf('--');
if (!['--http', '--stdio'].includes(mode) || !target || cut < 1) {
	console.error("usage: asked-client.mjs --http URL | --stdio 'COMMAND' NAME... -- TOOL...");
	process.exit(2);
}
const names = rest.slice(0, cut);
const tools = rest.slice(cut + 1);

const asked = {};

async function open(name) {
	const transport = mode === '--stdio'
		? new StdioClientTransport({ command: '/bin/sh', args: ['-c', target], env: process.env })
		: new StreamableHTTPClientTransport(new URL(target));
	const client = new Client({ name: `asked-${name}`, version: '1.0.0' },
		{ capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} } });
	asked[name] = 0;
	client.setRequestHandler(types.CreateMessageRequestSchema, async () => (asked[name]++, {
		model: name, role: 'assistant', content: { type: 'text', text: `sampled by ${name}` },
	}));
	client.setRequestHandler(types.ElicitRequestSchema, async () => (asked[name]++, {
		action: 'accept', content: { name },
	}));
	client.setRequestHandler(types.ListRootsRequestSchema, async () => (asked[name]++, {
		roots: [{ uri: `file:///${name}`, name }],
	}));
	await client.connect(transport);
	return client;
}

async function call(client, name, spec) {
	const cut = spec.indexOf('=');
	const tool = cut < 0 ? spec : spec.slice(0, cut);
	const extra = cut < 0 ? {} : JSON.parse(spec.slice(cut + 1));
	const r = await client.callTool({ name: tool, arguments: { prompt: `from ${name}`, ...extra } });
	const text = (r.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join(' ');
	return `${name} ${tool}: ${r.isError ? 'ERROR ' : ''}${text.replace(/\s+/g, ' ')}`;
}

try {
	const clients = await Promise.all(names.map(open));
	const lines = await Promise.all(clients.flatMap((c, i) => tools.map((t) => call(c, names[i], t))));
	console.log(lines.join('\n'));
	if (process.env.ASKED_COUNT === '1')
		for (const n of names)
			console.log(`${n} asked: ${asked[n]}`);
	await Promise.all(clients.map((c) => c.close()));
} catch (e) {
	console.error(`asked-client: ${e.message ?? e}`);
	process.exit(1);
}
