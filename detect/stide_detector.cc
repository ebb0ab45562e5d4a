#include "detect/stide_detector.h"
#include "detect/model_json.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace triad {

using json = nlohmann::json;

namespace {

std::string KeyName(uint32_t k) {
  if (k == StideDetector::kBegin) return "^";
  if (k == StideDetector::kEnd) return "$";
  return fmt::format("E{}", k);
}

}  // namespace

StideDetector::StideDetector(StideConfig cfg) : cfg_(std::move(cfg)) {}

size_t StideDetector::ngrams() const {
  size_t n = 0;
  for (const auto& [p, m] : db_) n += m.size();
  return n;
}

void StideDetector::Padded(const Session& s, std::vector<uint32_t>* out) const {
  out->clear();
  if (cfg_.pad) out->push_back(kBegin);
  out->insert(out->end(), s.keys.begin(), s.keys.end());
  if (cfg_.pad) out->push_back(kEnd);
}

void StideDetector::Build(const std::vector<Session>& normal, size_t begin, size_t end) {
  db_.clear();
  const size_t n = static_cast<size_t>(cfg_.n);
  std::vector<uint32_t> seq;
  for (size_t i = begin; i < end; ++i) {
    Padded(normal[i], &seq);
    if (seq.empty()) continue;
    if (seq.size() < n) {  // one short window: the whole sequence
      Prefix p(seq.begin(), seq.end() - 1);
      ++db_[p][seq.back()];
      continue;
    }
    for (size_t j = 0; j + n <= seq.size(); ++j) {
      Prefix p(seq.begin() + j, seq.begin() + j + n - 1);
      ++db_[p][seq[j + n - 1]];
    }
  }
}

Status StideDetector::Fit(const std::vector<Session>& normal) {
  if (normal.empty()) return Status::InvalidArgument("stide: no training sessions");
  if (cfg_.n < 2 || cfg_.n > 64) return Status::InvalidArgument("stide: n must be in 2..64");
  if (cfg_.score != "rate" && cfg_.score != "count")
    return Status::InvalidArgument("stide: score must be 'rate' or 'count'");
  if (!(cfg_.validation_fraction >= 0 && cfg_.validation_fraction < 1))
    return Status::InvalidArgument("stide: validation_fraction must be in [0, 1)");
  if (!(cfg_.quantile > 0 && cfg_.quantile <= 1))
    return Status::InvalidArgument("stide: quantile must be in (0, 1]");
  size_t n_fit = normal.size();
  if (cfg_.validation_fraction > 0 && normal.size() >= 2) {
    n_fit = static_cast<size_t>(std::llround(normal.size() * (1 - cfg_.validation_fraction)));
    n_fit = std::clamp<size_t>(n_fit, 1, normal.size() - 1);
  }
  threshold_ = 0;
  fitted_ = true;
  if (n_fit < normal.size()) {
    Build(normal, 0, n_fit);
    std::vector<double> val;
    for (size_t i = n_fit; i < normal.size(); ++i) val.push_back(Score(normal[i]).score);
    std::sort(val.begin(), val.end());
    size_t idx = static_cast<size_t>(std::ceil(cfg_.quantile * val.size()));
    idx = std::min(std::max<size_t>(idx, 1) - 1, val.size() - 1);
    threshold_ = cfg_.margin * val[idx];
  }
  Build(normal, 0, normal.size());
  train_sessions_ = normal.size();
  return Status::OK();
}

