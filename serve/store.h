// Store: `triad serve`'s local state in one SQLite database (WAL mode):
// anomalies with their evidence, per-window scores (the score timeline),
// services and their latest scores, the service graph, log templates and the
// models that were loaded. Retention deletes anomalies and scores older than
// a cut-off. All statements are prepared once.
//
// Thread-safe: one connection behind a mutex (the pipeline's worker writes,
// HTTP handlers read; SQLite serialises writers anyway).
#ifndef TRIAD_SERVE_STORE_H_
#define TRIAD_SERVE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "triad/status.h"
#include "triad/telemetry.h"

struct sqlite3;
struct sqlite3_stmt;

namespace triad {

struct AnomalyRow {
  int64_t id = 0;  // assigned by AddAnomaly
  std::string service;
  TimeNs start = 0, end = 0;
  double score = 0, threshold = 0;
  std::string model;          // which model scored it
  std::string summary;        // one line (DescribeEvidence)
  std::string evidence_json;  // JSON object: contributions, templates, spans, ...
  TimeNs detected = 0;        // wall time of detection
};

struct StoredScore {
  std::string service;
  TimeNs start = 0, end = 0;
  double score = 0;
  bool anomaly = false;
};

struct ServiceRow {
  std::string name;
  TimeNs first_seen = 0;     // window start of its first scored window
  TimeNs last_window = 0;    // start of its latest scored window
  double last_score = 0;
  bool last_anomaly = false;
  double threshold = 0;
  uint64_t windows = 0, anomalies = 0;
};

struct EdgeRow {
  std::string caller, callee;
  uint64_t calls = 0;
  TimeNs last_seen = 0;  // window start
};

struct TemplateRow {
  int64_t id = 0;  // the log parser's template id
  std::string text;
  uint64_t count = 0;
  TimeNs first_seen = 0, last_seen = 0;  // event time
};

struct ModelRow {
  int64_t id = 0;
  std::string name, kind, path;
  int version = 0;
  double threshold = 0;
  std::string info_json;
  TimeNs loaded = 0;  // wall time
};

// Filter of QueryAnomalies / QueryScores: window start in [from, to);
// empty service = all.
struct TimeQuery {
  std::string service;
  TimeNs from = INT64_MIN, to = INT64_MAX;
  size_t limit = 1000;
};

class Store {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" works),
  // sets WAL mode and creates the schema. Returns IOError/Corruption with
  // SQLite's message on failure.
  static Status Open(const std::string& path, std::unique_ptr<Store>* out);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `fn` inside one transaction (committed iff fn returns OK).
  Status InTransaction(const std::function<Status()>& fn);

  Status AddAnomaly(AnomalyRow* row);  // sets row->id
  // Newest first (by start, then id).
  Status QueryAnomalies(const TimeQuery& q, std::vector<AnomalyRow>* out);
  Status GetAnomaly(int64_t id, AnomalyRow* out);  // NotFound if absent

  // Records a scored window and updates its service's row.
  Status AddScore(const StoredScore& s, double threshold);
  // Oldest first.
  Status QueryScores(const TimeQuery& q, std::vector<StoredScore>* out);
  Status ListServices(std::vector<ServiceRow>* out);  // by name

  // Adds `calls` to the edge's count.
  Status AddEdge(const std::string& caller, const std::string& callee, uint64_t calls,
                 TimeNs window_start);
  Status ListEdges(std::vector<EdgeRow>* out);

  // Inserts or replaces a template (text, count, first/last seen).
  Status UpsertTemplate(const TemplateRow& t);
  Status ListTemplates(size_t limit, std::vector<TemplateRow>* out);  // most frequent first

  Status AddModel(ModelRow* row);             // sets row->id
  Status ListModels(std::vector<ModelRow>* out);  // newest first

  // Small key/value state (e.g. the online pipeline's checkpoint), written in
  // the caller's transaction when called inside InTransaction. GetMeta
  // returns NotFound if `key` was never put.
  Status PutMeta(const std::string& key, const std::string& value);
  Status GetMeta(const std::string& key, std::string* value);

  // Deletes anomalies and scores whose window started before `cutoff`.
  // Sets *deleted (may be null) to the number of rows removed.
  Status DeleteOlderThan(TimeNs cutoff, uint64_t* deleted);

 private:
  Store() = default;
  Status Exec(const char* sql);
  Status Prepare(const char* sql, sqlite3_stmt** st);
  Status Error(const char* what) const;

  mutable std::recursive_mutex mu_;
  sqlite3* db_ = nullptr;
  struct Statements;
  std::unique_ptr<Statements> st_;
};

}  // namespace triad

#endif  // TRIAD_SERVE_STORE_H_
