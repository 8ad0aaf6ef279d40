/*
 * task_internal.h — the task execution context shared by task.c
 * (public pp_task_* accessors) and worker.c (which runs tasks).
 */
#ifndef PROCPOOL_POOL_TASK_INTERNAL_H
#define PROCPOOL_POOL_TASK_INTERNAL_H

#include "procpool/task.h"
#include "wire/msg.h"

struct pp_task {
    const pp_values *args;
    pp_values *result;
    uint64_t index;
    int failed;
    pp_status status; /* PP_ETASK, or the library status the task returned */
    int code;
    char message[PP__ERRMSG_MAX + 1];
};

#endif /* PROCPOOL_POOL_TASK_INTERNAL_H */
