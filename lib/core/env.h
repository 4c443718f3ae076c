/*
 * env: explicit environment lookups.  libfa never calls getenv() behind a
 * caller's back; tools pass their envp (environ) and lib functions look
 * names up in it through here.
 */
#ifndef FA_ENV_H
#define FA_ENV_H

/* The value of name in envp, or NULL when unset or envp is NULL. */
const char *fa_env_get(char *const *envp, const char *name);

/* Like fa_env_get(), but an empty value counts as unset. */
const char *fa_env_nonempty(char *const *envp, const char *name);

#endif
