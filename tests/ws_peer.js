// A WebSocket peer for tests/fa-serve-ws.bats, on the npm ws package
// (build/npm/node_modules/ws, or $WS_MODULE): each scenario prints what it
// saw, one line per event, and exits 0; a timeout or an error exits 1.
//
//   node ws_peer.js URL SCENARIO [ARGS...]
//
//   send MSG...       sends each message (hex:HEX as a binary one), prints
//                     each reply, then closes
//   fragments         one message in three fragments, prints the reply
//   deflate N         a message of N bytes with permessage-deflate on;
//                     prints the extension agreed and the reply's length
//   ping              a ping; prints the pong's data
//   close CODE        closes with CODE; prints the code the server echoed
//   listen N          prints the first N messages (the snapshot is one),
//                     then closes; "open" once the session is up
//   later MS A B      sends A, prints the reply, waits MS ms, sends B and
//                     prints the reply (or how the server closed)
// $WS_AUTH, when set, goes in the handshake as "Authorization: Bearer ...".
// A close the server began with a code other than 1000 prints "closed CODE".
'use strict';
const path = require('path');
const WebSocket = require(process.env.WS_MODULE ||
	path.join(__dirname, '..', 'build', 'npm', 'node_modules', 'ws'));

const [url, scenario, ...args] = process.argv.slice(2);
const deflate = scenario === 'deflate';
const headers = process.env.WS_AUTH ? { Authorization: 'Bearer ' + process.env.WS_AUTH } : {};
const ws = new WebSocket(url, { perMessageDeflate: deflate, headers });
const out = (s) => process.stdout.write(s + '\n');
const timer = setTimeout(() => { out('timeout'); process.exit(1); }, 15000);
const done = () => { clearTimeout(timer); ws.close(1000); };

ws.on('error', (e) => { out('error ' + e.message); process.exit(1); });
ws.on('unexpected-response', (req, res) => { out('status ' + res.statusCode); process.exit(1); });
ws.on('close', (code) => {
	if (scenario === 'close' || (code !== 1000 && code !== 1005))
		out('closed ' + code);
	clearTimeout(timer);
});

const scenarios = {
	send() {
		let left = args.length;
		ws.on('message', (d) => { out(d.toString()); if (--left === 0) done(); });
		for (const m of args)
			ws.send(m.startsWith('hex:') ? Buffer.from(m.slice(4), 'hex') : m);
	},
	fragments() {
		ws.on('message', (d) => { out(d.toString()); done(); });
		ws.send('{"msg":"frag', { fin: false });
		ws.send('mented ', { fin: false });
		ws.send('mess\u00e9age"}', { fin: true });
	},
	deflate() {
		const n = Number(args[0]);
		ws.on('message', (d) => {
			out('extensions ' + ws.extensions);
			out('reply ' + JSON.parse(d.toString()).n);
			done();
		});
		ws.send(JSON.stringify({ msg: 'abcdefgh'.repeat(n / 8) }), { compress: true });
	},
	ping() {
		ws.on('pong', (d) => { out('pong ' + d.toString()); done(); });
		ws.ping('are you there');
	},
	close() {
		ws.close(Number(args[0]), 'bye');
	},
	later() {
		let n = 0;
		ws.on('message', (d) => {
			out(d.toString());
			if (++n === 1)
				setTimeout(() => ws.send(args[2]), Number(args[0]));
			else
				done();
		});
		ws.send(args[1]);
	},
	listen() {
		let left = Number(args[0]);
		out('open');
		ws.on('message', (d) => { out(d.toString()); if (--left === 0) done(); });
	},
};
ws.on('open', () => scenarios[scenario]());
