/**
 * @file procpool.h
 * @brief Umbrella header: includes every public procpool header.
 */
#ifndef PROCPOOL_PROCPOOL_H
#define PROCPOOL_PROCPOOL_H

#include "array.h"
#include "clock.h"
#include "common.h"
#include "error.h"
#include "export.h"
#include "init.h"
#include "lock.h"
#include "log.h"
#include "manager.h"
#include "manager_objects.h"
#include "pool.h"
#include "queue.h"
#include "redis.h"
#include "result.h"
#include "shm.h"
#include "sync.h"
#include "task.h"
#include "value.h"

#endif /* PROCPOOL_PROCPOOL_H */
