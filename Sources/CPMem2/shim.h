#pragma once
#include <libpmem2.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

/* pmem2_perror is variadic; Swift reads pmem2_errormsg() instead. */
static inline const char *pmt_pmem2_errormsg(void) { return pmem2_errormsg(); }
