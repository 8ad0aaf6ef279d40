/*
 * test_columns.c — maps whose items travel as columns (values/column.h):
 * string and byte-buffer arguments read in place by workers, results
 * that are all one string / one buffer handed out from the kept payload,
 * and everything that must end a column answer mid-chunk (a failure, a
 * result of another type or shape). Plus the column decoder's checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/procpool.h"
#include "platform.h"
#include "values/column.h"
#include "values/value_internal.h"
#include "pp_test.h"

#define WAIT_MS (60000 * pp_test_timeout_mult())

/*
 * (str s) -> s in upper case; s starting with "fail" fails (code 7),
 * "bytes" returns s as bytes, "two" returns two strings, "int" returns
 * its length as an int, "" returns "".
 */
static int co_upper(pp_task *t)
{
    char buf[128];
    const char *s = NULL;
    size_t i;

    if (pp_values_get_str(pp_task_args(t), 0, &s) != PP_OK || strlen(s) >= sizeof buf)
        return pp_task_fail(t, 2, "one short string");
    if (strncmp(s, "fail", 4) == 0)
        return pp_task_fail(t, 7, "item %s fails", s);
    if (strncmp(s, "bytes", 5) == 0)
        return pp_values_add_bytes(pp_task_result(t), s, strlen(s));
    if (strncmp(s, "int", 3) == 0)
        return pp_values_add_int(pp_task_result(t), (int64_t)strlen(s));
    for (i = 0; s[i] != '\0'; i++)
        buf[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
    buf[i] = '\0';
    if (strncmp(s, "two", 3) == 0) {
        pp_status st = pp_values_add_str(pp_task_result(t), buf);
        return st != PP_OK ? st : pp_values_add_str(pp_task_result(t), buf);
    }
    return pp_values_add_str(pp_task_result(t), buf);
}
PP_TASK_REGISTER(co_upper)

/* (bytes b) -> b with every byte + 1 (bytes), or its length (an int) if
 * it is longer than 100 bytes */
static int co_bump(pp_task *t)
{
    unsigned char buf[100];
    const void *p = NULL;
    size_t n = 0, i;

    if (pp_values_get_bytes(pp_task_args(t), 0, &p, &n) != PP_OK)
        return pp_task_fail(t, 2, "one byte buffer");
    if (n > sizeof buf)
        return pp_values_add_int(pp_task_result(t), (int64_t)n);
    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)(((const unsigned char *)p)[i] + 1);
    return pp_values_add_bytes(pp_task_result(t), buf, n);
}
PP_TASK_REGISTER(co_bump)

/* Lengths of the length-class rows: empty, short, around powers of two,
 * around a worker's 16 KiB result arena (values/value.c), and longer. */
static const size_t len_classes[] = {0,    1,     2,     7,     8,     15,   16,   31,
                                     63,   64,    100,   255,   256,   1000, 4095, 4096,
                                     8191, 16383, 16384, 16385, 20000, 70000};
#define N_LEN_CLASSES (sizeof len_classes / sizeof len_classes[0])

/* Item i of the length-class rows: a string of len_classes[i % N] bytes,
 * byte k = 'a' + (i + k) % 26; with die, every 29th item (from 11 on)
 * starts with "die" instead. *len gets its length. */
static char *lc_item(int i, int die, size_t *len)
{
    size_t n = len_classes[(size_t)i % N_LEN_CLASSES], k;
    char *s = malloc(n + 1);

    if (s == NULL)
        return NULL;
    for (k = 0; k < n; k++)
        s[k] = (char)('a' + ((size_t)i + k) % 26);
    s[n] = '\0';
    if (die && i % 29 == 11 && n >= 3)
        memcpy(s, "die", 3);
    *len = n;
    return s;
}

