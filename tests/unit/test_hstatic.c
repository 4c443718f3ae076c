/*
 * Unit tests for lib/http/hstatic's opening of files beneath the served
 * directory, both ways: with openat2(RESOLVE_BENEATH) where the kernel has
 * it, and with the check of the opened file's real path that stands in
 * where it does not (forced here, since this kernel may well have it).
 * A tree in a temporary directory holds files, a symlink that stays
 * inside, symlinks that leave (relative, absolute, through a directory)
 * and a directory beside the served one whose name starts the same.
 *
 * Usage: test_hstatic [seed]
 */
#include "http/hstatic.c"

#include "check.h"

static char tmp[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	CHECK(symlink(target, path) == 0, "symlink %s", path);
}

/* "ok" and the file's first line, or the errno's name, for rel. */
static const char *opened(const struct fa_hstatic *st, const char *rel)
{
	static char shown[128];
	int fd = open_beneath(st, rel);
	ssize_t n;

	if (fd < 0) {
		snprintf(shown, sizeof(shown), "%s", errno == EXDEV ? "EXDEV" : errno == ENOENT ?
			 "ENOENT" : errno == ELOOP ? "ELOOP" : strerror(errno));
		return shown;
	}
	n = read(fd, shown + 3, sizeof(shown) - 4);
	memcpy(shown, "ok ", 3);
	shown[n > 0 ? n + 3 : 3] = '\0';
	shown[strcspn(shown, "\n")] = '\0';
	close(fd);
	return shown;
}

static void check_tree(struct fa_hstatic *st)
{
	struct stat sb;
	int fd;

	CHECK_STR(opened(st, "a.txt"), "ok inside");
	CHECK_STR(opened(st, "sub/b.txt"), "ok deeper");
	CHECK_STR(opened(st, "in.txt"), "ok inside");
	CHECK_STR(opened(st, "sub/up.txt"), "ok inside");
	CHECK_STR(opened(st, "missing.txt"), "ENOENT");
	/* every way out: refused (openat2 says EXDEV, the check too) */
	CHECK_STR(opened(st, "out.txt"), "EXDEV");
	CHECK_STR(opened(st, "abs.txt"), "EXDEV");
	CHECK_STR(opened(st, "outdir/c.txt"), "EXDEV");
	CHECK_STR(opened(st, "twin.txt"), "EXDEV");
	CHECK_STR(opened(st, "../secret.txt"), "EXDEV");
	CHECK_STR(opened(st, "/etc/passwd"), "EXDEV");
	/* "" is the directory itself */
	fd = open_beneath(st, "");
	CHECK(fd >= 0 && !fstat(fd, &sb) && S_ISDIR(sb.st_mode));
	if (fd >= 0)
		close(fd);
}

static void test_beneath(void)
{
	struct fa_error err = { 0 };
	char root[128], path[256];
	struct fa_hstatic *st;

	snprintf(root, sizeof(root), "%s/www", tmp);
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/www/sub", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/outside", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/www2", tmp);       /* shares the prefix "www" */
	mkdir(path, 0755);
	put("www/a.txt", "inside\n");
	put("www/sub/b.txt", "deeper\n");
	put("secret.txt", "SECRET\n");
	put("outside/c.txt", "SECRET too\n");
	put("www2/t.txt", "SECRET twin\n");
	link_to("a.txt", "www/in.txt");
	link_to("../a.txt", "www/sub/up.txt");
	link_to("../secret.txt", "www/out.txt");
	snprintf(path, sizeof(path), "%s/secret.txt", tmp);
	link_to(path, "www/abs.txt");
	link_to("../outside", "www/outdir");
	link_to("../www2/t.txt", "www/twin.txt");
	st = fa_hstatic_new(root, &err);
	CHECK(st != NULL, "%s", err.msg);
	if (!st)
		return;
	printf("openat2: %s\n", st->openat2 ? "yes" : "no");
	check_tree(st);
	st->openat2 = false;            /* the way without openat2 */
	check_tree(st);
	fa_hstatic_free(st);
	CHECK(!fa_hstatic_new("/nonexistent/dir", &err));
	CHECK_STR(err.msg, "cannot serve '/nonexistent/dir': No such file or directory");
}

int main(int argc, char **argv)
{
	char cmd[128];
	int rc;

	rnd_seed("test_hstatic", argc, argv);
	snprintf(tmp, sizeof(tmp), "/tmp/test_hstatic.XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_beneath);
	rc = check_report("test_hstatic");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
