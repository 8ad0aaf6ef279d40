/*
 * manager.h — what the rest of src/ (init.c) needs of the manager layer:
 * the entry of the manager server role.
 *
 * The layer: mgr_proto.c (frames, deadlines, handshake, buffered
 * connection I/O), mgr_addr.c (addresses, the private local endpoint),
 * mgr_server.c (the server: listener, one thread per connection; a
 * started server's role), mgr_obj_table.c (the table of hosted objects,
 * requests dispatched to each kind's ops: mgr_obj_lock.c, mgr_obj_sync.c,
 * mgr_obj_data.c), mgr_standalone.c (the procpool-manager program),
 * mgr_client.c (pp_manager_*), mgr_client_lock.c (the manager lock
 * backends behind sync/lock_backend.h), mgr_client_obj.c and
 * mgr_client_data.c (the other kinds' handles), mgr_travel.c (manager
 * locks and proxies that arrive in task arguments: the resolver behind
 * sync/remote.h), mgr_values.c (the other hosted objects' handles as
 * values).
 */
#ifndef PROCPOOL_MANAGER_MANAGER_H
#define PROCPOOL_MANAGER_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "platform.h"

/* The start message on a started server's control channel:
 *   u16 address length, u16 keylen, the address to listen on
 *   ("unix:///..." or "tcp://HOST:PORT", port 0: ephemeral), key bytes
 * and its answer: i32 status, u16 length, the address listened on. The
 * server runs until the channel ends (its parent closed it or died). */
#define PP__MGR_START_HDR 4u
#define PP__MGR_READY_HDR 6u

/* PP__ROLE_MANAGER's entry (init.c's role table); the exit code. */
int pp__manager_main(pp__plat_chan *chan);

/* The procpool-manager program (tools/procpool-manager.c calls it after
 * pp_init()): its command line, its exit code (mgr_standalone.c). */
int pp__manager_standalone_main(int argc, char **argv);

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
