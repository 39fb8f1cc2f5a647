/*
 * Logging: one line per event, "<ts> <LEVEL> ( <name>/<type> ): <text>",
 * the layout pmacct operators grep for, to stderr, a file or syslog.
 * Thread-safe; not meant for the per-record path (decoders count instead).
 */
#ifndef NETACCT_REACTOR_LOG_H
#define NETACCT_REACTOR_LOG_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

struct logger {
	pthread_mutex_t mu;
	FILE *fp;   /* stderr or logfile */
	char *path; /* logfile, NULL for stderr */
	int syslog_on;
	int debug;
	char core[80]; /* core_proc_name + "/core", replacing "default/core"; "" = default */
};

void logger_init_stderr(struct logger *lg);
/* Switch to a log file or syslog facility (either may be NULL).  -1 + err on failure. */
int logger_configure(struct logger *lg, const char *logfile, const char *syslog_facility, int debug,
		     char *err, size_t errlen);
/* Reopen the log file (SIGHUP, after rotation). */
int logger_reopen(struct logger *lg);
void logger_close(struct logger *lg);
/* core_proc_name: log the core as "<name>/core" (NULL or "" keeps "default/core"). */
void logger_set_core_name(struct logger *lg, const char *name);

/*
 * Rate limits for log lines about what peers send, counted per minute of
 * usec (the worker's clock).  log_budget_take(): a per-source budget of limit
 * lines a minute; LOG_BUDGET_LAST is the one line that says the rest of the
 * minute is suppressed.  log_once_a_minute(): 1 when the minute in *last
 * has passed (and records the new one).
 */
enum log_budget { LOG_BUDGET_LINE, LOG_BUDGET_LAST, LOG_BUDGET_QUIET };
enum log_budget log_budget_take(uint64_t *window, unsigned *lines, uint64_t usec, unsigned limit);
int log_once_a_minute(uint64_t *last, uint64_t usec);

void nt_log(struct logger *lg, enum log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
