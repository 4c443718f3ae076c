#!/usr/bin/env bats
# fa-pg's interactive shell, driven the way a person drives it: tmux runs
# fa-pg in a real terminal, send-keys types, capture-pane reads the screen.
# Every wait polls the screen (10 s at most); none is a fixed sleep.

load helpers

setup_file() {
	DB=$(psql_fa -Atc 'SELECT current_database()')
	export DB
	psql_fa -q -c 'DROP TABLE IF EXISTS shell_gadgets, "ShellMixed";
		CREATE TABLE shell_gadgets (gadget_id int, gadget_colour text);
		CREATE TABLE "ShellMixed" (id int);'
}

teardown_file() {
	psql_fa -q -c 'DROP TABLE IF EXISTS shell_gadgets, "ShellMixed"'
}

setup() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	# One tmux server per test: tests never share a terminal.
	SOCK="fa-pg-shell-$$-$BATS_TEST_NUMBER"
	HIST="$BATS_TEST_TMPDIR/history"
	printf 'set -g remain-on-exit on\nset -g default-terminal screen\n' \
		>"$BATS_TEST_TMPDIR/tmux.conf"
}

teardown() {
	local path

	# A connection-loss test that failed half way leaves no server stopped.
	pgctl status >/dev/null 2>&1 || pgctl -w start >/dev/null
	path=$(tmux -L "$SOCK" display-message -p '#{socket_path}' 2>/dev/null) || return 0
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	rm -f "$path"
}

tm() {
	tmux -L "$SOCK" "$@"
}

# Starts fa-pg in a 120x40 terminal with only the environment given here
# (plus VAR=value arguments), and waits for its first prompt.  The pane
# stays after fa-pg exits so that its exit status can be read.
shell_start() {
	local cmd

	tm kill-server 2>/dev/null || true
	cmd=$(printf '%q ' env -i HOME="$BATS_TEST_TMPDIR" PATH="$PATH" TERM=screen \
		FA_HOME="$FA_HOME" FA_PG_HISTORY="$HIST" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
		"$@" "$FA_BIN/fa-pg")
	tm -f "$BATS_TEST_TMPDIR/tmux.conf" new-session -d -x 120 -y 40 "$cmd"
	wait_prompt '=#'
}

# The whole screen, scrollback included, wrapped lines joined (-J keeps
# trailing spaces: they go, as the terminal does not show them).
screen() {
	tm capture-pane -p -J -S - | sed -e 's/[[:space:]]*$//'
}

last_line() {
	tm capture-pane -p -J | sed -e 's/[[:space:]]*$//' -e '/^$/d' | tail -n 1
}

# Runs "$@" every 0.1 s until it succeeds; fails after 10 s, showing the
# screen.
poll() {
	local i

	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	printf 'timed out after 10 s: %s\nscreen:\n%s\n' "$*" "$(screen)" >&2
	return 1
}

screen_has() { [[ "$(screen)" == *"$1"* ]]; }
last_line_is() { [ "$(last_line)" = "$1" ]; }
last_line_ends() { [[ "$(last_line)" == *"$1" ]]; }
pane_width_is() { [ "$(tm display-message -p '#{pane_width}')" = "$1" ]; }

# The terminal shows line $1 as is (not joined with its wrapped rest).
visible_line_is() { tm capture-pane -p | grep -qxF -- "$1"; }

# True while a backend runs the shell's pg_sleep.
psql_sleeping() {
	[ "$(psql_fa -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE state = 'active' AND query LIKE 'select pg_sleep(30)%'")" = 1 ]
}

# tmux knows the exit status (or the signal) once it has reaped fa-pg.
# Debian's tmux is built with libutempter, whose own SIGCHLD handler can
# swallow the signal when the pane closes (tmux/tmux#311, #4559): nudge
# our tmux server with a SIGCHLD so that it reaps.
pane_exited() {
	[ -n "$(tm display-message -p '#{pane_dead_status}#{pane_dead_signal}')" ] && return 0
	kill -CHLD "$(tm display-message -p '#{pid}')" 2>/dev/null
	return 1
}

# Waits until the screen shows $1 somewhere.
wait_for() { poll screen_has "$1"; }

# Waits until the prompt with state and mark $1 (=#, -#, =*#...) is the
# last line: fa-pg is idle and waiting for input.
wait_prompt() { poll last_line_is "$DB$1"; }

