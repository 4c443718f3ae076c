#!/usr/bin/env bats
# fa-serve's JWT to role: tokens made here (tests/jwt_make.py, with
# python3-cryptography; keys from openssl) in every algorithm, against a
# secret, a PEM key, a JWK and a JWKS by kid; the claims checks; the bad
# tokens (alg none, algorithm confusion, tampered); row-level security by
# the token's sub; the anonymous role; key reload on SIGHUP.

load helpers

PY=/usr/bin/python3

mk() {
	$PY "$BATS_TEST_DIRNAME/jwt_make.py" "$@"
}

setup_file() {
	psql_fa -q <<'SQL'
DROP SCHEMA IF EXISTS fajwt CASCADE;
CREATE SCHEMA fajwt;
CREATE TABLE fajwt.notes (id int PRIMARY KEY, owner text NOT NULL, body text);
INSERT INTO fajwt.notes VALUES (1, 'alice', 'a1'), (2, 'alice', 'a2'), (3, 'bob', 'b1');
ALTER TABLE fajwt.notes ENABLE ROW LEVEL SECURITY;
DO $$ BEGIN CREATE ROLE fajwt_user NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE fajwt_anon NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE fajwt_none NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT USAGE ON SCHEMA fajwt TO fajwt_user, fajwt_anon, fajwt_none;
GRANT SELECT ON fajwt.notes TO fajwt_user;
CREATE POLICY mine ON fajwt.notes TO fajwt_user
  USING (owner = current_setting('request.jwt.claims', true)::json->>'sub');
CREATE TABLE fajwt.public_notes (id int, body text);
INSERT INTO fajwt.public_notes VALUES (1, 'hello');
GRANT SELECT ON fajwt.public_notes TO fajwt_anon, fajwt_user;
SQL
	dir=$BATS_FILE_TMPDIR/routes
	mkdir -p "$dir"
	cat > "$dir/notes.sql" <<'SQL'
-- name: notes
-- route: GET /notes
SELECT id, owner, body FROM fajwt.notes ORDER BY id;

-- name: whoami
-- route: GET /whoami
-- returns: one
SELECT current_user AS role, current_setting('request.jwt.claims', true)::json->>'sub' AS sub;

-- name: public
-- route: GET /public
-- auth: optional
SELECT id, body FROM fajwt.public_notes;

-- name: private
-- route: GET /private
-- auth: required
SELECT current_user AS role;

-- name: ws_whoami
-- route: WS /ws/whoami
-- param: msg text
-- returns: one
SELECT current_user AS role, current_setting('request.jwt.claims', true)::json->>'sub' AS sub,
       :msg AS msg;

-- name: notes_live
-- route: GET /notes/live
-- listen: fajwt_feed
SELECT count(*) AS n FROM fajwt.notes;

-- name: slow_whoami
-- route: GET /slow
-- timeout: 2s
-- returns: one
SELECT current_user AS role, current_setting('request.jwt.claims', true)::json->>'sub' AS sub;
SQL
	k=$BATS_FILE_TMPDIR/keys
	mkdir -p "$k"
	head -c 48 /dev/urandom | base64 -w0 > "$k/secret"        # 64 bytes: HS512 too
	echo >> "$k/secret"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/rsa.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/p256.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$k/p384.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$k/p521.pem" 2>/dev/null
	openssl genpkey -algorithm ED25519 -out "$k/ed.pem" 2>/dev/null
	openssl pkey -in "$k/rsa.pem" -pubout -out "$k/rsa.pub"
	openssl pkey -in "$k/ed.pem" -pubout -out "$k/ed.pub"
	{
		printf '{"keys":['
		mk jwk "$k/secret" --kid hs; printf ','
		mk jwk "$k/rsa.pem" --kid rsa; printf ','
		mk jwk "$k/p256.pem" --kid p256; printf ','
		mk jwk "$k/p384.pem" --kid p384; printf ','
		mk jwk "$k/p521.pem" --kid p521; printf ','
		mk jwk "$k/ed.pem" --kid ed
		printf ']}\n'
	} > "$k/jwks.json"
	start_server main --jwt-secret "$k/jwks.json" --anon-role fajwt_anon
}