/* (str s of any length) -> s in upper case; "die..." ends the worker. */
static int co_upper_any(pp_task *t)
{
    const char *s = NULL;
    char *u;
    size_t i, n;
    pp_status st;

    if (pp_values_get_str(pp_task_args(t), 0, &s) != PP_OK)
        return pp_task_fail(t, 2, "one string");
    if (strncmp(s, "die", 3) == 0)
        pp__plat_exit(9);
    n = strlen(s);
    u = malloc(n + 1);
    if (u == NULL)
        return pp_task_fail(t, 3, "no memory");
    for (i = 0; i <= n; i++)
        u[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
    st = pp_values_add_str(pp_task_result(t), u);
    free(u);
    return st;
}
PP_TASK_REGISTER(co_upper_any)

/* Bytes of each result of co_big: 12 of them are more than one message. */
#define BIG_RESULT ((size_t)8 << 20)

/* Byte k of item i's result of co_big. */
static char big_byte(int i, size_t k)
{
    return (char)('A' + ((size_t)i * 7 + k / 4096 + k) % 26);
}

/* (str "<i>") -> a string of BIG_RESULT bytes, byte k big_byte(i, k);
 * "short<i>" -> "s<i>" */
static int co_big(pp_task *t)
{
    const char *s = NULL;
    char *u, small[32];
    size_t k;
    pp_status st;
    int i;

    if (pp_values_get_str(pp_task_args(t), 0, &s) != PP_OK)
        return pp_task_fail(t, 2, "one string");
    if (strncmp(s, "short", 5) == 0) {
        snprintf(small, sizeof small, "s%s", s + 5);
        return pp_values_add_str(pp_task_result(t), small);
    }
    i = atoi(s);
    u = malloc(BIG_RESULT + 1);
    if (u == NULL)
        return pp_task_fail(t, 3, "no memory");
    for (k = 0; k < BIG_RESULT; k++)
        u[k] = big_byte(i, k);
    u[BIG_RESULT] = '\0';
    st = pp_values_add_str(pp_task_result(t), u);
    free(u);
    return st;
}
PP_TASK_REGISTER(co_big)

/* Item i of the lazy rows: bytes (i as u32 LE, then byte j = (i + j) & 0xff)
 * or a string ("<i>-" then letter k = 'a' + (i + k) % 26). */
static size_t lz_len(int i)
{
    return 3000 + (size_t)(i % 7) * 1000;
}

static void lz_bytes(int i, unsigned char *b, size_t len)
{
    size_t j;

    for (j = 0; j < len; j++)
        b[j] = (unsigned char)((i + (int)j) & 0xff);
    b[0] = (unsigned char)i;
    b[1] = (unsigned char)(i >> 8);
    b[2] = (unsigned char)(i >> 16);
    b[3] = (unsigned char)(i >> 24);
}

static void lz_str(int i, char *s, size_t len)
{
    size_t k = (size_t)snprintf(s, len, "%d-", i);

    for (; k + 1 < len; k++)
        s[k] = (char)('a' + (i + (int)k) % 26);
    s[k] = '\0';
}

/* (bytes or str item i as lz_bytes / lz_str make it) -> i; an argument
 * that is not exactly that fails (code 9) */
static int co_lazy_check(pp_task *t)
{
    const pp_values *a = pp_task_args(t);
    const unsigned char *b = NULL;
    const void *p = NULL;
    const char *s = NULL;
    char *end = NULL;
    size_t n = 0, j;
    long i;

    if (pp_values_get_str(a, 0, &s) == PP_OK) {
        i = strtol(s, &end, 10);
        if (end == s || *end != '-')
            return pp_task_fail(t, 9, "no index in the string");
        n = strlen(s);
        for (j = (size_t)(end - s) + 1; j < n; j++) {
            if (s[j] != (char)('a' + (i + (long)j) % 26))
                return pp_task_fail(t, 9, "item %ld: char %lu wrong", i, (unsigned long)j);
        }
        if (n + 1 != lz_len((int)i))
            return pp_task_fail(t, 9, "item %ld: length %lu", i, (unsigned long)n);
        return pp_values_add_int(pp_task_result(t), i);
    }
    if (pp_values_get_bytes(a, 0, &p, &n) != PP_OK || n < 4)
        return pp_task_fail(t, 9, "one string or byte buffer");
    b = p;
    i = (long)((uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
               ((uint32_t)b[3] << 24));
    for (j = 4; j < n; j++) {
        if (b[j] != (unsigned char)((i + (long)j) & 0xff))
            return pp_task_fail(t, 9, "item %ld: byte %lu wrong", i, (unsigned long)j);
    }
    return pp_values_add_int(pp_task_result(t), i);
}
PP_TASK_REGISTER(co_lazy_check)

/* (int x) -> x as an int, except x % 5 == 4: x as a double (a scalar
 * column answer that ends mid-chunk on a type change) */
static int co_int_or_double(pp_task *t)
{
    int64_t x = 0;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    if (x % 5 == 4)
        return pp_values_add_double(pp_task_result(t), (double)x);
    return pp_values_add_int(pp_task_result(t), x);
}
PP_TASK_REGISTER(co_int_or_double)

/* The string of item i of the strings tests (kind chooses the odd ones). */
static void item_str(int i, int kind, char *s, size_t cap)
{
    if (kind == 1 && i % 97 == 13)
        snprintf(s, cap, "fail-%d", i);
    else if (kind == 2 && i % 89 == 7)
        snprintf(s, cap, "bytes-%d", i);
    else if (kind == 3 && i % 83 == 5)
        snprintf(s, cap, "two-%d", i);
    else if (kind == 4 && i % 79 == 3)
        snprintf(s, cap, "int-%d", i);
    else if (i % 10 == 9)
        s[0] = '\0'; /* empty strings travel too */
    else
        snprintf(s, cap, "w%d-%.*s", i, i % 23, "abcdefghijklmnopqrstuvwxyz");
}

/* Check item i's outcome against what co_upper makes of item_str(i) (e:
 * the failure's details, NULL if not at hand). */
static void check_item(pp_status st, const pp_values *v, const pp_error *e, int i, int kind)
{
    char s[64], want[64];
    const char *got = NULL;
    const void *b = NULL;
    size_t n = 0, k;
    int64_t x = -1;

    item_str(i, kind, s, sizeof s);
    for (k = 0; k <= strlen(s); k++)
        want[k] = s[k] >= 'a' && s[k] <= 'z' ? (char)(s[k] - 'a' + 'A') : s[k];
    if (strncmp(s, "fail", 4) == 0) {
        PP_ASSERT_MSG(st == PP_ETASK, "item %d: %s", i, pp_err_name(st));
        CU_ASSERT(e == NULL || (e->code == 7 && strstr(e->message, s) != NULL));
        return;
    }
    PP_ASSERT_MSG(st == PP_OK, "item %d: %s", i, pp_err_name(st));
    if (st != PP_OK)
        return;
    if (strncmp(s, "bytes", 5) == 0) {
        PP_ASSERT_STATUS(pp_values_get_bytes(v, 0, &b, &n), PP_OK);
        CU_ASSERT(n == strlen(s) && b != NULL && memcmp(b, s, n) == 0);
        CU_ASSERT(b != NULL && ((const char *)b)[n] == '\0'); /* a NUL after the bytes */
    } else if (strncmp(s, "int", 3) == 0) {
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
        CU_ASSERT_EQUAL(x, (int64_t)strlen(s));
    } else {
        CU_ASSERT_EQUAL(pp_values_count(v), strncmp(s, "two", 3) == 0 ? 2u : 1u);
        PP_ASSERT_STATUS(pp_values_get_str(v, 0, &got), PP_OK);
        PP_ASSERT_MSG(got != NULL && strcmp(got, want) == 0, "item %d: '%s', want '%s'", i,
                      got ? got : "(null)", want);
    }
}

/*
 * A map over strings in chunks of several sizes: every result right,
 * whether the chunk's results came as a column (all one string) or in the
 * general form (kind 1: a failure, 2: a bytes result, 3: two strings, 4:
 * an int among them), read one by one and in bulk; a result tuple copied
 * out lives on after the result is released.
 */
static void do_string_columns(int m)
{
    static const size_t chunks[] = {0, 1, 7, 1000};
    const int n = 3000;
    const pp_values **vals = malloc((size_t)n * sizeof *vals);
    pp_status *sts = malloc((size_t)n * sizeof *sts);
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = NULL, *copy = NULL;
    pp_submit_options o;
    const pp_values *v;
    const pp_error *e;
    pp_result *r;
    char s[64];
    size_t c;
    int kind, i;

    PP_ASSERT_MSG_FATAL(vals != NULL && sts != NULL, "no memory");
    for (kind = 0; kind <= 4; kind++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        for (i = 0; i < n; i++) {
            item_str(i, kind, s, sizeof s);
            PP_ASSERT_STATUS_FATAL(pp_values_add_str(items, s), PP_OK);
        }
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            memset(&o, 0, sizeof o);
            o.chunksize = chunks[c];
            PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_upper, items, &o, &r), PP_OK);
            PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
            for (i = 0; i < n; i += 1 + (int)c) {
                pp_status st = pp_result_item(r, (size_t)i, &v, &e);
                check_item(st, v, e, i, kind);
            }
            (void)pp_result_values(r, 0, 0, (size_t)n, vals, sts);
            for (i = 0; i < n; i++)
                check_item(sts[i], vals[i], NULL, i, kind);
            if (kind == 0) {
                PP_ASSERT_STATUS(pp_values_copy(vals[n - 2], &copy), PP_OK);
            }
            pp_result_release(r);
            if (copy != NULL) {
                const char *got = NULL;
                item_str(n - 2, 0, s, sizeof s);
                PP_ASSERT_STATUS(pp_values_get_str(copy, 0, &got), PP_OK);
                CU_ASSERT(got != NULL && strlen(got) == strlen(s));
                pp_values_destroy(copy);
                copy = NULL;
            }
        }
        pp_values_destroy(items);
    }
    free(vals);
    free(sts);
    pp_test_pool_finish(p);
}

