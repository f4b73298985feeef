/* Reading dproc's attributes back from an HDF5 object (provenance, completion, digests). */
#ifndef DP_H5_ATTR_H
#define DP_H5_ATTR_H

#include <hdf5.h>

/* The fixed-length string attribute name of obj, malloc'ed; NULL when absent or not such a
 * string. Local. */
char *dp_h5_string_attr(hid_t obj, const char *name);

/* The integer attribute name of obj, or -1 when absent or unreadable. Local. */
long long dp_h5_int_attr(hid_t obj, const char *name);

#endif
