// libFuzzer target: feeds the input, split on newlines, into DrainParser::Add
// and Match, then checks the templates' invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "parse/drain.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  triad::DrainConfig cfg;
  if (!in.empty()) {
    cfg.max_children = 2 + (static_cast<uint8_t>(in[0]) % 5);
    cfg.depth = 3 + (static_cast<uint8_t>(in[0]) >> 5);
    cfg.mask = (in[0] & 1) == 0;
  }
  triad::DrainParser p(cfg);
  std::vector<std::string> params;
  size_t start = 0;
  while (start <= in.size()) {
    size_t nl = in.find('\n', start);
    if (nl == std::string_view::npos) nl = in.size();
    std::string_view line = in.substr(start, nl - start);
    triad::DrainMatch m = p.Add(line, &params);
    if (m.template_id == 0 || m.template_id > p.num_templates()) std::abort();
    if (p.Match(line) == 0) std::abort();  // a just-added line matches some template
    start = nl + 1;
  }
  return 0;
}
