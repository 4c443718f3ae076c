#!/usr/bin/env bats
# fa-serve with headless Chromium (Debian's chromium) as the peer, driven by
# tests/chromium.py over the DevTools protocol: a page of --static and its
# API over HTTP/3 (nextHopProtocol h3), and the live orders page of make
# demo (examples/www over examples/routes), which must show the orders that
# fa-pg inserts as they arrive.  Chromium starts slowly: few tests, one
# server for all of them.

load helpers

setup_file() {
	command -v chromium >/dev/null || skip "chromium (Debian's chromium) is not installed"
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	"$FA_BIN/fa-pg" -q -f "$ROOT/examples/demo-schema.sql" \
		-c "INSERT INTO shop.customers (email, name) VALUES ('ann@example.com', 'Ann')" \
		-c "INSERT INTO shop.orders (customer_id, total) VALUES (1, 5.25)"
	# the demo's page, and one that reports how it and its API call came
	www=$BATS_FILE_TMPDIR/www
	cp -r "$ROOT/examples/www" "$www"
	cat > "$www/proto.html" <<'HTML'
<!doctype html><title>protocols</title><pre id="out"></pre>
<script>
fetch('/orders/1').then((r) => r.json()).then((order) => {
  const nav = performance.getEntriesByType('navigation')[0];
  const api = performance.getEntriesByName(new URL('/orders/1', location).href)[0];
  document.getElementById('out').textContent =
    [nav.nextHopProtocol, api.nextHopProtocol, order.id, order.total].join(' ');
});
</script>
HTML
	file_server_start --threads 2 --static "$www" "$ROOT/examples/routes"
}

teardown_file() {
	psql_fa -q -c 'DROP SCHEMA IF EXISTS shop CASCADE'
	file_server_stop
}

setup() {
	file_server_ports
	# Chromium trusts the test's certificate by its public key's SHA-256
	spki=$(openssl x509 -in "$BATS_FILE_TMPDIR/cert.pem" -pubkey -noout |
		openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
}

chromium() {
	timeout 60 python3 "$BATS_TEST_DIRNAME/chromium.py" \
		--flag=--ignore-certificate-errors-spki-list="$spki" "$@"
}

# The live page's rows as "ID TOTAL" lines, newest first, once it has $1 of them.
rows_when() {
	echo "document.body.dataset.state === 'live' && document.querySelectorAll('#orders tr').length === $1 &&
		Array.from(document.querySelectorAll('#orders tr'), (tr) => tr.dataset.id + ' ' + tr.cells[4].textContent).join('\n')"
}

# The same from the database: the newest $1 orders.  The page shows the 20
# newest (orders_live's LIMIT), so counts here stop at 20.
db_rows() {
	"$FA_BIN/fa-pg" -t -F tsv -c "SELECT id, total FROM shop.orders ORDER BY id DESC LIMIT $1" | tr '\t' ' '
}

# Inserts two orders with fa-pg, with totals of this run's choosing.
insert_cmd() {
	echo "'$FA_BIN/fa-pg' -q -c \"INSERT INTO shop.orders (customer_id, total) VALUES (1, $1), (1, $2)\""
}

@test "chromium: a --static page and its API call over HTTP/3 (nextHopProtocol h3)" {
	run chromium --flag=--origin-to-force-quic-on=127.0.0.1:$h3port \
		"https://127.0.0.1:$h3port/proto.html" \
		--wait "document.getElementById('out').textContent"
	echo "$output"
	assert_status 0
	want=$("$FA_BIN/fa-pg" -t -F tsv -c "SELECT id, total FROM shop.orders WHERE id = 1" | tr '\t' ' ')
	assert_same "h3 h3 $want" "${lines[-1]}"
	# the same page over TLS on TCP is h2, and over cleartext HTTP/1.1
	run chromium "https://127.0.0.1:$tport/proto.html" --wait "document.getElementById('out').textContent"
	assert_same "h2 h2 $want" "${lines[-1]}"
}

@test "chromium: the live orders page over Server-Sent Events shows each order fa-pg inserts" {
	a=$((RANDOM % 9000 + 100)).$((RANDOM % 90 + 10))
	b=$((RANDOM % 9000 + 100)).$((RANDOM % 90 + 10))
	n=$(( $("$FA_BIN/fa-pg" -t -F tsv -c "SELECT least(count(*), 20) FROM shop.orders") ))
	before=$(db_rows "$n")
	run chromium "https://127.0.0.1:$tport/?via=sse" \
		--wait "$(rows_when "$n")" --run "$(insert_cmd "$a" "$b")" \
		--wait "$(rows_when $((n + 2)))" \
		--wait "document.getElementById('proto').textContent + ' ' + document.getElementById('status').textContent"
	echo "$output"
	assert_status 0
	assert_same "$before" "$(echo "$output" | sed -n "1,${n}p")"
	assert_same "$(db_rows $((n + 2)))" "$(echo "$output" | sed -n "$((n + 1)),$((2 * n + 2))p")"
	assert_contains "$output" "$a"
	assert_same "h2 live: 2 new orders since the page opened" "${lines[-1]}"
}

@test "chromium: the live orders page over WebSocket shows each order fa-pg inserts" {
	a=$((RANDOM % 9000 + 100)).$((RANDOM % 90 + 10))
	b=$((RANDOM % 9000 + 100)).$((RANDOM % 90 + 10))
	n=$(( $("$FA_BIN/fa-pg" -t -F tsv -c "SELECT least(count(*), 20) FROM shop.orders") ))
	run chromium "http://127.0.0.1:$port/" \
		--wait "$(rows_when "$n")" --run "$(insert_cmd "$a" "$b")" \
		--wait "$(rows_when $((n + 2)))" \
		--wait "document.getElementById('via').textContent + ' ' + document.getElementById('status').textContent"
	echo "$output"
	assert_status 0
	assert_same "$(db_rows $((n + 2)))" "$(echo "$output" | sed -n "$((n + 1)),$((2 * n + 2))p")"
	assert_same "WebSocket live: 2 new orders since the page opened" "${lines[-1]}"
}
