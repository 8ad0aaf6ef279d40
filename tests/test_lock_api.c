/*
 * test_lock_api.c — the lock API's contract at its edges: every bad
 * argument, names (valid, invalid, taken by something that is not a
 * procpool lock), name lifetime, generated names.
 */
#include <apr_general.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "procpool/lock.h"
#include "platform.h"
#include "pp_test.h"

#define NAME_BUF  (PP_NAME_MAX + 1)
#define CHILD_MS  (30000 * pp_test_timeout_mult())
#define NGEN_LIVE 200
#define NGEN_SEQ  1000

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n < 1 || n > PP_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        if (!name_char_ok(name[i]))
            return 0;
    }
    return 1;
}

/* lock-create NAME: exit with the status of pp_lock_create (destroyed
 * again if created). */
static int h_create(int argc, char **argv)
{
    pp_lock *lock = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_lock_create(argv[1], &lock);
    pp_lock_destroy(lock);
    return pp_test_exit_from_status(st);
}

/* lock-open NAME: exit with the status of pp_lock_open. */
static int h_open(int argc, char **argv)
{
    pp_lock *lock = NULL;
    pp_status st;

    if (argc != 2)
        return PP_TEST_EXIT_USAGE;
    st = pp_lock_open(argv[1], &lock);
    pp_lock_destroy(lock);
    return pp_test_exit_from_status(st);
}

static const pp_test_helper g_helpers[] = {
    {"lock-create", h_create}, {"lock-open", h_open}, {NULL, NULL}};

static int helper_status(const char *helper, const char *name)
{
    const char *args[] = {name, NULL};
    int code = pp_test_run_helper(helper, args, CHILD_MS);

    return code == -1000 ? 1 : pp_test_status_from_exit(code);
}

/* ------------------------------------------------- (f) bad input */

static void t_null_arguments(void)
{
    char name[NAME_BUF];
    pp_lock *lock = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_lock_create(name, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_create(NULL, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_open(NULL, &lock), PP_EINVAL);
    CU_ASSERT_PTR_NULL(lock);
    PP_ASSERT_STATUS(pp_lock_open(name, NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_acquire(NULL, PP_INFINITE), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_acquire(NULL, 0), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_acquire(NULL, 100), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_try_acquire(NULL), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_release(NULL), PP_EINVAL);
    CU_ASSERT_PTR_NULL(pp_lock_name(NULL));
    pp_lock_destroy(NULL); /* a no-op */
    /* nothing was created under the name by the NULL-out create */
    PP_ASSERT_STATUS(pp_lock_open(name, &lock), PP_ENOENT);
}

static void check_bad_name(const char *name)
{
    pp_lock *lock = NULL;

    PP_ASSERT_MSG(pp_lock_create(name, &lock) == PP_EINVAL,
                  "pp_lock_create(\"%s\") is not PP_EINVAL", name);
    pp_lock_destroy(lock);
    lock = NULL;
    PP_ASSERT_MSG(pp_lock_open(name, &lock) == PP_EINVAL, "pp_lock_open(\"%s\") is not PP_EINVAL",
                  name);
    pp_lock_destroy(lock);
}

static void t_invalid_names(void)
{
    static const char *const bad[] = {"",          "a/b",      "/abc", "abc/", "a\\b",  "\\abc",
                                      "a b",       " ",        "abc ", "a\tb", "a\nb",  "a:b",
                                      "Global\\x", "Local\\x", "a*b",  "a?b",  "..\\x", "../x",
                                      "\xc3\xa4",  "a%b",      "a\"b"};
    char too_long[PP_NAME_MAX + 2];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_bad_name(bad[i]);
    memset(too_long, 'a', PP_NAME_MAX + 1);
    too_long[PP_NAME_MAX + 1] = '\0';
    check_bad_name(too_long);
}

/* A unique name padded to exactly len chars with every allowed symbol. */
static void unique_name_of_length(char *buf, size_t len)
{
    static const char pad[] = "._-AZaz09";
    size_t n, k = 0;

    pp_test_unique_name(buf, NAME_BUF);
    for (n = strlen(buf); n < len; n++)
        buf[n] = pad[k++ % (sizeof pad - 1)];
    buf[len] = '\0';
}

/* Exactly PP_NAME_MAX characters is valid, end to end. */
static void t_name_of_max_length(void)
{
    char name[NAME_BUF];
    pp_lock *a = NULL, *b = NULL;

    unique_name_of_length(name, PP_NAME_MAX);
    CU_ASSERT_EQUAL(strlen(name), PP_NAME_MAX);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &a), PP_OK);
    CU_ASSERT_STRING_EQUAL(pp_lock_name(a), name);
    PP_ASSERT_STATUS(pp_lock_open(name, &b), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-open", name), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-create", name), PP_EEXIST);
    PP_ASSERT_STATUS(pp_lock_try_acquire(b), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    pp_lock_destroy(b);
    pp_lock_destroy(a);
    PP_ASSERT_STATUS(pp_lock_open(name, &b), PP_ENOENT);
}

