/**
 * @file clock.h
 * @brief A monotonic clock and a sleep, the same on every platform — what
 *        Python's time.monotonic() and time.sleep() give a task, so that
 *        a program needs nothing but procpool for them.
 */
#ifndef PROCPOOL_CLOCK_H
#define PROCPOOL_CLOCK_H

#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Milliseconds of a monotonic clock (never jumps with the wall
 *        clock). Only differences are meaningful; the clock is the same
 *        for every process of the machine (comparable between a program
 *        and its workers). Needs no pp_init().
 */
PP_API int64_t pp_monotonic_ms(void);

/** @brief The same clock in nanoseconds (its resolution is the system's). */
PP_API int64_t pp_monotonic_ns(void);

/**
 * @brief Sleep the calling thread for ms milliseconds (0 or negative:
 *        return at once; at least ms, more on a loaded machine). Needs no
 *        pp_init().
 */
PP_API void pp_sleep_ms(int64_t ms);

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_CLOCK_H */
