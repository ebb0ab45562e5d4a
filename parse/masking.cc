#include "parse/masking.h"

#include <cstddef>

namespace triad {
namespace {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// A word character: what may not touch a masked substring on either side.
inline bool IsWord(char c) { return IsAlnum(c) || c == '_'; }

// Characters that close a bracketed or quoted value.
inline bool IsCloser(char c) { return c == ']' || c == ')' || c == '>' || c == '}' || c == '\'' || c == '"'; }
// Sentence punctuation that ends a token without belonging to its value.
inline bool IsTrailingPunct(char c) { return c == '.' || c == ',' || c == ';' || c == ':'; }

// Each matcher returns the length matched at s[i..] (0 = no match). The
// caller checks the left boundary; matchers check the right one.
bool RightBoundary(std::string_view s, size_t end) { return end >= s.size() || !IsWord(s[end]); }

size_t Digits(std::string_view s, size_t i, size_t max = SIZE_MAX) {
  size_t j = i;
  while (j < s.size() && j - i < max && IsDigit(s[j])) ++j;
  return j - i;
}

size_t MatchBlockId(std::string_view s, size_t i) {
  if (s.substr(i, 4) != "blk_") return 0;
  size_t j = i + 4;
  if (j < s.size() && s[j] == '-') ++j;
  size_t d = Digits(s, j);
  if (d == 0 || !RightBoundary(s, j + d)) return 0;
  return j + d - i;
}

// A word run (letters, digits, '_') made of '_'-joined parts, one of them all
// digits: job_1445144423722_0020, attempt_1_0001_m_000001_0, rdd_2_3.
// Generic rationale: '_'-joined ids with numeric parts are generated names.
size_t MatchUnderscoreId(std::string_view s, size_t i) {
  size_t j = i, seg_start = i;
  bool underscore = false, digit_seg = false;
  auto close_seg = [&](size_t end) {
    if (end > seg_start && Digits(s, seg_start, end - seg_start) == end - seg_start) digit_seg = true;
  };
  while (j < s.size() && IsWord(s[j])) {
    if (s[j] == '_') {
      underscore = true;
      close_seg(j);
      seg_start = j + 1;
    }
    ++j;
  }
  close_seg(j);
  return underscore && digit_seg ? j - i : 0;
}

size_t MatchUrl(std::string_view s, size_t i) {
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986), e.g. akka.tcp.
  if (!IsAlpha(s[i])) return 0;
  size_t j = i + 1;
  while (j < s.size() && j - i < 16 && (IsAlnum(s[j]) || s[j] == '+' || s[j] == '-' || s[j] == '.'))
    ++j;
  if (s.substr(j, 3) != "://") return 0;
  j += 3;
  // Up to whitespace or a closing bracket/quote, without trailing sentence
  // punctuation: "[hdfs://x:8020]" masks to "[<*>]".
  while (j < s.size() && !IsSpace(s[j]) && !IsCloser(s[j])) ++j;
  while (j > i && IsTrailingPunct(s[j - 1])) --j;
  return j - i;
}

size_t MatchUuid(std::string_view s, size_t i) {
  static constexpr int kGroups[] = {8, 4, 4, 4, 12};
  size_t j = i;
  for (int g = 0; g < 5; ++g) {
    if (g > 0) {
      if (j >= s.size() || s[j] != '-') return 0;
      ++j;
    }
    for (int k = 0; k < kGroups[g]; ++k, ++j) {
      if (j >= s.size() || !IsHex(s[j])) return 0;
    }
  }
  return RightBoundary(s, j) ? j - i : 0;
}

size_t MatchIpv4(std::string_view s, size_t i) {
  size_t j = i;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (j >= s.size() || s[j] != '.') return 0;
      ++j;
    }
    size_t d = Digits(s, j, 3);
    if (d == 0) return 0;
    j += d;
  }
  if (j < s.size() && IsDigit(s[j])) return 0;
  if (j + 1 < s.size() && s[j] == '.' && IsDigit(s[j + 1])) return 0;  // a longer dotted number
  // "ip:port" is one value.
  if (j + 1 < s.size() && s[j] == ':' && IsDigit(s[j + 1])) j += 1 + Digits(s, j + 1);
  return RightBoundary(s, j) ? j - i : 0;
}

// yyyy-mm-dd or yyyy/mm/dd; hh:mm:ss with an optional .fff or ,fff.
size_t MatchDateTime(std::string_view s, size_t i) {
  size_t j = i;
  if (Digits(s, j, 4) == 4 && j + 4 < s.size() && (s[j + 4] == '-' || s[j + 4] == '/')) {
    char sep = s[j + 4];
    size_t k = j + 5;
    size_t d1 = Digits(s, k, 2);
    if (d1 >= 1 && k + d1 < s.size() && s[k + d1] == sep) {
      size_t d2 = Digits(s, k + d1 + 1, 2);
      if (d2 >= 1) {
        size_t end = k + d1 + 1 + d2;
        // An ISO 'T' joins a time.
        if (end + 1 < s.size() && s[end] == 'T' && IsDigit(s[end + 1])) {
          size_t t = MatchDateTime(s, end + 1);
          if (t > 0) return end + 1 + t - i;
        }
        if (RightBoundary(s, end)) return end - i;
      }
    }
  }
  size_t h = Digits(s, j, 2);
  if (h == 0 || j + h >= s.size() || s[j + h] != ':') return 0;
  size_t k = j + h + 1;
  size_t m = Digits(s, k, 2);
  if (m != 2 || k + 2 >= s.size() || s[k + 2] != ':') return 0;
  k += 3;
  size_t sec = Digits(s, k, 2);
  if (sec != 2) return 0;
  k += 2;
  if (k + 1 < s.size() && (s[k] == '.' || s[k] == ',') && IsDigit(s[k + 1])) k += 1 + Digits(s, k + 1);
  // Time zone suffix: Z or +hh:mm / -hhmm.
  if (k < s.size() && s[k] == 'Z') ++k;
  return RightBoundary(s, k) ? k - i : 0;
}