# Types text literally (sent as bytes: tmux would take a trailing ';' for
# its own command separator).
type_text() {
	tm send-keys -H $(printf '%s' "$1" | od -An -tx1)
}

keys() {
	tm send-keys "$@"
}

# Types a line, waits for the terminal to echo it, presses Enter, and waits
# for the prompt $2 (default =#).
send_line() {
	type_text "$1"
	poll last_line_ends "$1"
	keys Enter
	wait_prompt "${2:-=#}"
}

# The lines fa-pg printed after the screen line $1 (prompt and input),
# up to the next prompt.
result_of() {
	screen | awk -v cmd="$1" -v db="$DB" '
		on && index($0, db) == 1 { exit }
		on { print }
		$0 == cmd { on = 1 }'
}

# psql's output for the same query, without the trailing spaces of its
# headers (a terminal does not show them).
psql_table() {
	psql_fa "$@" | sed -e 's/[[:space:]]*$//'
}

# Waits for fa-pg to exit and checks its exit status (the sanitizer build
# exits 99 on a leak or an error).
wait_exit() {
	poll pane_exited || return 1
	assert_same "status ${1:-0}" \
		"$(tm display-message -p 'status #{pane_dead_status}#{pane_dead_signal}')"
}

@test "banner, superuser prompt and an aligned result table" {
	local version server

	version=$("$FA_BIN/fa-pg" --version | awk '{ print $2 }')
	server=$(psql_fa -Atc 'SHOW server_version')
	shell_start
	assert_same "fa-pg $version (server $server)
Type \\? for help, \\q to quit.

$DB=#" "$(screen | head -n 4)"
	send_line 'select 1 as x;'
	assert_same "$(psql_table -c 'select 1 as x')" "$(result_of "$DB=# select 1 as x;")"
	assert_same ' x
---
 1
(1 row)' "$(result_of "$DB=# select 1 as x;")"
}

@test "a statement over several lines: continuation and quote prompts" {
	shell_start
	send_line 'select' '-#'
	send_line '42 as answer;'
	assert_same "$(psql_table -c 'select 42 as answer')" "$(result_of "$DB-# 42 as answer;")"

	send_line "select 'it" "'#"
	send_line "s' as q;"
	assert_same "$(psql_table -c "select E'it\\ns' as q")" "$(result_of "$DB'# s' as q;")"

	send_line 'select 1 as "two' '"#'
	send_line 'words";'
	assert_same "$(psql_table -c 'select 1 as "two
words"')" "$(result_of "$DB\"# words\";")"

	send_line 'select (' '(#'
	send_line '3) as p;'
	assert_same "$(psql_table -c 'select (3) as p')" "$(result_of "$DB(# 3) as p;")"

	send_line 'select $$dollar' '$#'
	send_line 'quoted$$ as d;'
	assert_same "$(psql_table -c 'select $$dollar
quoted$$ as d')" "$(result_of "$DB\$# quoted\$\$ as d;")"

	send_line 'select 4 /* a comment' '*#'
	send_line '*/ as c;'
	assert_same "$(psql_table -c 'select 4 as c')" "$(result_of "$DB*# */ as c;")"
}

@test "the prompt shows the transaction state" {
	shell_start
	send_line 'begin;' '=*#'
	wait_for 'BEGIN'
	send_line 'select 1/0;' '=!#'
	wait_for 'division by zero'
	send_line 'select 1;' '=!#'
	wait_for 'current transaction is aborted'
	send_line 'rollback;' '=#'
	wait_for 'ROLLBACK'
	send_line 'select 6 as after;'
	assert_same "$(psql_table -c 'select 6 as after')" "$(result_of "$DB=# select 6 as after;")"
}

@test "line editing: Home, Left, Right, BSpace and insertion reach the statement" {
	shell_start
	type_text 'select 2 as v;'
	poll last_line_ends 'select 2 as v;'
	keys Home Right Right Right Right Right Right Right Right BSpace
	type_text 3
	poll last_line_is "$DB=# select 3 as v;"
	keys Enter
	wait_prompt '=#'
	assert_same "$(psql_table -c 'select 3 as v')" "$(result_of "$DB=# select 3 as v;")"

	# Enter with the cursor inside the line runs the whole line.
	type_text 'select 12 as w;'
	poll last_line_ends 'select 12 as w;'
	keys Left Left Left Left Left Left Left
	type_text 7
	poll last_line_is "$DB=# select 172 as w;"
	keys Enter
	wait_prompt '=#'
	assert_same "$(psql_table -c 'select 172 as w')" "$(result_of "$DB=# select 172 as w;")"
}

