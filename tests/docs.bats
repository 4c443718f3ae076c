#!/usr/bin/env bats
# Documentation against the tools: --help, the man pages and the shell
# completions must agree (STYLE.md: "Usage text, man page SYNOPSIS and
# completions agree, and a test checks that they do").
#
# The checks run over every tool in TOOLS whose binary is built; a new
# tool is covered by adding its name here (and writing man/NAME.1).

load helpers

TOOLS="fa-pg fa-copy fa-serve fa-mcp fa-bench"

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	: "${FA_BIN:=$ROOT/bin}"
	# The completion function runs the tool by name, as a shell would.
	PATH="$FA_BIN:$PATH"
	# shellcheck source=../completions/fa.bash
	source "$ROOT/completions/fa.bash"
}

# The tools of TOOLS that are built; skips the test when there are none.
built_tools() {
	local t found=
	for t in $TOOLS; do
		[ -x "$FA_BIN/$t" ] && found+="$t "
	done
	[ -n "$found" ] || skip "none of $TOOLS is built in $FA_BIN"
	BUILT=$found
}

# Prints the source lines of section $2 (".Sh NAME") of man page $1.
man_section() {
	awk -v sh=".Sh $2" '$0 == sh { on = 1; next } /^\.Sh / { on = 0 } on' "$1"
}

# Runs the bash completion function on the words given (the last being
# the word under the cursor) and prints what it offers, one a line.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_fa
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}"
}

# Fails, naming what is missing on each side, unless the sorted unique
# lines of $2 and $4 are the same set ($1 and $3 name them).
assert_same_set() {
	local a b
	a=$(printf '%s\n' "$2" | sed '/^$/d' | sort -u)
	b=$(printf '%s\n' "$4" | sed '/^$/d' | sort -u)
	[ "$a" = "$b" ] && return 0
	echo "only in $1:" $(comm -23 <(echo "$a") <(echo "$b")) >&2
	echo "only in $3:" $(comm -13 <(echo "$a") <(echo "$b")) >&2
	return 1
}

# Long options of --help, as "--name -s" (with the short form) or "--name".
help_options() {
	"$1" --help | sed -nE 's/^ +(-([^ ,]), )?--([a-z][a-z0-9-]*).*/--\3 -\2/p' | sed 's/ -$//'
}

# The same from the .It lines of the man page's OPTIONS section.
man_options() {
	man_section "$1" OPTIONS |
		sed -nE 's/^\.It Fl (([^ \\]) , Fl )?\\-([a-z][a-z0-9-]*).*/--\3 -\2/p' | sed 's/ -$//'
}

# The literal words that open the forms of a synopsis or usage text
# given on stdin (lines starting with tool $1), such as the directions
# "in" and "out" of "fa-copy in [OPTION]..."; nothing for forms that
# open with options or operands.
form_words() {
	awk -v t="$1" '{ for (i = 1; i < NF; i++) if ($i == t) { print $(i + 1); next } }' |
		grep -E '^[a-z][a-z0-9-]*$' || true
}

# Exit statuses listed in an EXIT STATUS section (".It N" items).
man_exit_codes() {
	man_section "$1" "EXIT STATUS" | sed -nE 's/^\.It ([0-9]+)$/\1/p'
}

@test "docs: --help, man page OPTIONS and bash completion list the same long options" {
	local t help man_items man_all compl
	built_tools
	for t in $BUILT; do
		[ -f "$ROOT/man/$t.1" ] || { echo "man/$t.1 is missing" >&2; return 1; }
		help=$(help_options "$t")
		[ -n "$help" ] || { echo "$t --help lists no long options" >&2; return 1; }
		man_items=$(man_options "$ROOT/man/$t.1")
		# Every option the page mentions anywhere must exist too.
		man_all=$(grep -oE 'Fl \\-[a-z][a-z0-9-]*' "$ROOT/man/$t.1" | sed 's/^Fl \\/-/')
		compl=$(complete_words "$t" --)
		echo "# $t" >&2
		assert_same_set "$t --help" "$help" "man/$t.1 OPTIONS" "$man_items"
		assert_same_set "$t --help" "$(echo "$help" | cut -d' ' -f1)" \
			"Fl \\-NAME in man/$t.1" "$man_all"
		assert_same_set "$t --help" "$(echo "$help" | cut -d' ' -f1)" \
			"bash completion of '$t --'" "$compl"
	done
}

@test "docs: SYNOPSIS has the forms and options of the usage lines" {
	local t usage synopsis words empty
	built_tools
	# Completion of the first word runs in an empty directory, so that a
	# tool whose operands are files (fa-serve) offers no file names there.
	empty=$(mktemp -d "$BATS_TEST_TMPDIR/empty.XXXXXX")
	for t in $BUILT; do
		usage=$("$t" --help | sed -n '1,/^$/p' | sed '/^$/d')
		synopsis=$(groff -mdoc -Tutf8 -P-cbou "$ROOT/man/$t.1" 2>/dev/null |
			awk '/^SYNOPSIS/ { on = 1; next } /^[A-Z]/ { on = 0 } on')
		echo "# $t" >&2
		assert_same_set "$t --help usage forms" "$(echo "$usage" | wc -l)" \
			"man/$t.1 SYNOPSIS forms" "$(echo "$synopsis" | grep -c "^     $t")"
		assert_same_set "$t --help usage" \
			"$(echo "$usage" | grep -oE '(^|[ [])--?[A-Za-z0-9-]*' | tr -d ' [')" \
			"man/$t.1 SYNOPSIS" \
			"$(echo "$synopsis" | grep -oE '(^|[ [])--?[A-Za-z0-9-]*' | tr -d ' [')"
		# The words that open the forms (fa-copy's "in" and "out"): the
		# same in both, and what completion offers for the first word.
		words=$(echo "$usage" | form_words "$t")
		assert_same_set "$t --help usage form words" "$words" \
			"man/$t.1 SYNOPSIS form words" "$(echo "$synopsis" | form_words "$t")"
		assert_same_set "$t --help usage form words" "$words" \
			"completion of '$t '" "$(cd "$empty" && complete_words "$t" '')"
	done
}

