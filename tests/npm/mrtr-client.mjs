// tests/npm/mrtr-client.mjs: a 2026-07-28 client of the official SDK (v2)
// that answers a server's elicitation, sampling and roots in band (multi
// round-trip requests: an input_required result, then the call again with
// inputResponses), for tests/fa-mcp-proxy.bats.
//
//   node mrtr-client.mjs URL NAME TOOL...
//
// Connects over Streamable HTTP pinned to 2026-07-28 and answers as NAME:
// sampling/createMessage with the text "sampled by NAME", elicitation/create
// accepted with {"name": NAME}, roots/list with file:///NAME.  Calls every
// TOOL in turn (arguments: a prompt) and prints one line per call,
// "NAME TOOL: TEXT", the result's texts with newlines as spaces, and last
// "rounds: N", the input_required rounds it answered.  Any error ends the
// run with exit status 1.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const npmDir = resolve(process.env.FA_NPM || join(here, '../../build/npm'));
const require = createRequire(join(npmDir, 'package.json'));
const { Client, StreamableHTTPClientTransport } = require('@modelcontextprotocol/client');

const [url, name, ...tools] = process.argv.slice(2);
if (!url || !name || !tools.length) {
	console.error('usage: mrtr-client.mjs URL NAME TOOL...');
	process.exit(2);
}

let rounds = 0;
const client = new Client({ name: `mrtr-${name}`, version: '1.0.0' }, {
	capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} },
	versionNegotiation: { mode: { pin: '2026-07-28' } },
});
client.setRequestHandler('sampling/createMessage', async () => {
	rounds++;
	return { model: name, role: 'assistant', content: { type: 'text', text: `sampled by ${name}` } };
});
client.setRequestHandler('elicitation/create', async () => {
	rounds++;
	return { action: 'accept', content: { name } };
});
client.setRequestHandler('roots/list', async () => {
	rounds++;
	return { roots: [{ uri: `file:///${name}`, name }] };
});

try {
	await client.connect(new StreamableHTTPClientTransport(new URL(url)));
	for (const tool of tools) {
		const r = await client.callTool({ name: tool, arguments: { prompt: `from ${name}` } });
		const text = (r.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join(' ');
		console.log(`${name} ${tool}: ${r.isError ? 'ERROR ' : ''}${text.replace(/\s+/g, ' ')}`);
	}
	console.log(`rounds: ${rounds}`);
	await client.close();
} catch (e) {
	console.error(`mrtr-client: ${e.message ?? e}`);
	process.exit(1);
}
