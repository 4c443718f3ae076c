#!/usr/bin/env bats
# fa-serve --static DIR: files where no route matches, with real peers
# (curl over HTTP/1.1, h2c and h2; gtlsclient over HTTP/3): content types,
# index.html, HEAD, ETag and Last-Modified with 304, routes first, and
# every way out of DIR refused (curl --path-as-is sends the path as typed).

load helpers

setup_file() {
	psql_fa -q -c 'SELECT 1'
	routes=$BATS_FILE_TMPDIR/routes
	www=$BATS_FILE_TMPDIR/www
	mkdir -p "$routes" "$www/sub" "$www/.git" "$www/.well-known" "$BATS_FILE_TMPDIR/outside"
	cat > "$routes/static.sql" <<'SQL'
-- name: shadow
-- route: GET /app.js
SELECT 'from the route' AS said;

-- name: post_only
-- route: POST /form.html
SELECT 'posted' AS said;
SQL
	printf '<!doctype html><title>root</title>\n' > "$www/index.html"
	printf '<!doctype html><title>sub</title>\n' > "$www/sub/index.html"
	printf 'body { color: red }\n' > "$www/site.css"
	printf 'export const x = 1;\n' > "$www/mod.mjs"
	printf 'console.log("shadowed");\n' > "$www/app.js"
	printf '{"a": 1}\n' > "$www/data.json"
	printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' > "$www/logo.svg"
	printf 'plain\n' > "$www/notes.txt"
	printf '<form></form>\n' > "$www/form.html"
	printf 'no extension\n' > "$www/README"
	printf 'ref: refs/heads/main\n' > "$www/.git/HEAD"
	printf 'contact\n' > "$www/.well-known/security.txt"
	for ext in png jpg gif webp ico wasm woff2; do head -c 100 /dev/urandom > "$www/file.$ext"; done
	: > "$www/empty.txt"
	# text large enough to be compressed, and random bytes that are not
	seq 1 20000 | sed 's/^/line /' > "$www/big.txt"
	head -c 3000000 /dev/urandom > "$www/big.bin"
	printf 'SECRET outside\n' > "$BATS_FILE_TMPDIR/secret.txt"
	printf 'SECRET in dir\n' > "$BATS_FILE_TMPDIR/outside/x.txt"
	ln -s ../secret.txt "$www/out.txt"
	ln -s "$BATS_FILE_TMPDIR/secret.txt" "$www/abs.txt"
	ln -s ../outside "$www/outdir"
	ln -s notes.txt "$www/alias.txt"
	file_server_start --threads 2 --static "$www" "$routes"
}

teardown_file() {
	file_server_stop
}

setup() {
	www=$BATS_FILE_TMPDIR/www
	file_server_ports
	url=http://127.0.0.1:$port
}

# The status, content type and length of GET $1 (curl's -w), the body in $BATS_TEST_TMPDIR/body.
get() {
	curl -sS --path-as-is -o "$BATS_TEST_TMPDIR/body" \
		-w '%{http_code} %{content_type} %{size_download}' "${@:2}" "$url$1"
}

