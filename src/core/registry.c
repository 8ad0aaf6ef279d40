/*
 * registry.c — task functions by name.
 *
 * Registration happens before pp_init() — from main() or from
 * constructors before main() — so before any pool thread exists, and the
 * table is read-only afterwards; it needs no lock. (APR's atomics are not
 * usable here: before apr_initialize() their mutex fallback is not set up.)
 */
#include <string.h>

#include "core/registry.h"

typedef struct reg_entry {
    char name[PP_TASK_NAME_MAX + 1];
    pp_task_fn fn;
} reg_entry;

#define REG_MAX 4096

static reg_entry g_reg[REG_MAX];
static size_t g_reg_count;

static int task_name_ok(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0')
        return 0;
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '-';
        if (i >= PP_TASK_NAME_MAX || !ok)
            return 0;
    }
    return 1;
}

pp_status pp_task_register(const char *name, pp_task_fn fn)
{
    size_t n = g_reg_count;
    size_t i;

    if (fn == NULL || !task_name_ok(name))
        return PP_EINVAL;
    for (i = 0; i < n; i++) {
        int same_name = strcmp(g_reg[i].name, name) == 0;
        int same_fn = g_reg[i].fn == fn;
        if (same_name && same_fn)
            return PP_OK;
        if (same_name || same_fn)
            return PP_EEXIST;
    }
    if (n >= REG_MAX)
        return PP_ENOMEM;
    strcpy(g_reg[n].name, name);
    g_reg[n].fn = fn;
    g_reg_count = n + 1;
    return PP_OK;
}

/* The first failure of a load-time registration (PP_TASK_REGISTER): kept
 * for pp_init() to report, since nobody can be told before main(). */
static pp_status g_load_status = PP_OK;
static char g_load_name[PP_TASK_NAME_MAX + 1];

pp_status pp_task_register_at_load(const char *name, pp_task_fn fn)
{
    pp_status st = pp_task_register(name, fn);

    if (st != PP_OK && g_load_status == PP_OK) {
        size_t n = name != NULL ? strlen(name) : 0;
        if (n > PP_TASK_NAME_MAX)
            n = PP_TASK_NAME_MAX;
        if (n > 0)
            memcpy(g_load_name, name, n);
        g_load_name[n] = '\0';
        g_load_status = st;
    }
    return st;
}

pp_status pp__registry_load_status(const char **name)
{
    *name = g_load_name;
    return g_load_status;
}

const char *pp_task_name(pp_task_fn fn)
{
    size_t n = g_reg_count;
    size_t i;

    if (fn == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (g_reg[i].fn == fn)
            return g_reg[i].name;
    }
    return NULL;
}

pp_task_fn pp__registry_find(const char *name, size_t len, const char **stored_name)
{
    size_t n = g_reg_count;
    size_t i;

    for (i = 0; i < n; i++) {
        if (strlen(g_reg[i].name) == len && memcmp(g_reg[i].name, name, len) == 0) {
            if (stored_name)
                *stored_name = g_reg[i].name;
            return g_reg[i].fn;
        }
    }
    return NULL;
}
