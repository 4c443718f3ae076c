#!/usr/bin/env bats
# lib/ keeps its layers (lib/README): core at the bottom, pg and http side by
# side over it, then mcp, then bench.  scripts/layers checks every include;
# these tests run it on the tree and on copies with one include broken.

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	COPY=$BATS_TEST_TMPDIR/tree
	mkdir -p "$COPY"
	cp -r "$ROOT/lib" "$COPY/"
}

# Adds line $2 after the first line of lib/$1 in the copy.
inject() {
	sed -i "1a $2" "$COPY/lib/$1"
}

@test "layers: every include in lib/ runs down or stays in its layer" {
	run "$ROOT/scripts/layers" "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# and no .c file is left directly in lib/
	[ -z "$(find "$ROOT/lib" -maxdepth 1 -name '*.[ch]')" ]
}

@test "layers: the copy of the tree passes before it is broken" {
	run "$ROOT/scripts/layers" "$COPY"
	[ "$status" -eq 0 ]
}

@test "layers: core including pg (upward) fails, naming the file and line" {
	inject core/buf.c '#include "pg/pgconn.h"'
	run "$ROOT/scripts/layers" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = 'lib/core/buf.c:2: includes "pg/pgconn.h" (layer pg): core may include only its own layer and those below it' ]
}

@test "layers: pg including http (across) fails, and http including pg too" {
	inject pg/pgpool.c '#include "http/h1.h"'
	inject http/hmap.c '#include "pg/pgtext.h"'
	run "$ROOT/scripts/layers" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *'lib/pg/pgpool.c:2: includes "http/h1.h" (layer http): pg may'* ]]
	[[ "$output" == *'lib/http/hmap.c:2: includes "pg/pgtext.h" (layer pg): http may'* ]]
	[ "${#lines[@]}" -eq 2 ]
}

@test "layers: libpq outside pg fails; a bare include and an unknown layer fail" {
	inject http/h1.c '#include <libpq-fe.h>'
	inject core/log.c '#include "buf.h"'
	inject core/env.c '#include "web/thing.h"'
	run "$ROOT/scripts/layers" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *'lib/http/h1.c:2: includes "libpq-fe.h" (layer pg)'* ]]
	[[ "$output" == *'lib/core/log.c:2: includes "buf.h": write it as "layer/buf.h"'* ]]
	[[ "$output" == *"lib/core/env.c:2: includes \"web/thing.h\": 'web' is not a layer"* ]]
}

@test "layers: a module directly in lib/ or in an unknown folder fails" {
	echo 'int x;' > "$COPY/lib/stray.c"
	mkdir "$COPY/lib/misc" && echo 'int y;' > "$COPY/lib/misc/y.c"
	run "$ROOT/scripts/layers" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lib/stray.c: directly in lib/"* ]]
	[[ "$output" == *"lib/misc/y.c: layer 'misc' is not in"* ]]
}

@test "layers: including downward (http over core, mcp over pg and http) passes" {
	mkdir -p "$COPY/lib/mcp"
	printf '#include "core/buf.h"\n#include "pg/pgpool.h"\n#include "http/hserver.h"\n#include "mcp/x.h"\n' \
		> "$COPY/lib/mcp/x.c"
	inject http/h1.c '#include "core/json.h"'
	run "$ROOT/scripts/layers" "$COPY"
	echo "$output"
	[ "$status" -eq 0 ]
}
