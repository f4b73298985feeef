#ifndef DP_PUBLISH_H
#define DP_PUBLISH_H

#include "err.h"

#include <stddef.h>

/* An output file is written under a temporary name beside its final one and renamed into place
 * only when complete, so that a reader never sees a partial file under the final name. */

/* The temporary name of an output being written to path by process pid: a hidden file in the
 * same directory. Local. */
void dp_publish_tmp_name(const char *path, long long pid, char *out, size_t size);

/* Puts the finished file tmp under its final name; without overwrite, a file that appeared
 * there since the job was checked is not replaced. Local. */
dp_status_t dp_publish(const char *tmp, const char *final, int overwrite);

#endif
