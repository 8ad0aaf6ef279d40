/*
 * log.c — the process-wide log hook (log.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "procpool/log.h"
#include "core/core.h"

static pp_log_fn g_hook;
static void *g_hook_ud;
static pp_log_level g_min_level = PP_LOG_WARN;

void pp_set_log_hook(pp_log_fn fn, void *userdata, pp_log_level min_level)
{
    /* Plain stores: the hook is set up by main() before pools run; a racing
     * reader sees either the old or the new hook on the platforms we target. */
    g_hook = fn;
    g_hook_ud = userdata;
    g_min_level = min_level;
}

void pp__log(pp_log_level level, const char *fmt, ...)
{
    char line[1024];
    pp_log_fn hook = g_hook;
    va_list ap;

    if (level > g_min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (hook != NULL) {
        hook(level, line, g_hook_ud);
        return;
    }
    fprintf(stderr, "procpool: %s\n", line);
    fflush(stderr);
}
