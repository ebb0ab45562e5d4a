// Drain: a streaming log-template miner (He et al., "Drain: An Online Log
// Parsing Approach with Fixed Depth Tree", ICWS'17), in its Drain3 streaming
// form.
//
// A message (the Content part of a log line, without header) is optionally
// masked (parse/masking.h), split on whitespace and routed through a fixed-
// depth prefix tree: first by token count, then by its first depth-2 tokens
// (a token containing a digit goes to the "<*>" child; once a node has
// max_children children, new tokens go to the "<*>" child). At the leaf, the
// template with the highest similarity is chosen, ties broken by more
// wildcards; if it reaches sim_threshold the message joins it and differing
// positions are generalised, otherwise a new template is created.
//
// Similarity = positions where the template's non-wildcard token matches the
// message's, divided by the token count plus 2 per "strong" mismatch (two
// different digit-free plain words, e.g. "error"/"ok"). A "hard" mismatch (a
// token without letters or digits such as "-" or "****", or a different
// key=value structure: "(uid=0)"/"LOGIN(uid=0)", "rhost="/"rhost=x") never
// joins. A generalised token keeps a common "key=" prefix and punctuation-only
// prefix/suffix around one wildcard ("user=<*>", "(<*>)", "'<*>'", "<*>,").
//
// Thread-compatible: Add() mutates; const methods may run concurrently.
#ifndef TRIAD_PARSE_DRAIN_H_
#define TRIAD_PARSE_DRAIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parse/masking.h"
#include "triad/status.h"

namespace triad {

struct DrainConfig {
  int depth = 4;               // tree depth incl. length layer and leaf (Drain's depth); < 3 acts as 3
  double sim_threshold = 0.5;  // st
  int max_children = 100;
  bool mask = true;            // generic preprocessing (parse/masking.h) before tokenising
};

// Scratch for the read-only half of DrainParser::Add(): the tokens of one
// message. Views point into the message and into `masked`, so a DrainScratch
// must not be moved or copied while they are in use.
struct DrainScratch {
  std::string masked;
  std::vector<std::string_view> tok;  // masked tokens (what the tree sees)
  std::vector<std::string_view> raw;  // original tokens (parameters)
};

struct DrainMatch {
  uint32_t template_id = 0;
  bool is_new = false;   // the message created this template
  bool changed = false;  // the template's text changed (it generalised)
};

class DrainParser {
 public:
  explicit DrainParser(DrainConfig cfg = {});
  ~DrainParser();
  DrainParser(const DrainParser&) = delete;
  DrainParser& operator=(const DrainParser&) = delete;

  // Adds one log message (the Content part, without header). Returns its
  // template id: ids are dense, 1-based and stable (a template keeps its id
  // when it generalises; `changed` is then true). If params != nullptr, it is
  // filled with the original text of the message's tokens at the positions
  // where the template token contains "<*>" (a wildcard, or a masked part
  // such as "/<*>"), after this message was merged, in order.
  // Any bytes are accepted (an empty message has the empty template).
  DrainMatch Add(std::string_view content, std::vector<std::string>* params = nullptr);

  // Split form of Add() for parallel parsing (parse/parallel_drain.h):
  // Prepare() and Lookup() are const and may run on many threads at once
  // while no Add*/Load runs; AddPrepared() then applies messages in order.
  //
  // Tokenises `content` into *s. `content` must outlive the use of *s.
  void Prepare(std::string_view content, DrainScratch* s) const;
  // Returns the template that the prepared message would join if it were
  // added now, or 0 if it would create a new template.
  uint32_t Lookup(const DrainScratch& s) const;
  // Bumped whenever Add*() creates a template or changes one's text, i.e.
  // whenever a Lookup() result may change. Starts at 0.
  uint64_t version() const { return version_; }
  // Same as Add(content, params) for the message prepared in `s`. If
  // hint_version == version(), `hint` (a Lookup() result taken at that
  // version) is used instead of searching the tree; the result is then the
  // same as without a hint.
  DrainMatch AddPrepared(const DrainScratch& s, uint32_t hint, uint64_t hint_version,
                         std::vector<std::string>* params = nullptr);

  // Returns the id of the template that matches `content` without learning:
  // same token count and every non-wildcard template token equal. Returns 0
  // if none matches.
  uint32_t Match(std::string_view content) const;

  // Tokens joined by single spaces, wildcards as "<*>". REQUIRES: 1 <= id <= num_templates().
  const std::string& TemplateText(uint32_t id) const;
  // Number of messages merged into template `id`. REQUIRES: as TemplateText.
  uint64_t Occurrences(uint32_t id) const;
  size_t num_templates() const { return clusters_.size(); }
  const DrainConfig& config() const { return cfg_; }

  // Writes the whole state (format tag, version, config, templates and their
  // tree paths) as one JSON file. A reloaded parser gives the same ids,
  // templates and Match/Add results.
  Status Save(const std::string& path) const;
  // Reads a file written by Save(). Returns Corruption/Unsupported for another
  // format, another version or a malformed file; IOError if unreadable.
  static Status Load(const std::string& path, std::unique_ptr<DrainParser>* out);

  static constexpr const char* kFormatTag = "triad-drain";
  static constexpr int kFormatVersion = 1;

 private:
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> children;
    std::vector<uint32_t> cluster_ids;  // at a leaf
  };
  struct Cluster {
    std::vector<std::string> tokens;
    std::string text;
    uint64_t count = 0;
    std::vector<std::string> path;  // child keys from the length node to the leaf
  };

  // Tokenises `content` into tok_ (masked) and raw_ (original).
  void Tokenize(std::string_view content, std::string* masked,
                std::vector<std::string_view>* tok, std::vector<std::string_view>* raw) const;
  const Node* FindLeaf(const std::vector<std::string_view>& tokens) const;
  // Best cluster at `leaf` or 0 if below `threshold`.
  uint32_t FastMatch(const Node& leaf, const std::vector<std::string_view>& tokens,
                     double threshold, bool include_params) const;
  void AddToTree(uint32_t id, const std::vector<std::string_view>& tokens);
  // Places cluster `id` at the leaf reached by following `path` (creating nodes).
  void PlaceByPath(uint32_t id, size_t length, const std::vector<std::string>& path);
  static void JoinTokens(const std::vector<std::string>& toks, std::string* out);
  int max_node_depth() const;

  DrainConfig cfg_;
  MaskOptions mask_opts_;
  std::map<size_t, std::unique_ptr<Node>> root_;  // by token count
  std::vector<Cluster> clusters_;                 // id - 1
  uint64_t version_ = 0;
  DrainScratch scratch_;  // reused by Add
};

}  // namespace triad

#endif  // TRIAD_PARSE_DRAIN_H_
