#include "publish.h"

#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Puts the finished file under its final name. Without overwrite, a file that appeared there
 * since the job was checked is not replaced: link() fails where rename() would clobber it. */
dp_status_t dp_publish(const char *tmp, const char *final, int overwrite)
{
    DP_CHECK(!dp_fault_hit(DP_FAULT_RENAME), DP_ERR_IO,
             "cannot put the output at '%s': injected fault (DPROC_FAULT)", final);
    if (overwrite) {
        if (rename(tmp, final) != 0)
            return dp_err_set(DP_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, final,
                              strerror(errno));
        return DP_OK;
    }
    if (link(tmp, final) != 0)
        return dp_err_set(DP_ERR_IO, "cannot put the output at '%s': %s%s", final, strerror(errno),
                          errno == EEXIST ? " (it appeared while the job ran; overwrite = false)"
                                          : "");
    unlink(tmp);
    return DP_OK;
}

void dp_publish_tmp_name(const char *path, long long pid, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    snprintf(out, size, "%.*s.%s.dproc-tmp-%lld", dirlen, path, slash ? slash + 1 : path, pid);
}
