/*
 * win_cmdline.c — build a command line that the child's CRT (and
 * CommandLineToArgvW) splits back into exactly the arguments we meant.
 *
 * Rules (MSVCRT / CommandLineToArgvW):
 *  - argv[0] is read up to the next '"' if it starts with one, else up to
 *    whitespace, with NO backslash processing. So it is always quoted and
 *    must not contain '"' (no Windows file name does).
 *  - other arguments: inside quotes, 2n backslashes + '"' give n
 *    backslashes and end/start quoting, 2n+1 backslashes + '"' give n
 *    backslashes and a literal '"'; backslashes not followed by '"' are
 *    literal. Hence: double every run of backslashes that precedes a '"'
 *    or the closing quote, and escape each '"'.
 */
#include "win_internal.h"

#include <stdlib.h>
#include <wchar.h>

static int pp__win_arg_needs_quotes(const wchar_t *a)
{
    if (*a == L'\0')
        return 1; /* an empty argument must still be an argument */
    for (; *a != L'\0'; a++) {
        if (*a == L' ' || *a == L'\t' || *a == L'\n' || *a == L'\v' || *a == L'"')
            return 1;
    }
    return 0;
}

static wchar_t *pp__win_put_backslashes(wchar_t *d, size_t n)
{
    while (n-- > 0)
        *d++ = L'\\';
    return d;
}

/* Append one argument (not argv[0]), quoted if needed. */
static wchar_t *pp__win_put_arg(wchar_t *d, const wchar_t *a)
{
    size_t nbs;

    if (!pp__win_arg_needs_quotes(a)) {
        while (*a != L'\0')
            *d++ = *a++;
        return d;
    }
    *d++ = L'"';
    for (;;) {
        nbs = 0;
        while (*a == L'\\') {
            a++;
            nbs++;
        }
        if (*a == L'\0') {
            /* Doubled so the closing quote stays a quote. */
            d = pp__win_put_backslashes(d, 2 * nbs);
            break;
        }
        if (*a == L'"') {
            d = pp__win_put_backslashes(d, 2 * nbs + 1);
            *d++ = *a++;
        } else {
            d = pp__win_put_backslashes(d, nbs);
            *d++ = *a++;
        }
    }
    *d++ = L'"';
    return d;
}

wchar_t *pp__win_build_cmdline(const wchar_t *argv0, const wchar_t *marker,
                               const wchar_t *const *args, int nargs, pp_status *st)
{
    size_t cap, i;
    wchar_t *line, *d;

    if (argv0 == NULL || wcschr(argv0, L'"') != NULL || nargs < 0) {
        *st = PP_EINVAL;
        return NULL;
    }
    /* Worst case per argument: every char a '"' or '\' doubled, plus two
     * quotes and a separator. */
    cap = wcslen(argv0) + 3 + (marker != NULL ? 2 * wcslen(marker) + 3 : 0) + 1;
    for (i = 0; i < (size_t)nargs; i++)
        cap += 2 * wcslen(args[i]) + 3;
    line = (wchar_t *)malloc(cap * sizeof(wchar_t));
    if (line == NULL) {
        *st = PP_ENOMEM;
        return NULL;
    }
    d = line;
    *d++ = L'"';
    while (*argv0 != L'\0')
        *d++ = *argv0++;
    *d++ = L'"';
    if (marker != NULL) {
        *d++ = L' ';
        d = pp__win_put_arg(d, marker);
    }
    for (i = 0; i < (size_t)nargs; i++) {
        *d++ = L' ';
        d = pp__win_put_arg(d, args[i]);
    }
    *d = L'\0';
    *st = PP_OK;
    return line;
}
