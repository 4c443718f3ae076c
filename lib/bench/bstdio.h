/*
 * bstdio: fa-bench's MCP target over stdio: each benchmark connection is
 * one child process running the server's command, spoken to with one
 * JSON-RPC message a line on its stdin and stdout.
 *
 * The command is split as a shell would split it and run without a
 * shell (core/proc); its stderr passes through to fa-bench's.  Each
 * child first makes the 2025-11-25 handshake (initialize, then
 * notifications/initialized), timed apart as the connection's
 * handshake.  Then each request is one tools/call line, with ids
 * counting up from 2; answers are matched by id, so a child carries as
 * many calls at once as the engine's depth asks.  Answers are judged as
 * the HTTP target judges them (fa_bench_mcp_judge).  A late answer to a
 * call that timed out is ignored; a ping from the server is answered.
 *
 * A child that exits (or closes its stdout) ends its calls as connect
 * errors, one that writes a line that is not JSON-RPC as protocol
 * errors, each message naming the command; the child is then stopped
 * and started again after 100 ms.  Calls made meanwhile wait for the
 * new child's handshake and end as connect errors if it fails (at once
 * while the command cannot be started), so a run of -n always ends;
 * only a child that fails before its first handshake holds the run's
 * start (fa_bench_down), as a connection that cannot be opened does.  Children are stopped at the end as
 * the MCP lifecycle asks: stdin closed, a wait, SIGTERM, SIGKILL.
 *
 * Configuration is struct fa_bench_mcp (bench/bmcp) with a NULL URL.
 */
#ifndef FA_BENCH_BSTDIO_H
#define FA_BENCH_BSTDIO_H

#include "bench/bmcp.h"

extern const struct fa_bench_target fa_bench_mcp_stdio_target;

/* Sets cfg's command (kept, and split into words); FA_EUSAGE naming it
   when it is empty or has an open quote. */
enum fa_err fa_bench_mcp_stdio(struct fa_bench_mcp *cfg, const char *command,
			       struct fa_error *err);

#endif
