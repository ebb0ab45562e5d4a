// Metric CSV reader. Three layouts, detected from the first line:
//
//  * wide:  a header whose first time-like column (timestamp, time, Time,
//           TimeStamp, date, ... case-insensitive) is the time; every other
//           column is one gauge metric named after its header. Non-numeric,
//           empty and NaN cells are counted skips. Columns holding text in
//           the first data row (e.g. a pod name) are label columns instead
//           (see below), not metrics.
//  * long:  a header with time, name (or metric/metric_name) and value
//           columns; optional `labels` column as "k=v;k=v", optional
//           service/instance/kind (gauge|counter) columns; any other column
//           is a label.
//  * bare:  no header, every cell numeric (e.g. SMD: 38 columns, one row per
//           minute). Row i (0-based) gets time = i * 60 s since the epoch;
//           metrics are named "m0", "m1", ...
//
// Time cells: unix seconds/ms/us/ns (by magnitude) or any format of
// core/time_parse.h. Rows whose time does not parse are counted skips.
// Service: opts.service, else a `service`/`PodName`/`pod`/`instance` column,
// else derived from the file name (see MetricCsvOptions). A wide column named
// like a label (PodName, pod, service, instance, host, node, container,
// namespace) becomes a label / the service, never a metric.
#ifndef TRIAD_INGEST_METRIC_CSV_H_
#define TRIAD_INGEST_METRIC_CSV_H_

#include <string>

#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct MetricCsvOptions {
  std::string service;  // service for every sample; empty = from a column or the file name
};

// Interval used for header-less numeric CSVs (SMD): row i is at i * 60 s.
constexpr TimeNs kBareCsvRowInterval = 60 * kNsPerSec;

// Reads a metric CSV from `r` (or from `path`: plain, gzip or "-").
// `stats` may be null. When opts.service is empty and no column names a
// service, ReadMetricCsvFile derives one from the file name: a Nezha metric
// file "<pod>_metric.csv" or "<pod>.csv" gives the pod name as instance and
// the pod name without its replica-set/pod hash suffixes as service.
Status ReadMetricCsv(LineReader& r, const MetricCsvOptions& opts, TelemetrySink& sink,
                     ReadStats* stats);
Status ReadMetricCsvFile(const std::string& path, const MetricCsvOptions& opts,
                         TelemetrySink& sink, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_METRIC_CSV_H_
