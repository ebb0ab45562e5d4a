#include "core/time_parse.h"

#include <algorithm>
#include <cstring>

namespace triad {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// A cursor over the text being parsed.
struct Cur {
  std::string_view s;
  size_t i = 0;
  bool End() const { return i >= s.size(); }
  char Peek(size_t k = 0) const { return i + k < s.size() ? s[i + k] : '\0'; }
  // Reads 1..max digits; returns the number of digits read (0 = none).
  int Digits(int max, int64_t* v) {
    int n = 0;
    int64_t x = 0;
    while (n < max && IsDigit(Peek())) {
      x = x * 10 + (s[i] - '0');
      ++i;
      ++n;
    }
    if (n > 0) *v = x;
    return n;
  }
  int CountDigits() const {
    size_t k = i;
    while (k < s.size() && IsDigit(s[k])) ++k;
    return static_cast<int>(k - i);
  }
  int CountAlpha() const {
    size_t k = i;
    while (k < s.size() && IsAlpha(s[k])) ++k;
    return static_cast<int>(k - i);
  }
  int Spaces() {
    int n = 0;
    while (Peek() == ' ' || Peek() == '\t') {
      ++i;
      ++n;
    }
    return n;
  }
  bool Eat(char c) {
    if (Peek() == c) {
      ++i;
      return true;
    }
    return false;
  }
};

bool IsWeekday(std::string_view w) {
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  if (w.size() < 3) return false;
  for (const char* d : kDays)
    if (Lower(w[0]) == d[0] && Lower(w[1]) == d[1] && Lower(w[2]) == d[2]) return true;
  return false;
}

// Parses HH:MM[:SS][(.|,)frac] (also HH.MM.SS when sep == '.').
bool ParseClock(Cur& c, char sep, unsigned* h, unsigned* mi, unsigned* se, int64_t* nanos) {
  int64_t v;
  if (c.Digits(2, &v) == 0 || v > 23) return false;
  *h = static_cast<unsigned>(v);
  if (!c.Eat(sep)) return false;
  if (c.Digits(2, &v) != 2 || v > 59) return false;
  *mi = static_cast<unsigned>(v);
  *se = 0;
  *nanos = 0;
  if (c.Peek() == sep && IsDigit(c.Peek(1))) {
    ++c.i;
    if (c.Digits(2, &v) != 2 || v > 60) return false;
    *se = static_cast<unsigned>(v);
    if ((c.Peek() == '.' || c.Peek() == ',') && IsDigit(c.Peek(1))) {
      ++c.i;
      int64_t f = 0;
      int n = 0;
      while (IsDigit(c.Peek())) {
        if (n < 9) {
          f = f * 10 + (c.Peek() - '0');
          ++n;
        }
        ++c.i;
      }
      while (n < 9) {
        f *= 10;
        ++n;
      }
      *nanos = f;
    }
  }
  return true;
}

// Parses an optional zone: Z, +HH, +HHMM, +HH:MM, UTC, GMT, and Go's
// " +0000 UTC m=+0.1" tail. Sets *offset_sec (to subtract). Returns false on
// trailing garbage.
bool ParseZone(Cur& c, int64_t* offset_sec) {
  *offset_sec = 0;
  bool had_offset = false;
  c.Spaces();
  if (c.End()) return true;
  if (c.Peek() == 'Z' || c.Peek() == 'z') {
    ++c.i;
  } else if ((c.Peek() == '+' || c.Peek() == '-') && IsDigit(c.Peek(1))) {
    int sign = c.Peek() == '-' ? -1 : 1;
    ++c.i;
    int64_t hh = 0, mm = 0;
    int n = c.CountDigits();
    if (n == 4) {
      c.Digits(2, &hh);
      c.Digits(2, &mm);
    } else if (n == 2 || n == 1) {
      c.Digits(2, &hh);
      if (c.Eat(':') && c.Digits(2, &mm) != 2) return false;
    } else {
      return false;
    }
    if (hh > 23 || mm > 59) return false;
    *offset_sec = sign * (hh * 3600 + mm * 60);
    had_offset = true;
  }
  c.Spaces();
  // A zone name (UTC, GMT, CEST, ...) after or instead of the offset.
  int a = c.CountAlpha();
  if (a > 0 && a <= 5 && !(c.Peek() == 'm' && c.Peek(1) == '=')) {
    std::string_view name = c.s.substr(c.i, a);
    bool utc = (a == 3 && Lower(name[0]) == 'u' && Lower(name[1]) == 't' && Lower(name[2]) == 'c') ||
               (a == 3 && Lower(name[0]) == 'g' && Lower(name[1]) == 'm' && Lower(name[2]) == 't');
    if (!utc && !had_offset) {
      // An unknown zone abbreviation with no numeric offset: we cannot place it.
      return false;
    }
    c.i += a;
    c.Spaces();
  }
  // Go's monotonic clock reading.
  if (c.Peek() == 'm' && c.Peek(1) == '=') return true;
  return c.End();
}

bool Finish(int64_t y, int64_t mo, int64_t d, unsigned h, unsigned mi, unsigned se, int64_t nanos,
            int64_t offset_sec, TimeNs* out) {
  if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1) return false;
  if (static_cast<unsigned>(d) > DaysInMonth(y, static_cast<unsigned>(mo))) return false;
  // TimeNs covers 1677..2262.
  if (y < 1678 || y > 2261) return false;
  *out = CivilToTimeNs(y, static_cast<unsigned>(mo), static_cast<unsigned>(d), h, mi, se, nanos) -
         offset_sec * kNsPerSec;
  return true;
}

