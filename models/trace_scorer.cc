#include "models/trace_scorer.h"

#include <nlohmann/json.hpp>

#include "models/trace_lstm.h"

namespace triad {
namespace {

class TraceModelScorer : public TraceScorer {
 public:
  explicit TraceModelScorer(TraceModel m) : m_(std::move(m)) {
    m_.mutable_config()->score_threads = 1;  // one trace at a time, on the scoring thread
  }
  std::string name() const override {
    return std::string("trace-") + TraceModelKindName(m_.config().kind);
  }

  void Score(const Trace& t, TraceAssessment* out) const override {
    *out = TraceAssessment();
    const LabeledTrace lt = LabelTrace(t, m_.config().label_options);
    const TraceVerdict v = m_.Score(lt);
    out->anomaly = v.anomaly;
    out->score = v.score;
    out->type = TraceAnomalyTypeName(v.type);
    if (!v.anomaly) return;
    nlohmann::json findings = nlohmann::json::array();
    const int32_t n = static_cast<int32_t>(t.spans.size());
    for (const TraceEventFinding& f : v.findings) {
      // Position n is the trace end ("the trace should have ended / gone on"):
      // shown on the last span.
      const int32_t span = std::min<int32_t>(static_cast<int32_t>(f.position), n - 1);
      if (out->blamed < 0) out->blamed = span;
      if (out->spans.empty() || out->spans.back() != span) out->spans.push_back(span);
      nlohmann::json j = {{"position", f.position},
                          {"span_id", t.spans[span].span_id},
                          {"observed", f.position < lt.labels.size() ? lt.labels[f.position]
                                                                     : std::string("<end>")}};
      if (f.structural) {
        nlohmann::json exp = nlohmann::json::array();
        for (auto [l, p] : f.expected) exp.push_back({{"label", LabelOf(l)}, {"p", p}});
        j["structural"] = {{"rank", f.rank}, {"p", f.probability}, {"expected", exp}};
      }
      if (f.response_time)
        j["response_time"] = {{"observed_ms", static_cast<double>(f.observed_rt) / 1e6},
                              {"expected_ms", {f.expected_rt_lo / 1e6, f.expected_rt_hi / 1e6}},
                              {"ratio", f.rt_ratio}};
      findings.push_back(std::move(j));
    }
    out->findings_json = findings.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

 private:
  std::string LabelOf(uint32_t l) const {
    return l < m_.vocabulary().size() ? m_.vocabulary().Label(l) : "?";
  }
  TraceModel m_;
};

}  // namespace

Status LoadTraceScorer(const std::string& path, std::unique_ptr<TraceScorer>* out) {
  TraceModel m;
  TRIAD_RETURN_IF_ERROR(m.Load(path));
  *out = std::make_unique<TraceModelScorer>(std::move(m));
  return Status::OK();
}

}  // namespace triad
