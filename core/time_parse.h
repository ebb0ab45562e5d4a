// Timestamp parsing for the formats seen in logs, metric files and datasets.
// All results are nanoseconds since the Unix epoch, UTC. Text without a zone
// designator is taken as UTC (loghub and most dataset times carry no zone).
//
// Accepted by ParseTimestamp (leading/trailing spaces and one pair of
// enclosing [] ignored):
//   unix numbers   "1117838570", "1117838570.675", "1628342488006" — the unit
//                  is chosen by magnitude: |v| < 1e11 s, < 1e14 ms, < 1e17 us,
//                  else ns (so seconds work until the year 5138).
//   ISO-8601/RFC-3339   "2015-10-18 18:01:47,978", "2015-07-29T17:41:44.747Z",
//                  "2023-01-29T08:42:22.383150913+08:00", offsets +HH, +HHMM,
//                  +HH:MM; date separators '-', '/' or '.'; a date alone is
//                  midnight. A trailing " +0000 UTC m=+0.119" (Go's
//                  time.Time.String()) is accepted: the offset applies, the
//                  zone name and monotonic reading are ignored.
//   HDFS           "081109 203615" (YYMMDD HHMMSS; YY -> 20YY)
//   Spark          "17/06/09 20:10:40" (YY/MM/DD; YY -> 20YY)
//   BGL            "2005-06-03-15.42.50.675872"
//   Apache/ctime   "Sun Dec 04 04:47:44 2005" (weekday optional)
//   syslog         "Jun 14 15:16:01", "Jun  9 06:06:20" (no year: the year
//                  TimeParseOptions::default_year, 2000 by default — a leap year
//                  so that "Feb 29" parses; year rollover is NOT inferred),
//                  also "Jun 14 2005 15:16:01" and "14 Jun 2005 15:16:01".
// Fractions of a second may use '.' or ',' and have 1-9 digits (more are
// truncated).
#ifndef TRIAD_CORE_TIME_PARSE_H_
#define TRIAD_CORE_TIME_PARSE_H_

#include <cstdint>
#include <string_view>

#include "triad/telemetry.h"

namespace triad {

struct TimeParseOptions {
  int default_year = 2000;  // year for syslog-style stamps that carry none
};

// Returns true and sets *out iff `text` is a timestamp in one of the formats
// above. *out is unchanged on failure.
bool ParseTimestamp(std::string_view text, TimeNs* out, const TimeParseOptions& opts = {});

// Returns true and sets *out iff `text` is a plain decimal number (optional
// sign, optional fraction, no exponent); the unit is chosen by magnitude as
// described above.
bool ParseUnixTime(std::string_view text, TimeNs* out);

// Returns true and sets *out iff `text` is a calendar date-time (every format
// above but unix numbers).
bool ParseDateTime(std::string_view text, TimeNs* out, const TimeParseOptions& opts = {});

// Days since 1970-01-01 of a proleptic Gregorian civil date (no range checks).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// Returns the time of the civil date-time (UTC); REQUIRES valid fields.
TimeNs CivilToTimeNs(int64_t y, unsigned mon, unsigned day, unsigned h, unsigned min,
                     unsigned sec, int64_t nanos);

// Month number 1..12 of an English month name or 3-letter abbreviation
// (case-insensitive), or 0.
int MonthFromName(std::string_view name);

}  // namespace triad

#endif  // TRIAD_CORE_TIME_PARSE_H_
