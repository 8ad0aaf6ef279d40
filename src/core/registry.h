/*
 * registry.h — task functions by name (the public side is in
 * procpool/task.h: pp_task_register, pp_task_name).
 */
#ifndef PROCPOOL_CORE_REGISTRY_H
#define PROCPOOL_CORE_REGISTRY_H

#include <stddef.h>

#include "procpool/task.h"

/* The function registered under the len bytes at name (not NUL-
 * terminated), or NULL; *stored_name (if not NULL) gets the registry's
 * copy of the name, valid for the life of the process. */
pp_task_fn pp__registry_find(const char *name, size_t len, const char **stored_name);

/* The first failed load-time registration (pp_task_register_at_load):
 * its status (PP_OK if none failed) and, in *name, the function's name. */
pp_status pp__registry_load_status(const char **name);

#endif /* PROCPOOL_CORE_REGISTRY_H */
