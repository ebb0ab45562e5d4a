#include "ingest/tracebench_csv.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "align/trace_sequences.h"

namespace triad {
namespace {

// One "fs -touchz" task as MTracer records it: the client (clock ~1.7e15)
// and the namenode (clock ~3.5e15) have different nanoTime origins; the RPC
// client reuses one TID for its three calls.
constexpr char kEvents[] =
    "TaskID,TID,OpName,StartTime,EndTime,HostAddress,HostName,Agent,Description\n"
    "T1,7E,getFileInfo,3548223636477378,3548223637252327,10.0.0.57,namenode,Namenode,Success: "
    "return(OW[class=class x.HdfsFileStatus,value=null])\n"
    "T1,42,RPC:getFileInfo,1736172811860232,1736172814889606,10.0.0.112,client001,RPC Client,"
    "Success: return(OW[class=x,value=null])\n"
    "T1,3A,create,3548223649157863,3548223651893529,10.0.0.57,namenode,Namenode,Success: ok\n"
    "T1,42,RPC:create,1736172824402165,1736172828335755,10.0.0.112,client001,RPC Client,Success: ok\n"
    "T1,A1,complete,3548223656103887,3548223657815459,10.0.0.57,namenode,Namenode,IOException: "
    "java.net.ConnectException: refused, retry\n"
    "T1,42,RPC:complete,1736172830678421,1736172834247392,10.0.0.112,client001,RPC Client,Success: ok\n"
    "T1,8E,fs -touchz,1736172809072841,1736172834332136,10.0.0.112,client001,User,A user task\n"
    "T1,8E,broken,notanumber,5,10.0.0.112,client001,User,x\n"
    "T1,99\n";
constexpr char kEdges[] =
    "TaskID,FatherTID,FatherStartTime,ChildTID\n"
    "T1,42,1736172811860232,7E\n"
    "T1,8E,1736172809072841,42\n"
    "T1,42,1736172824402165,3A\n"
    "T1,42,1736172830678421,A1\n"
    "T1,0000000000000000,0,8E\n";
constexpr char kTraces[] =
    "TaskID,Title,NumReports,NumEdges,FirstSeen,LastUpdated,StartTime,EndTime\n"
    "T1,fs -touchz,7,5,2013-10-28 23:12:30,2013-10-28 23:12:30,1736172809072841,1736172834332136\n";

TEST(TraceBenchCsv, ParentsClockAlignmentAndWallClock) {
  auto ev = LineReader::FromString(kEvents);
  auto ed = LineReader::FromString(kEdges);
  auto tr = LineReader::FromString(kTraces);
  CollectingSink sink;
  ReadStats st;
  ASSERT_TRUE(ReadTraceBench(*ev, ed.get(), tr.get(), {}, sink, &st).ok());
  EXPECT_EQ(st.skipped, 2u);  // bad time, too few fields
  ASSERT_EQ(sink.spans.size(), 7u);
  auto traces = AssembleTraces(sink.spans, nullptr);
  ASSERT_EQ(traces.size(), 1u);
  const Trace& t = traces[0];
  EXPECT_EQ(t.orphans, 0u);
  std::vector<std::string> names;
  for (const Span& s : t.spans) names.push_back(s.name);
  // Execution order after clock alignment: each namenode call inside its RPC.
  EXPECT_EQ(names, (std::vector<std::string>{"fs -touchz", "RPC:getFileInfo", "getFileInfo",
                                             "RPC:create", "create", "RPC:complete", "complete"}));
  for (size_t i = 1; i < t.size(); ++i) {
    ASSERT_GE(t.parent[i], 0) << i;
    const Span& p = t.spans[t.parent[i]];
    EXPECT_GE(t.spans[i].start, p.start) << t.spans[i].name;
    EXPECT_LE(t.spans[i].end, p.end) << t.spans[i].name;
  }
  EXPECT_EQ(t.spans[2].parent_span_id, "42@1736172811860232");
  EXPECT_EQ(t.spans[0].service, "User");
  EXPECT_EQ(t.spans[0].host, "client001");
  EXPECT_EQ(t.spans[0].status, SpanStatus::kUnset);
  EXPECT_EQ(t.spans[1].status, SpanStatus::kOk);
  EXPECT_EQ(t.spans[6].status, SpanStatus::kError);
  // Description keeps its commas.
  EXPECT_EQ(*FindAttribute(t.spans[6].attributes, "description"),
            "IOException: java.net.ConnectException: refused, retry");
  EXPECT_EQ(*FindAttribute(t.spans[0].attributes, "tracebench.title"), "fs -touchz");
  // Durations are unchanged; the trace starts at FirstSeen (UTC).
  EXPECT_EQ(t.spans[2].duration(), 3548223637252327 - 3548223636477378);
  EXPECT_EQ(t.start(), 1383001950LL * kNsPerSec);  // 2013-10-28T23:12:30Z
  EXPECT_EQ(EventLabel(t.spans[2]), "Namenode_getFileInfo");
  EXPECT_EQ(EventLabel(t.spans[6]), "Namenode_complete_err");
}

TEST(TraceBenchCsv, RawTimesWithoutAlignmentAndMissingColumns) {
  auto ev = LineReader::FromString(kEvents);
  CollectingSink sink;
  TraceBenchOptions o;
  o.align_clocks = false;
  o.wall_clock = false;
  ASSERT_TRUE(ReadTraceBench(*ev, nullptr, nullptr, o, sink, nullptr).ok());
  ASSERT_EQ(sink.spans.size(), 7u);
  EXPECT_EQ(sink.spans[0].start, 3548223636477378);
  for (const Span& s : sink.spans) EXPECT_TRUE(s.parent_span_id.empty());
  auto bad = LineReader::FromString("TaskID,OpName\nT1,x\n");
  EXPECT_FALSE(ReadTraceBench(*bad, nullptr, nullptr, o, sink, nullptr).ok());
  EXPECT_EQ(ReadTraceBenchDir("/nonexistent", o, sink, nullptr).code(), Status::Code::kNotFound);
}

TEST(TraceBenchCsvRealData, NormalRpcScenario) {
  const std::string root = std::string(TRIAD_SHARED_DATA_DIR) + "/traces/tracebench_hdfs";
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) GTEST_SKIP() << "TraceBench not present";
  for (const char* scen : {"NM_CL_rpc_01C_0to0INT_10RT_1WT",
                           "AN_Proc_killDN_w_50FDN_30C_1to19B_0to600INT_15RT_5WT"}) {
    const std::string dir = root + "/" + scen;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    CollectingSink sink;
    ReadStats st;
    ASSERT_TRUE(ReadTraceBenchDir(dir, {}, sink, &st).ok());
    EXPECT_EQ(st.skipped, 0u);
    TraceAssemblyStats as;
    auto traces = AssembleTraces(std::move(sink.spans), &as);
    ASSERT_GT(traces.size(), 10u);
    uint64_t pairs = 0, nested = 0;
    std::map<size_t, uint64_t> lens;
    std::map<std::string, uint64_t> labels;
    for (const Trace& t : traces) {
      ++lens[t.size()];
      for (size_t i = 0; i < t.size(); ++i) {
        labels[EventLabel(t.spans[i])]++;
        if (t.parent[i] < 0) continue;
        const Span& p = t.spans[t.parent[i]];
        ++pairs;
        nested += t.spans[i].start >= p.start && t.spans[i].end <= p.end;
      }
    }
    std::string hist;
    for (const auto& [l, c] : lens) hist += fmt::format(" {}:{}", l, c);
    std::printf("%s: %s; %s\n  %llu/%llu children inside their parent after clock alignment; "
                "%zu labels; lengths:%s\n",
                scen, st.Summary().c_str(), as.Summary().c_str(), (unsigned long long)nested,
                (unsigned long long)pairs, labels.size(), hist.c_str());
    EXPECT_LT(as.orphans * 20, st.records);  // parents resolve for > 95% of events
    EXPECT_GT(pairs, 0u);
    EXPECT_GE(nested * 10, pairs * 9);
  }
}

}  // namespace
}  // namespace triad