/* Byte buffers both ways (a blob column of BYTES), some too long for the
 * task's buffer (an int result ends the column), and pp_map_array's
 * records answered as a column. */
static void do_bytes_columns(int m)
{
    const int n = 500;
    pp_pool *p = pp_test_pool_make(m, 2);
    unsigned char buf[200], rec[4 * 16], out[4 * 16];
    pp_values *items = NULL;
    pp_status sts[16];
    const pp_values *v;
    const pp_error *e;
    const void *b;
    pp_result *r;
    size_t len, k;
    int i, big;

    for (big = 0; big <= 1; big++) {
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        for (i = 0; i < n; i++) {
            len = big && i % 50 == 49 ? 150 : (size_t)(i % 40);
            for (k = 0; k < len; k++)
                buf[k] = (unsigned char)(i + k); /* NULs and 0xff included */
            PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(items, buf, len), PP_OK);
        }
        PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_bump, items, NULL, &r), PP_OK);
        PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
        for (i = 0; i < n; i++) {
            PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, &v, &e), PP_OK);
            len = big && i % 50 == 49 ? 150 : (size_t)(i % 40);
            if (len > 100) {
                int64_t x = 0;
                PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
                CU_ASSERT_EQUAL(x, 150);
                continue;
            }
            b = NULL;
            k = 0;
            PP_ASSERT_STATUS(pp_values_get_bytes(v, 0, &b, &k), PP_OK);
            CU_ASSERT_EQUAL_FATAL(k, len);
            for (k = 0; k < len; k++)
                CU_ASSERT_EQUAL(((const unsigned char *)b)[k], (unsigned char)(i + k + 1));
        }
        pp_result_release(r);
        pp_values_destroy(items);
    }
    for (k = 0; k < sizeof rec; k++)
        rec[k] = (unsigned char)(k * 3);
    PP_ASSERT_STATUS(pp_map_array(p, co_bump, rec, 4, 16, out, 4, sts, NULL), PP_OK);
    for (k = 0; k < sizeof rec; k++)
        CU_ASSERT_EQUAL(out[k], (unsigned char)(k * 3 + 1));
    for (k = 0; k < 16; k++)
        CU_ASSERT_EQUAL(sts[k], PP_OK);
    pp_test_pool_finish(p);
}

/* Int results with a double every fifth item: the scalar column answer
 * ends at the first double, and that double (taken out of the result
 * tuple to check it) is still the item's result. */
static void do_scalar_type_change(int m)
{
    const int n = 2000;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_values *items = NULL;
    pp_submit_options o;
    const pp_values *v;
    pp_result *r;
    int64_t x;
    double d;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < n; i++)
        PP_ASSERT_STATUS_FATAL(pp_values_add_int(items, i), PP_OK);
    memset(&o, 0, sizeof o);
    o.chunksize = 100;
    PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_int_or_double, items, &o, &r), PP_OK);
    PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
    for (i = 0; i < n; i++) {
        PP_ASSERT_STATUS(pp_result_item(r, (size_t)i, &v, NULL), PP_OK);
        CU_ASSERT_EQUAL(pp_values_count(v), 1u);
        if (i % 5 == 4) {
            d = -1;
            PP_ASSERT_STATUS(pp_values_get_double(v, 0, &d), PP_OK);
            CU_ASSERT(d == (double)i);
        } else {
            x = -1;
            PP_ASSERT_STATUS(pp_values_get_int(v, 0, &x), PP_OK);
            CU_ASSERT_EQUAL(x, i);
        }
    }
    pp_result_release(r);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
}

/* (int x) with x = i + 1000 * (kind * 100 + pos): i as an int, except
 * where i % 50 == pos: kind 0 fails (code 7), 1 returns PP_ERANGE, 2 a
 * double, 3 two ints, 4 nothing, 5 a double (as 2) from that item on.
 * A scalar column answer (the worker's fast loop) that stops at the
 * chunk's first, a middle or its last item. */
