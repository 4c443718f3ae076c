/*
 * bmcp: fa-bench's MCP target: tools/call over Streamable HTTP, one
 * session per benchmark connection.
 *
 * Each connection opens an hclient to the URL and makes the 2025-11-25
 * handshake (initialize, then notifications/initialized, keeping the
 * Mcp-Session-Id the server gives), or in the stateless 2026-07-28 era
 * (fa_bench_mcp_protocol) a server/discover, as a client of that era
 * probes first; that is timed apart, as the connection's handshake, and
 * is not a request.  In 2026-07-28 every request carries the _meta block
 * and the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers.  Then each request is one
 * tools/call of the tool with the same arguments.  An answer may come as
 * a JSON body or as a text/event-stream whose events carry it.  A
 * JSON-RPC error counts as an mcp error of detail "rpc", a result with
 * isError true as detail "isError"; an HTTP 4xx or 5xx as status.
 * An https URL is spoken to over one TLS context that every connection
 * shares, made by fa_bench_mcp_tls() (ALPN chooses the protocol).
 *
 * The stdio target (bench/bstdio) shares this configuration, the
 * initialize request and the judging of an answer.
 *
 * Not yet: arguments drawn from generators.
 */
#ifndef FA_BENCH_BMCP_H
#define FA_BENCH_BMCP_H

#include <stdbool.h>

#include <jansson.h>

#include "bench/engine.h"
#include "http/hclient.h"
#include "mcp/jsonrpc.h"

#define FA_BENCH_MCP_MAX_HEADERS 32
#define FA_BENCH_MCP_VERSION "2025-11-25"
#define FA_BENCH_MCP_MODERN "2026-07-28"

struct fa_bench_mcp {
	struct fa_url url;
	char *tool;                     /* owned */
	json_t *args;                   /* owned: the arguments object */
	char *call;                     /* owned: the request after its id */
	struct fa_h1_header headers[FA_BENCH_MCP_MAX_HEADERS];
	int nheaders;                   /* the caller's, borrowed */
	struct fa_tls *tls;             /* owned: https, from fa_bench_mcp_tls() */
	char *command;                  /* owned: stdio, the command line as given */
	char **argv;                    /* owned: stdio, the command split into words */
	bool modern;                    /* 2026-07-28: stateless, _meta on each request */
};

extern const struct fa_bench_target fa_bench_mcp_target;

/* FA_EUSAGE naming the URL when it is not one hclient can reach; a NULL
   url is for the stdio target (bench/bstdio), which sets its command. */
enum fa_err fa_bench_mcp_init(struct fa_bench_mcp *cfg, const char *url, const char *tool,
			      struct fa_error *err);

/* KEY=VALUE (a string) or KEY:=JSON; FA_EUSAGE naming it when malformed. */
enum fa_err fa_bench_mcp_arg(struct fa_bench_mcp *cfg, const char *kv, struct fa_error *err);

/* Adds "Name: value" (borrowed); FA_EUSAGE when it has no ':'. */
enum fa_err fa_bench_mcp_header(struct fa_bench_mcp *cfg, char *h, struct fa_error *err);

/* The era: "2025-11-25" (the default) or "2026-07-28"; FA_EUSAGE naming
   anything else.  Before fa_bench_mcp_finish(). */
enum fa_err fa_bench_mcp_protocol(struct fa_bench_mcp *cfg, const char *version,
				  struct fa_error *err);

/* Builds the request text once the arguments are in. */
enum fa_err fa_bench_mcp_finish(struct fa_bench_mcp *cfg, struct fa_error *err);

/* For an https URL, the TLS context: CAs from ca_file (NULL: the
   system's), or no verification with insecure; nothing for http.
   FA_EUSAGE naming a CA file that would not load. */
enum fa_err fa_bench_mcp_tls(struct fa_bench_mcp *cfg, const char *ca_file, bool insecure,
			     struct fa_error *err);

void fa_bench_mcp_release(struct fa_bench_mcp *cfg);

/* Ends r by the tools/call answer m: ok, mcp ("rpc" for a JSON-RPC error,
   "isError" for a tool's error) or protocol for anything else. */
void fa_bench_mcp_judge(struct fa_bench_req *r, const struct fa_jr_msg *m);

/* Appends the handshake's request, id 1: initialize of
   FA_BENCH_MCP_VERSION, or server/discover in the 2026-07-28 era. */
enum fa_err fa_bench_mcp_put_handshake(const struct fa_bench_mcp *cfg, struct fa_buf *out);

#endif
