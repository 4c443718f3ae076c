// fa demo: orders arriving live from fa-serve's GET /orders/live (a
// "-- listen:" route): its rows first (a JSON array, the newest orders),
// then each NOTIFY payload (one order as a JSON object) as it comes.  Over
// a WebSocket by default; ?via=sse reads the same route as Server-Sent
// Events.  Reconnects by itself, with a growing pause, and starts again
// from the snapshot.
'use strict';

const MAX_ROWS = 50;
const ROUTE = '/orders/live';
const via = new URLSearchParams(location.search).get('via') === 'sse' ? 'sse' : 'websocket';
const rows = document.getElementById('orders');
let count = 0;
let retry = 500;

function setState(state, text) {
  document.body.dataset.state = state;
  document.getElementById('status').textContent = text;
}

function cell(tr, text, cls) {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}

// One order as a row of the table, newest on top.
function addOrder(o, isNew) {
  const tr = document.createElement('tr');
  tr.dataset.id = o.id;
  cell(tr, '#' + o.id);
  cell(tr, o.customer_id);
  cell(tr, o.status);
  cell(tr, new Date(o.placed_at).toLocaleString());
  cell(tr, Number(o.total).toFixed(2), 'num');
  if (isNew) {
    tr.className = 'new';
    rows.prepend(tr);
  } else {
    rows.append(tr);
  }
  while (rows.rows.length > MAX_ROWS) rows.deleteRow(-1);
}

function onSnapshot(text) {
  rows.replaceChildren();
  for (const o of JSON.parse(text)) addOrder(o, false);
  count = 0;
  retry = 500;
  setState('live', 'live: ' + rows.rows.length + ' recent orders, waiting for new ones');
}

function onOrder(text) {
  addOrder(JSON.parse(text), true);
  count++;
  setState('live', 'live: ' + count + ' new order' + (count === 1 ? '' : 's') + ' since the page opened');
}

function onClosed() {
  setState('closed', 'disconnected; trying again in ' + (retry / 1000) + ' s');
  setTimeout(connect, retry);
  retry = Math.min(retry * 2, 10000);
}

function connectWebSocket() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + ROUTE);
  let first = true;
  ws.onmessage = (ev) => {
    if (first) {
      first = false;
      onSnapshot(ev.data);
    } else {
      onOrder(ev.data);
    }
  };
  ws.onclose = onClosed;
}

function connectSSE() {
  const es = new EventSource(ROUTE);
  es.addEventListener('snapshot', (ev) => onSnapshot(ev.data));
  es.addEventListener('order_placed', (ev) => onOrder(ev.data));
  es.onerror = () => {
    es.close();
    onClosed();
  };
}

function connect() {
  setState('connecting', 'connecting over ' + via + '\u2026');
  if (via === 'sse') connectSSE(); else connectWebSocket();
}

const nav = performance.getEntriesByType('navigation')[0];
document.getElementById('proto').textContent = (nav && nav.nextHopProtocol) || 'unknown';
document.getElementById('via').textContent = via === 'sse' ? 'Server-Sent Events' : 'WebSocket';
for (const el of document.querySelectorAll('.origin')) el.textContent = location.origin;
connect();
