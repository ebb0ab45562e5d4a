#include "align/log_key.h"

#include <algorithm>
#include <cctype>

namespace triad {
namespace {

bool IsTokenChar(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
}

bool ShouldMask(std::string_view tok) {
  size_t hex = 0;
  bool all_hex = true;
  for (unsigned char c : tok) {
    if (std::isdigit(c)) return true;
    if (std::isxdigit(c)) {
      ++hex;
    } else if (c != '-') {
      all_hex = false;
    }
  }
  return all_hex && hex >= 16;
}

}  // namespace

std::string MaskLogKey(std::string_view text, size_t max_len) {
  std::string out;
  out.reserve(std::min(text.size(), max_len));
  size_t i = 0;
  bool pending_space = false;
  while (i < text.size() && out.size() < max_len) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    if (IsTokenChar(c)) {
      size_t j = i;
      while (j < text.size() && IsTokenChar(static_cast<unsigned char>(text[j]))) ++j;
      std::string_view tok = text.substr(i, j - i);
      if (ShouldMask(tok)) {
        out += "<*>";
      } else {
        out.append(tok);
      }
      i = j;
    } else {
      out.push_back(static_cast<char>(c));
      ++i;
    }
  }
  if (out.size() > max_len) out.resize(max_len);
  return out;
}

}  // namespace triad
