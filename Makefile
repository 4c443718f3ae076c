# fa: one Makefile for libfa, the fa-* tools, tests, docs and benchmarks.
#
#   make                 build every tool into bin/
#   make check           install missing deps, sanitizer build, run all tests
#   make demo            install missing deps, build, run the demo
#   make bench           benchmarks against psql/pgbench, side by side
#   make install PREFIX=/usr/local DESTDIR=
#
# SANITIZE=address,undefined builds with sanitizers (make check does this in
# build/san so the normal build stays untouched).

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
OPT      ?= -O2
SANITIZE ?=
BUILD    ?= build/obj
BINDIR   ?= bin

TOOLS    := fa-pg fa-copy fa-serve fa-mcp fa-bench
VERSION  := 0.1.0

# The libraries fa links, as pkg-config modules.  Their flags are read when
# make starts, so 'check' and 'demo' install what is missing first and then
# build in a sub-make that reads them afresh.  A module still missing when
# something is compiled stops the build with its name, never empty flags.
PKGS     := libpq readline zlib libzstd jansson libnghttp2 openssl \
	libngtcp2 libngtcp2_crypto_gnutls libnghttp3 gnutls
PKG_MISSING := $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
ifeq ($(PKG_MISSING),)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
endif

CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DFA_VERSION='"$(VERSION)"' $(WARN) \
	-Ilib $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS)
LIBS     := $(PKG_LIBS) -lpthread -lm
ifneq ($(SANITIZE),)
ALL_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(wildcard lib/*/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBFA    := $(BUILD)/libfa.a
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
TOOL_BIN := $(TOOLS:%=$(BINDIR)/%)

.PHONY: all deps check test demo bench fuzz install uninstall clean
all: $(TOOL_BIN) $(UNIT_BIN)

# Rebuild everything when the compiler or its flags change.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)
$(FLAGS_STAMP): FORCE
ifneq ($(PKG_MISSING),)
	@echo "make: pkg-config cannot find $(PKG_MISSING) (Debian's -dev packages);" \
		"'make deps' installs what is missing" >&2; exit 1
endif
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then echo '$(FLAGS_NOW)' > $@; fi
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBFA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# Each tool is every .c under cmd/fa-NAME/ linked with libfa.
define tool_rule
$(BINDIR)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1)/*.c)) $(LIBFA)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# Unit tests may #include the .c under test, so they link libfa only for
# the rest; -Wl,--allow-multiple-definition lets the included copy win.
$(BUILD)/unit/%: tests/unit/%.c $(LIBFA) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBFA) $(LIBS) -Wl,--allow-multiple-definition

deps:
	@scripts/deps

# The sub-makes of check and demo compile on every core.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# make check: deps, a sanitizer build in build/san, every bats file.
# bats prints TAP; the last line counts it.
SAN_DIR := build/san
# The build is a sub-make, so its pkg-config flags see what deps installed.
check: deps
	@scripts/npm-deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=$(SAN_DIR)/obj BINDIR=$(SAN_DIR)/bin \
		SANITIZE=address,undefined OPT=-O1 all
	@FA_BIN=$(CURDIR)/$(SAN_DIR)/bin FA_UNIT=$(CURDIR)/$(SAN_DIR)/obj/unit \
		scripts/run-tests tests

# make test: the same tests against the normal build (faster to iterate).
test: all
	@FA_BIN=$(CURDIR)/$(BINDIR) FA_UNIT=$(CURDIR)/$(BUILD)/unit scripts/run-tests tests

# deps first, then a sub-make: its pkg-config flags see what deps installed.
demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@scripts/demo

bench: all
	@bench/run

# make fuzz: each libFuzzer target in tests/fuzz for FUZZ_SECONDS, starting
# from its seed corpus (tests/fuzz/corpus/NAME); new inputs go to build/.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f##*/fuzz_}; mkdir -p build/fuzz/corpus-$$n; \
		seeds=$$( [ -d tests/fuzz/corpus/$$n ] && echo tests/fuzz/corpus/$$n ); \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus-$$n $$seeds || exit 1; done

# A target fuzz_NAME links lib/*/NAME.c; what else it needs is listed below.
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c lib/core/buf.c lib/core/err.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Ilib \
		-o $@ $^ $(FUZZ_LIBS)
build/fuzz/fuzz_csvrec: lib/pg/csvrec.c
build/fuzz/fuzz_h1: lib/http/h1.c
build/fuzz/fuzz_h1res: lib/http/h1.c
build/fuzz/fuzz_h2: lib/http/h2.c lib/http/h1.c
build/fuzz/fuzz_h2client: lib/http/h2client.c lib/http/h1.c
build/fuzz/fuzz_jsonrpc: lib/mcp/jsonrpc.c lib/core/json.c
build/fuzz/fuzz_pgjson: lib/pg/pgjson.c lib/core/json.c
build/fuzz/fuzz_sse: lib/http/sse.c
build/fuzz/fuzz_hfile: lib/http/hfile.c
build/fuzz/fuzz_jwt: lib/http/jwt.c
build/fuzz/fuzz_ws: lib/http/ws.c lib/http/h1.c
# fuzz_h3 includes lib/http/h3.c itself, to reach the stream buffer's statics
build/fuzz/fuzz_h3: lib/http/quic.c
FUZZ_LIBS := -lnghttp2 -ljansson -lngtcp2 -lngtcp2_crypto_gnutls -lnghttp3 -lgnutls -lssl -lcrypto -lz

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(TOOL_BIN) $(DESTDIR)$(PREFIX)/bin/
	for m in man/*.[1-9]; do \
		install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/; done
	for t in $(TOOLS); do \
		install -m 644 completions/fa.bash \
			$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; \
		install -m 644 completions/fa.fish \
			$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$t.fish; done
	install -m 644 completions/_fa $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_fa

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%)

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(wildcard $(BUILD)/cmd/*/*.d) $(UNIT_BIN:=.d)