static int co_odd_at(pp_task *t)
{
    int64_t x = 0, i, kind, pos;

    if (pp_values_get_int(pp_task_args(t), 0, &x) != PP_OK)
        return pp_task_fail(t, 2, "one int");
    i = x % 1000;
    kind = x / 1000 / 100;
    pos = x / 1000 % 100;
    if (i % 50 != pos && !(kind == 5 && i % 50 > pos))
        return pp_values_add_int(pp_task_result(t), i);
    switch (kind) {
    case 0:
        return pp_task_fail(t, 7, "odd %d", (int)i);
    case 1:
        return PP_ERANGE;
    case 3:
        (void)pp_values_add_int(pp_task_result(t), i);
        return pp_values_add_int(pp_task_result(t), -i);
    case 4:
        return 0;
    default:
        return pp_values_add_double(pp_task_result(t), (double)i);
    }
}
PP_TASK_REGISTER(co_odd_at)

/* Check co_odd_at's item i (kind, pos) read one by one (v, e) and in bulk
 * (x, bst). */
static void check_odd(int i, int kind, int pos, pp_status st, const pp_values *v, const pp_error *e,
                      int64_t x, pp_status bst)
{
    int odd = i % 50 == pos || (kind == 5 && i % 50 > pos);
    int64_t a = -1, b = -1;
    double d = -1;

    if (!odd || kind == 3) {
        PP_ASSERT_MSG(st == PP_OK, "kind %d pos %d item %d: %s", kind, pos, i, pp_err_name(st));
        PP_ASSERT_STATUS(pp_values_get_int(v, 0, &a), PP_OK);
        CU_ASSERT_EQUAL(a, i);
        CU_ASSERT_EQUAL(pp_values_count(v), odd ? 2u : 1u);
        if (odd) {
            PP_ASSERT_STATUS(pp_values_get_int(v, 1, &b), PP_OK);
            CU_ASSERT_EQUAL(b, -i);
        }
        PP_ASSERT_MSG(bst == (odd ? PP_ETYPE : PP_OK), "bulk, kind %d item %d: %s", kind, i,
                      pp_err_name(bst));
        CU_ASSERT(odd || x == i);
        return;
    }
    switch (kind) {
    case 0:
        PP_ASSERT_MSG(st == PP_ETASK, "item %d: %s", i, pp_err_name(st));
        CU_ASSERT(e != NULL && e->code == 7 && strstr(e->message, "odd") != NULL);
        CU_ASSERT_EQUAL(bst, PP_ETASK);
        break;
    case 1:
        PP_ASSERT_MSG(st == PP_ERANGE, "item %d: %s", i, pp_err_name(st));
        CU_ASSERT(e != NULL && strstr(e->message, "PP_ERANGE") != NULL);
        CU_ASSERT_EQUAL(bst, PP_ERANGE);
        break;
    case 4:
        PP_ASSERT_STATUS(st, PP_OK);
        CU_ASSERT_EQUAL(pp_values_count(v), 0u);
        CU_ASSERT_EQUAL(bst, PP_ETYPE);
        break;
    default:
        PP_ASSERT_STATUS(st, PP_OK);
        PP_ASSERT_STATUS(pp_values_get_double(v, 0, &d), PP_OK);
        CU_ASSERT(d == (double)i);
        CU_ASSERT_EQUAL(bst, PP_ETYPE);
    }
    CU_ASSERT_EQUAL(x, 0); /* a failed bulk slot reads 0 */
}

/*
 * Int columns in chunks of 50 whose results stop fitting a scalar column
 * at the chunk's first, a middle or its last item, by a failure, a
 * returned status, another type, two values or none: every item's
 * outcome is right, read one by one and in bulk (pp_result_ints: the
 * failures and the results that are not one int in status).
 */
static void do_scalar_column_ends(int m)
{
    static const int poss[] = {0, 25, 49};
    const int n = 400;
    pp_pool *p = pp_test_pool_make(m, 2);
    int64_t *out = malloc((size_t)n * sizeof *out);
    pp_status *sts = malloc((size_t)n * sizeof *sts);
    pp_values *items = NULL;
    pp_submit_options o;
    const pp_values *v;
    const pp_error *e;
    pp_result *r;
    int kind, k, i;

    PP_ASSERT_MSG_FATAL(out != NULL && sts != NULL, "no memory");
    memset(&o, 0, sizeof o);
    o.chunksize = 50;
    for (kind = 0; kind <= 5; kind++) {
        for (k = 0; k < 3; k++) {
            PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
            for (i = 0; i < n; i++)
                PP_ASSERT_STATUS_FATAL(
                    pp_values_add_int(items, i + 1000 * (int64_t)(kind * 100 + poss[k])), PP_OK);
            PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_odd_at, items, &o, &r), PP_OK);
            PP_ASSERT_STATUS(pp_result_wait(r, WAIT_MS), PP_OK);
            (void)pp_result_ints(r, 0, 0, (size_t)n, out, sts);
            for (i = 0; i < n; i++) {
                pp_status st = pp_result_item(r, (size_t)i, &v, &e);
                check_odd(i, kind, poss[k], st, v, e, out[i], sts[i]);
            }
            pp_result_release(r);
            pp_values_destroy(items);
        }
    }
    free(out);
    free(sts);
    pp_test_pool_finish(p);
}

/* The column codec: what the builder writes the decoder reads back, and
 * every malformed entry is refused with the reader unmoved. */
