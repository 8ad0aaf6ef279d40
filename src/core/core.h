/*
 * core.h — what every layer of the portable core (src/) shares: names of
 * shared objects, the library's process-wide state, the APR boundary,
 * logging. Not installed; never included by users.
 *
 * Layers of src/, lowest first (a file includes headers of its own layer
 * and of layers below it, never above; ci/check_layers.py enforces it):
 *   core    this folder: state, errors, log, names, task registry, memory
 *   wire    bytes, frames, messages
 *   sync    named objects: the named cache, locks, shared memory
 *   values  the pp_values tuple, pack/unpack, its wire encoding
 *   pool    pools, jobs, dispatch, supervision, results, the worker loop
 *   manager the manager server role, its protocol, pp_manager_* and the
 *           manager lock backend
 *   init.c  pp_init / pp_shutdown: the one file that wires the layers
 */
#ifndef PROCPOOL_CORE_CORE_H
#define PROCPOOL_CORE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/common.h"
#include "procpool/error.h"
#include "procpool/log.h"

/* Buffer size that holds any valid name plus its NUL. */
#define PP__NAME_BUF (PP_NAME_MAX + 1)

/* PP_OK if name is 1..PP_NAME_MAX chars of [A-Za-z0-9._-], else PP_EINVAL. */
pp_status pp__name_check(const char *name);

/* Write a fresh unpredictable name "pp-<pid>-<seq>-<random>" into buf
 * (PP__NAME_BUF bytes). */
pp_status pp__name_generate(char buf[PP__NAME_BUF]);

/* ------------------------------------------------ process-wide state */

/* Start the port and APR, create the global pool (state.c). Not
 * thread-safe: called by pp_init() only. */
pp_status pp__core_init(void);
/* Undo pp__core_init() (pp_shutdown). */
void pp__core_shutdown(void);
/* Mark the library usable (pp_init, once every layer is up) or not. */
void pp__core_set_initialized(int on);
/* PP_OK once pp_init() has run in this process, PP_ENOTINIT before. */
pp_status pp__check_init(void);
/* Whether pp_init() was given the program's arguments (needed to re-run
 * the program: spawn, forkserver). */
void pp__core_set_have_argv(int on);
int pp__core_have_argv(void);

/* The library's global APR pool (lives from pp_init to pp_shutdown). */
struct apr_pool_t;
struct apr_pool_t *pp__global_pool(void);

/* Map an apr_status_t (passed as int to keep APR out of this header) to a
 * pp_status, recording OS codes for pp_os_error(). */
pp_status pp__from_apr(int apr_status);

/* ------------------------------------------------------------- misc */

/* Copy a NUL-terminated string, truncating to cap - 1 bytes. */
void pp__strlcpy(char *dst, const char *src, size_t cap);

/* Report through the log hook (log.h). */
void pp__log(pp_log_level level, const char *fmt, ...) PP_PRINTF(2, 3);

#endif /* PROCPOOL_CORE_CORE_H */
