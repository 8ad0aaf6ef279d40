/*
 * manager.h — what the rest of src/ (init.c) needs of the manager layer:
 * the entry of the manager server role.
 *
 * The layer: mgr_proto.c (frames, deadlines, handshake), mgr_server.c
 * (the server process: listener, one thread per connection, the hosted
 * locks), mgr_client.c (pp_manager_* and the manager lock backend behind
 * sync/lock_backend.h), mgr_travel.c (manager locks and proxies that
 * arrive in task arguments: the resolver behind sync/remote.h),
 * mgr_values.c (the other hosted objects' handles as values).
 */
#ifndef PROCPOOL_MANAGER_MANAGER_H
#define PROCPOOL_MANAGER_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "platform.h"

/* The start message on a started server's control channel:
 *   u16 port (0: ephemeral), u16 keylen, key bytes
 * and its answer: i32 status, u16 port listened on. The server runs
 * until the channel ends (its parent closed it or died). */
#define PP__MGR_START_HDR 4u
#define PP__MGR_READY_LEN 6u

/* PP__ROLE_MANAGER's entry (init.c's role table); the exit code. */
int pp__manager_main(pp__plat_chan *chan);

/* Manager locks and proxies in task arguments (mgr_travel.c): register the resolver
 * of sync/remote.h (pp_init); close the connections it made and forget
 * it (pp_shutdown). */
pp_status pp__manager_travel_init(void);
void pp__manager_travel_shutdown(void);

/* pp_manager_connect() without adding the key to the keyring. */
struct pp_manager;
pp_status pp__manager_open(const char *address, const void *key, size_t keylen,
                           struct pp_manager **out);
/* The server's instance nonce (mgr_proto.h, WELCOME). */
uint64_t pp__manager_instance(const struct pp_manager *mgr);

#endif /* PROCPOOL_MANAGER_MANAGER_H */
