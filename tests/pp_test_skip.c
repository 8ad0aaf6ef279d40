/*
 * pp_test_skip.c — THE list of tests that do not run somewhere, with the
 * reason. The runner prints each one as "SKIP suite/test (reason)"; no
 * test is ever left out silently. `pp_tests --run suite/test` still runs a
 * listed test on request (to check whether the entry is still needed).
 *
 * Keep each reason short and factual: what is missing, where.
 */
#include <string.h>

#include "pp_test.h"

typedef struct skip_entry {
    const char *suite;
    const char *test; /* "*": every test of the suite */
    unsigned where;   /* PP_TEST_ON_* bits */
    const char *reason;
} skip_entry;

static const skip_entry g_skips[] = {
    {"manager_net", "t_idle_server_sleeps", PP_TEST_ON_WINDOWS | PP_TEST_ON_MACOS,
     "reads the server's CPU time from Linux's /proc"},
    {"manager_program", "t_program_key_checks", PP_TEST_ON_WINDOWS,
     "Windows: a key file's ACL is not checked (POSIX permission bits)"},
    {"manager_program", "t_program_unix_socket", PP_TEST_ON_WINDOWS,
     "Windows: no Unix domain sockets in APR 1.7"},
    {"manager_net", "t_server_stopped_answering", PP_TEST_ON_WINDOWS,
     "Windows: no SIGSTOP to freeze the server"},
    {"manager_net", "t_local_endpoint_private", PP_TEST_ON_WINDOWS,
     "Windows: the manager's local endpoint is TCP loopback"},
    {"manager_net", "t_local_endpoint_server_killed", PP_TEST_ON_WINDOWS,
     "Windows: the manager's local endpoint is TCP loopback"},
    {"manager_net", "t_local_endpoint_swept", PP_TEST_ON_WINDOWS,
     "Windows: the manager's local endpoint is TCP loopback"},
    {"manager_net", "t_long_address_locator", PP_TEST_ON_WINDOWS,
     "Windows: no Unix domain sockets in APR 1.7 (the long address is a socket path)"},
    {"lock", "t_exclusion_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"results", "t_ints_mixed_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"shm_atomic", "t_workers_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"shm_atomic", "t_workers_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"queue", "t_workers_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"queue", "t_workers_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"queue", "t_initializer_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"queue", "t_initializer_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"queue", "t_inherited_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"array", "t_workers_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"array", "t_workers_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"results", "t_ints_mixed_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"redis", "t_pool_tasks_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"redis", "t_inherited_handle_refused", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"manager_pool", "t_inherited_handle_refused", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"redis", "t_pool_tasks_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"redis", "t_server_restarted", PP_TEST_ON_WINDOWS,
     "the wine test binary cannot restart the Linux redis-server .ci/run started"},
    {"redis_pool", "t_redis_restarted", PP_TEST_ON_WINDOWS,
     "the wine test binary cannot restart the Linux redis-server .ci/run started"},
    {"redis", "t_server_killed_while_waiting", PP_TEST_ON_WINDOWS,
     "the wine test binary uses the Linux redis-server .ci/run started and cannot kill it "
     "(t_silent_server covers a server that does not answer)"},
    {"lock", "t_owner_killed_forked_child_lives", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"lock", "t_forked_child_of_holder_excluded", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_mtx_reset_after_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_mtx_reset_after_fork_own", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"share", "t_named_cache_fork_while_held", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_worker_entry_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_worker_entry_unset", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_prefork_ends_reported", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_fork_worker_fds", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"platform", "t_role_marker_parent_checked", PP_TEST_ON_WINDOWS,
     "the POSIX role marker; Windows passes pipe handles in its own"},
    {"lock_api", "t_name_not_a_lock_posix", PP_TEST_ON_WINDOWS,
     "POSIX shm variant; Windows has t_name_not_a_lock_windows"},
    {"lock_api", "t_name_not_a_lock_windows", PP_TEST_ON_POSIX,
     "Windows kernel object variant; POSIX has t_name_not_a_lock_posix"},
    {"lock_api", "t_open_trusts_header_size_posix", PP_TEST_ON_WINDOWS,
     "resizes POSIX shm objects; Windows sections have no such thing"},
/* pool: fork and forkserver do not exist on Windows (pp_pool_create
 * returns PP_ENOTSUP there, which t_fork_not_on_windows asserts). */
#define PP_SKIP_WIN_METHODS(t)                                                                     \
    {"pool", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                             \
    {                                                                                              \
        "pool", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                      \
    }
    PP_SKIP_WIN_METHODS(t_apply),
    PP_SKIP_WIN_METHODS(t_map_10000),
    PP_SKIP_WIN_METHODS(t_starmap),
    PP_SKIP_WIN_METHODS(t_imap),
    PP_SKIP_WIN_METHODS(t_callbacks),
    PP_SKIP_WIN_METHODS(t_pool_threads),
    PP_SKIP_WIN_METHODS(t_task_error),
    PP_SKIP_WIN_METHODS(t_worker_killed),
    PP_SKIP_WIN_METHODS(t_crashes),
    PP_SKIP_WIN_METHODS(t_maxtasks),
    PP_SKIP_WIN_METHODS(t_channel_outlives_worker),
    PP_SKIP_WIN_METHODS(t_terminate),
    PP_SKIP_WIN_METHODS(t_balance),
    PP_SKIP_WIN_METHODS(t_close),
    PP_SKIP_WIN_METHODS(t_initializer),
    PP_SKIP_WIN_METHODS(t_unregistered),
    PP_SKIP_WIN_METHODS(t_progress),
    PP_SKIP_WIN_METHODS(t_values_roundtrip),
    PP_SKIP_WIN_METHODS(t_parent_killed),
/* share: the same for the lock/shm sharing tests; and they all use locks. */
#define PP_SKIP_WIN_SHARE(t)                                                                       \
    {"share", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                            \
    {                                                                                              \
        "share", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                     \
    }
    PP_SKIP_WIN_SHARE(t_task_arg),
    PP_SKIP_WIN_SHARE(t_initializer),
    PP_SKIP_WIN_SHARE(t_inherited),
    PP_SKIP_WIN_SHARE(t_attach_cached),
    PP_SKIP_WIN_SHARE(t_destroy_while_held),
    {"sync", "t_sem_workers_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync", "t_sem_workers_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync", "t_sem_inherited_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync", "t_sem_fork_child", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync", "t_sem_table_full", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync_wait", "t_meet_workers_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync_wait", "t_meet_workers_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync_wait", "t_cond_workers_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync_wait", "t_cond_workers_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync", "t_recreated_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"sync", "t_recreated_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
/* manager_pool: the same for the manager lock in pool workers. */
#define PP_SKIP_WIN_MANAGER_POOL(t)                                                                \
    {"manager_pool", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                     \
    {                                                                                              \
        "manager_pool", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"              \
    }
    PP_SKIP_WIN_MANAGER_POOL(t_starmap),
    PP_SKIP_WIN_MANAGER_POOL(t_initializer),
    PP_SKIP_WIN_MANAGER_POOL(t_holder_killed),
/* spin: the same for the worker's wait after a sync apply. */
#define PP_SKIP_WIN_SPIN(t)                                                                        \
    {"spin", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                             \
    {                                                                                              \
        "spin", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                      \
    }
    PP_SKIP_WIN_SPIN(t_idle_sleeps),
    PP_SKIP_WIN_SPIN(t_killed_after_apply),
    PP_SKIP_WIN_SPIN(t_close_after_apply),
    PP_SKIP_WIN_SPIN(t_parent_killed_applying),
/* identity: the same; and locks again. */
#define PP_SKIP_WIN_IDENTITY(t)                                                                    \
    {"identity", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                         \
    {                                                                                              \
        "identity", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                  \
    }
    PP_SKIP_WIN_IDENTITY(t_relock),
    PP_SKIP_WIN_IDENTITY(t_reshm),
    PP_SKIP_WIN_IDENTITY(t_stale_item),
    PP_SKIP_WIN_IDENTITY(t_open_recreated),
/* manager_values: the same for every hosted object as a value. */
#define PP_SKIP_WIN_MANAGER_VALUES(t)                                                              \
    {"manager_values", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                   \
    {                                                                                              \
        "manager_values", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"            \
    }
    PP_SKIP_WIN_MANAGER_VALUES(t_queue),
    PP_SKIP_WIN_MANAGER_VALUES(t_value),
    PP_SKIP_WIN_MANAGER_VALUES(t_sem),
    PP_SKIP_WIN_MANAGER_VALUES(t_event),
    PP_SKIP_WIN_MANAGER_VALUES(t_barrier),
    PP_SKIP_WIN_MANAGER_VALUES(t_dict),
    PP_SKIP_WIN_MANAGER_VALUES(t_cond),
    PP_SKIP_WIN_MANAGER_VALUES(t_initializer),
/* supervise: the same for the supervision tests. */
#define PP_SKIP_WIN_SUPERVISE(t)                                                                   \
    {"supervise", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                        \
    {                                                                                              \
        "supervise", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                 \
    }
    PP_SKIP_WIN_SUPERVISE(t_broken_pool_fails_everything),
    PP_SKIP_WIN_SUPERVISE(t_partial_chunk_keeps_results),
    PP_SKIP_WIN_SUPERVISE(t_lazy_chunk_worker_dies),
    PP_SKIP_WIN_SUPERVISE(t_close_while_replacing),
    PP_SKIP_WIN_SUPERVISE(t_killed_starts_are_retried),
    {"supervise", "t_killed_starts_are_retried_spawn", PP_TEST_ON_WINDOWS,
     "Windows does not say who ended a process: a start killed from outside counts as a "
     "failed start there (README, platform notes)"},
    PP_SKIP_WIN_SUPERVISE(t_crash_loop_breaks_pool),
    PP_SKIP_WIN_SUPERVISE(t_start_timeout),
    PP_SKIP_WIN_SUPERVISE(t_stats_and_workers),
    PP_SKIP_WIN_SUPERVISE(t_task_timeout),
    PP_SKIP_WIN_SUPERVISE(t_kill_storm),
    PP_SKIP_WIN_SUPERVISE(t_workers_seeded),
    PP_SKIP_WIN_SUPERVISE(t_cancel_spares_other_jobs),
    PP_SKIP_WIN_SUPERVISE(t_cancel),
    PP_SKIP_WIN_SUPERVISE(t_join_ends_every_process),
    PP_SKIP_WIN_SUPERVISE(t_sent_to_dead_worker_runs_elsewhere),
    PP_SKIP_WIN_SUPERVISE(t_no_stall_behind_busy_worker),
    /* tracker: the POSIX port's resource tracker; Windows needs none. */
    {"tracker", "*", PP_TEST_ON_WINDOWS,
     "POSIX resource tracker; Windows objects go with their last handle"},
    PP_SKIP_WIN_SUPERVISE(t_helper_killed),
    PP_SKIP_WIN_SUPERVISE(t_helper_killed_while_creating),
    PP_SKIP_WIN_SUPERVISE(t_helper_stopped),
    {"supervise", "t_spawn_starts_killed", PP_TEST_ON_WINDOWS,
     "finds the starting workers through /proc or ps"},
    {"supervise", "t_spare_killed_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"manager_failures", "t_connect_waits_for_full_backlog", PP_TEST_ON_WINDOWS,
     "stops the server with SIGSTOP and fills a Unix socket's backlog"},
    {"manager_failures", "t_start_server_hung", PP_TEST_ON_WINDOWS,
     "the server stops itself with SIGSTOP"},
    {"review7", "t_fork_child_submit_mutex_held", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"review7", "t_fork_child_submit_while_busy", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"review7", "t_fork_child_result_get_mutex_held", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"supervise", "t_zygote_and_spare_killed_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"supervise", "t_fork_handlers_in_every_worker", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    PP_SKIP_WIN_SUPERVISE(t_initargs_sizes),
    {"supervise", "t_first_worker_killed_at_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"supervise", "t_zygote_killed_at_first_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"supervise", "t_first_blocks_only_own", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"pool", "t_fork_child_is_not_the_owner", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"pool", "t_blocked_writer_on_dead_worker", PP_TEST_ON_WINDOWS,
     "stops a worker with SIGSTOP and forks in a task"},
/* bigmap: the same for the big-map tests. */
#define PP_SKIP_WIN_BIGMAP(t)                                                                      \
    {"bigmap", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                           \
    {                                                                                              \
        "bigmap", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                    \
    }
    PP_SKIP_WIN_BIGMAP(t_starmap_beyond_one_message),
    PP_SKIP_WIN_BIGMAP(t_stream_map),
    PP_SKIP_WIN_BIGMAP(t_inbox_worker_dies),
    {"bigmap_edge", "t_stream_kill_storm_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    {"bigmap_edge", "t_stream_kill_storm_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"},
    PP_SKIP_WIN_BIGMAP(t_array_map),
/* columns: the same for the column tests. */
#define PP_SKIP_WIN_COLUMNS(t)                                                                     \
    {"columns", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                          \
    {                                                                                              \
        "columns", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                   \
    }
    PP_SKIP_WIN_COLUMNS(t_string_columns),
    PP_SKIP_WIN_COLUMNS(t_bytes_columns),
    PP_SKIP_WIN_COLUMNS(t_scalar_type_change),
    PP_SKIP_WIN_COLUMNS(t_scalar_column_ends),
    PP_SKIP_WIN_COLUMNS(t_sync_lazy_columns),
    PP_SKIP_WIN_COLUMNS(t_string_lengths),
    PP_SKIP_WIN_COLUMNS(t_string_deaths),
/* shmresults: the same for the results-in-place tests. */
#define PP_SKIP_WIN_SHMRESULTS(t)                                                                  \
    {"shmresults", #t "_fork", PP_TEST_ON_WINDOWS, "Windows has no fork()"},                       \
    {                                                                                              \
        "shmresults", #t "_forkserver", PP_TEST_ON_WINDOWS, "Windows has no fork()"                \
    }
    PP_SKIP_WIN_SHMRESULTS(t_maps_in_place),
    PP_SKIP_WIN_SHMRESULTS(t_death_keeps_finished),
    PP_SKIP_WIN_SHMRESULTS(t_random_kills),
    PP_SKIP_WIN_SHMRESULTS(t_general_midway),
    PP_SKIP_WIN_SHMRESULTS(t_channel_path),
    PP_SKIP_WIN_SHMRESULTS(t_recycled_endings),
    PP_SKIP_WIN_SHMRESULTS(t_largest_chunks),
    PP_SKIP_WIN_SHMRESULTS(t_timed_in_place),
    PP_SKIP_WIN_SHMRESULTS(t_concurrent_maps),
    PP_SKIP_WIN_SHMRESULTS(t_cancel_in_place),
    PP_SKIP_WIN_SHMRESULTS(t_imap_starmap),
    PP_SKIP_WIN_SHMRESULTS(t_mixed_endings),
    PP_SKIP_WIN_SHMRESULTS(t_random_kills_mixed),
    {"pool", "t_fork_not_on_windows", PP_TEST_ON_POSIX,
     "asserts PP_ENOTSUP for fork/forkserver, which POSIX has"},
    {NULL, NULL, 0, NULL}};

const char *pp_test_skip_reason(const char *suite, const char *test)
{
    const skip_entry *e;
    unsigned here = pp_test_platform();

    for (e = g_skips; e->suite != NULL; e++) {
        if ((e->where & here) != 0 && strcmp(e->suite, suite) == 0 &&
            (strcmp(e->test, "*") == 0 || strcmp(e->test, test) == 0))
            return e->reason;
    }
    return NULL;
}
