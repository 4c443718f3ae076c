/*
 * fa-mcp's client commands (call, list, read, prompt, discover, shell): what the command line
 * asked for, and the entry point main() hands it to.
 */
#ifndef FAMCP_COMMANDS_H
#define FAMCP_COMMANDS_H

#include "client.h"

enum cformat { CF_JSON, CF_NDJSON, CF_TEXT };

struct cargs {
	const char *command;            /* "call", "list", "read", "prompt", "discover" or "shell" */
	const char *url;                /* the target, unless stdio */
	const char *stdio;              /* a command line to run as the server */
	char **env;                     /* K=V for the child */
	int nenv;
	char **headers;                 /* "Name: value" for HTTP */
	int nheaders;
	const char *bearer;
	const char *cacert;             /* https: PEM CAs to trust instead of the system's */
	bool insecure;                  /* https without checking the certificate */
	struct coauth cred;             /* client credentials for OAuth, when client_id is set */
	int timeout_ms;
	enum cera era;
	enum cformat format;
	char **words;                   /* after the target: TOOL [ARG]..., or [tools] */
	int nwords;
	const json_t *tools;            /* the server's tools when known (the shell's), or NULL */
};

/* Runs the command; returns the exit status. */
int mcp_client_main(struct cargs *a);

/*
 * One command (a->command: call, list, read, prompt or discover, with
 * a->words) in c's open session, its answer printed on stdout: 0, or the
 * exit status with err set (FA_EWORK: a tool's isError, already printed).
 */
int client_command(struct client *c, struct cargs *a, struct fa_error *err);

/* The shell (shell.c): commands from the terminal or, line by line, stdin. */
int mcp_shell(struct client *c, struct cargs *a, struct fa_error *err);

#endif