@test "docs: every man page passes groff -mdoc -ww -z" {
	local m out pages=0
	for m in "$ROOT"/man/*.[1-9]; do
		[ -f "$m" ] || continue
		pages=$((pages + 1))
		out=$(groff -mdoc -ww -z "$m" 2>&1)
		[ -z "$out" ] || { printf '%s:\n%s\n' "$m" "$out" >&2; return 1; }
	done
	[ "$pages" -gt 0 ] || { echo "no man pages in $ROOT/man" >&2; return 1; }
}

@test "docs: fa-pg completes option values, and files for -f" {
	local dir file
	[ -x "$FA_BIN/fa-pg" ] || skip "fa-pg is not built"
	assert_same_set "expected" "$(printf '%s\n' table csv tsv json ndjson)" \
		"'fa-pg --format '" "$(complete_words fa-pg --format '')"
	assert_same_set "expected" "$(printf '%s\n' table csv tsv json ndjson)" \
		"'fa-pg -F '" "$(complete_words fa-pg -F '')"
	assert_same_set "expected" "$(printf '%s\n' status start stop remove conninfo)" \
		"'fa-pg --local '" "$(complete_words fa-pg --local '')"
	# bash splits --format=j at '=': the value is still completed.
	assert_same "json" "$(complete_words fa-pg --format = j)"
	assert_same "--format=ndjson" "$(complete_words fa-pg --format=nd)"
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/compl.XXXXXX")
	file="$dir/script-$RANDOM.sql"
	: >"$file"
	assert_same "$file" "$(complete_words fa-pg -f "$dir/scr")"
	assert_same "$file" "$(complete_words fa-pg --file "$dir/")"
}

@test "docs: fa-serve completes --log-format values, files for routes and --access-log, directories for --static" {
	local dir file
	[ -x "$FA_BIN/fa-serve" ] || skip "fa-serve is not built"
	assert_same_set "expected" "$(printf '%s\n' text json)" \
		"'fa-serve --log-format '" "$(complete_words fa-serve --log-format '')"
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/compl.XXXXXX")
	file="$dir/routes-$RANDOM.sql"
	: >"$file"
	assert_same "$file" "$(complete_words fa-serve "$dir/rou")"
	assert_same "$file" "$(complete_words fa-serve -t 2 "$dir/")"
	assert_same "$file" "$(complete_words fa-serve --access-log "$dir/")"
	mkdir "$dir/www"
	assert_same "$dir/www" "$(complete_words fa-serve --static "$dir/")"
}

@test "docs: completion offers nothing after --, and nothing for a missing tool" {
	local t out
	built_tools
	for t in $BUILT; do
		echo "# $t" >&2
		assert_same "" "$(complete_words "$t" -- --)"
		assert_same "" "$(complete_words "$t" -- '')"
	done
	if [ -x "$FA_BIN/fa-pg" ]; then
		assert_same "" "$(complete_words fa-pg -c 'SELECT $1' -- '')"
	fi
	if [ -x "$FA_BIN/fa-copy" ]; then
		assert_same "" "$(complete_words fa-copy out 'SELECT $1' -- '')"
	fi
	out=$(complete_words fa-no-such-tool -- 2>&1)
	assert_same "" "$out"
}

@test "docs: every fa-pg meta-command in \\? is in META-COMMANDS, and no other" {
	local listed documented
	[ -x "$FA_BIN/fa-pg" ] || skip "fa-pg is not built"
	run fa-pg -c '\?'
	assert_status 0
	listed=$(printf '%s\n' "$output" | grep -oE '\\[a-z?]+' | sort -u)
	[ "$(echo "$listed" | wc -l)" -gt 10 ] || { echo "too few in \\?: $listed" >&2; return 1; }
	documented=$(man_section "$ROOT/man/fa-pg.1" META-COMMANDS |
		sed -nE 's/^\.It Ic \\e([a-z?]+).*/\\\1/p')
	assert_same_set "fa-pg \\?" "$listed" "man/fa-pg.1 META-COMMANDS" "$documented"
}

@test "docs: exit statuses in --help, err.h, fa(7) and each man page agree" {
	local t help enum codes m
	built_tools
	enum=$(sed -nE 's/^[[:space:]]*FA_[A-Z]+ = ([0-9]+),.*/\1/p' "$ROOT/lib/core/err.h")
	[ -n "$enum" ] || { echo "no codes found in lib/core/err.h" >&2; return 1; }
	for m in "$ROOT/man/fa.7" $(for t in $BUILT; do echo "$ROOT/man/$t.1"; done); do
		assert_same_set "enum fa_err" "$enum" "EXIT STATUS of ${m##*/}" "$(man_exit_codes "$m")"
	done
	for t in $BUILT; do
		help=$("$t" --help | sed -n '/^Exit status:/,/^$/p' | tr '\n' ' ' |
			grep -oE '[:,] [0-9]+ ' | tr -dc '0-9\n')
		[ -n "$help" ] || { echo "$t --help lists no exit statuses" >&2; return 1; }
		for m in "$ROOT/man/fa.7" "$ROOT/man/$t.1"; do
			codes=$(man_exit_codes "$m")
			for c in $help; do
				grep -qx "$c" <<<"$codes" ||
					{ echo "exit status $c of $t --help is not in ${m##*/}" >&2; return 1; }
			done
		done
	done
}
