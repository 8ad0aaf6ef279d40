/**
 * @file task.h
 * @brief Task functions: the code a pool worker runs, and their registry.
 *
 * A task function receives its argument tuple and fills a result tuple:
 *
 * @code
 * static int square(pp_task *t)
 * {
 *     int64_t x;
 *     if (pp_values_unpack(pp_task_args(t), "l", &x) != PP_OK)
 *         return pp_task_fail(t, 1, "square expects one integer");
 *     return pp_values_add_int(pp_task_result(t), x * x);
 * }
 * @endcode
 *
 * Returning 0 means success. Returning non-zero fails the task: the caller
 * sees #PP_ETASK with the code and message given to pp_task_fail(), or the
 * returned code and a generic message. A task that returns a procpool
 * status it got from a library call (`return pp_values_add_bytes(...)`
 * failing with #PP_ETOOBIG, say) fails with that status instead of
 * #PP_ETASK, its name in the message and the value in the code.
 *
 * Registration: workers started with the spawn or forkserver method are
 * fresh processes, where function pointers of the parent mean nothing, so
 * task functions are sent by their registered name. Register every task
 * function before pp_init() (in main() or with PP_TASK_REGISTER()), so the
 * worker, which runs main() up to pp_init(), has the same registry.
 * Under the fork method an unregistered function also works (the worker
 * is a copy of the parent), but registering keeps the program portable.
 *
 * Randomness: every worker process seeds rand() (srand) from random bytes
 * when it starts, so workers do not repeat each other's or the parent's
 * sequence (as Python reseeds after fork).
 */
#ifndef PROCPOOL_TASK_H
#define PROCPOOL_TASK_H

#include <stdint.h>

#include "error.h"
#include "export.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Context of one task execution in a worker; valid during the call only. */
typedef struct pp_task pp_task;

/** A task function. Return 0 on success, non-zero on failure. */
typedef int (*pp_task_fn)(pp_task *task);

/** Longest task name, without NUL. Names use [A-Za-z0-9._:-]. */
#define PP_TASK_NAME_MAX 63

/**
 * @brief Register fn under name. Call before pp_init() (see file comment).
 *
 * Registering the same (name, fn) pair again is a no-op.
 *
 * Errors the caller must handle:
 *  - #PP_EINVAL: NULL fn, empty/too long name or a character outside
 *    [A-Za-z0-9._:-].
 *  - #PP_EEXIST: name is registered to another function, or fn is
 *    registered under another name.
 *  - #PP_ENOMEM.
 */
PP_API pp_status pp_task_register(const char *name, pp_task_fn fn);

/** @brief The registered name of fn, or NULL. */
PP_API const char *pp_task_name(pp_task_fn fn);

/** @brief The task's argument tuple (never NULL; may be empty). Borrowed. */
PP_API const pp_values *pp_task_args(const pp_task *task);

/** @brief The task's result tuple to append to (never NULL). Borrowed. */
PP_API pp_values *pp_task_result(pp_task *task);

/** @brief Index of this item within its map/starmap/imap call (0 for apply). */
PP_API uint64_t pp_task_index(const pp_task *task);

/**
 * @brief Mark the task failed with a code and a printf-style message.
 *
 * The message (truncated to 255 bytes) and code reach the caller of
 * pp_result_get() & co. with status #PP_ETASK.
 * @return code if non-zero, else 1 — so `return pp_task_fail(...)` fails
 *         the task.
 */
PP_API int pp_task_fail(pp_task *task, int code, const char *fmt, ...) PP_PRINTF(3, 4);

/**
 * @brief Register fn under name at load time (what PP_TASK_REGISTER()
 *        expands to); use pp_task_register() in your own code.
 *
 * Like pp_task_register(), but a failure cannot be returned to anybody
 * before main() runs: the first one is kept, and pp_init() logs it
 * (PP_LOG_ERROR, naming the function) and returns its status, so a
 * program whose load-time registration failed never starts a pool with a
 * registry its workers do not share.
 *
 * @return the status of pp_task_register().
 */
PP_API pp_status pp_task_register_at_load(const char *name, pp_task_fn fn);

/*
 * PP_TASK_REGISTER(fn): register fn under its own name before main() runs,
 * using a constructor (GCC/Clang) or a .CRT$XCU initializer (MSVC). Use at
 * file scope after the function's definition, once per function.
 *
 * MSVC keeps an initializer only if something refers to it: the pointer
 * in .CRT$XCU is an external symbol that the linker is told to keep
 * (/include; C symbols carry a leading underscore on 32-bit x86 only).
 * It is __declspec(selectany), so registering one function from two
 * translation units links (one registration runs; registering the same
 * pair twice is a no-op anyway) instead of failing with a duplicate
 * symbol. Failures are reported by pp_init() (pp_task_register_at_load()).
 * With MSVC, two translation units registering two *different* static
 * functions under one name keep only one registration (the other function
 * is then refused at submission with PP_ENOTREGISTERED); with GCC/Clang
 * pp_init() reports PP_EEXIST. Give task functions unique names.
 */
#if defined(__cplusplus)
/* C++ (any compiler): a namespace-scope static initialised by a call runs
 * before main(), needs no section or linker pragma (whose symbol names C++
 * would mangle). */
#define PP__CTOR(f)                                                                                \
    static void f(void);                                                                           \
    static const int f##_run = (f(), 0);                                                           \
    static void f(void)
#elif defined(_MSC_VER)
#if defined(_M_IX86)
#define PP__SYM_PREFIX "_"
#else
#define PP__SYM_PREFIX ""
#endif
#pragma section(".CRT$XCU", read)
#define PP__CTOR(f)                                                                                \
    static void f(void);                                                                           \
    __declspec(allocate(".CRT$XCU")) __declspec(selectany) void (*f##_ptr)(void) = f;              \
    __pragma(comment(linker, "/include:" PP__SYM_PREFIX #f "_ptr")) static void f(void)
#else
#define PP__CTOR(f)                                                                                \
    static void f(void) __attribute__((constructor));                                              \
    static void f(void)
#endif
#define PP_TASK_REGISTER(fn)                                                                       \
    PP__CTOR(pp__register_##fn)                                                                    \
    {                                                                                              \
        (void)pp_task_register_at_load(#fn, fn);                                                   \
    }

#ifdef __cplusplus
}
#endif

#endif /* PROCPOOL_TASK_H */
