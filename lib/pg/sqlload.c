#include "pg/sqlload.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"

static enum fa_err load_file(struct fa_sqlfile_set *set, const char *path, struct fa_error *err)
{
	char chunk[65536];
	struct fa_buf b;
	size_t n;
	FILE *f = fopen(path, "r");
	enum fa_err rc = FA_OK;

	if (!f)
		return fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", path, strerror(errno));
	fa_buf_init(&b, FA_SQLLOAD_MAX);
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fa_buf_append(&b, chunk, n))
			rc = fa_error_set(err, FA_EINPUT, "'%s' is larger than %u bytes", path,
					  FA_SQLLOAD_MAX);
	if (!rc && ferror(f))
		rc = fa_error_set(err, FA_EINPUT, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	if (!rc)
		rc = fa_sqlfile_set_add(set, path, b.data ? b.data : "", b.len, err);
	fa_buf_release(&b);
	return rc;
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A directory: its *.sql files, in name order. */
static enum fa_err load_dir(struct fa_sqlfile_set *set, const char *dir, struct fa_error *err)
{
	char **names = NULL, **grown;
	int n = 0;
	enum fa_err rc = FA_OK;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return fa_error_set(err, FA_EINPUT, "cannot open '%s': %s", dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len <= 4 || strcmp(de->d_name + len - 4, ".sql"))
			continue;
		if (!(grown = realloc(names, (size_t)(n + 1) * sizeof(*names))) ||
		    !(grown[n] = malloc(strlen(dir) + len + 2))) {
			names = grown ? grown : names;
			rc = fa_error_set(err, FA_ENOMEM, "out of memory");
			break;
		}
		names = grown;
		sprintf(names[n++], "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (!rc)
		qsort(names, (size_t)n, sizeof(*names), name_cmp);
	for (int i = 0; i < n; i++) {
		if (!rc)
			rc = load_file(set, names[i], err);
		free(names[i]);
	}
	free(names);
	return rc;
}

struct fa_sqlfile_set *fa_sqlload(char *const *paths, int n, struct fa_error *err)
{
	struct fa_sqlfile_set *set = calloc(1, sizeof(*set));
	struct stat st;
	enum fa_err rc = FA_OK;

	if (!set) {
		fa_error_set(err, FA_ENOMEM, "out of memory");
		return NULL;
	}
	fa_sqlfile_set_init(set);
	for (int i = 0; i < n && !rc; i++)
		rc = stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode) ? load_dir(set, paths[i], err) :
			load_file(set, paths[i], err);
	if (!rc)
		return set;
	fa_sqlfile_set_release(set);
	free(set);
	return NULL;
}

enum fa_err fa_sqlfiles_init(struct fa_sqlfiles *f, char *const *paths, int n, struct fa_error *err)
{
	*f = (struct fa_sqlfiles){ .paths = paths, .npaths = n };
	f->cur = fa_sqlload(paths, n, err);
	return f->cur ? FA_OK : err->code;
}

struct fa_sqlfile_set *fa_sqlfiles_get(struct fa_sqlfiles *f)
{
	return __atomic_load_n(&f->cur, __ATOMIC_ACQUIRE);
}

enum fa_err fa_sqlfiles_reload(struct fa_sqlfiles *f, struct fa_error *err)
{
	struct fa_sqlfile_set *set, **grown;

	grown = realloc(f->retired, (size_t)(f->nretired + 1) * sizeof(*grown));
	if (!grown)
		return fa_error_set(err, FA_ENOMEM, "out of memory");
	f->retired = grown;
	if (!(set = fa_sqlload(f->paths, f->npaths, err)))
		return err->code;
	f->retired[f->nretired++] = __atomic_exchange_n(&f->cur, set, __ATOMIC_ACQ_REL);
	return FA_OK;
}

static void set_free(struct fa_sqlfile_set *set)
{
	if (set) {
		fa_sqlfile_set_release(set);
		free(set);
	}
}

void fa_sqlfiles_release(struct fa_sqlfiles *f)
{
	for (int i = 0; i < f->nretired; i++)
		set_free(f->retired[i]);
	free(f->retired);
	set_free(f->cur);
	*f = (struct fa_sqlfiles){ 0 };
}