static void t_open_missing_is_enoent(void)
{
    char name[NAME_BUF];
    pp_lock *lock = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_lock_open(name, &lock), PP_ENOENT);
    CU_ASSERT_PTR_NULL(lock);
}

static void t_create_existing_is_eexist(void)
{
    char name[NAME_BUF];
    pp_lock *a = NULL, *b = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_create(name, &b), PP_EEXIST);
    CU_ASSERT_PTR_NULL(b);
    PP_ASSERT_STATUS(helper_status("lock-create", name), PP_EEXIST); /* another process */
    /* the failed creates did not disturb the lock */
    PP_ASSERT_STATUS(pp_lock_try_acquire(a), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(a), PP_OK);
    pp_lock_destroy(a);
    /* once destroyed, the name can be created again */
    PP_ASSERT_STATUS(helper_status("lock-create", name), PP_OK);
    PP_ASSERT_STATUS(pp_lock_create(name, &a), PP_OK);
    pp_lock_destroy(a);
}

/* The name exists but is not a procpool lock. */
static void expect_not_a_lock(const char *name, const char *what)
{
    pp_lock *lock = NULL;
    pp_status st = pp_lock_open(name, &lock);

    PP_ASSERT_MSG(st == PP_EINVAL, "pp_lock_open over %s: %s, expected PP_EINVAL", what,
                  pp_err_name(st));
    pp_lock_destroy(lock);
    lock = NULL;
    st = pp_lock_create(name, &lock);
    PP_ASSERT_MSG(st == PP_EEXIST, "pp_lock_create over %s: %s, expected PP_EEXIST", what,
                  pp_err_name(st));
    pp_lock_destroy(lock);
}

#ifndef _WIN32
/* A raw shm object "/<name>" of size bytes filled with fill. */
static void raw_shm(const char *name, off_t size, int fill)
{
    char path[NAME_BUF + 1];
    unsigned char buf[4096];
    int fd;

    snprintf(path, sizeof path, "/%s", name);
    fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    if (size > 0) {
        CU_ASSERT(ftruncate(fd, size) == 0);
        memset(buf, fill, sizeof buf);
        CU_ASSERT(write(fd, buf, (size_t)size < sizeof buf ? (size_t)size : sizeof buf) > 0);
    }
    close(fd);
}

static void raw_shm_unlink(const char *name)
{
    char path[NAME_BUF + 1];

    snprintf(path, sizeof path, "/%s", name);
    CU_ASSERT(shm_unlink(path) == 0);
}
#endif

static void t_name_not_a_lock_posix(void)
{
#ifndef _WIN32
    static const struct {
        off_t size;
        int fill;
        const char *what;
    } raw[] = {{16, 0xab, "a 16-byte shm object"},
               {4096, 0xab, "a 4096-byte shm object of garbage"},
               {4096, 0, "a 4096-byte shm object of zeroes"},
               {0, 0, "an empty shm object"},
               {1 << 20, 0x5a, "a 1 MiB shm object of garbage"}};
    char name[NAME_BUF];
    pp__plat_shm *shm = NULL;
    size_t i;

    for (i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        pp_test_unique_name(name, sizeof name);
        raw_shm(name, raw[i].size, raw[i].fill);
        expect_not_a_lock(name, raw[i].what);
        raw_shm_unlink(name);
    }
    /* a procpool shm block is not a lock either */
    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp__plat_shm_create(name, 4096, &shm), PP_OK);
    expect_not_a_lock(name, "a procpool shm block");
    pp__plat_shm_close(shm);
    PP_ASSERT_STATUS(pp__plat_shm_unlink(name), PP_OK);
