/*
 * test_error.c — pp_strerror(), pp_err_name(), pp_os_error() and the
 * ports' OS error table.
 */
#include <apr_general.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "procpool/error.h"
#include "procpool/lock.h"
#include "platform.h"
#include "pp_test.h"

typedef struct status_row {
    int value;
    const char *name;
    const char *msg;
} status_row;

/* The expected strings, from the same X-macro list the library uses. */
static const status_row g_rows[] = {
#define ROW(name, value, msg) {value, "PP_" #name, msg},
    PP_STATUS_MAP(ROW)
#undef ROW
};
#define NROWS ((int)(sizeof g_rows / sizeof g_rows[0]))

static void t_every_code_has_name_and_message(void)
{
    int i;

    for (i = 0; i < NROWS; i++) {
        PP_ASSERT_MSG(strcmp(pp_err_name(g_rows[i].value), g_rows[i].name) == 0,
                      "pp_err_name(%d) = '%s', expected '%s'", g_rows[i].value,
                      pp_err_name(g_rows[i].value), g_rows[i].name);
        PP_ASSERT_MSG(strcmp(pp_strerror(g_rows[i].value), g_rows[i].msg) == 0,
                      "pp_strerror(%d) = '%s', expected '%s'", g_rows[i].value,
                      pp_strerror(g_rows[i].value), g_rows[i].msg);
        PP_ASSERT_MSG(g_rows[i].msg[0] != '\0', "empty message for %s", g_rows[i].name);
    }
}

/* Values are 0, -1, -2, ... with no gap or duplicate, down to
 * PP__STATUS_MIN, and names and messages are all distinct. */
static void t_codes_dense_and_distinct(void)
{
    int i, j;

    CU_ASSERT_EQUAL(NROWS, 1 - PP__STATUS_MIN);
    for (i = 0; i < NROWS; i++) {
        PP_ASSERT_MSG(g_rows[i].value == -i, "%s has value %d, expected %d", g_rows[i].name,
                      g_rows[i].value, -i);
        for (j = i + 1; j < NROWS; j++) {
            PP_ASSERT_MSG(strcmp(g_rows[i].name, g_rows[j].name) != 0, "duplicate name %s",
                          g_rows[i].name);
            PP_ASSERT_MSG(strcmp(g_rows[i].msg, g_rows[j].msg) != 0,
                          "%s and %s share the message '%s'", g_rows[i].name, g_rows[j].name,
                          g_rows[i].msg);
        }
    }
    CU_ASSERT_EQUAL(PP_OK, 0);
}

static void t_unknown_codes(void)
{
    static const int unknown[] = {1,      2,       27,     PP__STATUS_MIN - 1, -100, 12345,
                                  -12345, INT_MAX, INT_MIN};
    size_t i;

    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        PP_ASSERT_MSG(strcmp(pp_err_name(unknown[i]), "PP_UNKNOWN") == 0,
                      "pp_err_name(%d) = '%s', expected 'PP_UNKNOWN'", unknown[i],
                      pp_err_name(unknown[i]));
        PP_ASSERT_MSG(strcmp(pp_strerror(unknown[i]), "unknown procpool status") == 0,
                      "pp_strerror(%d) = '%s'", unknown[i], pp_strerror(unknown[i]));
    }
}

static void fresh_thread_os_error(void *arg)
{
    *(int *)arg = pp_os_error();
}

/* The OS code is per thread: a new thread starts with 0 even after the
 * main thread saw an OS failure. */
static void t_os_error_thread_local(void)
{
    char name[PP_NAME_MAX + 1];
    pp_lock *lock = NULL;
    int other = -1;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_lock_open(name, &lock), PP_ENOENT);
    CU_ASSERT_PTR_NULL(lock);
    pp_test_run_in_thread(fresh_thread_os_error, &other);
    CU_ASSERT_EQUAL(other, 0);
}

/* An open of a missing name fails in the OS (shm_open ENOENT, OpenMutexW
 * ERROR_FILE_NOT_FOUND): the raw code stays reachable. */
static void t_os_error_after_enoent(void)
{
    char name[PP_NAME_MAX + 1];
    pp_lock *lock = NULL;
    int os;

    pp_test_unique_name(name, sizeof name);
    PP_ASSERT_STATUS(pp_lock_open(name, &lock), PP_ENOENT);
    os = pp_os_error();
#ifdef _WIN32
    PP_ASSERT_MSG(os == ERROR_FILE_NOT_FOUND, "pp_os_error() = %d, expected ERROR_FILE_NOT_FOUND",
                  os);
#else
    PP_ASSERT_MSG(os == ENOENT, "pp_os_error() = %d, expected ENOENT (%d)", os, ENOENT);
#endif
}

/* The port's table (posix_err.c / win_err.c) for the codes the lock and
 * pool code depend on. */
static void t_os_error_table(void)
{
#ifdef _WIN32
    PP_ASSERT_STATUS(pp__plat_map_error(ERROR_FILE_NOT_FOUND), PP_ENOENT);
    PP_ASSERT_STATUS(pp__plat_map_error(ERROR_ALREADY_EXISTS), PP_EEXIST);
    PP_ASSERT_STATUS(pp__plat_map_error(ERROR_ACCESS_DENIED), PP_EACCES);
    PP_ASSERT_STATUS(pp__plat_map_error(ERROR_NOT_ENOUGH_MEMORY), PP_ENOMEM);
    PP_ASSERT_STATUS(pp__plat_map_error(ERROR_BROKEN_PIPE), PP_ECONNLOST);
#else
    PP_ASSERT_STATUS(pp__plat_map_error(ENOENT), PP_ENOENT);
    PP_ASSERT_STATUS(pp__plat_map_error(EEXIST), PP_EEXIST);
    PP_ASSERT_STATUS(pp__plat_map_error(EACCES), PP_EACCES);
    PP_ASSERT_STATUS(pp__plat_map_error(ENOMEM), PP_ENOMEM);
    PP_ASSERT_STATUS(pp__plat_map_error(EPIPE), PP_ECONNLOST);
    PP_ASSERT_STATUS(pp__plat_map_error(ETIMEDOUT), PP_ETIMEDOUT);
    PP_ASSERT_STATUS(pp__plat_map_error(EBUSY), PP_EBUSY);
    PP_ASSERT_STATUS(pp__plat_map_error(EINVAL), PP_EINVAL);
#endif
    /* A code no table knows is an OS error, not success. */
    PP_ASSERT_STATUS(pp__plat_map_error(987654), PP_ESYS);
}

/* pp__plat_fail records the raw code for pp_os_error(). */
static void t_plat_fail_records_code(void)
{
#ifdef _WIN32
    long code = ERROR_ACCESS_DENIED;
#else
    long code = EACCES;
#endif
    PP_ASSERT_STATUS(pp__plat_fail(code), PP_EACCES);
    CU_ASSERT_EQUAL(pp_os_error(), (int)code);
    CU_ASSERT_EQUAL(pp__plat_get_os_error(), code);
}

/* One test per line. */
/* clang-format off */
static const pp_test_case g_cases[] = {
    PP_TEST(t_every_code_has_name_and_message),
    PP_TEST(t_codes_dense_and_distinct),
    PP_TEST(t_unknown_codes),
    PP_TEST(t_os_error_thread_local),
    PP_TEST(t_os_error_after_enoent),
    PP_TEST(t_os_error_table),
    PP_TEST(t_plat_fail_records_code),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(error)
{
    pp_test_add_suite("error", g_cases);
}