@test "static: content types by extension, index.html for a directory, a 301 to add its '/'" {
	local f want
	for f in index.html:'text/html; charset=utf-8' site.css:'text/css; charset=utf-8' \
		mod.mjs:'text/javascript; charset=utf-8' data.json:application/json \
		logo.svg:image/svg+xml notes.txt:'text/plain; charset=utf-8' file.png:image/png \
		file.jpg:image/jpeg file.gif:image/gif file.webp:image/webp \
		file.ico:image/vnd.microsoft.icon file.wasm:application/wasm file.woff2:font/woff2 \
		README:application/octet-stream empty.txt:'text/plain; charset=utf-8' \
		alias.txt:'text/plain; charset=utf-8' .well-known/security.txt:'text/plain; charset=utf-8'; do
		want="200 ${f#*:} $(stat -L -c %s "$www/${f%%:*}")"
		assert_same "$want" "$(get "/${f%%:*}")"
		cmp "$BATS_TEST_TMPDIR/body" "$www/${f%%:*}"
	done
	assert_same "200 text/html; charset=utf-8 $(stat -c %s "$www/index.html")" "$(get /)"
	cmp "$BATS_TEST_TMPDIR/body" "$www/index.html"
	assert_same "200 text/html; charset=utf-8 $(stat -c %s "$www/sub/index.html")" "$(get '/sub/?x=1')"
	cmp "$BATS_TEST_TMPDIR/body" "$www/sub/index.html"
	run curl -sS -D - -o /dev/null "$url/sub?x=1"
	assert_contains "$output" "HTTP/1.1 301"
	assert_contains "$output" "Location: /sub/?x=1"
	# never a Location of "//host/": browsers would go to another site
	run curl -sS --path-as-is -D - -o /dev/null "$url//sub"
	assert_contains "$output" "HTTP/1.1 301"
	assert_contains "$output" $'Location: /sub/\r'
	# a missing file is fa-serve's JSON 404
	assert_same "404 application/json" "$(get /nope.html | cut -d' ' -f1,2)"
	jq -e '.error.status == 404' "$BATS_TEST_TMPDIR/body"
	assert_same "404 application/json" "$(get /sub/nope/ | cut -d' ' -f1,2)"
}

@test "static: HEAD gives GET's headers without the body; validators and lengths are right" {
	run curl -sS -I "$url/site.css"
	assert_contains "$output" "HTTP/1.1 200"
	assert_contains "$output" "Content-Length: $(stat -c %s "$www/site.css")"
	assert_contains "$output" "Last-Modified: $(TZ=GMT date -r "$www/site.css" '+%a, %d %b %Y %H:%M:%S GMT')"
	assert_contains "$output" "Cache-Control: no-cache"
	[[ "$output" =~ ETag:\ \"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+\" ]]
	head=$(curl -sS -I "$url/big.bin" | tr -d '\r')
	assert_contains "$head" "Content-Length: 3000000"
	# no body follows: the next request on the connection is answered as its own
	run curl -sS -I "$url/big.bin" --next -sS -o /dev/null -w '%{http_code} %{size_download}' "$url/site.css"
	assert_contains "$output" "200 $(stat -c %s "$www/site.css")"
	# over HTTP/2 the same
	run curl -sS -I --http2-prior-knowledge "$url/big.bin"
	assert_contains "$output" "HTTP/2 200"
	assert_contains "$output" "content-length: 3000000"
}

@test "static: If-None-Match and If-Modified-Since give 304; a changed file a new ETag" {
	f=$www/etag.txt
	printf 'version one\n' > "$f"
	etag=$(curl -sS -D - -o /dev/null "$url/etag.txt" | sed -n 's/^ETag: //p' | tr -d '\r')
	[ -n "$etag" ]
	assert_same "304 0" "$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $etag" "$url/etag.txt")"
	assert_same "304" "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"x\", W/$etag" "$url/etag.txt")"
	assert_same "304" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: *' "$url/etag.txt")"
	assert_same "200" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$url/etag.txt")"
	lm=$(curl -sS -I "$url/etag.txt" | sed -n 's/^Last-Modified: //p' | tr -d '\r')
	assert_same "304" "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$url/etag.txt")"
	assert_same "200" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT' "$url/etag.txt")"
	# If-None-Match decides alone when both are sent (RFC 9110 13.1.3)
	assert_same "200" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' -H "If-Modified-Since: $lm" "$url/etag.txt")"
	# and over HTTP/2
	assert_same "304" "$(curl -sS --http2-prior-knowledge -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/etag.txt")"
	printf 'version two, longer\n' > "$f"
	etag2=$(curl -sS -D - -o /dev/null "$url/etag.txt" | sed -n 's/^ETag: //p' | tr -d '\r')
	[ "$etag2" != "$etag" ]
	assert_same "200" "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/etag.txt")"
	# a compressed representation has a tag of its own, and its 304
	z=$(curl -sS -D - -o /dev/null -H 'Accept-Encoding: gzip' "$url/big.txt" | tr -d '\r')
	assert_contains "$z" "Content-Encoding: gzip"
	ztag=$(echo "$z" | sed -n 's/^ETag: //p')
	[[ "$ztag" == *-gzip\" ]]
	assert_same "304" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "If-None-Match: $ztag" "$url/big.txt")"
	curl -sS --compressed "$url/big.txt" | cmp - "$www/big.txt"
}