size_t MatchHex(std::string_view s, size_t i) {
  if (i + 2 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') && IsHex(s[i + 2])) {
    size_t j = i + 2;
    while (j < s.size() && IsHex(s[j])) ++j;
    return RightBoundary(s, j) ? j - i : 0;
  }
  size_t j = i;
  bool digit = false;
  while (j < s.size() && IsHex(s[j])) digit |= IsDigit(s[j++]);
  if (j - i >= 8 && digit && RightBoundary(s, j)) return j - i;
  return 0;
}

// [-+]?\d+(\.\d+)*([eE][-+]?\d+)?  (the sign only when not after a word char).
size_t MatchNumber(std::string_view s, size_t i) {
  size_t j = i;
  if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
  size_t d = Digits(s, j);
  if (d == 0) return 0;
  j += d;
  while (j + 1 < s.size() && s[j] == '.' && IsDigit(s[j + 1])) j += 1 + Digits(s, j + 1);
  if (j + 1 < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    size_t k = j + 1;
    if (k < s.size() && (s[k] == '-' || s[k] == '+')) ++k;
    size_t e = Digits(s, k);
    if (e > 0) j = k + e;
  }
  return RightBoundary(s, j) ? j - i : 0;
}

// An absolute path: '/' and at least one word character, up to whitespace or
// a closing bracket/quote, without trailing sentence punctuation.
size_t MatchPath(std::string_view s, size_t i) {
  if (s[i] != '/' || i + 1 >= s.size() || !IsWord(s[i + 1])) return 0;
  size_t j = i;
  while (j < s.size() && !IsSpace(s[j]) && !IsCloser(s[j]) && s[j] != ',' && s[j] != ';') ++j;
  while (j > i + 1 && IsTrailingPunct(s[j - 1])) --j;
  return j - i;
}

// A word run that starts with a digit and goes on with letters: a number
// with a unit or a version-like id (65020ms, 16K, 41C, 80x25, 1.16ac).
// Generic rationale: a word that begins with a digit is a value.
size_t MatchDigitWord(std::string_view s, size_t i) {
  size_t j = i;
  bool alpha = false;
  while (j < s.size() && (IsAlnum(s[j]) || (s[j] == '.' && j + 1 < s.size() && IsAlnum(s[j + 1])))) {
    alpha |= IsAlpha(s[j]);
    ++j;
  }
  return alpha && RightBoundary(s, j) ? j - i : 0;
}

}  // namespace

void MaskMessage(std::string_view in, const MaskOptions& o, std::string* out) {
  out->clear();
  out->reserve(in.size());
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    char c = in[i];
    bool left = (i == 0) || !IsWord(in[i - 1]);
    size_t len = 0;
    if (left && !IsSpace(c)) {
      if (o.block_ids && c == 'b') len = MatchBlockId(in, i);
      // "/10.0.0.1": the slash belongs to the address.
      if (len == 0 && o.ipv4 && c == '/' && i + 1 < n && IsDigit(in[i + 1])) {
        size_t ip = MatchIpv4(in, i + 1);
        if (ip > 0) len = ip + 1;
      }
      if (len == 0 && o.urls && IsAlpha(c)) len = MatchUrl(in, i);
      if (len == 0 && o.block_ids && IsWord(c)) len = MatchUnderscoreId(in, i);
      if (len == 0 && o.paths && c == '/' &&
          (i == 0 || IsSpace(in[i - 1]) || in[i - 1] == '(' || in[i - 1] == '[' ||
           in[i - 1] == '=' || in[i - 1] == ':' || in[i - 1] == '\'' || in[i - 1] == '"' ||
           in[i - 1] == ','))
        len = MatchPath(in, i);
      if (len == 0 && o.uuid && IsHex(c)) len = MatchUuid(in, i);
      if (len == 0 && IsDigit(c)) {
        if (o.timestamps) len = MatchDateTime(in, i);
        if (len == 0 && o.ipv4) len = MatchIpv4(in, i);
      }
      if (len == 0 && o.hex && IsHex(c)) len = MatchHex(in, i);
      if (len == 0 && o.numbers && (IsDigit(c) || c == '-' || c == '+')) {
        // A sign only counts after whitespace, '(' '=' ':' ',' or at the start.
        bool sign_ok = !(c == '-' || c == '+') || i == 0 || IsSpace(in[i - 1]) ||
                       in[i - 1] == '(' || in[i - 1] == '=' || in[i - 1] == ':' ||
                       in[i - 1] == ',' || in[i - 1] == '[';
        if (sign_ok) len = MatchNumber(in, i);
        if (len == 0 && IsDigit(c)) len = MatchDigitWord(in, i);
      }
    }
    if (len > 0) {
      out->append(kWildcard);
      i += len;
      continue;
    }
    // Copy a whole run of word characters at once (no match may start inside it).
    if (IsWord(c)) {
      size_t j = i + 1;
      while (j < n && IsWord(in[j])) ++j;
      out->append(in.substr(i, j - i));
      i = j;
    } else {
      out->push_back(c);
      ++i;
    }
  }
}

void SplitWhitespace(std::string_view s, std::vector<std::string_view>* tokens) {
  tokens->clear();
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    while (i < n && IsSpace(s[i])) ++i;
    if (i >= n) break;
    size_t j = i;
    while (j < n && !IsSpace(s[j])) ++j;
    tokens->push_back(s.substr(i, j - i));
    i = j;
  }
}

}  // namespace triad