// "Jun 14 15:16:01[ 2005]", "Jun 14 2005 15:16:01", "Dec 04 04:47:44 2005".
bool ParseMonthFirst(Cur& c, const TimeParseOptions& opts, TimeNs* out) {
  int a = c.CountAlpha();
  int mo = MonthFromName(c.s.substr(c.i, a));
  if (mo == 0) return false;
  c.i += a;
  if (c.Peek() == '.') ++c.i;  // "Jun."
  if (c.Spaces() == 0) return false;
  int64_t d;
  if (c.Digits(2, &d) == 0 || IsDigit(c.Peek())) return false;
  if (c.Peek() == ',') ++c.i;
  if (c.Spaces() == 0) return false;
  int64_t year = opts.default_year;
  if (c.CountDigits() == 4) {
    c.Digits(4, &year);
    if (c.Spaces() == 0) {
      // Date only.
      int64_t off;
      if (!ParseZone(c, &off)) return false;
      return Finish(year, mo, d, 0, 0, 0, 0, off, out);
    }
  }
  unsigned h, mi, se;
  int64_t nanos;
  if (!ParseClock(c, ':', &h, &mi, &se, &nanos)) return false;
  size_t save = c.i;
  if (c.Spaces() > 0 && c.CountDigits() == 4) {
    c.Digits(4, &year);
  } else {
    c.i = save;
  }
  int64_t off;
  if (!ParseZone(c, &off)) return false;
  return Finish(year, mo, d, h, mi, se, nanos, off, out);
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // H. Hinnant's algorithm.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

TimeNs CivilToTimeNs(int64_t y, unsigned mon, unsigned day, unsigned h, unsigned min,
                     unsigned sec, int64_t nanos) {
  int64_t secs = DaysFromCivil(y, mon, day) * 86400 + h * 3600 + min * 60 + sec;
  return secs * kNsPerSec + nanos;
}

int MonthFromName(std::string_view name) {
  static const char* kMonths[] = {"january", "february", "march",     "april",   "may",      "june",
                                  "july",    "august",   "september", "october", "november", "december"};
  if (name.size() < 3) return 0;
  for (int m = 0; m < 12; ++m) {
    const char* full = kMonths[m];
    size_t len = std::strlen(full);
    if (name.size() != 3 && name.size() != len && !(m == 8 && name.size() == 4)) continue;
    if (name.size() > len) continue;
    bool ok = true;
    for (size_t k = 0; k < name.size(); ++k)
      if (Lower(name[k]) != full[k]) {
        ok = false;
        break;
      }
    if (ok) return m + 1;
  }
  return 0;
}

bool ParseUnixTime(std::string_view text, TimeNs* out) {
  std::string_view s = Trim(text);
  if (s.empty()) return false;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  size_t i = 0;
  int64_t ip = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, s[i] - '0', &ip))
      return false;
    ++i;
  }
  size_t int_digits = i;
  int64_t frac = 0;  // in units of 1e-9 of the unit
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int n = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (n < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++n;
      }
      ++i;
      ++frac_digits;
    }
    while (n < 9) {
      frac *= 10;
      ++n;
    }
  }
  if (i != s.size() || (int_digits == 0 && frac_digits == 0)) return false;
  int64_t unit;
  if (ip < 100000000000LL) unit = kNsPerSec;
  else if (ip < 100000000000000LL) unit = kNsPerMs;
  else if (ip < 100000000000000000LL) unit = kNsPerUs;
  else unit = 1;
  int64_t ns;
  if (__builtin_mul_overflow(ip, unit, &ns)) return false;
  ns += static_cast<int64_t>(static_cast<__int128>(frac) * unit / kNsPerSec);
  *out = neg ? -ns : ns;
  return true;
}

