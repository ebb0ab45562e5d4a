#include "parse/parallel_drain.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace triad {

// A batch is processed in rounds of at most kRound messages: the workers (and
// the calling thread) Prepare + Lookup a round against the frozen tree, then
// the calling thread applies it in order. Bounding the round keeps the scratch
// memory fixed whatever the batch size, and keeps a round's scratch in cache
// between the two phases. Workers claim kGrain messages at a time.
namespace {
constexpr size_t kRound = 8192;
constexpr size_t kGrain = 64;
// Batches this small are parsed on the calling thread alone: waking the
// workers would cost more than it saves.
constexpr size_t kSerialBelow = 32;
// Stale hints are refreshed in parallel once kQuiet messages in a row left the
// templates unchanged and at least kRefreshMin messages of the round are left.
constexpr size_t kQuiet = 64;
constexpr size_t kRefreshMin = 1024;
}  // namespace

struct ParallelDrain::Impl {
  DrainParser* parser;
  int nthreads;
  size_t relookups = 0;

  // Round state, published to the workers under mu.
  const std::vector<std::string_view>* contents = nullptr;
  size_t base = 0;                // slot i holds contents[base + i]
  size_t hi = 0;                  // slots to process end here
  bool lookup_only = false;       // slots are prepared already
  std::atomic<size_t> next{0};    // next slot to claim
  uint64_t generation = 0;        // bumped per round; workers wait for a change
  int busy = 0;                   // workers still in the current round
  bool stop = false;
  std::mutex mu;
  std::condition_variable start_cv, done_cv;

  // Slot i holds message base + i. Heap-allocated once and never moved:
  // a DrainScratch holds views into itself.
  std::vector<std::unique_ptr<DrainScratch>> slots;
  std::vector<uint32_t> hints;
  DrainScratch single;  // threads == 1, and batches below kSerialBelow
  std::vector<std::thread> workers;

  Impl(DrainParser* p, int t) : parser(p), nthreads(t) {
    if (nthreads <= 0) nthreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (nthreads == 1) return;
    slots.reserve(kRound);
    for (size_t i = 0; i < kRound; ++i) slots.push_back(std::make_unique<DrainScratch>());
    hints.resize(kRound);
    for (int i = 1; i < nthreads; ++i) workers.emplace_back([this] { WorkerLoop(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
    }
    start_cv.notify_all();
    for (auto& w : workers) w.join();
  }

  // Claims and processes slots [lo, hi) of the current round until none is
  // left: Prepare (unless lookup_only) and Lookup. Only reads the parser (the
  // tree is not mutated during this phase).
  void Work() {
    for (;;) {
      size_t i = next.fetch_add(kGrain, std::memory_order_relaxed);
      if (i >= hi) return;
      size_t stop_at = std::min(hi, i + kGrain);
      for (; i < stop_at; ++i) {
        DrainScratch* s = slots[i].get();
        if (!lookup_only) parser->Prepare((*contents)[base + i], s);
        hints[i] = parser->Lookup(*s);
      }
    }
  }

  void WorkerLoop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu);
        start_cv.wait(l, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
      }
      Work();
      {
        std::lock_guard<std::mutex> l(mu);
        if (--busy == 0) done_cv.notify_one();
      }
    }
  }

  // Processes slots [lo, h) on all threads (see Work()). On return every
  // worker is idle again (the mutex hand-off orders their writes before our
  // reads).
  void RunRound(const std::vector<std::string_view>& c, size_t b, size_t lo, size_t h,
                bool only_lookup) {
    {
      std::lock_guard<std::mutex> l(mu);
      contents = &c;
      base = b;
      hi = h;
      lookup_only = only_lookup;
      next.store(lo, std::memory_order_relaxed);
      busy = static_cast<int>(workers.size());
      ++generation;
    }
    start_cv.notify_all();
    Work();
    std::unique_lock<std::mutex> l(mu);
    done_cv.wait(l, [&] { return busy == 0; });
  }
};

ParallelDrain::ParallelDrain(DrainParser* parser, int threads)
    : impl_(std::make_unique<Impl>(parser, threads)) {
  assert(parser != nullptr);
}

ParallelDrain::~ParallelDrain() = default;

int ParallelDrain::threads() const { return impl_->nthreads; }

size_t ParallelDrain::relookups() const { return impl_->relookups; }

void ParallelDrain::AddBatch(const std::vector<std::string_view>& contents,
                             std::vector<DrainMatch>* out,
                             std::vector<std::vector<std::string>>* params,
                             std::vector<std::string>* event_texts) {
  Impl& im = *impl_;
  DrainParser* p = im.parser;
  const size_t n = contents.size();
  out->resize(n);
  if (params != nullptr) params->resize(n);
  if (event_texts != nullptr) event_texts->assign(n, std::string());
  auto note_event = [&](size_t i) {
    const DrainMatch& m = (*out)[i];
    if (event_texts != nullptr && (m.is_new || m.changed))
      (*event_texts)[i] = p->TemplateText(m.template_id);
  };
  if (im.nthreads == 1 || n < kSerialBelow) {
    for (size_t i = 0; i < n; ++i) {
      p->Prepare(contents[i], &im.single);
      // Any hint_version other than version() makes AddPrepared search itself.
      (*out)[i] = p->AddPrepared(im.single, 0, p->version() + 1,
                                 params ? &(*params)[i] : nullptr);
      note_event(i);
    }
    return;
  }
  for (size_t b = 0; b < n; b += kRound) {
    const size_t e = std::min(n, b + kRound);
    uint64_t v = p->version();
    im.RunRound(contents, b, 0, e - b, /*only_lookup=*/false);
    size_t quiet = 0;  // messages applied since the version last changed
    for (size_t i = b; i < e; ++i) {
      if (p->version() != v) {
        // The hints are stale. Once templates stop changing and enough of the
        // round is left, redo its lookups in parallel; until then, serially.
        if (quiet >= kQuiet && e - i >= kRefreshMin) {
          v = p->version();
          im.RunRound(contents, b, i - b, e - b, /*only_lookup=*/true);
        } else {
          ++im.relookups;
        }
      }
      const uint64_t before = p->version();
      (*out)[i] = p->AddPrepared(*im.slots[i - b], im.hints[i - b], v,
                                 params ? &(*params)[i] : nullptr);
      note_event(i);
      quiet = p->version() == before ? quiet + 1 : 0;
    }
  }
}

}  // namespace triad
