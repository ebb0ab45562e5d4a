#include "triad/telemetry.h"

#include <cctype>
#include <string>

namespace triad {

const std::string* FindAttribute(const Attributes& attrs, std::string_view key) {
  for (const auto& kv : attrs)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

int SeverityFromText(std::string_view text) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (t.empty()) return 0;
  if (t == "TRACE" || t == "T" || t == "FINEST" || t == "FINER") return 1;
  if (t == "DEBUG" || t == "D" || t == "FINE" || t == "VERBOSE") return 5;
  if (t == "INFO" || t == "I" || t == "INFORMATION" || t == "NOTICE" || t == "CONFIG") return 9;
  if (t == "WARN" || t == "WARNING" || t == "W") return 13;
  if (t == "ERROR" || t == "ERR" || t == "E" || t == "SEVERE" || t == "FAILURE") return 17;
  if (t == "FATAL" || t == "F" || t == "CRITICAL" || t == "CRIT" || t == "ALERT" || t == "EMERG" ||
      t == "PANIC")
    return 21;
  return 0;
}

bool IsErrorSeverity(int severity_number) { return severity_number >= 17; }

const char* SpanKindName(SpanKind k) {
  switch (k) {
    case SpanKind::kInternal: return "internal";
    case SpanKind::kServer: return "server";
    case SpanKind::kClient: return "client";
    case SpanKind::kProducer: return "producer";
    case SpanKind::kConsumer: return "consumer";
    default: return "unspecified";
  }
}

const char* MetricKindName(MetricKind k) {
  switch (k) {
    case MetricKind::kCounter: return "counter";
    case MetricKind::kHistogram: return "histogram";
    default: return "gauge";
  }
}

}  // namespace triad