static void t_column_codec(void)
{
    static const uint8_t trunc_len[] = {3, 0, 0};
    static const uint8_t no_nul[] = {2, 0, 0, 0, 'a', 'b', 'c'};
    static const uint8_t nul_in[] = {2, 0, 0, 0, 'a', 0, 0};
    static const uint8_t short_body[] = {5, 0, 0, 0, 'a', 'b', 0};
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0};
    static const uint8_t ok_bytes[] = {2, 0, 0, 0, 'a', 0, 0};
    static const uint8_t ok_str[] = {2, 0, 0, 0, 'a', 'b', 0};
    const uint8_t *p = NULL;
    uint8_t out[256];
    pp_values *v = NULL;
    pp_type type = PP_TYPE_NONE;
    size_t n = 0, bytes = 0;
    pp__rd rd;
    int i;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, "abc"), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, ""), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, "xy"), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(v, "q", 1), PP_OK);
    CU_ASSERT_EQUAL(pp__column_blob_extent(v, 0, 10, 1000, &type, &bytes), 3u);
    CU_ASSERT_EQUAL(type, PP_TYPE_STR);
    CU_ASSERT_EQUAL(bytes, 3 * 5 + 5u);
    CU_ASSERT_EQUAL(pp__column_blob_extent(v, 0, 10, 9, &type, &bytes), 1u); /* first counts */
    CU_ASSERT_EQUAL(pp__column_blob_extent(v, 0, 10, 13, &type, &bytes), 2u);
    CU_ASSERT_EQUAL(pp__column_blob_extent(v, 3, 10, 1000, &type, &bytes), 1u);
    CU_ASSERT_EQUAL(type, PP_TYPE_BYTES);
    CU_ASSERT_EQUAL(pp__column_blob_extent(v, 4, 10, 1000, &type, &bytes), 0u);
    pp__column_blob_extent(v, 0, 3, 1000, &type, &bytes);
    pp__column_put_blobs(v, 0, 3, out);
    pp__rd_init(&rd, out, bytes);
    for (i = 0; i < 3; i++) {
        const char *want = i == 0 ? "abc" : i == 1 ? "" : "xy";
        PP_ASSERT_STATUS(pp__column_get_blob(&rd, PP_TYPE_STR, &p, &n), PP_OK);
        CU_ASSERT(n == strlen(want) && memcmp(p, want, n) == 0 && p[n] == 0);
    }
    CU_ASSERT_EQUAL(pp__rd_left(&rd), 0u);
    PP_ASSERT_STATUS(pp__column_get_blob(&rd, PP_TYPE_STR, &p, &n), PP_EPROTO);
    CU_ASSERT_EQUAL(pp__column_put_scalars(v, 0, 1, &type, out), 0);
    pp_values_destroy(v);

#define REFUSED(buf, type)                                                                         \
    do {                                                                                           \
        pp__rd_init(&rd, buf, sizeof buf);                                                         \
        PP_ASSERT_STATUS(pp__column_get_blob(&rd, type, &p, &n), PP_EPROTO);                       \
        CU_ASSERT_EQUAL(rd.pos, 0u);                                                               \
    } while (0)
    REFUSED(trunc_len, PP_TYPE_STR);
    REFUSED(no_nul, PP_TYPE_STR);
    REFUSED(no_nul, PP_TYPE_BYTES);
    REFUSED(nul_in, PP_TYPE_STR);
    REFUSED(short_body, PP_TYPE_BYTES);
    REFUSED(huge, PP_TYPE_BYTES);
    REFUSED(ok_bytes, PP_TYPE_INT);
#undef REFUSED
    pp__rd_init(&rd, nul_in, sizeof nul_in); /* a NUL inside is fine in bytes */
    PP_ASSERT_STATUS(pp__column_get_blob(&rd, PP_TYPE_BYTES, &p, &n), PP_OK);
    CU_ASSERT(n == 2 && p[0] == 'a' && p[1] == 0);
    pp__rd_init(&rd, ok_str, sizeof ok_str);
    PP_ASSERT_STATUS(pp__column_get_blob(&rd, PP_TYPE_STR, &p, &n), PP_OK);
    CU_ASSERT(n == 2 && strcmp((const char *)p, "ab") == 0);

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_int(v, -5), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_int(v, 7), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_double(v, 1.5), PP_OK);
    CU_ASSERT_EQUAL(pp__column_put_scalars(v, 0, 2, &type, out), 1);
    CU_ASSERT_EQUAL(type, PP_TYPE_INT);
    CU_ASSERT_EQUAL((int64_t)pp__ld_le64(out + 8), 7);
    CU_ASSERT_EQUAL(pp__column_put_scalars(v, 0, 3, &type, out), 0); /* mixed */
    CU_ASSERT_EQUAL(pp__column_put_scalars(v, 2, 2, &type, out), 0); /* past the end */
    pp_values_destroy(v);
}

/* The results of a lazy row: every item OK and i; the statuses too. */
static void check_lazy_results(pp_result *r, int n, const char *form)
{
    int64_t *out = calloc((size_t)n, sizeof *out);
    pp_status *sts = calloc((size_t)n, sizeof *sts);
    int i, bad = 0;

    CU_ASSERT_FATAL(out != NULL && sts != NULL);
    PP_ASSERT_STATUS(pp_result_ints(r, WAIT_MS, 0, (size_t)n, out, sts), PP_OK);
    for (i = 0; i < n && bad < 5; i++) {
        if (sts[i] != PP_OK || out[i] != i) {
            bad++;
            PP_ASSERT_MSG(0, "%s: item %d: %s, %lld", form, i, pp_err_name(sts[i]),
                          (long long)out[i]);
        }
    }
    free(out);
    free(sts);
}

/*
 * Sync maps of string and byte items of a few KiB, the four sources
 * (map's items, starmap's tuples, pp_map_array's records; strings): their
 * chunks are copied from the caller's items straight into the workers'
 * inboxes when sent (lazy chunks, pool_internal.h). Every byte arrives
 * (each task checks its whole argument), the inboxes were used, and the
 * caller frees its items at once after each call (ASan: nothing reads
 * them later), the next map still right.
 */
