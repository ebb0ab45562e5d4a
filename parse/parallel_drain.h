// Parallel Drain: parses batches of messages on several threads with results
// identical to a single-thread DrainParser::Add() loop over the same messages
// in the same order (same ids, templates, change events and parameters).
//
// How: for a batch, worker threads run the read-only half of Add()
// (DrainParser::Prepare + Lookup, i.e. masking, tokenising and the tree
// search) against the tree as it was at the start of the batch; then the
// calling thread applies the messages in order with AddPrepared(). A Lookup
// result is reused only while the parser's version() is unchanged since the
// batch started (no template was created or generalised in between);
// otherwise that message is looked up again, serially. In steady state
// (templates known) almost every lookup is reused.
#ifndef TRIAD_PARSE_PARALLEL_DRAIN_H_
#define TRIAD_PARSE_PARALLEL_DRAIN_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parse/drain.h"

namespace triad {

class ParallelDrain {
 public:
  // `parser` is not owned and must outlive this object; nothing else may use
  // it while AddBatch() runs. threads <= 0: all hardware threads. threads == 1
  // runs everything on the calling thread.
  ParallelDrain(DrainParser* parser, int threads);
  ~ParallelDrain();
  ParallelDrain(const ParallelDrain&) = delete;
  ParallelDrain& operator=(const ParallelDrain&) = delete;

  // Adds contents[0..n) in order. out->size() becomes n and (*out)[i] is what
  // parser->Add(contents[i]) would have returned. If params != nullptr,
  // (*params)[i] gets the parameters of message i (as Add() fills them).
  // If event_texts != nullptr, (*event_texts)[i] is the template's text right
  // after message i was applied when (*out)[i] is_new or changed (Drain3's
  // change events), else empty.
  // The views in `contents` must stay valid during the call.
  void AddBatch(const std::vector<std::string_view>& contents, std::vector<DrainMatch>* out,
                std::vector<std::vector<std::string>>* params = nullptr,
                std::vector<std::string>* event_texts = nullptr);

  int threads() const;
  // Messages whose lookup had to be redone serially (for the benchmark).
  size_t relookups() const;

 private:
  // Implementation notes (parallel_drain.cc): threads - 1 workers are started
  // once; a batch is cut into rounds of at most 8192 messages whose scratch
  // slots are allocated once. Batches of fewer than 32 messages run on the
  // calling thread. When the stale lookups of a round have been redone
  // serially for a while without further template changes, the rest of the
  // round is looked up again in parallel (not counted in relookups()).
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace triad

#endif  // TRIAD_PARSE_PARALLEL_DRAIN_H_
