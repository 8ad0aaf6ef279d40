/*
 * manager.h — what the rest of src/ (init.c) needs of the manager layer:
 * the entry of the manager server role.
 *
 * The layer: mgr_proto.c (frames, deadlines, handshake), mgr_addr.c
 * (addresses, the private local endpoint), mgr_server.c (the server:
 * listener, one thread per connection; a started server's role),
 * mgr_locks.c (the hosted locks), mgr_standalone.c (the procpool-manager
 * program), mgr_client.c (pp_manager_* and the manager lock backend behind
 * sync/lock_backend.h).
 */
#ifndef PROCPOOL_MANAGER_MANAGER_H
#define PROCPOOL_MANAGER_MANAGER_H

#include <stdint.h>

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

#endif /* PROCPOOL_MANAGER_MANAGER_H */