@test "static: a byte range gets 206 (never compressed), one past the end 416, If-Range decides" {
	local r
	r=$(curl -sS -D - -o "$BATS_TEST_TMPDIR/part" -r 1000-1999 -H 'Accept-Encoding: gzip, zstd' \
		"$url/big.txt" | tr -d '\r')
	assert_contains "$r" "HTTP/1.1 206"
	assert_contains "$r" "Content-Range: bytes 1000-1999/$(stat -c %s "$www/big.txt")"
	assert_contains "$r" "Content-Length: 1000"
	[[ "$r" != *Content-Encoding* ]]
	tail -c +1001 "$www/big.txt" | head -c 1000 | cmp - "$BATS_TEST_TMPDIR/part"
	# the last bytes, over h2 and over TLS
	curl -sS --http2-prior-knowledge -r -100 "$url/big.bin" | cmp - <(tail -c 100 "$www/big.bin")
	curl -sSk --http2 -r 2999990- "https://127.0.0.1:$tport/big.bin" |
		cmp - <(tail -c 10 "$www/big.bin")
	run curl -sS -D - -r 3000000- "$url/big.bin"
	assert_contains "$output" "HTTP/1.1 416"
	assert_contains "$output" "Content-Range: bytes */3000000"
	assert_contains "$output" '"status":416'
	# several ranges, or an If-Range of another version: the whole file
	assert_same "200 3000000" "$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -r 0-1,5-6 "$url/big.bin")"
	etag=$(curl -sS -I "$url/big.bin" | sed -n 's/^ETag: //p' | tr -d '\r')
	assert_same "206 2" "$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -r 0-1 -H "If-Range: $etag" "$url/big.bin")"
	assert_same "200 3000000" "$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -r 0-1 -H 'If-Range: "old"' "$url/big.bin")"
	assert_contains "$(curl -sS -I "$url/big.bin")" "Accept-Ranges: bytes"
}

@test "static: traversal refused: .., encoded .., encoded '/', NUL, symlinks out, hidden files" {
	local p out
	for p in '/../secret.txt' '/sub/../../secret.txt' '/%2e%2e/secret.txt' '/%2E%2e/secret.txt' \
		'/sub/%2e%2e/%2e%2e/secret.txt' '/..%2fsecret.txt' '/sub%2f..%2f..%2fsecret.txt' \
		'/%2fetc/passwd' '/notes.txt%00.png' '/..%5csecret.txt' '/%zz'; do
		out=$(get "$p")
		[ "${out%% *}" = 400 ] || { echo "$p: $out" >&2; return 1; }
		jq -e '.error.status == 400' "$BATS_TEST_TMPDIR/body"
		! grep -q SECRET "$BATS_TEST_TMPDIR/body"
	done
	# the reason names the path and where in it
	get '/sub/%2e%2e/x' > /dev/null
	jq -e '.error.message | test("a .\\.\\.. segment at byte 5")' "$BATS_TEST_TMPDIR/body"
	for p in /out.txt /abs.txt /outdir/x.txt /.git/HEAD /sub/../.git/HEAD; do
		out=$(get "$p")
		[ "${out%% *}" = 404 ] || [ "${out%% *}" = 400 ] || { echo "$p: $out" >&2; return 1; }
		! grep -q SECRET "$BATS_TEST_TMPDIR/body"
		! grep -q refs/heads "$BATS_TEST_TMPDIR/body"
	done
	assert_same 404 "$(get /out.txt | cut -d' ' -f1)"
	jq -e '.error.detail | test("outside the served directory")' "$BATS_TEST_TMPDIR/body"
	# and over HTTP/2, where the path travels as :path
	out=$(get /%2e%2e/secret.txt --http2-prior-knowledge)
	assert_same 400 "${out%% *}"
	assert_same 404 "$(get /outdir/x.txt --http2-prior-knowledge | cut -d' ' -f1)"
	! grep -q SECRET "$BATS_TEST_TMPDIR/body"
}