@test "Tab completes keywords, tables, columns and meta-commands" {
	shell_start
	# A keyword, in the case it was typed in; the completion adds a space.
	type_text 'selec'
	keys Tab
	type_text '1 as k;'
	poll last_line_is "$DB=# select 1 as k;"
	keys Enter
	wait_prompt '=#'
	type_text 'SELE'
	keys Tab
	type_text '2 as k;'
	poll last_line_is "$DB=# SELECT 2 as k;"
	keys Enter
	wait_prompt '=#'
	type_text 'select 3 as k fro'
	keys Tab
	poll last_line_is "$DB=# select 3 as k from"

	# A table after FROM, a column anywhere.
	keys C-u
	type_text 'select * from shell_gad'
	keys Tab
	type_text ';'
	poll last_line_is "$DB=# select * from shell_gadgets ;"
	keys Enter
	wait_prompt '=#'
	assert_same "$(psql_table -c 'select * from shell_gadgets')" \
		"$(result_of "$DB=# select * from shell_gadgets ;")"
	type_text 'select gadget_col'
	keys Tab
	type_text 'from shell_gadgets;'
	poll last_line_is "$DB=# select gadget_colour from shell_gadgets;"
	keys Enter
	wait_prompt '=#'
	assert_same "$(psql_table -c 'select gadget_colour from shell_gadgets')" \
		"$(result_of "$DB=# select gadget_colour from shell_gadgets;")"

	# Meta-commands: a unique prefix completes, \d lists its family, and
	# \dt completes table names.
	type_text '\tim'
	keys Tab
	poll last_line_is "$DB=# \\timing"
	keys Enter
	wait_for 'Timing is on.'
	wait_prompt '=#'
	type_text '\d'
	keys Tab Tab
	wait_for '\dt+'
	assert_contains "$(screen)" '\dn'
	assert_contains "$(screen)" '\du'
	keys C-u
	type_text '\dt shell_ga'
	keys Tab
	poll last_line_is "$DB=# \\dt shell_gadgets"
}

@test "Tab at the start of a statement completes sel to select" {
	shell_start
	type_text 'sel'
	keys Tab
	type_text '5 as k;'
	poll last_line_is "$DB=# select 5 as k;"
}

@test "Tab after FROM offers only relation names, never columns" {
	shell_start
	type_text 'select * from gadget_col'
	keys Tab
	type_text 'X'
	poll last_line_is "$DB=# select * from gadget_colX"
}

@test "Tab completes a mixed-case table name as a quoted identifier" {
	shell_start
	type_text 'select * from ShellMix'
	keys Tab
	type_text ';'
	keys Enter
	wait_prompt '=#'
	wait_for '(0 rows)'
	run screen
	[[ "$output" != *ERROR* ]]
}

@test "Ctrl-C cancels a running query and the shell stays" {
	local start

	shell_start
	send_line 'select 0 as warm;'
	type_text 'select pg_sleep(30);'
	keys Enter
	poll psql_sleeping
	start=$SECONDS
	keys C-c
	wait_for 'canceling statement due to user request'
	wait_prompt '=#'
	[ $((SECONDS - start)) -le 3 ]
	send_line 'select 5 as five;'
	assert_same "$(psql_table -c 'select 5 as five')" "$(result_of "$DB=# select 5 as five;")"
}

@test "Ctrl-C at the prompt clears the line and the query buffer" {
	shell_start
	send_line 'select' '-#'
	type_text '1 +'
	poll last_line_is "$DB-# 1 +"
	keys C-c
	wait_prompt '=#'
	send_line 'select 7 as seven;'
	assert_same "$(psql_table -c 'select 7 as seven')" "$(result_of "$DB=# select 7 as seven;")"

	# Inside a transaction: the buffer goes, the transaction stays.
	send_line 'begin;' '=*#'
	type_text 'select 99'
	poll last_line_ends 'select 99'
	keys C-c
	wait_prompt '=*#'
	send_line 'rollback;'
}