#else
    CU_FAIL("POSIX only (on the skip list for Windows)");
#endif
}

#ifndef _WIN32
/* Resize the object "/<name>" to size bytes, as the system may (macOS
 * rounds an object up to whole pages, and fstat says so). */
static void raw_shm_resize(const char *name, off_t size)
{
    char path[NAME_BUF + 1];
    int fd;

    snprintf(path, sizeof path, "/%s", name);
    fd = shm_open(path, O_RDWR, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(ftruncate(fd, size) == 0);
    close(fd);
}
#endif

/* A lock and a shm block whose objects the system made larger than asked
 * open all the same, and the block keeps its own size: the header's, not
 * the object's. One smaller than its header says is refused. */
static void t_open_trusts_header_size_posix(void)
{
#ifndef _WIN32
    char name[NAME_BUF];
    pp__plat_mutex *m = NULL, *m2 = NULL;
    pp__plat_shm *s = NULL, *s2 = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp__plat_mutex_create(name, &m), PP_OK);
    raw_shm_resize(name, 16384);
    PP_ASSERT_STATUS(pp__plat_mutex_open(name, &m2), PP_OK);
    if (m2 != NULL) {
        PP_ASSERT_STATUS(pp__plat_mutex_lock(m2, 1000), PP_OK);
        PP_ASSERT_STATUS(pp__plat_mutex_unlock(m2), PP_OK);
        pp__plat_mutex_close(m2);
    }
    pp__plat_mutex_close(m);
    PP_ASSERT_STATUS(pp__plat_mutex_unlink(name), PP_OK);

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp__plat_shm_create(name, 100, &s), PP_OK);
    memset(pp__plat_shm_ptr(s), 0x5a, 100);
    raw_shm_resize(name, 16384);
    PP_ASSERT_STATUS(pp__plat_shm_open(name, &s2), PP_OK);
    if (s2 != NULL) {
        CU_ASSERT_EQUAL(pp__plat_shm_size(s2), 100);
        CU_ASSERT(memcmp(pp__plat_shm_ptr(s2), pp__plat_shm_ptr(s), 100) == 0);
        pp__plat_shm_close(s2);
        s2 = NULL;
    }
    raw_shm_resize(name, 64 + 50); /* below header (64) + 100 */
    PP_ASSERT_STATUS(pp__plat_shm_open(name, &s2), PP_EINVAL);
    CU_ASSERT_PTR_NULL(s2);
    pp__plat_shm_close(s);
    PP_ASSERT_STATUS(pp__plat_shm_unlink(name), PP_OK);
#else
    CU_FAIL("POSIX only (on the skip list for Windows)");
#endif
}

#ifdef _WIN32
/* The kernel object name the Windows port uses for lock NAME (see
 * platform.h and platform/win32/win_mutex.c). */
static void win_lock_object_name(const char *name, wchar_t *out, size_t cap)
{
    _snwprintf(out, cap, L"Local\\procpool-obj-%hs", name);
    out[cap - 1] = L'\0';
}
#endif