static void do_sync_lazy_columns(int m)
{
    const int n = 700, nrec = 300;
    const size_t rec = 4096;
    pp_pool *p = pp_test_pool_make(m, 2);
    unsigned char *buf = malloc(lz_len(6)), *arr = malloc(rec * (size_t)nrec);
    int64_t *out = calloc((size_t)nrec, sizeof *out);
    pp_status *sts = calloc((size_t)nrec, sizeof *sts);
    pp_values *items = NULL, **argv = calloc((size_t)n, sizeof *argv);
    pp_pool_stats before, after;
    pp_result *r = NULL;
    int i, round;

    CU_ASSERT_FATAL(buf != NULL && arr != NULL && argv != NULL && out != NULL && sts != NULL);
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &before), PP_OK);
    for (round = 0; round < 2; round++) {
        /* pp_map over byte items, then string items */
        PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
        for (i = 0; i < n; i++) {
            if (round == 0) {
                lz_bytes(i, buf, lz_len(i));
                PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(items, buf, lz_len(i)), PP_OK);
            } else {
                lz_str(i, (char *)buf, lz_len(i));
                PP_ASSERT_STATUS_FATAL(pp_values_add_str(items, (char *)buf), PP_OK);
            }
        }
        PP_ASSERT_STATUS(pp_map(p, co_lazy_check, items, NULL, &r), PP_OK);
        pp_values_destroy(items); /* before reading: the results are the pool's */
        if (r != NULL)
            check_lazy_results(r, n, round == 0 ? "map (bytes)" : "map (strings)");
        pp_result_release(r);
        r = NULL;
    }
    /* an async map keeps eager chunks: its items may go as soon as it
     * returns (ASan: nothing reads them after) */
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < n; i++) {
        lz_bytes(i, buf, lz_len(i));
        PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(items, buf, lz_len(i)), PP_OK);
    }
    PP_ASSERT_STATUS(pp_map_async(p, co_lazy_check, items, NULL, &r), PP_OK);
    pp_values_destroy(items);
    if (r != NULL)
        check_lazy_results(r, n, "map_async (bytes)");
    pp_result_release(r);
    r = NULL;
    /* pp_starmap over one-buffer tuples */
    for (i = 0; i < n; i++) {
        lz_bytes(i, buf, lz_len(i));
        PP_ASSERT_STATUS_FATAL(pp_values_create(&argv[i]), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_add_bytes(argv[i], buf, lz_len(i)), PP_OK);
    }
    PP_ASSERT_STATUS(
        pp_starmap(p, co_lazy_check, (const pp_values *const *)argv, (size_t)n, NULL, &r), PP_OK);
    for (i = 0; i < n; i++)
        pp_values_destroy(argv[i]);
    if (r != NULL)
        check_lazy_results(r, n, "starmap");
    pp_result_release(r);
    /* pp_map_array over records, int results into the output array */
    for (i = 0; i < nrec; i++)
        lz_bytes(i, arr + (size_t)i * rec, rec);
    PP_ASSERT_STATUS(
        pp_map_array(p, co_lazy_check, arr, rec, (size_t)nrec, out, sizeof *out, sts, NULL), PP_OK);
    memset(arr, 0xee, rec * (size_t)nrec); /* the caller's again */
    for (i = 0; i < nrec; i++) {
        if (sts[i] != PP_OK || out[i] != i) {
            PP_ASSERT_MSG(0, "map_array: record %d: %s, %lld", i, pp_err_name(sts[i]),
                          (long long)out[i]);
            break;
        }
    }
    PP_ASSERT_STATUS(pp_pool_get_stats(p, &after), PP_OK);
    PP_ASSERT_MSG(after.inbox_chunks > before.inbox_chunks, "no chunk went through an inbox");
    free(argv);
    free(arr);
    free(buf);
    free(out);
    free(sts);
    pp_test_pool_finish(p);
}

PP_TEST_PER_METHOD(string_columns)
PP_TEST_PER_METHOD(bytes_columns)
PP_TEST_PER_METHOD(scalar_type_change)
PP_TEST_PER_METHOD(scalar_column_ends)
PP_TEST_PER_METHOD(sync_lazy_columns)

/* The n strings lc_item(i, die) as map items; NULL (a failed assertion)
 * if out of memory. */
static pp_values *lc_items(int n, int die)
{
    pp_values *items = NULL;
    size_t len;
    char *s;
    int i;

    if (pp_values_create(&items) != PP_OK)
        return NULL;
    for (i = 0; i < n; i++) {
        s = lc_item(i, die, &len);
        if (s == NULL || pp_values_add_str(items, s) != PP_OK) {
            free(s);
            pp_values_destroy(items);
            return NULL;
        }
        free(s);
    }
    return items;
}

/* Is v item i's result of co_upper_any (what lc_item(i) makes upper)? */
static int lc_result_ok(const pp_values *v, int i)
{
    const char *got = NULL;
    size_t n = 0, k;
    char *s = lc_item(i, 0, &n);
    int ok = s != NULL && pp_values_count(v) == 1 && pp_values_get_str(v, 0, &got) == PP_OK &&
             got != NULL && strlen(got) == n;

    for (k = 0; ok && k < n; k++)
        ok = got[k] == s[k] - 'a' + 'A';
    free(s);
    return ok;
}

/*
 * Strings of every length class (an empty one, short ones, some longer
 * than a worker's result arena) in chunks of several sizes, so that each
 * class meets chunk boundaries: every result right when read in bulk,
 * and still right (tuples and bytes) after the pool is destroyed, until
 * the result is released.
 */
static void do_string_lengths(int m)
{
    static const size_t chunks[] = {0, 1, 3, 22, 50};
    const int n = 600;
    const pp_values **vals = malloc((size_t)n * sizeof *vals);
    pp_status *sts = malloc((size_t)n * sizeof *sts);
    pp_result *rs[sizeof chunks / sizeof chunks[0]];
    pp_values *items = NULL;
    pp_submit_options o;
    pp_pool *p = pp_test_pool_make(m, 2);
    size_t c;
    int i, bad = 0;

    PP_ASSERT_MSG_FATAL(vals != NULL && sts != NULL, "no memory");
    items = lc_items(n, 0);
    PP_ASSERT_MSG_FATAL(items != NULL, "no memory");
    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(&o, 0, sizeof o);
        o.chunksize = chunks[c];
        PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_upper_any, items, &o, &rs[c]), PP_OK);
        PP_ASSERT_STATUS(pp_result_values(rs[c], WAIT_MS, 0, (size_t)n, vals, sts), PP_OK);
        for (i = 0; i < n; i++)
            bad += sts[i] != PP_OK || !lc_result_ok(vals[i], i);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_values_destroy(items);
    pp_test_pool_finish(p); /* the results outlive their pool */
    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        PP_ASSERT_STATUS(pp_result_values(rs[c], 0, 0, (size_t)n, vals, sts), PP_OK);
        for (i = 0; i < n; i++)
            bad += sts[i] != PP_OK || !lc_result_ok(vals[i], i);
        pp_result_release(rs[c]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(vals);
    free(sts);
}
PP_TEST_PER_METHOD(string_lengths)

