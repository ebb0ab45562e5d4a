#include "eval/parsing_metrics.h"

#include <cassert>
#include <cctype>
#include <string_view>
#include <unordered_map>

namespace triad {

namespace {

// Dense ids for string keys, in order of first appearance.
std::vector<size_t> DenseIds(const std::vector<std::string>& keys, size_t* count) {
  std::unordered_map<std::string_view, size_t> ids;
  std::vector<size_t> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) {
    auto it = ids.emplace(k, ids.size()).first;
    out.push_back(it->second);
  }
  *count = ids.size();
  return out;
}

// The pairing of true and predicted groups.
struct Grouping {
  std::vector<size_t> t, p;      // per line: true / predicted group id
  size_t nt = 0, np = 0;         // number of true / predicted groups
  std::vector<size_t> t_size;    // lines per true group
  // Per true group: its predicted group if the two line sets are equal,
  // else kNone.
  std::vector<size_t> match;
  static constexpr size_t kNone = static_cast<size_t>(-1);
};

Grouping Pair(const std::vector<std::string>& truth, const std::vector<std::string>& pred) {
  assert(truth.size() == pred.size());
  Grouping g;
  g.t = DenseIds(truth, &g.nt);
  g.p = DenseIds(pred, &g.np);
  g.t_size.assign(g.nt, 0);
  std::vector<size_t> p_size(g.np, 0);
  // first_p[t]: predicted group of the first line of t; mixed[t]: lines of t
  // fall into more than one predicted group.
  std::vector<size_t> first_p(g.nt, Grouping::kNone);
  std::vector<bool> mixed(g.nt, false);
  for (size_t i = 0; i < g.t.size(); ++i) {
    size_t t = g.t[i], p = g.p[i];
    ++g.t_size[t];
    ++p_size[p];
    if (first_p[t] == Grouping::kNone) {
      first_p[t] = p;
    } else if (first_p[t] != p) {
      mixed[t] = true;
    }
  }
  g.match.assign(g.nt, Grouping::kNone);
  for (size_t t = 0; t < g.nt; ++t) {
    // All lines of t are in one predicted group p, and p has no other lines.
    if (!mixed[t] && p_size[first_p[t]] == g.t_size[t]) g.match[t] = first_p[t];
  }
  return g;
}

TemplateLevel Score(size_t correct, size_t nt, size_t np) {
  TemplateLevel r;
  r.correct = correct;
  r.truth_count = nt;
  r.pred_count = np;
  r.precision = np == 0 ? 0.0 : static_cast<double>(correct) / np;
  r.recall = nt == 0 ? 0.0 : static_cast<double>(correct) / nt;
  r.f1 = (r.precision + r.recall) == 0 ? 0.0
                                        : 2 * r.precision * r.recall / (r.precision + r.recall);
  return r;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string NormalizeTemplate(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  bool last_wild = false;  // the last thing written was a wildcard
  size_t i = 0;
  while (i < s.size()) {
    size_t wild_len = 0;
    if (s.compare(i, 3, "<*>") == 0) {
      wild_len = 3;
    } else if (s.compare(i, 2, "{}") == 0) {
      wild_len = 2;
    } else if (s[i] == '*') {
      wild_len = 1;
    }
    if (wild_len > 0) {
      i += wild_len;
      if (last_wild) {  // joins the run: drop the whitespace in between
        pending_space = false;
        continue;
      }
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      out += "<*>";
      last_wild = true;
      continue;
    }
    if (IsSpace(s[i])) {
      pending_space = true;
      ++i;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(s[i]);
    last_wild = false;
    ++i;
  }
  return out;
}

double GroupingAccuracy(const std::vector<std::string>& truth,
                        const std::vector<std::string>& pred) {
  if (truth.empty()) return 0.0;
  Grouping g = Pair(truth, pred);
  size_t correct_lines = 0;
  for (size_t t = 0; t < g.nt; ++t) {
    if (g.match[t] != Grouping::kNone) correct_lines += g.t_size[t];
  }
  return static_cast<double>(correct_lines) / truth.size();
}

double ParsingAccuracy(const std::vector<std::string>& truth_templates,
                       const std::vector<std::string>& pred_templates) {
  assert(truth_templates.size() == pred_templates.size());
  if (truth_templates.empty()) return 0.0;
  // Templates repeat a lot: normalise each distinct text once.
  std::unordered_map<std::string_view, std::string> cache;
  auto norm = [&cache](const std::string& s) -> const std::string& {
    auto it = cache.find(s);
    if (it == cache.end()) it = cache.emplace(s, NormalizeTemplate(s)).first;
    return it->second;
  };
  size_t correct = 0;
  for (size_t i = 0; i < truth_templates.size(); ++i) {
    if (norm(truth_templates[i]) == norm(pred_templates[i])) ++correct;
  }
  return static_cast<double>(correct) / truth_templates.size();
}

TemplateLevel FGA(const std::vector<std::string>& truth_groups,
                  const std::vector<std::string>& pred_groups) {
  Grouping g = Pair(truth_groups, pred_groups);
  size_t correct = 0;
  for (size_t t = 0; t < g.nt; ++t) {
    if (g.match[t] != Grouping::kNone) ++correct;
  }
  return Score(correct, g.nt, g.np);
}

TemplateLevel FTA(const std::vector<std::string>& truth_templates,
                  const std::vector<std::string>& pred_templates,
                  const std::vector<std::string>* truth_groups,
                  const std::vector<std::string>* pred_groups) {
  const size_t n = truth_templates.size();
  assert(pred_templates.size() == n);
  assert(truth_groups == nullptr || truth_groups->size() == n);
  assert(pred_groups == nullptr || pred_groups->size() == n);
  std::vector<std::string> tn(n), pn(n);
  for (size_t i = 0; i < n; ++i) {
    tn[i] = NormalizeTemplate(truth_templates[i]);
    pn[i] = NormalizeTemplate(pred_templates[i]);
  }
  Grouping g = Pair(truth_groups ? *truth_groups : tn, pred_groups ? *pred_groups : pn);
  // Per true group: its one normalised true text and predicted text, or
  // "inconsistent" when its lines disagree.
  std::vector<const std::string*> t_text(g.nt, nullptr), p_text(g.nt, nullptr);
  std::vector<bool> consistent(g.nt, true);
  for (size_t i = 0; i < n; ++i) {
    size_t t = g.t[i];
    if (t_text[t] == nullptr) {
      t_text[t] = &tn[i];
      p_text[t] = &pn[i];
    } else if (*t_text[t] != tn[i] || *p_text[t] != pn[i]) {
      consistent[t] = false;
    }
  }
  size_t correct = 0;
  for (size_t t = 0; t < g.nt; ++t) {
    // Matched groups have the same lines, so the predicted group's texts are
    // exactly the p_text values checked above.
    if (g.match[t] != Grouping::kNone && consistent[t] && *t_text[t] == *p_text[t]) ++correct;
  }
  return Score(correct, g.nt, g.np);
}

}  // namespace triad
