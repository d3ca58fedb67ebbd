/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.c - `samlbroker token` and `samlbroker status`: small clients of
 * a running broker, over its Unix socket or loopback TCP, for scripts and
 * admins.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "commands.h"
#include "samlbroker.h"
#include "config_load.h"

#define CLIENT_MAX_BODY	(1024 * 1024)

/* The answer may hold a token: kept in a buffer that cleanses itself. */
static size_t
body_write(char *p, size_t size, size_t n, void *arg)
{
	return secret_buf_add(arg, p, size * n, CLIENT_MAX_BODY) == -1 ? 0 : size * n;
}

/* What an answer said beyond its body. */
struct answer_meta {
	long	 retry_after;	/* seconds; -1 when absent */
};

/* Keeps Retry-After (the only header a caller needs to see). */
static size_t
header_read(char *p, size_t size, size_t n, void *arg)
{
	struct answer_meta	*m = arg;
	size_t			 len = size * n;
	char			 line[64], *end;
	long			 v;

	if (len > 12 && len < sizeof(line) && strncasecmp(p, "Retry-After:", 12) == 0) {
		memcpy(line, p + 12, len - 12);
		line[len - 12] = '\0';
		errno = 0;
		v = strtol(line, &end, 10);
		if (errno == 0 && end != line && v >= 0 && v <= 86400)
			m->retry_after = v;
	}
	return len;
}

/* The group that may pass a file (directory or socket), for a hint. */
static void
group_hint(const struct stat *st, char *buf, size_t len)
{
	struct group	*gr = getgrgid(st->st_gid);

	if (gr != NULL && st->st_gid != 0)
		snprintf(buf, len, "; join group %s (usermod -aG %s USER, then log in "
		    "again) or run as the broker's user", gr->gr_name, gr->gr_name);
	else
		snprintf(buf, len, "; run as root or the broker's user");
}

/*
 * Why connect() to a Unix socket failed, in the admin's words: which path
 * refused this user, or that no broker is there at all.
 */
static void
unix_explain(const char *prog, const char *address, const char *path, int err)
{
	char		 part[1024], hint[256] = "";
	struct stat	 st;
	size_t		 len = strlen(path);

	if (err == EACCES || err == EPERM) {
		/* The first directory this user may not pass, else the socket. */
		for (size_t i = 1; i <= len && i < sizeof(part); i++) {
			if (path[i] != '/' && path[i] != '\0')
				continue;
			memcpy(part, path, i);
			part[i] = '\0';
			if (path[i] == '/' && access(part, X_OK) == -1)
				break;
			if (path[i] == '\0' && access(part, W_OK) == 0)
				break;
		}
		if (stat(part, &st) == 0) {
			group_hint(&st, hint, sizeof(hint));
			fprintf(stderr, "%s: permission denied on %s (mode %04o, uid %u, gid %u)"
			    "%s\n", prog, part, (unsigned)(st.st_mode & 07777),
			    (unsigned)st.st_uid, (unsigned)st.st_gid, hint);
		} else {
			fprintf(stderr, "%s: permission denied on %s\n", prog, path);
		}
	} else if (err == ENOENT || err == ENOTDIR) {
		fprintf(stderr, "%s: no broker listening at %s: %s does not exist "
		    "(is samlbroker.service running? systemctl status samlbroker)\n",
		    prog, address, path);
	} else if (err == ECONNREFUSED) {
		fprintf(stderr, "%s: no broker listening at %s: the socket file is there "
		    "but nothing accepts on it (a stopped broker's leftover? is "
		    "samlbroker.service running?)\n", prog, address);
	} else {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, address,
		    strerror(err));
	}
}

/*
 * Normalises ADDRESS: unix:PATH, tcp:HOST:PORT, or a bare absolute socket
 * path (taken as unix:PATH).  NULL, after saying why, for anything else.
 */
static const char *
address_socket_path(const char *address)
{
	if (strncmp(address, "unix:", 5) == 0)
		return address + 5;
	if (address[0] == '/')
		return address;
	return NULL;
}

/* GETs PATH from the broker at ADDRESS (unix:PATH, /PATH or tcp:HOST:PORT). */
static int
client_get(const char *address, const char *path, long *ret_status,
    struct secret_buf *ret_body, struct answer_meta *meta, const char *prog)
{
	CURL			*c;
	struct curl_slist	*hdrs = NULL;
	const char		*sock;
	char			 url[2048], errbuf[CURL_ERROR_SIZE] = "";
	CURLcode		 cc;
	long			 oserr = 0;
	int			 rc = -1;