/*
 * The same strings with a worker killed at every 29th item, in chunks of
 * several sizes: exactly those items fail (PP_EWORKERDIED), every other
 * one, before or after them in their chunk, has its own right result
 * (kept by the dead worker, or from a worker that ran it since).
 */
static void do_string_deaths(int m)
{
    static const size_t chunks[] = {0, 5, 40};
    const int n = 240;
    const pp_values **vals = malloc((size_t)n * sizeof *vals);
    pp_status *sts = malloc((size_t)n * sizeof *sts);
    pp_values *items = NULL;
    pp_submit_options o;
    pp_pool *p = pp_test_pool_make(m, 2);
    pp_result *r;
    size_t c;
    int i, bad = 0, dies;

    PP_ASSERT_MSG_FATAL(vals != NULL && sts != NULL, "no memory");
    items = lc_items(n, 1);
    PP_ASSERT_MSG_FATAL(items != NULL, "no memory");
    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(&o, 0, sizeof o);
        o.chunksize = chunks[c];
        PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_upper_any, items, &o, &r), PP_OK);
        PP_ASSERT_STATUS(pp_result_values(r, WAIT_MS, 0, (size_t)n, vals, sts), PP_EWORKERDIED);
        for (i = 0; i < n; i++) {
            dies = i % 29 == 11 && len_classes[(size_t)i % N_LEN_CLASSES] >= 3;
            if (dies ? sts[i] != PP_EWORKERDIED || vals[i] != NULL
                     : sts[i] != PP_OK || !lc_result_ok(vals[i], i)) {
                bad++;
                fprintf(stderr, "chunksize %u, item %d: %s\n", (unsigned)chunks[c], i,
                        pp_err_name(sts[i]));
            }
        }
        pp_result_release(r);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
    free(vals);
    free(sts);
}
PP_TEST_PER_METHOD(string_deaths)

/*
 * A chunk of string results larger than one message (12 x 8 MiB in chunks
 * of 12, short ones first in some): the worker's string loop stops at the
 * result that would not fit, its answer so far turns into general
 * outcomes and the rest follows in further messages. Every result whole
 * and right, in chunks of 12 (several messages) and of 4 (one each).
 */
static void t_string_results_beyond_one_message(void)
{
    static const size_t chunks[] = {12, 4};
    const int n = 14;
    pp_pool *p = pp_test_pool_make(PP_START_SPAWN, 2);
    const pp_values **vals = calloc((size_t)n, sizeof *vals);
    pp_status sts[14];
    char *want = malloc(BIG_RESULT), buf[32];
    pp_values *items = NULL;
    pp_submit_options o;
    const char *got;
    pp_result *r;
    size_t c, k;
    int i, bad = 0;

    PP_ASSERT_MSG_FATAL(vals != NULL && want != NULL, "no memory");
    PP_ASSERT_STATUS_FATAL(pp_values_create(&items), PP_OK);
    for (i = 0; i < n; i++) {
        if (i < 2)
            snprintf(buf, sizeof buf, "short%d", i);
        else
            snprintf(buf, sizeof buf, "%d", i);
        PP_ASSERT_STATUS_FATAL(pp_values_add_str(items, buf), PP_OK);
    }
    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(&o, 0, sizeof o);
        o.chunksize = chunks[c];
        PP_ASSERT_STATUS_FATAL(pp_map_async(p, co_big, items, &o, &r), PP_OK);
        PP_ASSERT_STATUS(pp_result_values(r, WAIT_MS, 0, (size_t)n, vals, sts), PP_OK);
        for (i = 0; i < n; i++) {
            got = NULL;
            if (sts[i] != PP_OK || pp_values_get_str(vals[i], 0, &got) != PP_OK || got == NULL) {
                bad++;
                continue;
            }
            if (i < 2) {
                snprintf(buf, sizeof buf, "s%d", i);
                bad += strcmp(got, buf) != 0;
                continue;
            }
            for (k = 0; k < BIG_RESULT; k++)
                want[k] = big_byte(i, k);
            bad += strlen(got) != BIG_RESULT || memcmp(got, want, BIG_RESULT) != 0;
        }
        pp_result_release(r);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_values_destroy(items);
    pp_test_pool_finish(p);
    free(want);
    free(vals);
}

/* A RESULT's blob column checked whole (pp__column_check_blobs): exactly
 * count well-formed entries fill the bytes, else refused. */
static void t_column_check_blobs(void)
{
    uint8_t buf[64];
    size_t len = 0;
    pp_type type = PP_TYPE_NONE;
    pp_values *v = NULL;

    PP_ASSERT_STATUS_FATAL(pp_values_create(&v), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, "abc"), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, ""), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(v, "0123456789abcdef"), PP_OK);
    CU_ASSERT_EQUAL(pp__column_blob_extent(v, 0, 3, sizeof buf, &type, &len), 3u);
    pp__column_put_blobs(v, 0, 3, buf);
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_STR, 3), 1);
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_BYTES, 3), 1);
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_STR, 2), 0);     /* bytes left */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_STR, 4), 0);     /* one missing */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len - 1, PP_TYPE_STR, 3), 0); /* truncated */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_INT, 3), 0);
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, 0, PP_TYPE_STR, 0), 1); /* empty */
    buf[4 + 1] = 0;                                                     /* a NUL inside "abc" */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_STR, 3), 0);
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_BYTES, 3), 1);
    buf[4 + 1] = 'b';
    buf[4 + 3] = 'x'; /* no NUL after "abc" */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_BYTES, 3), 0);
    buf[4 + 3] = 0;
    pp__st_le32(buf + 8, 0xffffffffu); /* the second entry's length: huge */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_BYTES, 3), 0);
    pp__st_le32(buf + 8, 1); /* runs into the third entry: no NUL where it ends */
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_BYTES, 3), 0);
    pp__st_le32(buf + 8, 0);
    CU_ASSERT_EQUAL(pp__column_check_blobs(buf, len, PP_TYPE_STR, 3), 1);
    pp_values_destroy(v);
}

