/*
 * pmacct: the memory table's client.  It turns pmacct's flags into one
 * request (out/imt_req.h, wire format in out/imt_proto.h), sends it to the
 * memory plugin's socket and prints the answer's body.
 *
 * Exit status, for scripts:
 *   0  answered (for -M/-N: at least one request matched)
 *   1  -M/-N: nothing matched (-N still prints its zeroes)
 *   2  usage error (bad or conflicting flags)
 *   3  cannot reach the daemon (socket missing, refused)
 *   4  the daemon refused the query (e.g. a -c primitive not in its aggregate)
 *   5  broken or cut answer
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "out/buf.h"
#include "out/imt_proto.h"
#include "out/imt_req.h"

enum { EX_OK, EX_NOMATCH, EX_USAGE, EX_CONNECT, EX_REFUSED, EX_PROTO };

static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "netacct pmacct client %s: queries a memory plugin's table.\n"
	    "Usage: pmacct [-p socket] <query> [options]\n"
	    "Queries (one):\n"
	    "  -s              show the whole table\n"
	    "  -M <match>      rows matching (needs -c): values ';'-separated per request,\n"
	    "                  ','-separated per primitive, or file:<path> one request a line\n"
	    "  -N <match>      counters of each request, one number per line (needs -c)\n"
	    "  -e              erase the table\n"
	    "  -t              table status\n"
	    "  -i              seconds since the table was last erased\n"
	    "Options:\n"
	    "  -c <p1,p2,...>  primitives -M/-N match on\n"
	    "  -n bytes|packets|flows|all   counter -N prints (default bytes; all: packets bytes "
	    "flows entries)\n"
	    "  -S              -N: one line, the sum of every request\n"
	    "  -T bytes|packets|flows[,N]   -s/-M: the top N rows (default 10)\n"
	    "  -r              reset the counters of the rows read (-s, -M, -N)\n"
	    "  -O formatted|json|csv        -s/-M output (default formatted)\n"
	    "  -E <sep>        csv separator\n"
	    "  -a              accepted: every column the table holds is always shown\n"
	    "  -l              accepted: every answer is a consistent read (see the man page)\n"
	    "  -p <path>       socket (default " IMT_DEFAULT_PATH ")\n"
	    "  -V              version\n"
	    "Exit: 0 ok, 1 no match, 2 usage, 3 daemon unreachable, 4 query refused, 5 bad "
	    "answer.\n",
	    PACKAGE_VERSION);
}

static int fail_usage(const char *fmt, const char *a)
{
	fprintf(stderr, "pmacct: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, " (pmacct -h for help)\n");
	return EX_USAGE;
}

/* Add the requests of a -M/-N argument: "a,b;c,d" or "file:<path>". */
static int add_matches(struct imt_req *r, const char *arg)
{
	char err[256];
	if (strncmp(arg, "file:", 5) == 0) {
		FILE *fp = fopen(arg + 5, "r");
		char line[4096];
		if (!fp) {
			fprintf(stderr, "pmacct: cannot read %s: %s\n", arg + 5, strerror(errno));
			return EX_USAGE;
		}
		while (fgets(line, sizeof line, fp)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (!line[0] || line[0] == '!' || line[0] == '#')
				continue;
			if (imt_req_add_match(r, line, err, sizeof err) < 0) {
				fclose(fp);
				return fail_usage("%s", err);
			}
		}
		fclose(fp);
		return EX_OK;
	}
	char *copy = strdup(arg), *save = NULL;
	if (!copy)
		return fail_usage("%s", "out of memory");
	for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
		if (imt_req_add_match(r, tok, err, sizeof err) < 0) {
			free(copy);
			return fail_usage("%s", err);
		}
	free(copy);
	return EX_OK;
}

static int set_op(struct imt_req *r, int *have, enum imt_op op)
{
	if (*have && r->op != op)
		return -1;
	r->op = op;
	*have = 1;
	return 0;
}

static int exchange(const char *path, const struct obuf *req, struct obuf *ans)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path) {
		fprintf(stderr, "pmacct: socket path too long: %s\n", path);
		return EX_USAGE;
	}
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		fprintf(stderr,
			"pmacct: cannot connect to %s: %s (is a memory plugin running with this "
			"imt_path?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_CONNECT;
	}
	const char *p = req->data;
	size_t n = req->len;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "pmacct: sending to %s: %s\n", path, strerror(errno));
			close(fd);
			return EX_PROTO;
		}
		p += w;
		n -= (size_t)w;
	}
	char buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "pmacct: reading from %s: %s\n", path, strerror(errno));
			close(fd);
			return EX_PROTO;
		}
		if (r == 0)
			break;
		if (obuf_append(ans, buf, (size_t)r) < 0) {
			close(fd);
			fprintf(stderr, "pmacct: out of memory\n");
			return EX_PROTO;
		}
	}
	close(fd);
	return EX_OK;
}