teardown_file() {
	for f in "$BATS_FILE_TMPDIR"/*.pid; do
		[ -e "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null || true
	done
	psql_fa -q -c 'DROP SCHEMA IF EXISTS fajwt CASCADE' \
		-c 'DROP ROLE IF EXISTS fajwt_user' -c 'DROP ROLE IF EXISTS fajwt_anon' \
		-c 'DROP ROLE IF EXISTS fajwt_none' 2>/dev/null || true
}

# start_server NAME ARGS...: a server on a free port; its base URL in
# $BATS_FILE_TMPDIR/NAME.url, its pid in NAME.pid, its log in NAME.log.
start_server() {
	local name=$1 log=$BATS_FILE_TMPDIR/$1.log
	shift
	fa-serve --listen 127.0.0.1:0 --threads 2 --pool 2 "$@" "$BATS_FILE_TMPDIR/routes" 2> "$log" &
	echo $! > "$BATS_FILE_TMPDIR/$name.pid"
	for _ in $(seq 100); do
		grep -q 'listening on' "$log" 2>/dev/null && break
		sleep 0.1
	done
	echo "http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log" | head -1)" \
		> "$BATS_FILE_TMPDIR/$name.url"
}

# stop_server NAME: SIGTERM; fails unless it exits 0 (a sanitizer build
# exits 99 on a leak or an error) and its log holds no sanitizer report.
# A server of setup_file is not this shell's child: its log says it all.
stop_server() {
	local pid rc=0 log=$BATS_FILE_TMPDIR/$1.log
	pid=$(cat "$BATS_FILE_TMPDIR/$1.pid")
	rm -f "$BATS_FILE_TMPDIR/$1.pid"
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || { echo "fa-serve $1 still runs 10 s after SIGTERM" >&2; return 1; }
	wait "$pid" 2>/dev/null || rc=$?
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 127 ]; } || grep -q 'Sanitizer\|runtime error' "$log"; then
		echo "fa-serve $1 exited $rc" >&2
		tail -30 "$log" >&2
		return 1
	fi
}

setup() {
	base=$(cat "$BATS_FILE_TMPDIR/main.url")
	k=$BATS_FILE_TMPDIR/keys
}

# get URL [TOKEN]: the body, then the status on a line of its own.
get() {
	if [ -n "${2:-}" ]; then
		curl -sS -H "Authorization: Bearer $2" -w '\n%{http_code}' "$1"
	else
		curl -sS -w '\n%{http_code}' "$1"
	fi
}

# challenge URL TOKEN: the WWW-Authenticate header of the answer.
challenge() {
	curl -sS -o /dev/null -D - -H "Authorization: Bearer $2" "$1" |
		sed -n 's/^WWW-Authenticate: //Ip' | tr -d '\r'
}

alice='{"sub":"alice","role":"fajwt_user","exp":"$now+300"}'

@test "every algorithm verifies against a JWKS key chosen by kid, and RLS filters by sub" {
	for spec in HS256:hs HS384:hs HS512:hs RS256:rsa RS384:rsa RS512:rsa PS256:rsa PS384:rsa \
		PS512:rsa ES256:p256 ES384:p384 ES512:p521 EdDSA:ed; do
		alg=${spec%%:*} kid=${spec#*:}
		case $kid in hs) key=$k/secret ;; rsa) key=$k/rsa.pem ;; ed) key=$k/ed.pem ;; *) key=$k/$kid.pem ;; esac
		tok=$(mk sign "$alg" "$key" "$alice" --kid "$kid")
		run get "$base/notes" "$tok"
		echo "$alg: $output"
		[ "${lines[-1]}" = 200 ]
		[ "$(echo "$output" | head -n -1 | jq -c '[.[].id]')" = '[1,2]' ]
	done
}

@test "the role claim becomes the role, the claims become request.jwt.claims" {
	tok=$(mk sign ES256 "$k/p256.pem" '{"sub":"bob","role":"fajwt_user"}' --kid p256)
	run get "$base/whoami" "$tok"
	[ "${lines[-1]}" = 200 ]
	[ "$(echo "$output" | head -1 | jq -c .)" = '{"role":"fajwt_user","sub":"bob"}' ]
	run get "$base/notes" "$tok"
	[ "$(echo "$output" | head -n -1 | jq -c '[.[].id]')" = '[3]' ]
	# the same over HTTP/2 (h2c)
	run curl -sS --http2-prior-knowledge -H "Authorization: Bearer $tok" "$base/notes"
	[ "$(echo "$output" | jq -c '[.[].id]')" = '[3]' ]
	run curl -sS --http2-prior-knowledge -D - -o /dev/null -H "Authorization: Bearer x$tok" "$base/notes"
	assert_contains "$output" 'www-authenticate: Bearer error="invalid_token"'
}

@test "a token naming a kid no key has, or a kid of a key of another type, is 401" {
	tok=$(mk sign HS256 "$k/secret" "$alice" --kid nosuch)
	run challenge "$base/whoami" "$tok"
	assert_contains "$output" 'Bearer error="invalid_token", error_description="header: no key has kid'
	tok=$(mk sign RS256 "$k/rsa.pem" "$alice" --kid p256)
	run get "$base/whoami" "$tok"
	[ "${lines[-1]}" = 401 ]
	assert_contains "$output" 'does not fit'
}

@test "alg none, algorithm confusion and tampering are 401 with a Bearer challenge" {
	run challenge "$base/whoami" "$(mk sign none "$k/secret" "$alice")"
	assert_contains "$output" 'error="invalid_token", error_description="header: alg ' # none
	assert_contains "$output" 'never accepted'
	# HS256 made with the RSA public key's PEM as the secret, against that key
	start_server pem --jwt-secret "$k/rsa.pub"
	pem=$(cat "$BATS_FILE_TMPDIR/pem.url")
	run get "$pem/whoami" "$(mk sign RS256 "$k/rsa.pem" "$alice")"
	[ "${lines[-1]}" = 200 ]
	run challenge "$pem/whoami" "$(mk sign HS256 "$k/rsa.pub" "$alice")"
	assert_contains "$output" 'alg HS256 does not fit the key (RSA)'
	# the payload of another token under a valid signature
	good=$(mk sign RS256 "$k/rsa.pem" "$alice")
	evil=$(mk sign RS256 "$k/rsa.pem" '{"sub":"bob","role":"fajwt_user","exp":"$now+300"}')
	forged=$(echo "$good" | cut -d. -f1).$(echo "$evil" | cut -d. -f2).$(echo "$good" | cut -d. -f3)
	run challenge "$pem/whoami" "$forged"
	assert_contains "$output" 'signature: does not verify (RS256)'
	# one bit of the signature
	sig=$(echo "$good" | cut -d. -f3)
	first=${sig:0:1}
	[ "$first" = A ] && flip=B || flip=A
	run get "$pem/whoami" "${good%.*}.$flip${sig:1}"
	[ "${lines[-1]}" = 401 ]
	# not base64url: padding, the + of base64, a stray bit
	run challenge "$pem/whoami" "${good%.*}.${sig}=="
	assert_contains "$output" 'signature: invalid base64url at byte'
	run challenge "$pem/whoami" "$(echo "$good" | cut -d. -f1 | tr _- /+)x.$(echo "$good" | cut -d. -f2-)"
	assert_contains "$output" 'error="invalid_token"'
	run challenge "$pem/whoami" "a.b"
	assert_contains "$output" 'not a JWS in compact form'
	stop_server pem
}

@test "exp and nbf are checked with --jwt-leeway; aud with --jwt-aud and iss with --jwt-iss" {
	start_server claims --jwt-secret "$k/secret" --jwt-leeway 30 --jwt-aud api --jwt-iss https://issuer.example
	u=$(cat "$BATS_FILE_TMPDIR/claims.url")
	c='"role":"fajwt_user","aud":"api","iss":"https://issuer.example"'
	run get "$u/whoami" "$(mk sign HS256 "$k/secret" "{$c,\"exp\":\"\$now-10\"}")"
	[ "${lines[-1]}" = 200 ]        # within the leeway
	run challenge "$u/whoami" "$(mk sign HS256 "$k/secret" "{$c,\"exp\":\"\$now-100\"}")"
	assert_contains "$output" 'claims: the token expired'
	run get "$u/whoami" "$(mk sign HS256 "$k/secret" "{$c,\"nbf\":\"\$now+10\"}")"
	[ "${lines[-1]}" = 200 ]
	run challenge "$u/whoami" "$(mk sign HS256 "$k/secret" "{$c,\"nbf\":\"\$now+100\"}")"
	assert_contains "$output" 'not valid for'
	run get "$u/whoami" "$(mk sign HS256 "$k/secret" '{"role":"fajwt_user","aud":["web","api"],"iss":"https://issuer.example"}')"
	[ "${lines[-1]}" = 200 ]
	run challenge "$u/whoami" "$(mk sign HS256 "$k/secret" '{"role":"fajwt_user","aud":"web","iss":"https://issuer.example"}')"
	assert_contains "$output" "claims: 'aud' does not include 'api'"
	run challenge "$u/whoami" "$(mk sign HS256 "$k/secret" '{"role":"fajwt_user","iss":"https://issuer.example"}')"
	assert_contains "$output" "'aud' does not include"
	run challenge "$u/whoami" "$(mk sign HS256 "$k/secret" '{"role":"fajwt_user","aud":"api","iss":"https://evil.example"}')"
	assert_contains "$output" "claims: 'iss' is not 'https://issuer.example'"
	stop_server claims
}

@test "a cached token still expires" {
	tok=$(mk sign HS256 "$k/secret" '{"sub":"alice","role":"fajwt_user","exp":"$now+2"}' --kid hs)
	run get "$base/whoami" "$tok"
	[ "${lines[-1]}" = 200 ]
	run get "$base/whoami" "$tok"
	[ "${lines[-1]}" = 200 ]
	sleep 2.5
	run challenge "$base/whoami" "$tok"
	assert_contains "$output" 'expired'
}

@test "without a token: --anon-role, or 401 on an auth: required route or without --anon-role" {
	run get "$base/public"
	[ "${lines[-1]}" = 200 ]
	run get "$base/whoami"
	[ "$(echo "$output" | head -1 | jq -r .role)" = fajwt_anon ]
	# the anonymous role may not read notes: 42501 is 403
	run get "$base/notes"
	[ "${lines[-1]}" = 403 ]
	assert_contains "$output" '"sqlstate":"42501"'
	run curl -sS -D - -o /dev/null "$base/private"
	assert_contains "$output" '401'
	assert_contains "$output" 'WWW-Authenticate: Bearer'
	! echo "$output" | grep -q 'error='
	run get "$base/private" "$(mk sign HS256 "$k/secret" "$alice" --kid hs)"
	[ "${lines[-1]}" = 200 ]
	start_server noanon --jwt-secret "$k/secret"
	run get "$(cat "$BATS_FILE_TMPDIR/noanon.url")/public"
	[ "${lines[-1]}" = 401 ]
	stop_server noanon
	start_server strict --jwt-secret "$k/secret" --anon-role fajwt_anon --auth required
	u=$(cat "$BATS_FILE_TMPDIR/strict.url")
	run get "$u/whoami"
	[ "${lines[-1]}" = 401 ]
	run get "$u/public"             # auth: optional wins over --auth required
	[ "${lines[-1]}" = 200 ]
	stop_server strict
	# without keys, an auth: required route stays closed; the others run as before
	start_server nokeys
	u=$(cat "$BATS_FILE_TMPDIR/nokeys.url")
	grep -q 'warning: route private (.*notes.sql:.*) needs a token' "$BATS_FILE_TMPDIR/nokeys.log"
	run get "$u/private"
	[ "${lines[-1]}" = 401 ]
	run get "$u/private" "$(mk sign HS256 "$k/secret" "$alice")"
	[ "${lines[-1]}" = 401 ]
	assert_contains "$output" 'without --jwt-secret'
	run get "$u/public"
	[ "${lines[-1]}" = 200 ]
	stop_server nokeys
}

@test "a role that does not exist is 401; one without grants is 403; a token without a role is anonymous" {
	run get "$base/whoami" "$(mk sign HS256 "$k/secret" '{"role":"fajwt_nosuch"}' --kid hs)"
	[ "${lines[-1]}" = 401 ]
	assert_contains "$output" 'role \"fajwt_nosuch\" does not exist'
	run get "$base/notes" "$(mk sign HS256 "$k/secret" '{"role":"fajwt_none"}' --kid hs)"
	[ "${lines[-1]}" = 403 ]
	run get "$base/whoami" "$(mk sign HS256 "$k/secret" '{"sub":"carol"}' --kid hs)"
	[ "${lines[-1]}" = 200 ]
	[ "$(echo "$output" | head -1 | jq -c .)" = '{"role":"fajwt_anon","sub":"carol"}' ]
	run get "$base/whoami" "$(mk sign HS256 "$k/secret" '{"role":42}' --kid hs)"
	[ "${lines[-1]}" = 401 ]
	assert_contains "$output" 'not a non-empty string'
}

@test "--jwt-role-claim follows a path into the claims" {
	start_server path --jwt-secret "$k/secret" --jwt-role-claim '.app."roles"[1]'
	u=$(cat "$BATS_FILE_TMPDIR/path.url")
	run get "$u/whoami" "$(mk sign HS256 "$k/secret" '{"sub":"bob","app":{"roles":["x","fajwt_user"]}}')"
	[ "${lines[-1]}" = 200 ]
	[ "$(echo "$output" | head -1 | jq -r .role)" = fajwt_user ]
	stop_server path
	run fa-serve --jwt-secret "$k/secret" --jwt-role-claim 'app.role' --check "$BATS_FILE_TMPDIR/routes"
	assert_status 2
	assert_contains "$output" "claim path 'app.role'"
}

@test "requests of different roles and subjects at once never share a transaction" {
	ta=$(mk sign HS256 "$k/secret" '{"sub":"alice","role":"fajwt_user"}' --kid hs)
	tb=$(mk sign EdDSA "$k/ed.pem" '{"sub":"bob","role":"fajwt_user"}' --kid ed)
	out=$BATS_TEST_TMPDIR/out
	mkdir -p "$out"
	for i in $(seq 1 60); do
		case $((i % 3)) in
		0) curl -sS -H "Authorization: Bearer $ta" "$base/whoami" > "$out/$i.alice" & ;;
		1) curl -sS -H "Authorization: Bearer $tb" "$base/whoami" > "$out/$i.bob" & ;;
		2) curl -sS "$base/whoami" > "$out/$i.anon" & ;;
		esac
	done
	wait
	for f in "$out"/*.alice; do [ "$(jq -c . "$f")" = '{"role":"fajwt_user","sub":"alice"}' ]; done
	for f in "$out"/*.bob; do [ "$(jq -c . "$f")" = '{"role":"fajwt_user","sub":"bob"}' ]; done
	for f in "$out"/*.anon; do [ "$(jq -c . "$f")" = '{"role":"fajwt_anon","sub":null}' ]; done
	# a route with a timeout sends its SET with the settings, in one batch
	run get "$base/slow" "$ta"
	[ "$(echo "$output" | head -1 | jq -c .)" = '{"role":"fajwt_user","sub":"alice"}' ]
}

@test "a JWK file, a PEM key, and key reload on SIGHUP" {
	mk jwk "$k/ed.pem" > "$BATS_TEST_TMPDIR/ed.jwk"
	start_server jwk --jwt-secret "$BATS_TEST_TMPDIR/ed.jwk"
	u=$(cat "$BATS_FILE_TMPDIR/jwk.url")
	run get "$u/whoami" "$(mk sign EdDSA "$k/ed.pem" "$alice")"
	[ "${lines[-1]}" = 200 ]
	stop_server jwk
	cp "$k/secret" "$BATS_TEST_TMPDIR/rot"
	start_server rot --jwt-secret "$BATS_TEST_TMPDIR/rot"
	u=$(cat "$BATS_FILE_TMPDIR/rot.url")
	old=$(mk sign HS256 "$BATS_TEST_TMPDIR/rot" "$alice")
	run get "$u/whoami" "$old"
	[ "${lines[-1]}" = 200 ]
	cp "$k/ed.pub" "$BATS_TEST_TMPDIR/rot"
	kill -HUP "$(cat "$BATS_FILE_TMPDIR/rot.pid")"
	for _ in $(seq 50); do grep -q 'reloaded 1 JWT key' "$BATS_FILE_TMPDIR/rot.log" && break; sleep 0.1; done
	run get "$u/whoami" "$old"      # cached under the old keys: verified again, refused
	[ "${lines[-1]}" = 401 ]
	run get "$u/whoami" "$(mk sign EdDSA "$k/ed.pem" "$alice")"
	[ "${lines[-1]}" = 200 ]
	# a broken file keeps the keys that work
	echo 'short' > "$BATS_TEST_TMPDIR/rot"
	kill -HUP "$(cat "$BATS_FILE_TMPDIR/rot.pid")"
	for _ in $(seq 50); do grep -q 'the old keys stay' "$BATS_FILE_TMPDIR/rot.log" && break; sleep 0.1; done
	grep -q "rot: a secret of 5 bytes; HMAC keys need 32 or more" "$BATS_FILE_TMPDIR/rot.log"
	run get "$u/whoami" "$(mk sign EdDSA "$k/ed.pem" "$alice")"
	[ "${lines[-1]}" = 200 ]
	stop_server rot
}

@test "the main server stops cleanly (exit 0: no leak, no sanitizer report)" {
	stop_server main
}

@test "bad key files are refused at start, naming the file and the key" {
	echo '{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}' > "$BATS_TEST_TMPDIR/small.json"
	run fa-serve --jwt-secret "$BATS_TEST_TMPDIR/small.json" --check "$BATS_FILE_TMPDIR/routes"
	assert_status 4
	assert_contains "$output" 'small.json: key 1 (kid "a"): RSA key of 17 bits; JWS needs 2048 or more'
	echo '{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}' > "$BATS_TEST_TMPDIR/ec.json"
	run fa-serve --jwt-secret "$BATS_TEST_TMPDIR/ec.json" --check "$BATS_FILE_TMPDIR/routes"
	assert_status 4
	assert_contains "$output" 'not a usable P-256 public key'
	echo '{"keys": [' > "$BATS_TEST_TMPDIR/broken.json"
	run fa-serve --jwt-secret "$BATS_TEST_TMPDIR/broken.json" --check "$BATS_FILE_TMPDIR/routes"
	assert_status 4
	assert_contains "$output" 'broken.json: line 2, column'
	run fa-serve --jwt-secret /nonexistent/key --check "$BATS_FILE_TMPDIR/routes"
	assert_status 4
	assert_contains "$output" "cannot open '/nonexistent/key'"
	run fa-serve --jwt-aud x --check "$BATS_FILE_TMPDIR/routes"
	assert_status 2
}

@test "a listen route's stream, SSE or WebSocket, ends once its token expires and sends nothing after" {
	local u node=$BATS_TEST_DIRNAME/../build/npm/node_modules/.bin/node
	[ -x "$node" ] || node=node
	start_server lexp --jwt-secret "$k/secret" --anon-role fajwt_anon
	u=$(cat "$BATS_FILE_TMPDIR/lexp.url")
	tok=$(mk sign HS256 "$k/secret" '{"sub":"alice","role":"fajwt_user","exp":"$now+2"}')
	timeout 20 curl -sSN -H "Authorization: Bearer $tok" "$u/notes/live" > "$BATS_TEST_TMPDIR/sse" &
	local cpid=$!
	WS_AUTH=$tok timeout 20 "$node" "$BATS_TEST_DIRNAME/ws_peer.js" "ws://${u#http://}/notes/live" listen 9 \
		> "$BATS_TEST_TMPDIR/ws" &
	local wpid=$!
	wait_until grep -q snapshot "$BATS_TEST_TMPDIR/sse"
	wait_until grep -q '"n"' "$BATS_TEST_TMPDIR/ws"
	psql_fa -c "NOTIFY fajwt_feed, 'before'"
	wait_until grep -q before "$BATS_TEST_TMPDIR/ws"
	# past exp: the next event ends each stream in its place
	sleep 2.2
	psql_fa -c "NOTIFY fajwt_feed, 'after'"
	wait "$cpid"
	wait "$wpid"
	run cat "$BATS_TEST_TMPDIR/sse"
	assert_contains "$output" 'data: before'
	assert_contains "$output" 'event: error'
	assert_contains "$output" 'the token has expired'
	[[ $output != *after* ]] || { echo "$output" >&2; false; }
	assert_same 'open
[{"n":2}]
before
closed 1008' "$(cat "$BATS_TEST_TMPDIR/ws")"
	stop_server lexp
}

@test "a WebSocket session runs each message as the token's role, and ends (1008) once the token expires" {
	local u node=$BATS_TEST_DIRNAME/../build/npm/node_modules/.bin/node
	[ -x "$node" ] || node=node
	start_server wsexp --jwt-secret "$k/secret" --anon-role fajwt_anon
	u=$(cat "$BATS_FILE_TMPDIR/wsexp.url")
	u=ws://${u#http://}/ws/whoami
	WS_AUTH=$(mk sign HS256 "$k/secret" '{"sub":"alice","role":"fajwt_user","exp":"$now+2"}') \
		run "$node" "$BATS_TEST_DIRNAME/ws_peer.js" "$u" later 2500 one two
	assert_same '{"role":"fajwt_user","sub":"alice","msg":"one"}
closed 1008' "$output"
	WS_AUTH=$(mk sign HS256 "$k/secret" '{"sub":"bob","role":"fajwt_user","exp":"$now+300"}') \
		run "$node" "$BATS_TEST_DIRNAME/ws_peer.js" "$u" later 10 one two
	assert_same '{"role":"fajwt_user","sub":"bob","msg":"one"}
{"role":"fajwt_user","sub":"bob","msg":"two"}' "$output"
	run "$node" "$BATS_TEST_DIRNAME/ws_peer.js" "$u" later 10 one two
	assert_same '{"role":"fajwt_anon","sub":null,"msg":"one"}
{"role":"fajwt_anon","sub":null,"msg":"two"}' "$output"
	stop_server wsexp
}
