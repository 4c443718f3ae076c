#include "pg/pglocal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/env.h"

#define PORT "5432"

static int path_set(char *dst, size_t n, const char *a, const char *b)
{
	int len = snprintf(dst, n, "%s%s", a, b);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

static enum fa_err pick_home(struct fa_local *l, char *const *envp, struct fa_error *err)
{
	const char *v;
	int bad;

	if ((v = fa_env_nonempty(envp, "FA_HOME")))
		bad = path_set(l->home, sizeof(l->home), v, "");
	else if ((v = fa_env_nonempty(envp, "XDG_STATE_HOME")))
		bad = path_set(l->home, sizeof(l->home), v, "/fa");
	else if (l->as_root)
		bad = path_set(l->home, sizeof(l->home), "/var/lib/fa", "");
	else if ((v = fa_env_nonempty(envp, "HOME")))
		bad = path_set(l->home, sizeof(l->home), v, "/.local/state/fa");
	else
		return fa_error_set(err, FA_EUSAGE,
				    "no home for the embedded database: set FA_HOME or HOME");
	if (bad)
		return fa_error_set(err, FA_EUSAGE, "embedded database home path is too long");
	return FA_OK;
}

static bool has_pg_ctl(const char *dir)
{
	char p[600];

	return path_set(p, sizeof(p), dir, "/pg_ctl") == 0 && access(p, X_OK) == 0;
}

/* Prefers the newest server under /usr/lib/postgresql, then PATH. */
static enum fa_err pick_bindir(struct fa_local *l, char *const *envp, struct fa_error *err)
{
	const char *v = fa_env_nonempty(envp, "FA_PG_BINDIR");
	struct dirent *de;
	long best = -1;
	DIR *d;

	if (v) {
		if (!has_pg_ctl(v))
			return fa_error_set(err, FA_EUSAGE, "FA_PG_BINDIR '%s' has no pg_ctl", v);
		return path_set(l->bindir, sizeof(l->bindir), v, "") ? FA_EUSAGE : FA_OK;
	}
	if ((d = opendir("/usr/lib/postgresql"))) {
		while ((de = readdir(d))) {
			char dir[300];
			long ver = strtol(de->d_name, NULL, 10);

			snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%.64s/bin", de->d_name);
			if (ver > best && has_pg_ctl(dir)) {
				best = ver;
				snprintf(l->bindir, sizeof(l->bindir), "%s", dir);
			}
		}
		closedir(d);
	}
	if (best >= 0)
		return FA_OK;
	for (v = fa_env_get(envp, "PATH"); v && *v;) {
		size_t n = strcspn(v, ":");

		snprintf(l->bindir, sizeof(l->bindir), "%.*s", (int)n, v);
		if (n && has_pg_ctl(l->bindir))
			return FA_OK;
		v += n + (v[n] == ':');
	}
	l->bindir[0] = '\0';
	return fa_error_set(err, FA_ECONNECT,
			    "no PostgreSQL server found for the embedded database "
			    "(install postgresql, or set FA_PG_BINDIR, or give --db)");
}

static enum fa_err pick_users(struct fa_local *l, struct fa_error *err)
{
	struct passwd *pw = getpwuid(geteuid());

	if (!pw)
		return fa_error_set(err, FA_EUSAGE, "cannot find the name of user %u",
				    (unsigned)geteuid());
	snprintf(l->role, sizeof(l->role), "%s", pw->pw_name);
	l->run_uid = pw->pw_uid;
	l->run_gid = pw->pw_gid;
	snprintf(l->run_user, sizeof(l->run_user), "%s", pw->pw_name);
	if (!l->as_root)
		return FA_OK;
	if (!(pw = getpwnam("postgres")) && !(pw = getpwnam("nobody")))
		return fa_error_set(err, FA_EUSAGE,
				    "running as root, but neither user 'postgres' nor 'nobody' "
				    "exists to run the embedded server");
	l->run_uid = pw->pw_uid;
	l->run_gid = pw->pw_gid;
	snprintf(l->run_user, sizeof(l->run_user), "%s", pw->pw_name);
	return FA_OK;
}

enum fa_err fa_local_init(struct fa_local *l, char *const *envp, struct fa_error *err)
{
	enum fa_err rc;

	memset(l, 0, sizeof(*l));
	l->as_root = geteuid() == 0;
	if ((rc = pick_home(l, envp, err)) || (rc = pick_users(l, err)))
		return rc;
	if (path_set(l->dir, sizeof(l->dir), l->home, "/pg") ||
	    path_set(l->data, sizeof(l->data), l->dir, "/data") ||
	    path_set(l->sock, sizeof(l->sock), l->dir, "/run") ||
	    path_set(l->log, sizeof(l->log), l->dir, "/log") ||
	    path_set(l->lock, sizeof(l->lock), l->home, "/pg.lock"))
		return fa_error_set(err, FA_EUSAGE, "embedded database path is too long");
	/* A unix socket path must fit in sun_path (108 bytes). */
	if (strlen(l->sock) + sizeof("/.s.PGSQL." PORT) > 108)
		return fa_error_set(err, FA_EUSAGE,
				    "socket directory '%s' is too long for a unix socket; "
				    "set FA_HOME to a shorter path", l->sock);
	return pick_bindir(l, envp, err);
}

void fa_local_conninfo(const struct fa_local *l, struct fa_buf *out)
{
	fa_buf_printf(out, "host=%s port=" PORT " user=%s dbname=%s", l->sock, l->role, l->role);
}

bool fa_local_exists(const struct fa_local *l)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/PG_VERSION", l->data);
	return access(p, F_OK) == 0;
}

