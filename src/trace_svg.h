/* dproc plot trace: a run's timeline (the Chrome trace-event JSON of [output] trace) as an SVG
 * Gantt chart. Runs in one process without MPI. */
#ifndef DP_TRACE_SVG_H
#define DP_TRACE_SVG_H

#include <stddef.h>

/* Draws the trace at json_path as svg_path: one group per rank (<g class="rank"
 * data-rank="R">, labelled with the rank's name), one lane per (pid, tid) that has events,
 * time along the bottom in ms or s, each phase ("X" events, by name) in its own colour with a
 * legend of the phases present; other event kinds are ignored. So that a long run of tiny
 * events does not bloat the file: consecutive events of a phase on a lane less than half a
 * pixel apart are one rect; events under a fifth of a pixel inside a drawn rect are left out;
 * what is still narrower than a pixel is summed per pixel column and drawn as runs of columns
 * in the colour of the phase with most time there, each phase's share in the rect's title (at
 * most a few rects per pixel column and lane). The events are parsed one at a time: memory
 * holds the file's text and the events, not a JSON tree of it. Returns 0, or 1 with the reason
 * in err when the trace cannot be read or the picture cannot be written; the SVG appears only
 * when complete. Local (no MPI). */
int dp_trace_svg(const char *json_path, const char *svg_path, char *err, size_t errsz);

#endif