bool ParseDateTime(std::string_view text, TimeNs* out, const TimeParseOptions& opts) {
  std::string_view s = Trim(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = Trim(s.substr(1, s.size() - 2));
  if (s.empty() || s.size() > 128) return false;
  Cur c{s, 0};
  if (IsAlpha(c.Peek())) {
    int a = c.CountAlpha();
    if (IsWeekday(s.substr(0, a)) && MonthFromName(s.substr(0, a)) == 0) {
      c.i += a;
      if (c.Peek() == ',') ++c.i;
      if (c.Spaces() == 0) return false;
      if (IsDigit(c.Peek())) {
        // "Sun, 04 Dec 2005 04:47:44 GMT" (RFC 1123) falls through below.
      } else {
        return ParseMonthFirst(c, opts, out);
      }
    } else {
      return ParseMonthFirst(c, opts, out);
    }
  }
  if (!IsDigit(c.Peek())) return false;
  int n1 = c.CountDigits();
  int64_t y = 0, mo = 0, d = 0;
  unsigned h = 0, mi = 0, se = 0;
  int64_t nanos = 0, off = 0;
  if (n1 == 4) {
    // YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD
    c.Digits(4, &y);
    char sep = c.Peek();
    if (sep != '-' && sep != '/' && sep != '.') return false;
    ++c.i;
    if (c.Digits(2, &mo) == 0 || !c.Eat(sep) || c.Digits(2, &d) == 0) return false;
    if (IsDigit(c.Peek())) return false;
    if (c.End()) return Finish(y, mo, d, 0, 0, 0, 0, 0, out);
    char tsep = ':';
    if (c.Peek() == 'T' || c.Peek() == 't') {
      ++c.i;
    } else if (c.Peek() == '-' && IsDigit(c.Peek(1))) {
      ++c.i;  // BGL: 2005-06-03-15.42.50.675872
      tsep = '.';
    } else if (c.Spaces() == 0) {
      return false;
    } else if (c.End()) {
      return Finish(y, mo, d, 0, 0, 0, 0, 0, out);
    }
    if (tsep == ':' && !(c.Peek(2) == ':' || c.Peek(1) == ':')) {
      // Maybe a date followed by a zone only.
      if (!ParseZone(c, &off)) return false;
      return Finish(y, mo, d, 0, 0, 0, 0, off, out);
    }
    if (!ParseClock(c, tsep, &h, &mi, &se, &nanos)) return false;
    if (!ParseZone(c, &off)) return false;
    return Finish(y, mo, d, h, mi, se, nanos, off, out);
  }
  if (n1 == 6) {
    // HDFS: YYMMDD HHMMSS
    int64_t ymd = 0, hms = 0;
    c.Digits(6, &ymd);
    if (c.Spaces() == 0 || c.CountDigits() != 6) return false;
    c.Digits(6, &hms);
    if (!c.End()) return false;
    h = static_cast<unsigned>(hms / 10000);
    mi = static_cast<unsigned>(hms / 100 % 100);
    se = static_cast<unsigned>(hms % 100);
    if (h > 23 || mi > 59 || se > 60) return false;
    return Finish(2000 + ymd / 10000, ymd / 100 % 100, ymd % 100, h, mi, se, 0, 0, out);
  }
  if (n1 == 8 && (c.Peek(8) == 'T' || c.Peek(8) == 't')) {
    // Basic ISO: 20150729T174144[Z]
    int64_t ymd = 0, hms = 0;
    c.Digits(8, &ymd);
    ++c.i;
    if (c.CountDigits() < 6) return false;
    c.Digits(6, &hms);
    h = static_cast<unsigned>(hms / 10000);
    mi = static_cast<unsigned>(hms / 100 % 100);
    se = static_cast<unsigned>(hms % 100);
    if (h > 23 || mi > 59 || se > 60) return false;
    if (!ParseZone(c, &off)) return false;
    return Finish(ymd / 10000, ymd / 100 % 100, ymd % 100, h, mi, se, 0, off, out);
  }
  if (n1 == 1 || n1 == 2) {
    c.Digits(2, &d);
    if (c.Peek() == '/' || c.Peek() == '-') {
      // Spark: YY/MM/DD HH:MM:SS
      char sep = c.Peek();
      ++c.i;
      int64_t yy = d;
      if (c.Digits(2, &mo) == 0 || !c.Eat(sep) || c.CountDigits() != 2) return false;
      c.Digits(2, &d);
      if (n1 != 2) return false;
      y = 2000 + yy;
      if (c.End()) return Finish(y, mo, d, 0, 0, 0, 0, 0, out);
      if (c.Spaces() == 0) return false;
      if (!ParseClock(c, ':', &h, &mi, &se, &nanos)) return false;
      if (!ParseZone(c, &off)) return false;
      return Finish(y, mo, d, h, mi, se, nanos, off, out);
    }
    // "14 Jun 2005 15:16:01" / RFC 1123 "04 Dec 2005 04:47:44 GMT"
    if (c.Spaces() == 0) return false;
    int a = c.CountAlpha();
    mo = MonthFromName(s.substr(c.i, a));
    if (mo == 0) return false;
    c.i += a;
    if (c.Spaces() == 0 || c.CountDigits() != 4) return false;
    c.Digits(4, &y);
    if (c.End()) return Finish(y, mo, d, 0, 0, 0, 0, 0, out);
    if (c.Spaces() == 0) return false;
    if (!ParseClock(c, ':', &h, &mi, &se, &nanos)) return false;
    if (!ParseZone(c, &off)) return false;
    return Finish(y, mo, d, h, mi, se, nanos, off, out);
  }
  return false;
}

bool ParseTimestamp(std::string_view text, TimeNs* out, const TimeParseOptions& opts) {
  std::string_view s = Trim(text);
  if (s.empty()) return false;
  // Pure numbers are unix times; everything else is a calendar date-time.
  bool numeric = true;
  for (size_t k = 0; k < s.size(); ++k) {
    char ch = s[k];
    if (!(IsDigit(ch) || ch == '.' || (k == 0 && (ch == '-' || ch == '+')))) {
      numeric = false;
      break;
    }
  }
  if (numeric) {
    // "2005.06.03" is a date, not a number: two dots.
    if (std::count(s.begin(), s.end(), '.') <= 1) return ParseUnixTime(s, out);
  }
  return ParseDateTime(s, out, opts);
}

}  // namespace triad
