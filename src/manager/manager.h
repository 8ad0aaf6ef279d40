/*
 * manager.h — what the rest of src/ (init.c) needs of the manager layer:
 * the entry of the manager server role.
 *
 * The layer: mgr_proto.c (frames, deadlines, handshake), mgr_server.c
 * (the server process: listener, one thread per connection, the hosted
 * locks), mgr_client.c (pp_manager_* and the manager lock backend behind
 * sync/lock_backend.h).
 */
#ifndef PROCPOOL_MANAGER_MANAGER_H
#define PROCPOOL_MANAGER_MANAGER_H

#include <stdint.h>

#include "platform.h"

/* The start message on a started server's control channel:
 *   u16 port (0: ephemeral), u16 keylen, key bytes
 * and its answer: i32 status, u16 port listened on. The server runs
 * until the channel ends (its parent closed it or died). */
#define PP__MGR_START_HDR 4u
#define PP__MGR_READY_LEN 6u

/* PP__ROLE_MANAGER's entry (init.c's role table); the exit code. */
int pp__manager_main(pp__plat_chan *chan);

#endif /* PROCPOOL_MANAGER_MANAGER_H */