int main(int argc, char **argv)
{
	struct imt_req r;
	const char *path = IMT_DEFAULT_PATH;
	int have_op = 0, opt, rc = EX_OK;
	char err[256];

	imt_req_init(&r);
	opterr = 0;
	while ((opt = getopt(argc, argv, ":hsN:M:n:Sac:T:eirltp:O:E:VCUIu0")) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			imt_req_free(&r);
			return EX_OK;
		case 'V':
			printf("netacct pmacct client %s\n", PACKAGE_VERSION);
			imt_req_free(&r);
			return EX_OK;
		case 's':
		case 'e':
		case 't':
		case 'i':
			if (set_op(&r, &have_op,
				   opt == 's'	? IMT_OP_SHOW
				   : opt == 'e' ? IMT_OP_ERASE
				   : opt == 't' ? IMT_OP_STATUS
						: IMT_OP_SINCE) < 0)
				rc = fail_usage("%s", "give one query: -s, -M, -N, -e, -t or -i");
			break;
		case 'M':
		case 'N':
			if (set_op(&r, &have_op, opt == 'M' ? IMT_OP_MATCH : IMT_OP_COUNTERS) < 0)
				rc = fail_usage("%s", "give one query: -s, -M, -N, -e, -t or -i");
			else
				rc = add_matches(&r, optarg);
			break;
		case 'n':
			if (imt_counter_parse(optarg, 1, &r.counter) < 0)
				rc = fail_usage("-n '%s': expected bytes, packets, flows or all",
						optarg);
			break;
		case 'S':
			r.sum = 1;
			break;
		case 'a':
		case 'l':
			break;
		case 'c':
			if (imt_req_set_fields(&r, optarg, err, sizeof err) < 0)
				rc = fail_usage("-c: %s", err);
			break;
		case 'T': {
			char by[16];
			const char *comma = strchr(optarg, ',');
			size_t l = comma ? (size_t)(comma - optarg) : strlen(optarg);
			char *end = NULL;
			long n = comma ? strtol(comma + 1, &end, 10) : 10;
			snprintf(by, sizeof by, "%.*s", (int)(l < sizeof by ? l : sizeof by - 1),
				 optarg);
			if (l >= sizeof by || imt_counter_parse(by, 0, &r.top_by) < 0 ||
			    (comma && (*end || n <= 0 || n > 100000000)))
				rc =
				    fail_usage("-T '%s': expected bytes|packets|flows[,N]", optarg);
			r.top_n = (unsigned)n;
			break;
		}
		case 'r':
			r.reset = 1;
			break;
		case 'p':
			path = optarg;
			break;
		case 'O':
			if (strcmp(optarg, "formatted") && strcmp(optarg, "json") &&
			    strcmp(optarg, "csv"))
				rc = fail_usage("-O '%s': expected formatted, json or csv", optarg);
			else
				snprintf(r.format, sizeof r.format, "%s", optarg);
			break;
		case 'E':
			if (!*optarg || strlen(optarg) >= sizeof r.sep || strchr(optarg, '\n'))
				rc = fail_usage("-E '%s': a short separator", optarg);
			else
				snprintf(r.sep, sizeof r.sep, "%s", optarg);
			break;
		case 'C':
		case 'U':
		case 'I':
		case 'u':
		case '0':
			snprintf(err, sizeof err, "-%c", opt);
			rc = fail_usage("%s is not supported by netacct's memory plugin", err);
			break;
		case ':':
			snprintf(err, sizeof err, "-%c", optopt);
			rc = fail_usage("%s needs a value", err);
			break;
		default:
			snprintf(err, sizeof err, "-%c", optopt);
			rc = fail_usage("unknown flag %s", err);
			break;
		}
		if (rc != EX_OK) {
			imt_req_free(&r);
			return rc;
		}
	}
	if (optind < argc)
		rc = fail_usage("unexpected argument '%s'", argv[optind]);
	else if (!have_op)
		rc = fail_usage("%s", "give a query: -s, -M, -N, -e, -t or -i");
	else if ((r.op == IMT_OP_MATCH || r.op == IMT_OP_COUNTERS) && !r.nfields)
		rc = fail_usage("%s", "-M and -N need the primitives to match on (-c)");
	else if ((r.op == IMT_OP_MATCH || r.op == IMT_OP_COUNTERS) && !r.nmatch)
		rc = fail_usage("%s", "-M and -N need at least one request");
	else if (r.top_n && r.op != IMT_OP_SHOW && r.op != IMT_OP_MATCH)
		rc = fail_usage("%s", "-T applies to -s and -M");
	if (rc != EX_OK) {
		imt_req_free(&r);
		return rc;
	}

	struct obuf req, ans;
	obuf_init(&req, IMT_REQ_MAX);
	obuf_init(&ans, 0);
	if (imt_req_format(&r, &req) < 0) {
		rc = fail_usage("%s", "request too large");
		goto out;
	}
	rc = exchange(path, &req, &ans);
	if (rc != EX_OK)
		goto out;
	char *nl = ans.len ? memchr(ans.data, '\n', ans.len) : NULL;
	unsigned long long count;
	int code;
	if (!nl) {
		fprintf(stderr, "pmacct: %s closed the connection without an answer\n", path);
		rc = EX_PROTO;
	} else if (sscanf(ans.data, "OK %llu", &count) == 1) {
		size_t body = (size_t)(nl + 1 - ans.data);
		if (fwrite(ans.data + body, 1, ans.len - body, stdout) != ans.len - body ||
		    fflush(stdout) != 0) {
			fprintf(stderr, "pmacct: writing the answer: %s\n", strerror(errno));
			rc = EX_PROTO;
		} else if ((r.op == IMT_OP_MATCH || r.op == IMT_OP_COUNTERS) && count == 0) {
			rc = EX_NOMATCH;
		}
	} else if (sscanf(ans.data, "ERR %d", &code) == 1) {
		*nl = '\0';
		const char *msg = strchr(ans.data + 4, ' ');
		fprintf(stderr, "pmacct: %s\n", msg ? msg + 1 : ans.data);
		rc = EX_REFUSED;
	} else {
		fprintf(stderr, "pmacct: %s did not answer as a netacct memory plugin\n", path);
		rc = EX_PROTO;
	}
out:
	obuf_free(&req);
	obuf_free(&ans);
	imt_req_free(&r);
	return rc;
}