SequenceVerdict StideDetector::Score(const Session& s) const {
  assert(fitted_);
  const size_t n = static_cast<size_t>(cfg_.n);
  std::vector<uint32_t> seq;
  Padded(s, &seq);
  SequenceVerdict v;
  if (seq.empty()) return v;
  size_t windows = 0, miss = 0;
  long first = -1;  // index in seq of the last key of the first mismatch
  Prefix first_prefix;
  auto check = [&](size_t lo, size_t hi) {  // window seq[lo, hi)
    ++windows;
    Prefix p(seq.begin() + lo, seq.begin() + hi - 1);
    auto it = db_.find(p);
    if (it != db_.end() && it->second.count(seq[hi - 1]) > 0) return;
    ++miss;
    if (first < 0) {
      first = static_cast<long>(hi - 1);
      first_prefix = std::move(p);
    }
  };
  if (seq.size() < n) {
    check(0, seq.size());
  } else {
    for (size_t j = 0; j + n <= seq.size(); ++j) check(j, j + n);
  }
  v.score = cfg_.score == "rate" ? static_cast<double>(miss) / windows : static_cast<double>(miss);
  v.anomaly = v.score > threshold_;
  if (first < 0) return v;
  long pos = cfg_.pad ? first - 1 : first;  // index in s.keys
  v.position = static_cast<int>(pos);
  uint32_t obs = seq[first];
  v.observed = obs == kEnd ? 0 : obs;
  std::vector<std::pair<uint64_t, uint32_t>> next;
  if (auto it = db_.find(first_prefix); it != db_.end())
    for (const auto& [k, c] : it->second) next.push_back({c, k});
  std::stable_sort(next.begin(), next.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string exp;
  for (const auto& [c, k] : next) {
    v.expected.push_back(k == kEnd ? 0 : k);
    if (v.expected.size() <= 5) {
      if (!exp.empty()) exp += ' ';
      exp += KeyName(k);
    }
  }
  std::string prefix;
  for (uint32_t k : first_prefix) {
    if (!prefix.empty()) prefix += ' ';
    prefix += KeyName(k);
  }
  v.reason = fmt::format("{} after [{}] never seen in training ({}; {} of {} windows unseen)",
                         KeyName(obs), prefix,
                         next.empty() ? "prefix unseen too" : "seen: " + exp, miss, windows);
  return v;
}

Status StideDetector::Save(const std::string& path) const {
  if (!fitted_) return Status::InvalidArgument("stide: Save before Fit");
  json grams = json::array();
  for (const auto& [p, m] : db_)
    for (const auto& [k, c] : m) {
      json g = p;
      g.push_back(k);
      grams.push_back({g, c});
    }
  json vocab = json::object();
  for (const auto& [k, t] : vocab_) vocab[std::to_string(k)] = t;
  json doc = {{"format", "triad-model"},
              {"model", "stide"},
              {"version", kVersion},
              {"config",
               {{"n", cfg_.n},
                {"pad", cfg_.pad},
                {"score", cfg_.score},
                {"validation_fraction", cfg_.validation_fraction},
                {"quantile", cfg_.quantile},
                {"margin", cfg_.margin}}},
              {"ngrams", grams},
              {"threshold", threshold_},
              {"train_sessions", train_sessions_},
              {"vocabulary", vocab}};
  return WriteJsonModel(path, doc);
}

Status StideDetector::Load(const std::string& path, std::unique_ptr<StideDetector>* out) {
  json doc;
  TRIAD_RETURN_IF_ERROR(ReadJsonModel(path, "stide", kVersion, &doc));
  try {
    const json& c = doc.at("config");
    StideConfig cfg;
    cfg.n = c.at("n").get<int>();
    cfg.pad = c.at("pad").get<bool>();
    cfg.score = c.at("score").get<std::string>();
    cfg.validation_fraction = c.at("validation_fraction").get<double>();
    cfg.quantile = c.at("quantile").get<double>();
    cfg.margin = c.at("margin").get<double>();
    if (cfg.n < 2 || cfg.n > 64 || (cfg.score != "rate" && cfg.score != "count"))
      return Status::Corruption(path + ": stide model: bad config");
    auto det = std::make_unique<StideDetector>(cfg);
    for (const json& g : doc.at("ngrams")) {
      std::vector<uint32_t> keys = g.at(0).get<std::vector<uint32_t>>();
      uint64_t cnt = g.at(1).get<uint64_t>();
      if (keys.empty() || keys.size() > static_cast<size_t>(cfg.n))
        return Status::Corruption(path + ": stide model: n-gram of the wrong length");
      uint32_t last = keys.back();
      keys.pop_back();
      det->db_[keys][last] = cnt;
    }
    det->threshold_ = doc.at("threshold").get<double>();
    det->train_sessions_ = doc.at("train_sessions").get<size_t>();
    for (const auto& [k, t] : doc.at("vocabulary").items())
      det->vocab_[static_cast<uint32_t>(std::stoull(k))] = t.get<std::string>();
    det->fitted_ = true;
    *out = std::move(det);
  } catch (const std::exception& e) {
    return Status::Corruption(fmt::format("{}: stide model: {}", path, e.what()));
  }
  return Status::OK();
}

Status LoadStideDetector(const std::string& path, std::unique_ptr<SequenceDetector>* out) {
  std::unique_ptr<StideDetector> d;
  TRIAD_RETURN_IF_ERROR(StideDetector::Load(path, &d));
  *out = std::move(d);
  return Status::OK();
}

}  // namespace triad
