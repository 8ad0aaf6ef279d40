/**
 * @file init.h
 * @brief Library initialisation and process roles.
 *
 * Call pp_init() first in main(), before reading argv. A spawned pool
 * worker (and a fork server or manager server) is a new run of the
 * program whose command line is the parent's with procpool's marker
 * "--pp-role=..." inserted as argv[1]. pp_init() removes the marker (and
 * then runs that role and never returns), so code after it sees exactly
 * the program's own arguments; code before it runs in every spawned
 * process too and sees the marker. Register task functions before
 * pp_init() (or with PP_TASK_REGISTER()); parse arguments after it.
 * (The marker cannot be hidden from code before pp_init(): the OS hands
 * main() the command line, and the role must reach the new process
 * somewhere other than its environment, which its own children would
 * inherit.)
 */
#ifndef PROCPOOL_INIT_H
#define PROCPOOL_INIT_H

#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Initialise procpool; call it first thing in main().
 *
 * In the program's own process it initialises the library (APR included)
 * and returns. In a process started by procpool (a spawned pool worker, a
 * fork server, a manager server) it runs that role and exits the process:
 * it never returns there. This is the C form of Python's
 * `if __name__ == "__main__":` guard — code before pp_init() runs in every
 * spawned worker too, so register task functions before calling it and do
 * the program's real work after it.
 *
 * procpool's own command-line marker ("--pp-role=...", argv[1] in a
 * process procpool started; see the file comment) is removed from *argc /
 * *argv. Code before pp_init() sees it.
 *
 * Calling it again is allowed and does nothing.
 *
 * @param argc pointer to main's argc (may be NULL together with argv: then
 *        spawned workers cannot be started by this program).
 * @param argv pointer to main's argv.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: exactly one of argc/argv is NULL, or a malformed
 *    procpool marker on the command line.
 *  - #PP_EEXIST, #PP_EINVAL, #PP_ENOMEM: a PP_TASK_REGISTER() failed
 *    before main() (see pp_task_register_at_load(); the failure is also
 *    logged with the function's name). Fix the registrations.
 *  - #PP_ENOMEM, #PP_ESYS: initialisation failed (APR or OS).
 */
PP_API pp_status pp_init(int *argc, char ***argv);

/**
 * @brief Release library-wide resources (APR). Optional, at the end of
 *        main(); every pool, lock and shm block must be destroyed first.
 */
PP_API void pp_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_INIT_H */
