/*
 * vars: psql-style variables (\set, -v NAME=VALUE), interpolated into
 * statements as :name, :'name' and :"name".  A handful of names steer the
 * shell as in psql (ON_ERROR_STOP, ECHO, QUIET...), read where they matter.
 */
#ifndef FAPG_VARS_H
#define FAPG_VARS_H

#include <stdbool.h>

struct var {
	char *name;
	char *value;
};

struct vars {
	struct var *v;
	int n, cap;
};

void vars_init(struct vars *vs);
void vars_release(struct vars *vs);
/* Sets (copies) name to value; value NULL unsets. */
void vars_set(struct vars *vs, const char *name, const char *value);
const char *vars_get(const struct vars *vs, const char *name);
/* psql's boolean spellings: on/off, true/false, yes/no, 1/0. */
bool vars_bool(const struct vars *vs, const char *name, bool dflt);
bool vars_valid_name(const char *name);

#endif
