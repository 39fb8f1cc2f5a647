#include "reactor/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void logger_init_stderr(struct logger *lg)
{
	memset(lg, 0, sizeof *lg);
	pthread_mutex_init(&lg->mu, NULL);
	lg->fp = stderr;
}

static int facility_from_name(const char *s)
{
	static const struct {
		const char *name;
		int fac;
	} tab[] = {{"daemon", LOG_DAEMON}, {"user", LOG_USER},	   {"local0", LOG_LOCAL0},
		   {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
		   {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
		   {"local7", LOG_LOCAL7}};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcasecmp(tab[i].name, s) == 0)
			return tab[i].fac;
	return -1;
}

int logger_configure(struct logger *lg, const char *logfile, const char *syslog_facility, int debug,
		     char *err, size_t errlen)
{
	lg->debug = debug;
	if (syslog_facility && *syslog_facility) {
		int fac = facility_from_name(syslog_facility);
		if (fac < 0) {
			snprintf(err, errlen, "syslog: unknown facility '%s'", syslog_facility);
			return -1;
		}
		openlog("netacct", LOG_PID, fac);
		lg->syslog_on = 1;
	}
	if (logfile && *logfile) {
		FILE *fp = fopen(logfile, "a");
		if (!fp) {
			snprintf(err, errlen, "logfile %s: %s", logfile, strerror(errno));
			return -1;
		}
		setvbuf(fp, NULL, _IOLBF, 0);
		lg->path = strdup(logfile);
		if (!lg->path) {
			fclose(fp);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		lg->fp = fp;
	}
	return 0;
}

int logger_reopen(struct logger *lg)
{
	if (!lg->path)
		return 0;
	FILE *fp = fopen(lg->path, "a");
	if (!fp)
		return -1; /* keep writing to the old descriptor */
	setvbuf(fp, NULL, _IOLBF, 0);
	pthread_mutex_lock(&lg->mu);
	FILE *old = lg->fp;
	lg->fp = fp;
	pthread_mutex_unlock(&lg->mu);
	fclose(old);
	return 0;
}

void logger_close(struct logger *lg)
{
	if (lg->path && lg->fp && lg->fp != stderr)
		fclose(lg->fp);
	free(lg->path);
	lg->path = NULL;
	lg->fp = stderr;
	if (lg->syslog_on)
		closelog();
	lg->syslog_on = 0;
}

void logger_set_core_name(struct logger *lg, const char *name)
{
	lg->core[0] = '\0';
	if (name && *name)
		snprintf(lg->core, sizeof lg->core, "%.60s/core", name);
}

void nt_log(struct logger *lg, enum log_level lvl, const char *component, const char *fmt, ...)
{
	if (lg->core[0] && strcmp(component, "default/core") == 0)
		component = lg->core;
	char msg[2048], ts[40];
	va_list ap;
	if (lvl == LOG_LVL_DEBUG && !lg->debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (lg->syslog_on) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		syslog(prio[lvl], "%s ( %s ): %s", level_names[lvl], component, msg);
		if (!lg->path)
			return;
	}
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S%z", &tm);
	pthread_mutex_lock(&lg->mu);
	fprintf(lg->fp, "%s %s ( %s ): %s\n", ts, level_names[lvl], component, msg);
	fflush(lg->fp);
	pthread_mutex_unlock(&lg->mu);
}

enum log_budget log_budget_take(uint64_t *window, unsigned *lines, uint64_t usec, unsigned limit)
{
	uint64_t minute = usec / 60000000u;
	if (minute != *window) {
		*window = minute;
		*lines = 0;
	}
	if (*lines > limit)
		return LOG_BUDGET_QUIET;
	return ++*lines > limit ? LOG_BUDGET_LAST : LOG_BUDGET_LINE;
}

int log_once_a_minute(uint64_t *last, uint64_t usec)
{
	uint64_t minute = usec / 60000000u;
	if (minute == *last)
		return 0;
	*last = minute;
	return 1;
}