@test "static: the same bytes over HTTP/1.1, h2c, h2, HTTP/1.1 over TLS and HTTP/3" {
	command -v gtlsclient >/dev/null || skip "gtlsclient (Debian's ngtcp2-client) is not installed"
	local f
	mkdir -p "$BATS_TEST_TMPDIR/dl"
	timeout 30 gtlsclient --exit-on-all-streams-close --no-quic-dump --no-http-dump \
		--download "$BATS_TEST_TMPDIR/dl" 127.0.0.1 "$h3port" \
		"https://127.0.0.1:$h3port/big.bin" "https://127.0.0.1:$h3port/big.txt" \
		"https://127.0.0.1:$h3port/sub/" > /dev/null 2> "$BATS_TEST_TMPDIR/h3.err"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/h3.err")" "[:status: 200]"
	cmp "$BATS_TEST_TMPDIR/dl/big.bin" "$www/big.bin"
	cmp "$BATS_TEST_TMPDIR/dl/big.txt" "$www/big.txt"
	cmp "$BATS_TEST_TMPDIR/dl/index.html" "$www/sub/index.html"
	for f in big.bin big.txt; do
		curl -sS --http1.1 "$url/$f" | cmp - "$www/$f"
		curl -sS --http2-prior-knowledge "$url/$f" | cmp - "$www/$f"
		curl -sSk --http2 "https://127.0.0.1:$tport/$f" | cmp - "$www/$f"
		curl -sSk --http1.1 "https://127.0.0.1:$tport/$f" | cmp - "$www/$f"
	done
	# clients that leave halfway (HTTP/1.1 closes, h2 resets the stream)
	# leave nothing behind, and the next one gets the whole file
	curl -sS --http1.1 "$url/big.bin" 2>/dev/null | head -c 100000 > /dev/null
	curl -sS --http2-prior-knowledge "$url/big.bin" 2>/dev/null | head -c 100000 > /dev/null
	curl -sSk --http2 "https://127.0.0.1:$tport/big.bin" 2>/dev/null | head -c 100000 > /dev/null
	curl -sS --http1.1 "$url/big.bin" | cmp - "$www/big.bin"
	# many at once on one h2 connection, each whole (over TLS: curl 7.88's
	# --parallel with --http2-prior-knowledge breaks on any server)
	curl -sSk --http2 --parallel --parallel-max 20 \
		$(for i in $(seq 20); do echo "https://127.0.0.1:$tport/big.bin -o $BATS_TEST_TMPDIR/p$i"; done)
	for i in $(seq 20); do cmp "$BATS_TEST_TMPDIR/p$i" "$www/big.bin"; done
}

@test "static: a route wins over a file; other methods get 405; without --static, 404" {
	run curl -sS "$url/app.js"
	assert_same '[{"said":"from the route"}]' "$output"
	# a path with a route for another method keeps the routes' 405
	run curl -sS -o /dev/null -w '%{http_code}' "$url/form.html"
	assert_same 405 "$output"
	run curl -sS -D - -X POST -o "$BATS_TEST_TMPDIR/body" "$url/notes.txt"
	assert_contains "$output" "HTTP/1.1 405"
	assert_contains "$output" "Allow: GET, HEAD"
	jq -e '.error.status == 405' "$BATS_TEST_TMPDIR/body"
	# /live and the other built-in paths are not files
	assert_same "ok" "$(curl -sS "$url/live")"
	# a directory that is not there stops fa-serve before it serves
	run "$FA_BIN/fa-serve" --listen 127.0.0.1:0 --static "$BATS_FILE_TMPDIR/none" "$BATS_FILE_TMPDIR/routes"
	assert_status 4
	assert_contains "$output" "cannot serve '$BATS_FILE_TMPDIR/none': No such file or directory"
	run "$FA_BIN/fa-serve" --listen 127.0.0.1:0 --static "$www/notes.txt" "$BATS_FILE_TMPDIR/routes"
	assert_status 4
	assert_contains "$output" "Not a directory"
}
