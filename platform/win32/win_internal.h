/*
 * win_internal.h — helpers shared by the Win32 port's files (never used by
 * src/). Prefix pp__win_.
 */
#ifndef PROCPOOL_WIN_INTERNAL_H
#define PROCPOOL_WIN_INTERNAL_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "procpool/common.h"

/* Thread-local storage class. MSVC's C compiler does not reliably accept
 * _Thread_local; GCC (mingw) ignores __declspec(thread). */
#if defined(_MSC_VER)
#define PP__WIN_TLS __declspec(thread)
#else
#define PP__WIN_TLS _Thread_local
#endif

/* Longest object name we build: "Local\procpool-lock-" + PP_NAME_MAX + NUL. */
#define PP__WIN_OBJNAME_MAX 64

/* The <kind> of the names of locks (their name record, win_mutex.c) and
 * shm blocks (win_shm.c): one namespace for both, as on POSIX, so a
 * lock's name cannot be created as a block (PP_EEXIST) nor opened as one
 * (PP_EINVAL: the record's magic is not a block's), and the reverse. */
#define PP__WIN_NAMED_KIND "obj"

/* Record GetLastError() as the thread's OS error and return its mapping. */
pp_status pp__win_fail_last(void);

/* Build L"Local\\procpool-<kind>-<name>" into out[PP__WIN_OBJNAME_MAX].
 * PP_EINVAL if name is NULL, empty, too long or not [A-Za-z0-9._-]. */
pp_status pp__win_object_name(const char *kind, const char *name, wchar_t *out);

/* ---- named file mappings (win_map.c) ---- */

/* Create the pagefile-backed mapping wname of size bytes (zero-filled)
 * exclusively and map a read/write view of all of it. PP_EEXIST if the
 * name is taken, by a mapping or by another kind of kernel object;
 * otherwise the mapped OS error. On success *map and *view belong to the
 * caller (UnmapViewOfFile, CloseHandle). */
pp_status pp__win_map_create(const wchar_t *wname, uint64_t size, HANDLE *map, void **view);

/* Mark the procpool record that starts the mapping wname unlinked: its
 * first word must be magic, its LONG flag sits at unlinked_off. PP_OK
 * also when the mapping is absent (never created, or its last handle
 * closed, which on Windows removes the name: both mean "unlinked", so
 * close-then-unlink behaves as on POSIX); PP_EINVAL for a mapping that is
 * not ours (foreign memory is left alone). */
pp_status pp__win_mark_unlinked(const wchar_t *wname, uint32_t magic, size_t unlinked_off);

/* WaitForSingleObject with an int64 millisecond timeout (PP_INFINITE or
 * >= 0); longer timeouts than a DWORD can express are waited in slices.
 * Returns the WaitForSingleObject result (WAIT_FAILED keeps GetLastError). */
DWORD pp__win_wait(HANDLE h, int64_t timeout_ms);

/* How long an opener waits for a creator that has not published a named
 * object's header yet (POSIX port: the same grace period). */
#define PP__WIN_READY_GRACE_MS 1000

/* Wait up to PP__WIN_READY_GRACE_MS for *word == value (acquire read; the
 * word may be in a read-only view). 1 if it became so, 0 if not. */
int pp__win_wait_word(volatile LONG *word, LONG value);

/* A never-reused, never-zero token of the calling thread (process-wide
 * counter kept in thread-local storage). Unlike GetCurrentThreadId() it
 * cannot be inherited by a new thread after the old one exits, so a stale
 * owner word can never look like "the caller holds it". */
uint64_t pp__win_thread_token(void);

/* ---- channels (win_chan.c) ---- */

/* Create a connected duplex channel. *parent is the caller's end; *child is
 * the other end as a raw overlapped pipe handle, NOT inheritable, owned by
 * the caller (close it once it has been handed to the worker). */
pp_status pp__win_chan_pair(pp__plat_chan **parent, HANDLE *child);

/* Wrap handle(s) a worker inherited. rd may equal wr (one duplex handle).
 * The handles must be overlapped pipe handles; they are owned by the
 * channel afterwards (also on failure they are left to the caller). */
pp_status pp__win_chan_adopt(HANDLE rd, HANDLE wr, pp__plat_chan **out);

/* Make c's reads and writes also end (PP_ECONNLOST) when `process`, the
 * peer, has exited and nothing it wrote is left to read; c keeps its own
 * handle to it. Once per channel (PP_EINVAL otherwise). */
pp_status pp__win_chan_watch(pp__plat_chan *c, HANDLE process);

/* ---- saved argv (win_role.c) ---- */

/* Copy of the program's arguments for spawning, as wide strings (the
 * role marker removed). Returns a NULL-terminated array valid until the
 * matching pp__win_saved_args_release(); *argc_out receives its length,
 * 0 if pp__plat_role_detect() never ran. Holds a shared lock meanwhile. */
const wchar_t *const *pp__win_saved_args_acquire(int *argc_out);
void pp__win_saved_args_release(void);

/* ---- command line (win_cmdline.c) ---- */

/* Build "argv0 marker args[1..]" quoted for CommandLineToArgvW / the CRT.
 * argv0 is quoted without escapes (as the CRT parses it); marker is
 * inserted verbatim as argument 1 (may be NULL). Returns a malloc'ed
 * string or NULL (PP_ENOMEM / PP_EINVAL reported through *st). */
wchar_t *pp__win_build_cmdline(const wchar_t *argv0, const wchar_t *marker,
                               const wchar_t *const *args, int nargs, pp_status *st);

/* Marker prefix put in argv[1] of a spawned worker. */
#define PP__WIN_ROLE_PREFIX         "--pp-role="
#define PP__WIN_ROLE_WORKER_PREFIX  "--pp-role=worker:"
#define PP__WIN_ROLE_MANAGER_PREFIX "--pp-role=manager:"

/* Exit code a worker gets from pp__plat_proc_kill(): distinctive so logs
 * tell "killed by the pool" from a crash (0xC0000005...) or exit(1). */
#define PP__WIN_KILL_EXIT_CODE 0xDEADu

#endif /* PROCPOOL_WIN_INTERNAL_H */