@test "history persists across sessions in FA_PG_HISTORY" {
	shell_start
	send_line 'select 8 as persisted;'
	type_text '\q'
	keys Enter
	wait_exit 0
	assert_same 'select 8 as persisted;
\q' "$(tail -n 2 "$HIST")"

	shell_start
	keys Up
	poll last_line_is "$DB=# \\q"
	keys Up
	poll last_line_is "$DB=# select 8 as persisted;"
	keys Enter
	wait_prompt '=#'
	assert_same "$(psql_table -c 'select 8 as persisted')" \
		"$(result_of "$DB=# select 8 as persisted;")"
}

@test "a statement typed over several lines is one history entry after a restart" {
	shell_start
	send_line 'select' '-#'
	send_line '  88 as multi;'
	keys C-d
	wait_exit 0

	shell_start
	keys Up
	poll last_line_is '  88 as multi;'
	keys Enter
	wait_prompt '=#'
	wait_for '(1 row)'
	run screen
	[[ "$output" != *ERROR* ]]
}

@test "Ctrl-D quits" {
	shell_start
	keys C-d
	wait_exit 0
	wait_for "$DB=#
\\q"
}

@test "Ctrl-D with an unfinished statement quits without running it" {
	shell_start
	send_line "insert into shell_gadgets values (9, 'ctrl-d')" '-#'
	keys C-d
	wait_exit 0
	assert_same 0 "$(psql_fa -Atc 'select count(*) from shell_gadgets where gadget_id = 9')"
}

@test "\\x toggles expanded output, \\timing prints Time:" {
	local q="select 1 as a, 'a wider value' as b;"

	shell_start
	send_line '\x'
	wait_for 'Expanded display is on.'
	send_line "$q"
	wait_for '-[ RECORD 1 ]-'
	assert_same "$(psql_table -x -c "$q")" "$(result_of "$DB=# $q")"
	send_line '\x'
	wait_for 'Expanded display is off.'
	send_line 'select 11 as e;'
	assert_same "$(psql_table -c 'select 11 as e')" "$(result_of "$DB=# select 11 as e;")"

	send_line '\timing'
	wait_for 'Timing is on.'
	send_line 'select 10 as t;'
	result_of "$DB=# select 10 as t;" | grep -Eq '^Time: [0-9]+\.[0-9]{3} ms$'
	send_line '\timing'
	wait_for 'Timing is off.'
	send_line 'select 12 as t;'
	assert_same "$(psql_table -c 'select 12 as t')" "$(result_of "$DB=# select 12 as t;")"
}

@test "a result taller than the terminal goes through PAGER, a short one does not" {
	local pager="$BATS_TEST_TMPDIR/pager"

	printf '#!/bin/sh\n: >"%s.used"\nexec tee "%s.out"\n' "$pager" "$pager" >"$pager"
	chmod +x "$pager"
	shell_start PAGER="$pager"
	send_line 'select generate_series(1,100) as n;'
	[ -e "$pager.used" ]
	# The pager gets exactly what psql prints, trailing spaces included.
	assert_same "$(psql_fa -c 'select generate_series(1,100) as n')" "$(cat "$pager.out")"

	rm -f "$pager.used" "$pager.out"
	send_line 'select 1 as short;'
	assert_same "$(psql_table -c 'select 1 as short')" "$(result_of "$DB=# select 1 as short;")"
	[ ! -e "$pager.used" ]
}

@test "line editing follows a terminal resize" {
	local v="'aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee'"

	shell_start
	tm resize-window -x 50 -y 20
	poll pane_width_is 50
	send_line 'select 1 as resized;'
	type_text "select $v as v"
	keys Home
	type_text '/*x*/ '
	poll visible_line_is "$DB=# /*x*/ select 'aaaaaaaaaabbbbbbbbbbccccccccc"
}

