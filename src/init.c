/*
 * init.c — pp_init() and pp_shutdown(): the one file that knows every
 * layer of src/ (core/core.h lists them). It starts them in order, and
 * dispatches the process's role.
 *
 * The same executable plays several roles: the user's program, a spawned
 * pool worker, a fork server (inside the POSIX port). The port finds the
 * role marker on the command line; each role other than the user's
 * program has an entry in the table below, which runs it and never
 * returns, so the user's main() never gets past pp_init() there. A new
 * role is a new row, as the manager's server is (manager/manager.h).
 */
#include <stddef.h>
#include <stdlib.h>

#include "procpool/init.h"
#include "procpool/log.h"
#include "platform.h"
#include "core/core.h"
#include "core/mem.h"
#include "core/registry.h"
#include "sync/sync.h"
#include "pool/waitany.h"
#include "pool/worker.h"
#include "manager/manager.h"
#include "redis/redis_internal.h"

typedef struct role_entry {
    int role;                /* PP__ROLE_* */
    pp__plat_entry_fn entry; /* runs the role; its value is the exit code */
} role_entry;

static const role_entry g_roles[] = {
    {PP__ROLE_WORKER, pp__worker_main},
    {PP__ROLE_MANAGER, pp__manager_main},
};

static pp__plat_entry_fn role_entry_of(int role)
{
    size_t i;

    for (i = 0; i < sizeof g_roles / sizeof g_roles[0]; i++) {
        if (g_roles[i].role == role)
            return g_roles[i].entry;
    }
    return NULL;
}

static pp_status init_layers(void)
{
    pp_status st;

    st = pp__core_init();
    if (st != PP_OK)
        return st;
    pp__mem_init();
    st = pp__sync_init();
    if (st == PP_OK) {
        /* Manager locks that arrive in task arguments resolve through the
         * manager layer, which the value codec cannot call (sync/remote.h). */
        st = pp__manager_travel_init();
        if (st == PP_OK) {
            st = pp__redis_travel_init();
            if (st != PP_OK)
                pp__manager_travel_shutdown();
        }
        if (st != PP_OK)
            pp__sync_shutdown();
    }
    if (st != PP_OK) {
        pp__core_shutdown();
        return st;
    }
    st = pp__waitany_init();
    if (st != PP_OK) {
        pp__redis_travel_shutdown();
        pp__manager_travel_shutdown();
        pp__sync_shutdown();
        pp__core_shutdown();
    }
    return st;
}

/* A PP_TASK_REGISTER() that failed before main() (a name registered to
 * two functions, say) is reported here: a program must not start pools
 * whose registry is not what its author wrote. */
static pp_status check_load_registrations(void)
{
    const char *name = NULL;
    pp_status st = pp__registry_load_status(&name);

    if (st != PP_OK)
        pp__log(PP_LOG_ERROR, "PP_TASK_REGISTER(%s) failed: %s (%s)", name, pp_err_name(st),
                st == PP_EEXIST ? "the name or the function is registered already"
                                : pp_strerror(st));
    return st;
}

/* PROCPOOL_REMOTE set: this process is a remote worker of a distributed
 * pool (pool.h) and never returns. Asked after the role marker: the
 * program's own pool workers inherit the variable. */
static void run_remote_worker(void)
{
    const char *remote = getenv("PROCPOOL_REMOTE");

    if (remote != NULL && remote[0] != '\0')
        pp__plat_exit(pp__redis_remote_main(remote));
}

pp_status pp_init(int *argc, char ***argv)
{
    pp__plat_chan *chan = NULL;
    pp__plat_entry_fn entry;
    int role = PP__ROLE_MAIN;
    pp_status st;

    if ((argc == NULL) != (argv == NULL))
        return PP_EINVAL;
    if (pp__check_init() == PP_OK)
        return PP_OK;
    st = check_load_registrations();
    if (st != PP_OK)
        return st;
    st = init_layers();
    if (st != PP_OK)
        return st;
    /* Initialised before the role dispatch: a fork server never returns
     * from it, and the workers it forks use the library (lock attach). */
    pp__core_set_initialized(1);
    /* Workers forked by a zygote or fork server run this entry too. */
    pp__plat_set_worker_entry(pp__worker_main);
    /* Without argv we cannot re-execute the program: spawn-based pools then
     * fail at creation with PP_ESPAWN rather than guessing arguments. */
    if (argc == NULL || *argc < 1 || *argv == NULL) {
        run_remote_worker();
        return PP_OK;
    }
    pp__core_set_have_argv(1);
    st = pp__plat_role_detect(argc, argv, &role, &chan);
    if (st != PP_OK)
        return st;
    if (role == PP__ROLE_MAIN) {
        run_remote_worker();
        return PP_OK;
    }
    entry = role_entry_of(role);
    pp__plat_exit(entry != NULL ? entry(chan) : 1);
    return PP_OK; /* not reached */
}

void pp_shutdown(void)
{
    if (pp__check_init() != PP_OK)
        return;
    pp__waitany_shutdown();
    pp__redis_travel_shutdown();
    pp__manager_travel_shutdown();
    pp__sync_shutdown();
    pp__mem_trim();
    pp__core_shutdown();
}