/* A string entry with a NUL inside is refused wherever the NUL is, in
 * short entries (checked a word at a time) and long ones (memchr); bytes
 * take it. */
static void t_column_nul_check(void)
{
    static const size_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
    uint8_t buf[4 + 100 + 1];
    const uint8_t *p = NULL;
    size_t i, at, n = 0;
    pp__rd rd;

    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        pp__st_le32(buf, (uint32_t)lens[i]);
        memset(buf + 4, 'x', lens[i]);
        buf[4 + lens[i]] = 0;
        pp__rd_init(&rd, buf, 5 + lens[i]);
        PP_ASSERT_STATUS(pp__column_get_blob(&rd, PP_TYPE_STR, &p, &n), PP_OK);
        CU_ASSERT(n == lens[i] && p == buf + 4);
        for (at = 0; at < lens[i]; at++) {
            buf[4 + at] = 0;
            pp__rd_init(&rd, buf, 5 + lens[i]);
            PP_ASSERT_MSG(pp__column_get_blob(&rd, PP_TYPE_STR, &p, &n) == PP_EPROTO,
                          "length %u, NUL at %u", (unsigned)lens[i], (unsigned)at);
            CU_ASSERT_EQUAL(rd.pos, 0u);
            pp__rd_init(&rd, buf, 5 + lens[i]);
            PP_ASSERT_STATUS(pp__column_get_blob(&rd, PP_TYPE_BYTES, &p, &n), PP_OK);
            buf[4 + at] = 'x';
        }
    }
}

/* A worker's result tuple (pp__values_create_scratch): strings and byte
 * buffers in its arena while there is room, allocated past it, each
 * intact until the tuple is cleared, through copies and appends, over
 * many clear-and-fill rounds; nothing leaks (the sanitizer build). */
static void t_scratch_tuple(void)
{
    static const size_t lens[] = {0, 1, 5, 100, 4000, 9000, 16383, 16384, 20000, 3};
    pp_values *v = NULL, *copy = NULL, *src = NULL;
    const void *b;
    const char *got;
    char *buf = malloc(20001);
    size_t i, k, n, round, at;
    int bad = 0;

    PP_ASSERT_MSG_FATAL(buf != NULL, "no memory");
    PP_ASSERT_STATUS_FATAL(pp__values_create_scratch(&v), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_values_create(&src), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_str(src, "from another tuple"), PP_OK);
    PP_ASSERT_STATUS(pp_values_add_bytes(src, "\0\1\0", 3), PP_OK);
    for (round = 0; round < 50; round++) {
        at = pp_values_count(v); /* items of an uncleared round before */
        for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            for (k = 0; k < lens[i]; k++)
                buf[k] = (char)('a' + (round + i + k) % 26);
            buf[lens[i]] = '\0';
            if (i % 2 == 0)
                PP_ASSERT_STATUS(pp_values_add_str(v, buf), PP_OK);
            else
                PP_ASSERT_STATUS(pp_values_add_bytes(v, buf, lens[i]), PP_OK);
            PP_ASSERT_STATUS(pp_values_add_int(v, (int64_t)i), PP_OK);
        }
        PP_ASSERT_STATUS(pp__values_append(v, src, 0, 2), PP_OK);
        PP_ASSERT_STATUS_FATAL(pp_values_copy(v, &copy), PP_OK);
        CU_ASSERT_EQUAL(pp_values_count(v), at + 2 * (sizeof lens / sizeof lens[0]) + 2);
        /* every earlier one intact after all the later adds */
        for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            for (k = 0; k < lens[i]; k++)
                buf[k] = (char)('a' + (round + i + k) % 26);
            b = NULL;
            n = 0;
            if (i % 2 == 0) {
                got = NULL;
                bad += pp_values_get_str(v, at + 2 * i, &got) != PP_OK || got == NULL ||
                       strlen(got) != lens[i] || memcmp(got, buf, lens[i]) != 0;
                bad += pp_values_get_str(copy, at + 2 * i, &got) != PP_OK || got == NULL ||
                       strlen(got) != lens[i] || memcmp(got, buf, lens[i]) != 0;
            } else {
                bad += pp_values_get_bytes(v, at + 2 * i, &b, &n) != PP_OK || n != lens[i] ||
                       memcmp(b, buf, n) != 0 || ((const char *)b)[n] != '\0';
            }
        }
        got = NULL;
        bad += pp_values_get_str(v, at + 2 * (sizeof lens / sizeof lens[0]), &got) != PP_OK ||
               got == NULL || strcmp(got, "from another tuple") != 0;
        bad +=
            pp_values_get_bytes(v, at + 2 * (sizeof lens / sizeof lens[0]) + 1, &b, &n) != PP_OK ||
            n != 3 || memcmp(b, "\0\1\0", 3) != 0;
        pp_values_destroy(copy);
        copy = NULL;
        if (round % 10 != 9)
            pp__values_clear(v);
    }
    CU_ASSERT_EQUAL(bad, 0);
    pp_values_destroy(v); /* with items in it: the arena and the others freed */
    pp_values_destroy(src);
    free(buf);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_column_codec),
    PP_TEST(t_scratch_tuple),
    PP_TEST(t_column_nul_check),
    PP_TEST(t_column_check_blobs),
    PP_TEST_METHODS(string_columns, 300),
    PP_TEST_METHODS(bytes_columns, 120),
    PP_TEST_METHODS(scalar_type_change, 120),
    PP_TEST_METHODS(scalar_column_ends, 120),
    PP_TEST_METHODS(sync_lazy_columns, 120),
    PP_TEST_METHODS(string_lengths, 120),
    PP_TEST_METHODS(string_deaths, 120),
    PP_TEST_TIMEOUT(t_string_results_beyond_one_message, 300),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(columns)
{
    pp_test_add_suite("columns", cases);
}
