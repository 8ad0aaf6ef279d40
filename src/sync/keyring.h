/*
 * keyring.h — the keys this process knows for the managers it may reach,
 * and the program key; how they reach pool workers (the HELLO frame).
 *
 * Like Python's inherited authkey: the root program makes one random
 * program key (lazily: the first manager started without a key option, or
 * the first worker started, whichever comes first) and every worker
 * inherits it in its HELLO frame, on every start method and also for
 * replacement workers — never through task arguments, argv or the
 * environment. Managers with a key of their own (a key option, or
 * reached by pp_manager_connect()) add an address -> key pair; the pairs
 * travel in HELLO too, so workers started after the pair was added know
 * it. A worker looks a manager's address up here, and falls back to the
 * program key.
 *
 * Encoding in HELLO (first in its payload):
 *   u8 flags (bit 0: a program key follows), [PP__PROGRAM_KEY_LEN bytes],
 *   u8 count (<= PP__KEYRING_MAX), count x (u8 n + n address bytes,
 *   u16 m (1..PP__KEY_MAX) + m key bytes)
 *
 * Keys are wiped (sodium_memzero) when replaced or forgotten, and at
 * pp_shutdown. Thread-safe; usable in a forked child (the mutex is reset).
 */
#ifndef PROCPOOL_SYNC_KEYRING_H
#define PROCPOOL_SYNC_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "wire/buf.h"

#define PP__PROGRAM_KEY_LEN 32u
#define PP__KEY_MAX         256u /* PP_MANAGER_KEY_MAX */
#define PP__KEYRING_MAX     64u  /* address -> key pairs; the oldest goes first */
#define PP__KEYRING_ADDR    128u /* address bytes + NUL (PP_MANAGER_ADDR_MAX) */
/* Largest encoding: what HELLO must leave room for. */
#define PP__KEYRING_ENC_MAX                                                                        \
    (2u + PP__PROGRAM_KEY_LEN + PP__KEYRING_MAX * (1u + PP__KEYRING_ADDR + 2u + PP__KEY_MAX))

pp_status pp__keyring_init(void);
void pp__keyring_shutdown(void);

/* Copy the program key into out, creating it first if this process has
 * none (random bytes). */
pp_status pp__keyring_program_key(uint8_t out[PP__PROGRAM_KEY_LEN]);

/* Remember (or replace) the key of the manager at addr. PP_EINVAL for an
 * address or key too long or empty. */
pp_status pp__keyring_put(const char *addr, const void *key, size_t keylen);

/* Forget addr's key (the manager is gone, or uses the program key). */
void pp__keyring_forget(const char *addr);

/* The key to use for addr: its own (*is_program 0) or the program key
 * (*is_program 1). PP_ENOENT if this process has neither; never creates
 * the program key. key has PP__KEY_MAX bytes. */
pp_status pp__keyring_find(const char *addr, uint8_t *key, size_t *keylen, int *is_program);

/* Append everything (creating the program key first) for a HELLO frame.
 * Reserve first: no copy of a key is left behind by a reallocation. */
pp_status pp__keyring_encode(pp__buf *b);
size_t pp__keyring_encoded_size(void);

/* Read a HELLO's keyring and learn it (the program key replaces ours;
 * pairs are added). PP_EPROTO (reader unmoved, nothing learnt) if
 * malformed. */
pp_status pp__keyring_decode(pp__rd *r);

/* Zero n bytes at p in a way the compiler keeps. */
void pp__keyring_wipe(void *p, size_t n);

#endif /* PROCPOOL_SYNC_KEYRING_H */