bool fa_local_running(const struct fa_local *l)
{
	const char *keys[] = { "host", "port", "user", "dbname", "connect_timeout", NULL };
	const char *vals[] = { l->sock, PORT, l->role, "postgres", "5", NULL };

	return PQpingParams(keys, vals, 0) == PQPING_OK;
}

/* Reads the last lines of a file into err, after a prefix. */
static enum fa_err fail_with_tail(struct fa_error *err, const char *what, const char *file)
{
	char tail[700] = "";
	FILE *f = fopen(file, "r");

	if (f) {
		long size;

		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fseek(f, size > (long)sizeof(tail) - 1 ? size - (long)sizeof(tail) + 1 : 0, SEEK_SET);
		tail[fread(tail, 1, sizeof(tail) - 1, f)] = '\0';
		fclose(f);
	}
	while (*tail && tail[strlen(tail) - 1] == '\n')
		tail[strlen(tail) - 1] = '\0';
	return fa_error_set(err, FA_ECONNECT, "%s (see %s): %s", what, file, tail);
}

/* Runs argv as the server's user, output appended to outfile. */
static int run_as(const struct fa_local *l, char *const argv[], const char *outfile)
{
	pid_t pid = fork();
	int status, fd;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (l->as_root && (setgroups(0, NULL) || setgid(l->run_gid) || setuid(l->run_uid)))
			_exit(126);
		fd = open(outfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0 || chdir(l->dir) < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		close_range(3, ~0U, 0);
		setsid();       /* Ctrl-C at the terminal must not reach the server */
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static enum fa_err make_dir(const struct fa_local *l, const char *path, mode_t mode,
			    bool owned, struct fa_error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return fa_error_set(err, FA_ECONNECT, "cannot create '%s': %s", path, strerror(errno));
	if (owned && l->as_root && chown(path, l->run_uid, l->run_gid) < 0)
		return fa_error_set(err, FA_ECONNECT, "cannot chown '%s': %s", path, strerror(errno));
	return FA_OK;
}

/* mkdir -p for the home directory. */
static enum fa_err make_home(const struct fa_local *l, struct fa_error *err)
{
	char p[sizeof(l->home)];
	char *s;

	snprintf(p, sizeof(p), "%s", l->home);
	for (s = p + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return fa_error_set(err, FA_ECONNECT, "cannot create '%s': %s", p, strerror(errno));
		*s = '/';
	}
	return make_dir(l, p, 0755, false, err);
}

/* As root, the server's user must be able to enter every parent directory. */
static enum fa_err check_reachable(const struct fa_local *l, struct fa_error *err)
{
	char p[sizeof(l->home)];
	struct stat st;
	char *s;

	if (!l->as_root)
		return FA_OK;
	snprintf(p, sizeof(p), "%s", l->home);
	for (s = p + strlen(p); s > p; s = strrchr(p, '/')) {
		*s = '\0';
		if (stat(*p ? p : "/", &st) == 0 && !(st.st_mode & S_IXOTH) &&
		    st.st_uid != l->run_uid)
			return fa_error_set(err, FA_ECONNECT,
					    "the embedded server runs as '%s', who cannot enter '%s'; "
					    "set FA_HOME to a directory it can reach", l->run_user, p);
	}
	return FA_OK;
}

static enum fa_err write_config(const struct fa_local *l, struct fa_error *err)
{
	char conf[700];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/postgresql.conf", l->data);
	if (!(f = fopen(conf, "a")))
		return fa_error_set(err, FA_ECONNECT, "cannot open '%s': %s", conf, strerror(errno));
	fprintf(f, "\n# fa embedded default: unix socket only\n"
		"listen_addresses = ''\n"
		"unix_socket_directories = '%s'\n"
		"unix_socket_permissions = 0700\n"
		"port = " PORT "\n"
		"max_connections = 200\n", l->sock);
	if (fclose(f) != 0)
		return fa_error_set(err, FA_ECONNECT, "cannot write '%s'", conf);
	return FA_OK;
}

static enum fa_err create_cluster(struct fa_local *l, struct fa_error *err)
{
	char prog[600], user[80], initlog[640];
	char *argv[] = { prog, "-D", l->data, "-U", user, "-E", "UTF8", "--locale=C.UTF-8",
			 "-A", "trust", "--no-instructions", NULL };
	enum fa_err rc;

	snprintf(prog, sizeof(prog), "%s/initdb", l->bindir);
	snprintf(user, sizeof(user), "%s", l->role);
	snprintf(initlog, sizeof(initlog), "%s/initdb.log", l->dir);
	if ((rc = make_dir(l, l->data, 0700, true, err)))
		return rc;
	if (run_as(l, argv, initlog) != 0)
		return fail_with_tail(err, "initdb failed", initlog);
	return write_config(l, err);
}

static enum fa_err start_server(struct fa_local *l, struct fa_error *err)
{
	char prog[600];
	char *argv[] = { prog, "-D", l->data, "-l", l->log, "-w", "-t", "60", "start", NULL };

	snprintf(prog, sizeof(prog), "%s/pg_ctl", l->bindir);
	if (run_as(l, argv, l->log) != 0)
		return fail_with_tail(err, "cannot start the embedded PostgreSQL server", l->log);
	return FA_OK;
}

/* The role's own database, so that plain `psql -h SOCKET` works too. */
static enum fa_err create_database(struct fa_local *l, struct fa_error *err)
{
	const char *keys[] = { "host", "port", "user", "dbname", NULL };
	const char *vals[] = { l->sock, PORT, l->role, "postgres", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	enum fa_err rc = FA_OK;
	char *ident = NULL;
	char sql[256];
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK) {
		rc = fa_error_set(err, FA_ECONNECT, "embedded database: %s", PQerrorMessage(c));
	} else if (strcmp(l->role, "postgres") != 0) {
		ident = PQescapeIdentifier(c, l->role, strlen(l->role));
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident ? ident : "\"?\"");
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = fa_error_set(err, FA_ECONNECT, "embedded database: %s",
					  PQresultErrorMessage(r));
		PQclear(r);
		PQfreemem(ident);
	}
	PQfinish(c);
	return rc;
}

static int lock_home(const struct fa_local *l, struct fa_error *err)
{
	int fd = open(l->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		fa_error_set(err, FA_ECONNECT, "cannot open '%s': %s", l->lock, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			fa_error_set(err, FA_ECONNECT, "cannot lock '%s': %s", l->lock, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static enum fa_err ensure_locked(struct fa_local *l, enum fa_local_event *ev,
				 struct fa_error *err)
{
	enum fa_err rc;

	if (fa_local_running(l))
		return FA_OK;   /* another process got here first */
	if ((rc = make_dir(l, l->dir, 0755, true, err)) ||
	    (rc = make_dir(l, l->sock, 0700, true, err)))
		return rc;
	if (!fa_local_exists(l)) {
		if ((rc = create_cluster(l, err)) || (rc = start_server(l, err)) ||
		    (rc = create_database(l, err)))
			return rc;
		*ev = FA_LOCAL_CREATED;
		return FA_OK;
	}
	if ((rc = start_server(l, err)))
		return rc;
	*ev = FA_LOCAL_STARTED;
	return FA_OK;
}

enum fa_err fa_local_ensure(struct fa_local *l, enum fa_local_event *ev,
			    struct fa_error *err)
{
	enum fa_err rc;
	int fd;

	*ev = FA_LOCAL_RUNNING;
	if (fa_local_running(l))
		return FA_OK;
	if ((rc = make_home(l, err)) || (rc = check_reachable(l, err)))
		return rc;
	if ((fd = lock_home(l, err)) < 0)
		return err->code;
	rc = ensure_locked(l, ev, err);
	close(fd);
	return rc;
}

static enum fa_err stop_locked(struct fa_local *l, struct fa_error *err)
{
	char prog[600];
	char *argv[] = { prog, "-D", l->data, "-m", "fast", "-w", "-t", "60", "stop", NULL };

	if (!fa_local_exists(l) || !fa_local_running(l))
		return FA_OK;
	snprintf(prog, sizeof(prog), "%s/pg_ctl", l->bindir);
	if (run_as(l, argv, l->log) != 0)
		return fail_with_tail(err, "cannot stop the embedded PostgreSQL server", l->log);
	return FA_OK;
}

enum fa_err fa_local_stop(struct fa_local *l, struct fa_error *err)
{
	enum fa_err rc;
	int fd;

	if (access(l->home, F_OK) < 0)
		return FA_OK;
	if ((fd = lock_home(l, err)) < 0)
		return err->code;
	rc = stop_locked(l, err);
	close(fd);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

enum fa_err fa_local_remove(struct fa_local *l, struct fa_error *err)
{
	enum fa_err rc;
	int fd;

	if (access(l->dir, F_OK) < 0)
		return FA_OK;
	if ((fd = lock_home(l, err)) < 0)
		return err->code;
	rc = stop_locked(l, err);
	if (!rc && nftw(l->dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0)
		rc = fa_error_set(err, FA_EWORK, "cannot remove '%s': %s", l->dir, strerror(errno));
	close(fd);
	return rc;
}

static long server_pid(const struct fa_local *l)
{
	char p[700], line[32] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/postmaster.pid", l->data);
	if (!(f = fopen(p, "r")))
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return strtol(line, NULL, 10);
}

void fa_local_describe(const struct fa_local *l, struct fa_buf *out)
{
	const char *state = !fa_local_exists(l) ? "not created" :
		fa_local_running(l) ? "running" : "stopped";

	fa_buf_printf(out, "home:     %s\ndata:     %s\nsocket:   %s\nlog:      %s\n"
		      "server:   %s/postgres (as user %s)\nstate:    %s",
		      l->home, l->data, l->sock, l->log, l->bindir, l->run_user, state);
	if (strcmp(state, "running") == 0)
		fa_buf_printf(out, " (pid %ld)", server_pid(l));
	fa_buf_puts(out, "\nconninfo: ");
	fa_local_conninfo(l, out);
	fa_buf_putc(out, '\n');
}