@test "a backend terminated: the shell resets, restores SET settings, keeps \\set, says the transaction was lost" {
	shell_start
	send_line 'SET search_path = shell_lost, public;'
	send_line "SET application_name = 'fa-pg lost shell';"
	send_line "SET TimeZone = 'Asia/Kolkata';"
	send_line "SET fa_test.tenant = 'it''s 7';"
	send_line '\set kept 42'
	send_line 'begin;' '=*#'
	assert_same 1 "$(pg_kill_backends 'fa-pg lost shell')"
	send_line 'select 1 as lost; select 2 as never;'
	# The error first, then psql's words for the reset, then what was lost
	# and what came back.  The terminal shows libpq's tab as spaces.
	assert_same 'FATAL:  57P01: terminating connection due to administrator command
server closed the connection unexpectedly
        This probably means the server terminated abnormally
        before or while processing the request.
The connection to the server was lost. Attempting reset: Succeeded.
fa-pg: the transaction in progress was lost: nothing in it was committed
fa-pg: restored 4 session settings: TimeZone, application_name, search_path, fa_test.tenant
fa-pg: the rest of the line was not run (1 more)' \
		"$(result_of "$DB=*# select 1 as lost; select 2 as never;")"

	send_line "select current_setting('search_path') as path, current_setting('application_name') as app, current_setting('TimeZone') as tz, current_setting('fa_test.tenant') as tenant, :'kept' as kept;"
	assert_same "$(psql_table -c "select 'shell_lost, public' as path, 'fa-pg lost shell' as app,
		'Asia/Kolkata' as tz, 'it''s 7' as tenant, '42' as kept")" "$(result_of "$DB=# select current_setting('search_path') as path, current_setting('application_name') as app, current_setting('TimeZone') as tz, current_setting('fa_test.tenant') as tenant, :'kept' as kept;")"
	type_text '\q'
	keys Enter
	wait_exit 0
}

@test "a server restart: the failed statement's error, 'Attempting reset: Succeeded.', settings back" {
	shell_start
	send_line 'SET search_path = shell_restart, public;'
	send_line 'RESET search_path;'
	send_line 'SET search_path = shell_restart2, public;'
	pg_restart_immediate
	send_line 'select 1 as after_restart;'
	# The first lines are libpq's (a WARNING from the shutdown may come
	# first): the last ones are fa-pg's.
	assert_same 'server closed the connection unexpectedly
        This probably means the server terminated abnormally
        before or while processing the request.
The connection to the server was lost. Attempting reset: Succeeded.
fa-pg: restored 1 session setting: search_path' \
		"$(result_of "$DB=# select 1 as after_restart;" | tail -n 5)"
	send_line 'show search_path;'
	assert_same "$(psql_table -c "select 'shell_restart2, public' as search_path")" \
		"$(result_of "$DB=# show search_path;")"
}

# The lines after the screen line $1 up to the next line that starts with $2.
lines_after() {
	screen | awk -v cmd="$1" -v p="$2" '
		on && index($0, p) == 1 { exit }
		on { print }
		$0 == cmd { on = 1 }'
}

@test "the server down: 'Attempting reset: Failed.', the !?> prompt, and the next statement reconnects" {
	shell_start
	send_line 'SET search_path = shell_down, public;'
	pgctl -w -m immediate stop >/dev/null
	type_text 'select 1 as down;'
	poll last_line_ends 'select 1 as down;'
	keys Enter
	poll last_line_is '!?>'
	run lines_after "$DB=# select 1 as down;" '!?>'
	assert_contains "$output" 'The connection to the server was lost. Attempting reset: Failed.'
	assert_same 'fa-pg: not connected: the next statement tries again' "$(echo "$output" | tail -n 1)"

	# Still down: the next statement tries again, and fails again.
	type_text 'select 2 as still_down;'
	poll last_line_ends 'select 2 as still_down;'
	keys Enter
	poll last_line_is '!?>'
	run lines_after '!?> select 2 as still_down;' '!?>'
	assert_same 'The connection to the server was lost. Attempting reset: Failed.' \
		"$(echo "$output" | head -n 1)"

	pgctl -w start >/dev/null
	type_text 'select 3 as back;'
	poll last_line_ends 'select 3 as back;'
	keys Enter
	wait_prompt '=#'
	assert_same "The connection to the server was lost. Attempting reset: Succeeded.
fa-pg: restored 1 session setting: search_path
$(psql_table -c 'select 3 as back')" "$(lines_after '!?> select 3 as back;' "$DB=#")"
	send_line 'show search_path;'
	assert_same "$(psql_table -c "select 'shell_down, public' as search_path")" \
		"$(result_of "$DB=# show search_path;")"
	type_text '\q'
	keys Enter
	wait_exit 0
}