	if ((c = curl_easy_init()) == NULL)
		return -1;
	if ((sock = address_socket_path(address)) != NULL) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
		snprintf(url, sizeof(url), "http://localhost%s", path);
	} else if (strncmp(address, "tcp:", 4) == 0) {
		snprintf(url, sizeof(url), "http://%s%s", address + 4, path);
		hdrs = curl_slist_append(hdrs, "X-Samlbroker-Request: true");
	} else {
		fprintf(stderr, "%s: address must be unix:PATH, an absolute socket path "
		    "or tcp:HOST:PORT\n", prog);
		curl_easy_cleanup(c);
		return -1;
	}
	meta->retry_after = -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ret_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_read);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, meta);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
		if (cc == CURLE_COULDNT_CONNECT && sock != NULL && oserr != 0)
			unix_explain(prog, address, sock, (int)oserr);
		else if (cc == CURLE_COULDNT_CONNECT && oserr == ECONNREFUSED)
			fprintf(stderr, "%s: no broker listening at %s (is samlbroker "
			    "running, and is this one of its listen addresses?)\n",
			    prog, address);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			fprintf(stderr, "%s: the broker at %s did not answer within 60 s\n",
			    prog, address);
		else
			fprintf(stderr, "%s: cannot reach the broker at %s: %s\n", prog,
			    address, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	rc = 0;
done:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

/* Who this caller is, as the broker sees it on a Unix socket. */
static void
caller_describe(char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(getuid());

	snprintf(buf, len, "uid %u%s%s%s", (unsigned)getuid(), pw ? " (" : "",
	    pw ? pw->pw_name : "", pw ? ")" : "");
}

/*
 * The main file at conf as this caller can read it itself (nothing comes
 * from the broker, which tells a caller nothing of tenants hidden from
 * it): NULL when it cannot; else its sections, and in *ret_dir (free) the
 * tenants directory it names.
 */
static struct ini_file *
local_conf_read(const char *conf, char **ret_dir)
{
	static const char *const repeatable[] = { "listen", NULL };
	struct ini_file		*ini;
	struct ini_section	*s;
	struct ini_option	*o;
	const char		*dir = SAMLBROKER_DEFAULT_TENANTS;
	char			*buf, err[256];
	size_t			 len;

	if (read_file_limited(conf, 1024 * 1024, &buf, &len) == -1)
		return NULL;
	ini = ini_parse_ext(conf, buf, len, repeatable, err, sizeof(err));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (ini == NULL)
		return NULL;
	if ((s = ini_section_find(ini, "broker")) != NULL &&
	    (o = ini_option_find(s, "tenants_dir")) != NULL && o->value[0] != '\0')
		dir = o->value;
	*ret_dir = config_path_relative(conf, dir);	/* as the loader reads it */
	return ini;
}

/* Whether tenant's file exists in dir; its path in *ret_path (free). */
static bool
local_tenant_exists(const char *dir, const char *tenant, char **ret_path)
{
	struct stat	 st;

	if (asprintf(ret_path, "%s/%s.cfg", dir, tenant) == -1)
		fatal("asprintf");
	return stat(*ret_path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * unknown_tenant for tenant, explained from the local configuration at
 * conf when this caller can read it: hidden by [access:TENANT], not
 * served by the running broker, or no such tenant file.  false: nothing
 * could be told.
 */
static bool
hidden_tenant_hint(const char *prog, const char *conf, const char *tenant,
    const char *who)
{
	struct ini_file	*ini;
	char		*dir = NULL, *path = NULL, sname[128];

	if (conf == NULL || tenant == NULL || strchr(tenant, '/') != NULL ||
	    (ini = local_conf_read(conf, &dir)) == NULL)
		return false;
	snprintf(sname, sizeof(sname), "access:%s", tenant);
	if (!local_tenant_exists(dir, tenant, &path))
		fprintf(stderr, "%s: hint: there is no tenant %s here: no file %s "
		    "(tenants_dir of %s)\n", prog, tenant, path, conf);
	else if (ini_section_find(ini, sname) != NULL)
		fprintf(stderr, "%s: hint: tenant %s exists (%s) but [%s] in %s does "
		    "not let %s obtain it: add a rule for this caller, or run as a "
		    "caller it names\n", prog, tenant, path, sname, conf, who);
	else
		fprintf(stderr, "%s: hint: tenant %s exists (%s) and %s has no [%s], "
		    "but the running broker does not serve it: run samlbroker check, "
		    "then reload the broker (systemctl reload samlbroker)\n", prog,
		    tenant, path, conf, sname);
	free(dir);
	free(path);
	ini_free(ini);
	return true;
}

/*
 * status showed no tenant: those of conf with an [access:TENANT] section
 * are hidden from this caller; says so when there are any.
 */
static void
hidden_tenants_hint(const char *conf, const char *who)
{
	struct ini_file	*ini;
	char		*dir = NULL, *path, names[512] = "";
	size_t		 n = 0, used = 0;

	if (conf == NULL || (ini = local_conf_read(conf, &dir)) == NULL)
		return;
	for (size_t i = 0; i < ini->n_sections; i++) {
		const char *name = ini->sections[i].name;

		if (strncmp(name, "access:", 7) != 0 || strchr(name + 7, '/') != NULL)
			continue;
		if (local_tenant_exists(dir, name + 7, &path)) {
			int w = snprintf(names + used, sizeof(names) - used, "%s%s",
			    n > 0 ? ", " : "", name + 7);

			if (w > 0 && (size_t)w < sizeof(names) - used)
				used += (size_t)w;
			n++;
		}
		free(path);
	}
	if (n > 0)
		printf("hint: %zu tenant%s of %s (%s) %s an [access:TENANT] section "
		    "naming no principal of %s, so %s hidden from it: run as a caller "
		    "the section names, or add a rule for this one\n", n,
		    n == 1 ? "" : "s", conf, names, n == 1 ? "has" : "have", who,
		    n == 1 ? "it is" : "they are");
	free(dir);
	ini_free(ini);
}

/* Prints the broker's {"error","message"} answer, and what to do next:
 * for unknown_tenant, from conf (NULL: none) when it names tenant. */
static void
print_error(const char *prog, long status, const struct secret_buf *b,
    const struct answer_meta *meta, const char *conf, const char *tenant)
{
	json_t		*j = b->data ? json_loads(b->data, 0, NULL) : NULL;
	const char	*code = NULL, *msg = NULL, *up = NULL;
	char		 who[128];

	if (j != NULL && json_unpack(j, "{s?s, s?s, s?s}", "error", &code,
	    "message", &msg, "upstream_error", &up) == 0 && code != NULL)
		fprintf(stderr, "%s: %s (HTTP %ld): %s%s%s%s\n", prog, code, status,
		    msg ? msg : "", up ? " [upstream: " : "", up ? up : "", up ? "]" : "");
	else
		fprintf(stderr, "%s: the broker answered HTTP %ld\n", prog, status);
	if (meta->retry_after >= 0)
		fprintf(stderr, "%s: retry after %ld s (the broker's Retry-After)\n",
		    prog, meta->retry_after);
	if (code != NULL && strcmp(code, "unknown_tenant") == 0) {
		caller_describe(who, sizeof(who));
		if (!hidden_tenant_hint(prog, conf, tenant, who))
			fprintf(stderr, "%s: hint: either no such tenant, or its "
			    "[access:TENANT] section names no principal of this caller "
			    "(%s): such a tenant is hidden from it\n", prog, who);
	}
	json_decref(j);
}

/*
 * GETs PATH and checks the answer: 0 with a 200 answer's body in *b to
 * read, 1 when --json printed it whole, -1 after saying what went wrong.
 */
static int
client_fetch(const char *address, const char *path, const char *prog,
    int json, struct secret_buf *b, const char *conf, const char *tenant)
{
	struct answer_meta	 meta;
	long			 status = 0;

	if (client_get(address, path, &status, b, &meta, prog) == -1)
		return -1;
	if (status != 200) {
		print_error(prog, status, b, &meta, conf, tenant);
		return -1;
	}
	if (json) {
		fputs(b->data ? b->data : "", stdout);
		return 1;
	}
	return 0;
}

int
cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "tenant",	required_argument,	NULL, 't' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "service",	required_argument,	NULL, 'S' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*address = SAMLBROKER_DEFAULT_SOCKET, *tenant = NULL;
	const char	*user = NULL, *service = NULL, *token;
	const char	*prog = "samlbroker token", *conf = SAMLBROKER_DEFAULT_CONF;
	struct secret_buf b = { NULL, 0, 0 };
	char		 path[1024], *et = NULL, *es = NULL;
	json_t		*j = NULL;
	int		 ch, json = 0, got, rc = 1;

	while ((ch = getopt_long(argc, argv, "s:c:t:u:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': address = optarg; break;
		case 'c': conf = optarg; break;
		case 't': tenant = optarg; break;
		case 'u': user = optarg; break;
		case 'S': service = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: samlbroker token [-s ADDRESS] -t TENANT (-u EMAIL | --service NAME) [--json]\n"
			    "Prints the access token from a running broker (ADDRESS is\n"
			    "unix:PATH, a socket's absolute path or tcp:HOST:PORT; default %s).\n"
			    "--json prints the broker's whole answer instead.  On\n"
			    "unknown_tenant the main file (-c, default %s), when this\n"
			    "caller can read it, tells a hidden tenant from an absent one.\n",
			    SAMLBROKER_DEFAULT_SOCKET, SAMLBROKER_DEFAULT_CONF);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (tenant == NULL) {
		fprintf(stderr, "%s: give the tenant: -t TENANT\n"
		    "usage: samlbroker token [-s ADDRESS] -t TENANT (-u EMAIL | --service NAME)\n",
		    prog);
		return 2;
	}
	if ((user == NULL) == (service == NULL)) {
		fprintf(stderr, "%s: give %s: -u EMAIL for an agent's token or "
		    "--service NAME for a service's\n"
		    "usage: samlbroker token [-s ADDRESS] -t TENANT (-u EMAIL | --service NAME)\n",
		    prog, user == NULL ? "one of" : "only one of");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	et = curl_easy_escape(NULL, tenant, 0);
	es = curl_easy_escape(NULL, user ? user : service, 0);
	if (et == NULL || es == NULL)
		goto done;
	snprintf(path, sizeof(path), "/v1/tenants/%s/%s/%s/token", et,
	    user ? "users" : "services", es);
	if ((got = client_fetch(address, path, prog, json, &b, conf, tenant)) != 0) {
		rc = got == 1 ? 0 : 1;
		goto done;
	}
	if (b.data == NULL || (j = json_loads(b.data, 0, NULL)) == NULL ||
	    json_unpack(j, "{s:s}", "access_token", &token) == -1) {
		fprintf(stderr, "%s: malformed answer from the broker\n", prog);
		goto done;
	}
	printf("%s\n", token);
	rc = 0;
done:
	json_decref(j);
	secret_buf_clear(&b);
	curl_free(et);
	curl_free(es);
	curl_global_cleanup();
	return rc;
}

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* The last reload's line, when the broker has reloaded at all. */
static void
reload_print(json_t *reload)
{
	json_t	*time = json_object_get(reload, "time");
	int	 ok = json_is_true(json_object_get(reload, "ok"));

	if (time == NULL || json_is_null(time))
		return;
	printf("last reload %s: %s%s%s\n", str_or(reload, "time", "?"),
	    ok ? "ok" : "FAILED", ok ? "" : ": ",
	    ok ? "" : str_or(reload, "error", ""));
}

/* A client's last error: its code and short reason, or "-". */
static void
client_error_text(json_t *c, char *buf, size_t len)
{
	const char	*code = str_or(c, "last_error", NULL);
	const char	*reason = str_or(c, "last_reason", NULL);

	if (code == NULL)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s%s%s", code, reason ? ": " : "",
		    reason ? reason : "");
}

#define CLIENT_COLUMNS	6

/* One tenant's clients as a table: section, client id, last result, last
 * success and failure, last error; columns as wide as their widest cell. */
static void
clients_print(json_t *clients)
{
	static const char *const head[CLIENT_COLUMNS] = { "CLIENT", "CLIENT ID",
	    "LAST", "LAST SUCCESS", "LAST FAILURE", "LAST ERROR" };
	size_t		 n = json_array_size(clients), w[CLIENT_COLUMNS], i;
	char		 (*err)[256];
	const char	*(*cell)[CLIENT_COLUMNS];
	json_t		*c;

	if (n == 0)
		return;
	err = xcalloc(n, sizeof(*err));
	cell = xcalloc(n, sizeof(*cell));
	for (int k = 0; k < CLIENT_COLUMNS; k++)
		w[k] = strlen(head[k]);
	json_array_foreach(clients, i, c) {
		client_error_text(c, err[i], sizeof(err[i]));
		cell[i][0] = str_or(c, "name", "?");
		cell[i][1] = str_or(c, "client_id", "?");
		cell[i][2] = str_or(c, "last_result", "-");
		cell[i][3] = str_or(c, "last_success", "-");
		cell[i][4] = str_or(c, "last_failure", "-");
		cell[i][5] = err[i];
		for (int k = 0; k < CLIENT_COLUMNS; k++)
			if (strlen(cell[i][k]) > w[k])
				w[k] = strlen(cell[i][k]);
	}
	printf("  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], head[0],
	    (int)w[1], head[1], (int)w[2], head[2], (int)w[3], head[3],
	    (int)w[4], head[4], head[5]);
	for (i = 0; i < n; i++)
		printf("  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], cell[i][0],
		    (int)w[1], cell[i][1], (int)w[2], cell[i][2], (int)w[3],
		    cell[i][3], (int)w[4], cell[i][4], cell[i][5]);
	free(cell);
	free(err);
}

/*
 * One tenant: health, cache and certificate, its key rollover, then
 * upstream, then its clients.  The tenant fails when any client's last exchange failed
 * ("state"; a broker without it is judged by consecutive failures).
 */
static void
tenant_print(json_t *t)
{
	json_t		*cert = json_object_get(t, "certificate");
	json_t		*cache = json_object_get(t, "cache");
	json_t		*up = json_object_get(t, "upstream");
	const char	*state = str_or(t, "state", NULL);
	json_int_t	 fails = json_integer_value(json_object_get(up,
			    "consecutive_failures"));
	bool		 failing = state != NULL ? strcmp(state, "ok") != 0 : fails > 0;
	json_t		*roll = json_object_get(t, "rollover");
	bool		 expired = json_is_true(json_object_get(cert, "expired"));

	printf("tenant %s (%s): %s; cache %lld entries, %lld hits, %lld misses; "
	    "certificate %s %s\n", str_or(t, "name", "?"),
	    str_or(t, "organization_sname", "?"),
	    expired ? "CERTIFICATE EXPIRED" : failing ? "FAILING" : "ok",
	    (long long)json_integer_value(json_object_get(cache, "entries")),
	    (long long)json_integer_value(json_object_get(cache, "hits")),
	    (long long)json_integer_value(json_object_get(cache, "misses")),
	    expired ? "expired" : "expires", str_or(cert, "not_after", "?"));
	if (roll != NULL && strcmp(str_or(roll, "state", "none"), "none") != 0)
		printf("  rollover %s%s%s\n", str_or(roll, "state", "?"),
		    json_object_get(roll, "next") != NULL ? "; next certificate expires " : "",
		    json_object_get(roll, "next") != NULL ?
		    str_or(json_object_get(roll, "next"), "not_after", "?") : "");
	if (fails > 0)
		printf("  last error %s at %s, %lld consecutive failures, backoff %.0fs\n",
		    str_or(up, "last_error", "?"), str_or(up, "last_failure", "?"),
		    (long long)fails,
		    json_real_value(json_object_get(up, "current_backoff")));
	else
		printf("  last success %s\n", str_or(up, "last_success", "never"));
	clients_print(json_object_get(t, "clients"));
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*address = SAMLBROKER_DEFAULT_SOCKET, *prog = "samlbroker status";
	const char	*conf = NULL;
	struct secret_buf b = { NULL, 0, 0 };
	json_t		*j = NULL, *t;
	size_t		 i;
	int		 ch, json = 0, got, rc = 1;

	while ((ch = getopt_long(argc, argv, "s:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': address = optarg; break;
		case 'c': conf = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: samlbroker status [-s ADDRESS] [-c FILE] [--json]\n"
			    "Summarises a running broker's status (GET /v1/status; ADDRESS\n"
			    "is unix:PATH, a socket's absolute path or tcp:HOST:PORT).  When\n"
			    "no tenant is visible, the main file (-c, default the broker's\n"
			    "config_file), if this caller can read it, tells which are hidden.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: samlbroker status [-s ADDRESS] [-c FILE] [--json]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((got = client_fetch(address, "/v1/status", prog, json, &b, NULL, NULL)) != 0) {
		rc = got == 1 ? 0 : 1;
		goto done;
	}
	if (b.data == NULL || (j = json_loads(b.data, 0, NULL)) == NULL) {
		fprintf(stderr, "%s: malformed answer from the broker\n", prog);
		goto done;
	}
	printf("samlbroker %s, up %llds since %s, config %s\n",
	    str_or(j, "version", "?"),
	    (long long)json_integer_value(json_object_get(j, "uptime")),
	    str_or(j, "started", "?"), str_or(j, "config_file", "?"));
	reload_print(json_object_get(j, "last_reload"));
	json_array_foreach(json_object_get(j, "tenants"), i, t)
		tenant_print(t);
	if (json_array_size(json_object_get(j, "tenants")) == 0) {
		char who[128];

		caller_describe(who, sizeof(who));
		printf("no tenant visible to this caller (%s): a tenant with an "
		    "[access:TENANT] section is shown only to the principals it names; "
		    "the admin address (admin_listen) shows every tenant\n", who);
		hidden_tenants_hint(conf != NULL ? conf : str_or(j, "config_file", NULL),
		    who);
	}
	rc = 0;
done:
	json_decref(j);
	secret_buf_clear(&b);
	curl_global_cleanup();
	return rc;
}
