/*
 * fa-mcp client: an access token by OAuth's client credentials grant, the
 * one flow of MCP's authorization that needs no browser.  After a 401 the
 * HTTP transport calls coauth_token(); it finds the authorization server
 * as the 2025-11-25 authorization page says (the protected resource
 * metadata named by the challenge's resource_metadata, else at the
 * well-known URIs of the MCP URL; then the authorization server's
 * metadata at its well-known URIs), and asks its token endpoint for a
 * token with grant_type=client_credentials, the MCP URL's resource
 * indicator and the scope the challenge or the metadata names,
 * authenticating with client_secret_basic (or client_secret_post when
 * that is all the server takes), or with a client assertion signed by a
 * private key (private_key_jwt, RFC 7523) whose audience is the
 * authorization server's issuer.
 *
 * It runs the loop until it is done, so it must be called where the
 * caller may block: not from inside an I/O callback of the same loop.
 */
#ifndef FAMCP_COAUTH_H
#define FAMCP_COAUTH_H

#include <stddef.h>

#include "core/err.h"
#include "core/loop.h"
#include "http/hclient.h"

struct coauth {
	const char *client_id;
	const char *client_secret;      /* client_secret_basic (or _post), or */
	const char *key_file;           /* a PEM private key for private_key_jwt (ES256, RS256) */
};

/*
 * The challenge's value of param (resource_metadata, scope, error) into
 * out, unquoted; false when it has none.  Pure: challenge is the text of
 * a WWW-Authenticate field.
 */
bool coauth_param(const char *challenge, const char *param, char *out, size_t n);

/*
 * A token for the MCP server at mcp (its URL as given) into token (n
 * bytes), after a 401 whose WWW-Authenticate was challenge ("" when
 * none).  FA_ECONNECT naming the step that failed, or FA_EINPUT for
 * metadata or a token answer that is not what OAuth says.
 */
enum fa_err coauth_token(struct fa_loop *loop, const char *mcp, const char *challenge,
			 const struct coauth *cred, int timeout_ms, char *token, size_t n,
			 struct fa_error *err);

#endif
