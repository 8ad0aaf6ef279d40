/**
 * @file init.h
 * @brief Library initialisation and process roles.
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
 * procpool's own command-line marker is removed from *argc / *argv, so a
 * worker's main() sees the same arguments as the parent's.
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
