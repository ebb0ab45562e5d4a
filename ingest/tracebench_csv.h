// Reader for TraceBench (Zhou et al., CloudCom'14; loghub HDFS_v3), one
// scenario folder: event.csv (TaskID, TID, OpName, StartTime, EndTime,
// HostAddress, HostName, Agent, Description), edge.csv (TaskID, FatherTID,
// FatherStartTime, ChildTID), trace.csv (TaskID, Title, ..., FirstSeen, ...);
// each file plain or with ".gz" added.
//
// Mapping: trace_id = TaskID; span_id = "<TID>@<StartTime>" (MTracer reuses
// a TID for several events, e.g. the RPC client of one task); service =
// Agent ("Namenode", "RPC Client", "DFSClient", "User", ...); name = OpName;
// host = HostName; instance = HostAddress; status Ok when Description starts
// with "Success", Error when it holds "Exception", "Error" or "Fail" ("A user
// task" and others: Unset); attributes "description" (first 512 bytes) and,
// on roots, "tracebench.title". Description is the last column and may hold
// unquoted commas: everything after the 8th comma belongs to it.
//
// Parents: an event (TID c, StartTime s) gets its parent from the edges whose
// ChildTID is c: the father event is (FatherTID, FatherStartTime); FatherTID
// 0000000000000000 marks a root. When a TID has k events and k edges, the
// i-th event (by start) takes the i-th edge (by father start); otherwise the
// first edge. An edge whose father event is absent leaves a dangling parent id
// (an orphan for align/).
//
// Times: StartTime/EndTime are nanoseconds of each JVM's own monotonic clock
// (System.nanoTime), so hosts do not share an origin. With align_clocks, every
// event whose parent ran on another host is shifted so that it is centred in
// its parent (the usual skew correction; one offset per host would not do:
// the hosts' clocks drift apart within a trace), and its same-host
// descendants move with it; with wall_clock, the trace is then moved so that it starts at
// trace.csv's FirstSeen (UTC assumed; second resolution). Without them the
// raw values are kept.
//
// A whole folder is read into memory (the largest holds ~23k events). Rows
// with a wrong field count or unparseable times are counted skips.
#ifndef TRIAD_INGEST_TRACEBENCH_CSV_H_
#define TRIAD_INGEST_TRACEBENCH_CSV_H_

#include <string>

#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct TraceBenchOptions {
  bool align_clocks = true;
  bool wall_clock = true;
};

// `edges` and `traces` may be null. Emits spans grouped by trace, each trace's
// spans in input order. `stats` may be null. Returns non-OK iff `events` lacks
// a required column or cannot be read.
Status ReadTraceBench(LineReader& events, LineReader* edges, LineReader* traces,
                      const TraceBenchOptions& opts, TelemetrySink& sink, ReadStats* stats);

// Reads DIR/event.csv[.gz] with DIR/edge.csv[.gz] and DIR/trace.csv[.gz] when present.
// NotFound if there is no event file.
Status ReadTraceBenchDir(const std::string& dir, const TraceBenchOptions& opts,
                         TelemetrySink& sink, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_TRACEBENCH_CSV_H_
