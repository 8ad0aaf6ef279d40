/*
 * pp_internal.h — declarations shared by the portable core (src/).
 * Not installed; never included by users.
 */
#ifndef PROCPOOL_INTERNAL_H
#define PROCPOOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/common.h"
#include "procpool/error.h"

/* Buffer size that holds any valid name plus its NUL. */
#define PP__NAME_BUF (PP_NAME_MAX + 1)

/* PP_OK if name is 1..PP_NAME_MAX chars of [A-Za-z0-9._-], else PP_EINVAL. */
pp_status pp__name_check(const char *name);

/* Write a fresh unpredictable name "pp-<pid>-<seq>-<random>" into buf
 * (PP__NAME_BUF bytes). */
pp_status pp__name_generate(char buf[PP__NAME_BUF]);

/* The worker loop (worker.c): serve tasks on chan until the parent closes
 * it; returns the worker's exit code. pp_init() registers it as the
 * platform's worker entry and runs it in a spawned worker. */
struct pp__plat_chan;
int pp__worker_main(struct pp__plat_chan *chan);

/* PP_OK once pp_init() has run in this process, PP_ENOTINIT before. */
pp_status pp__check_init(void);

/* Map an apr_status_t (passed as int to keep APR out of this header) to a
 * pp_status, recording OS codes for pp_os_error(). */
pp_status pp__from_apr(int apr_status);

/* Process-wide library state, created by pp_init(). */
struct apr_pool_t;
struct apr_thread_mutex_t;
struct apr_pool_t *pp__global_pool(void);

/* Lock cache teardown at pp_shutdown(). */
void pp__lock_cache_shutdown(void);
pp_status pp__lock_cache_init(void);
/* The same for shared memory blocks (shm.c). */
void pp__shm_cache_shutdown(void);
pp_status pp__shm_cache_init(void);


#include "procpool/log.h"
/* Copy a NUL-terminated string, truncating to cap - 1 bytes. */
void pp__strlcpy(char *dst, const char *src, size_t cap);

/* Report through the log hook (log.h). */
void pp__log(pp_log_level level, const char *fmt, ...) PP_PRINTF(2, 3);

#endif /* PROCPOOL_INTERNAL_H */
