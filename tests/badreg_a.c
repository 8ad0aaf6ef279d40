/*
 * badreg_a.c, badreg_b.c — a program whose two translation units each
 * register a different static function under the same name with
 * PP_TASK_REGISTER(). That cannot work (a worker could not tell which
 * function a task means), and nobody can be told before main(): pp_init()
 * must refuse with PP_EEXIST and log the function's name. (With MSVC the
 * two initializer pointers are __declspec(selectany): one registration
 * runs, pp_init() succeeds, and submitting the other function fails with
 * PP_ENOTREGISTERED — also never silent.) Prints "N passed, N failed".
 */
#include <stdio.h>
#include <string.h>

#include "procpool/procpool.h"

static int job(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), 1);
}
PP_TASK_REGISTER(job)

static int passed, failed;
static int logged_name;

static void on_log(pp_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (level == PP_LOG_ERROR && strstr(msg, "PP_TASK_REGISTER(job)") != NULL &&
        strstr(msg, "PP_EEXIST") != NULL)
        logged_name = 1;
}

static void expect(int ok, const char *what)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL badreg/%s\n", what);
}

pp_task_fn badreg_b_job(void);

int main(int argc, char **argv)
{
    pp_status st;

    pp_set_log_hook(on_log, NULL, PP_LOG_ERROR);
    st = pp_init(&argc, &argv);
#if defined(_MSC_VER)
    expect(st == PP_OK, "msvc_one_registration_runs");
    expect((pp_task_name(job) != NULL) != (pp_task_name(badreg_b_job()) != NULL),
           "msvc_exactly_one_registered");
#else
    expect(st == PP_EEXIST, "pp_init_refuses");
    expect(logged_name, "failure_logged_with_name");
    /* The first registration stands (which one runs first is the
     * linker's order); the other function is not known. */
    expect((pp_task_name(job) != NULL) != (pp_task_name(badreg_b_job()) != NULL), "one_stands");
    /* Calling it again still refuses: the program must be fixed. */
    expect(pp_init(&argc, &argv) == PP_EEXIST, "pp_init_refuses_again");
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