static void t_name_not_a_lock_windows(void)
{
#ifdef _WIN32
    char name[NAME_BUF];
    wchar_t wname[128];
    HANDLE h;

    pp_test_unique_name(name, sizeof name);
    win_lock_object_name(name, wname, sizeof wname / sizeof wname[0]);
    h = CreateEventW(NULL, TRUE, FALSE, wname);
    CU_ASSERT_FATAL(h != NULL);
    expect_not_a_lock(name, "an event");
    CloseHandle(h);

    pp_test_unique_name(name, sizeof name);
    win_lock_object_name(name, wname, sizeof wname / sizeof wname[0]);
    h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, wname);
    CU_ASSERT_FATAL(h != NULL);
    expect_not_a_lock(name, "a file mapping");
    CloseHandle(h);

    pp_test_unique_name(name, sizeof name);
    win_lock_object_name(name, wname, sizeof wname / sizeof wname[0]);
    h = CreateSemaphoreW(NULL, 1, 1, wname);
    CU_ASSERT_FATAL(h != NULL);
    expect_not_a_lock(name, "a semaphore");
    CloseHandle(h);
#else
    CU_FAIL("Windows only (on the skip list for POSIX)");
#endif
}

static void t_bad_timeout_is_einval(void)
{
    char name[NAME_BUF];
    pp_lock *lock = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, -2), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, -1000), PP_EINVAL);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, INT64_MIN), PP_EINVAL);
    /* ... and did not take the lock */
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_EPERM);
    /* the largest timeout is not an overflow: a free lock is taken */
    PP_ASSERT_STATUS(pp_lock_acquire(lock, INT64_MAX), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(lock);
}

/* ------------------------------------------------ name lifetime */

static int shm_entry_exists(const char *name)
{
#if defined(__linux__)
    char path[NAME_BUF + 16];

    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return access(path, F_OK) == 0;
#else
    (void)name;
    return -1; /* not observable */
#endif
}

static void t_destroy_removes_name(void)
{
    char name[NAME_BUF];
    pp_lock *lock = NULL, *other = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    if (shm_entry_exists(name) >= 0)
        PP_ASSERT_MSG(shm_entry_exists(name) == 1, "no /dev/shm/%s while the lock exists", name);
    pp_lock_destroy(lock);
    PP_ASSERT_STATUS(pp_lock_open(name, &other), PP_ENOENT);
    PP_ASSERT_STATUS(helper_status("lock-open", name), PP_ENOENT); /* for everyone */
    if (shm_entry_exists(name) >= 0)
        PP_ASSERT_MSG(shm_entry_exists(name) == 0, "/dev/shm/%s is still there", name);
}

/* Destroying an opened handle only detaches; the creator's destroy
 * removes the name even while opened handles remain. */
static void t_destroy_of_opened_handle_keeps_name(void)
{
    char name[NAME_BUF];
    pp_lock *creator = NULL, *a = NULL, *b = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &creator), PP_OK);
    PP_ASSERT_STATUS_FATAL(pp_lock_open(name, &a), PP_OK);
    pp_lock_destroy(a);
    PP_ASSERT_STATUS_FATAL(pp_lock_open(name, &b), PP_OK);
    PP_ASSERT_STATUS(helper_status("lock-try", name), PP_OK);
    pp_lock_destroy(creator);
    PP_ASSERT_STATUS(pp_lock_open(name, &a), PP_ENOENT);
    /* b still works */
    PP_ASSERT_STATUS(pp_lock_acquire(b, 1000), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(b), PP_OK);
    pp_lock_destroy(b);
    if (shm_entry_exists(name) >= 0)
        PP_ASSERT_MSG(shm_entry_exists(name) == 0, "/dev/shm/%s is still there", name);
}

/* -------------------------------------------- (h) generated names */

static void check_generated_name(const char *name)
{
    char prefix[32];

    PP_ASSERT_MSG(name != NULL && name_valid(name), "generated name '%s' is not a valid name",
                  name ? name : "(null)");
    snprintf(prefix, sizeof prefix, "pp%s", pp_test_pid_token());
    PP_ASSERT_MSG(name != NULL && strncmp(name, prefix, strlen(prefix)) == 0,
                  "generated name '%s' does not start with '%s'", name ? name : "(null)", prefix);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of duplicates in names (sorted in place). */
static int count_duplicates(char **names, int n)
{
    int i, dups = 0;

    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (i = 1; i < n; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            fprintf(stderr, "  duplicate generated name %s\n", names[i]);
            dups++;
        }
    }
    return dups;
}

