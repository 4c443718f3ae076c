#include "vars.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void vars_init(struct vars *vs)
{
	vs->v = NULL;
	vs->n = vs->cap = 0;
}

void vars_release(struct vars *vs)
{
	for (int i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		free(vs->v[i].value);
	}
	free(vs->v);
	vars_init(vs);
}

static int find(const struct vars *vs, const char *name)
{
	for (int i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return i;
	return -1;
}

void vars_set(struct vars *vs, const char *name, const char *value)
{
	int i = find(vs, name);

	if (i >= 0) {
		free(vs->v[i].value);
		if (value) {
			vs->v[i].value = strdup(value);
			return;
		}
		free(vs->v[i].name);
		vs->v[i] = vs->v[--vs->n];
		return;
	}
	if (!value)
		return;
	if (vs->n == vs->cap) {
		int cap = vs->cap ? vs->cap * 2 : 16;
		struct var *nv = realloc(vs->v, (size_t)cap * sizeof(*nv));

		if (!nv)
			return;
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->n].name = strdup(name);
	vs->v[vs->n].value = strdup(value);
	vs->n++;
}

const char *vars_get(const struct vars *vs, const char *name)
{
	int i = find(vs, name);

	return i >= 0 ? vs->v[i].value : NULL;
}

bool vars_bool(const struct vars *vs, const char *name, bool dflt)
{
	const char *v = vars_get(vs, name);

	if (!v)
		return dflt;
	if (!*v || !strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcmp(v, "1"))
		return true;
	if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcmp(v, "0"))
		return false;
	return dflt;
}

bool vars_valid_name(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && *name != '_')
			return false;
	return true;
}
