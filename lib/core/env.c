#include "core/env.h"

#include <string.h>

const char *fa_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

const char *fa_env_nonempty(char *const *envp, const char *name)
{
	const char *v = fa_env_get(envp, name);

	return v && *v ? v : NULL;
}