/* Many locks alive at once: all names valid, distinct, openable. */
static void t_generated_names_live(void)
{
    static pp_lock *locks[NGEN_LIVE];
    static char *names[NGEN_LIVE];
    pp_lock *other = NULL;
    int i;

    for (i = 0; i < NGEN_LIVE; i++) {
        PP_ASSERT_STATUS_FATAL(pp_lock_create(NULL, &locks[i]), PP_OK);
        check_generated_name(pp_lock_name(locks[i]));
        names[i] = (char *)pp_lock_name(locks[i]);
    }
    for (i = 0; i < NGEN_LIVE; i += 37) {
        PP_ASSERT_STATUS(pp_lock_open(names[i], &other), PP_OK);
        PP_ASSERT_STATUS(pp_lock_try_acquire(other), PP_OK);
        PP_ASSERT_STATUS(pp_lock_release(locks[i]), PP_OK); /* same lock */
        pp_lock_destroy(other);
        other = NULL;
    }
    PP_ASSERT_MSG(count_duplicates(names, NGEN_LIVE) == 0, "duplicate generated names");
    for (i = 0; i < NGEN_LIVE; i++)
        pp_lock_destroy(locks[i]);
}

/* Many create/destroy cycles: no name comes back. */
static void t_generated_names_sequential(void)
{
    static char *names[NGEN_SEQ];
    pp_lock *lock = NULL;
    int i, n = 0;

    for (i = 0; i < NGEN_SEQ; i++) {
        if (pp_lock_create(NULL, &lock) != PP_OK) {
            PP_ASSERT_MSG(0, "pp_lock_create(NULL) #%d failed", i);
            break;
        }
        check_generated_name(pp_lock_name(lock));
        names[n] = malloc(NAME_BUF);
        if (names[n] != NULL)
            strcpy(names[n++], pp_lock_name(lock));
        pp_lock_destroy(lock);
    }
    PP_ASSERT_MSG(count_duplicates(names, n) == 0, "duplicate generated names");
    for (i = 0; i < n; i++) {
        lock = NULL;
        if (i % 100 == 0) /* destroyed means gone */
            PP_ASSERT_STATUS(pp_lock_open(names[i], &lock), PP_ENOENT);
        free(names[i]);
    }
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST(t_null_arguments),
    PP_TEST(t_invalid_names),
    PP_TEST(t_name_of_max_length),
    PP_TEST(t_open_missing_is_enoent),
    PP_TEST(t_create_existing_is_eexist),
    PP_TEST(t_name_not_a_lock_posix),
    PP_TEST(t_name_not_a_lock_windows),
    PP_TEST(t_open_trusts_header_size_posix),
    PP_TEST(t_bad_timeout_is_einval),
    PP_TEST(t_destroy_removes_name),
    PP_TEST(t_destroy_of_opened_handle_keeps_name),
    PP_TEST(t_generated_names_live),
    PP_TEST(t_generated_names_sequential),
    PP_TEST_END,
};
/* clang-format on */

/* ------------------------------------------ platform support */

/* Locks work on every platform: a robust pthread mutex where the system
 * has one, a lock file held with flock() elsewhere (macOS, the BSDs
 * without robust mutexes; the `fallback` CI leg on Linux), a kernel mutex
 * on Windows. */
static void t_lock_support_matches_platform(void)
{
    char name[NAME_BUF];
    pp_lock *lock = NULL, *other = NULL;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS_FATAL(pp_lock_create(name, &lock), PP_OK);
    PP_ASSERT_STATUS(pp_lock_acquire(lock, PP_INFINITE), PP_OK);
    PP_ASSERT_STATUS(pp_lock_open(name, &other), PP_OK);
    PP_ASSERT_STATUS(pp_lock_release(lock), PP_OK);
    pp_lock_destroy(other);
    pp_lock_destroy(lock);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_support_cases[] = {
    PP_TEST(t_lock_support_matches_platform),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(lock_support)
{
    pp_test_add_suite("lock_support", g_support_cases);
}

PP_TEST_SUITE(lock_api)
{
    pp_test_add_suite("lock_api", g_cases);
    pp_test_add_helpers(g_helpers);
}
