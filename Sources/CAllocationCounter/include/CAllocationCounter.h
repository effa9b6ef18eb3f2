#ifndef GATEROUTER_ALLOCATION_COUNTER_H
#define GATEROUTER_ALLOCATION_COUNTER_H

#include <stdint.h>

/// How many heap allocations (malloc, calloc, realloc, aligned variants) this process has made so far. Only the
/// benchmark executable links this target: it wraps glibc's allocator so micro-benchmarks can report allocations per
/// operation.
uint64_t gaterouter_allocation_count(void);

#endif
