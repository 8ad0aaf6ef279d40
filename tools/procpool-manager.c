/*
 * procpool-manager — a standalone manager server (see --help, and
 * pp__manager_standalone_main in src/manager/mgr_standalone.c). Locks it
 * hosts are used with pp_manager_connect() from any program that has the
 * address and the key.
 */
#include "procpool/init.h"
#include "manager/manager.h"

int main(int argc, char **argv)
{
    int rc;

    /* argv is ours to parse: pp_init() only needs it to tell roles. */
    if (pp_init(&argc, &argv) != PP_OK)
        return 1;
    rc = pp__manager_standalone_main(argc, argv);
    pp_shutdown();
    return rc;
}
