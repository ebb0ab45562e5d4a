#include "serve/store.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <algorithm>

namespace triad {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS anomalies(
  id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL, score REAL NOT NULL, threshold REAL NOT NULL, model TEXT NOT NULL,
  summary TEXT NOT NULL, evidence TEXT NOT NULL, detected_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS anomalies_by_service ON anomalies(service, start_ns);
CREATE INDEX IF NOT EXISTS anomalies_by_start ON anomalies(start_ns);
CREATE TABLE IF NOT EXISTS scores(
  service TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
  score REAL NOT NULL, anomaly INTEGER NOT NULL, PRIMARY KEY(service, start_ns));
CREATE INDEX IF NOT EXISTS scores_by_start ON scores(start_ns);
CREATE TABLE IF NOT EXISTS services(
  name TEXT PRIMARY KEY, first_seen_ns INTEGER NOT NULL, last_window_ns INTEGER NOT NULL,
  last_score REAL NOT NULL, last_anomaly INTEGER NOT NULL, threshold REAL NOT NULL,
  windows INTEGER NOT NULL, anomalies INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS edges(
  caller TEXT NOT NULL, callee TEXT NOT NULL, calls INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL, PRIMARY KEY(caller, callee));
CREATE TABLE IF NOT EXISTS templates(
  id INTEGER PRIMARY KEY, template TEXT NOT NULL, count INTEGER NOT NULL,
  first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS models(
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL,
  path TEXT NOT NULL, version INTEGER NOT NULL, threshold REAL NOT NULL, info TEXT NOT NULL,
  loaded_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
)sql";

// Resets a statement on scope exit.
class Reset {
 public:
  explicit Reset(sqlite3_stmt* st) : st_(st) {}
  ~Reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }

 private:
  sqlite3_stmt* st_;
};

void BindText(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

std::string ColText(sqlite3_stmt* st, int i) {
  const unsigned char* p = sqlite3_column_text(st, i);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p),
                                                    sqlite3_column_bytes(st, i));
}

int64_t Limit(size_t n) { return n == 0 ? -1 : static_cast<int64_t>(std::min<size_t>(n, INT64_MAX)); }

}  // namespace

struct Store::Statements {
  sqlite3_stmt* add_anomaly = nullptr;
  sqlite3_stmt* query_anomalies = nullptr;
  sqlite3_stmt* get_anomaly = nullptr;
  sqlite3_stmt* add_score = nullptr;
  sqlite3_stmt* upsert_service = nullptr;
  sqlite3_stmt* query_scores = nullptr;
  sqlite3_stmt* list_services = nullptr;
  sqlite3_stmt* add_edge = nullptr;
  sqlite3_stmt* list_edges = nullptr;
  sqlite3_stmt* upsert_template = nullptr;
  sqlite3_stmt* list_templates = nullptr;
  sqlite3_stmt* add_model = nullptr;
  sqlite3_stmt* list_models = nullptr;
  sqlite3_stmt* delete_anomalies = nullptr;
  sqlite3_stmt* delete_scores = nullptr;
  std::vector<sqlite3_stmt*> all() const {
    return {add_anomaly, query_anomalies, get_anomaly, add_score, upsert_service,
            query_scores, list_services, add_edge, list_edges, upsert_template,
            list_templates, add_model, list_models, delete_anomalies, delete_scores};
  }
};

#define TRIAD_ANOMALY_COLS \
  "id, service, start_ns, end_ns, score, threshold, model, summary, evidence, detected_ns"

Status Store::Open(const std::string& path, std::unique_ptr<Store>* out) {
  std::unique_ptr<Store> s(new Store);
  s->st_ = std::make_unique<Statements>();
  int rc = sqlite3_open_v2(path.c_str(), &s->db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = s->db_ ? sqlite3_errmsg(s->db_) : sqlite3_errstr(rc);
    return Status::IOError(fmt::format("{}: cannot open database: {}", path, msg));
  }
  sqlite3_busy_timeout(s->db_, 5000);
  if (path != ":memory:") TRIAD_RETURN_IF_ERROR(s->Exec("PRAGMA journal_mode=WAL"));
  TRIAD_RETURN_IF_ERROR(s->Exec("PRAGMA synchronous=NORMAL"));
  TRIAD_RETURN_IF_ERROR(s->Exec(kSchema));
  Statements& q = *s->st_;
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "INSERT INTO anomalies(service, start_ns, end_ns, score, threshold, model, summary, "
      "evidence, detected_ns) VALUES(?,?,?,?,?,?,?,?,?)",
      &q.add_anomaly));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "SELECT " TRIAD_ANOMALY_COLS " FROM anomalies WHERE (?1 = '' OR service = ?1) AND "
      "start_ns >= ?2 AND start_ns < ?3 ORDER BY start_ns DESC, id DESC LIMIT ?4",
      &q.query_anomalies));
  TRIAD_RETURN_IF_ERROR(
      s->Prepare("SELECT " TRIAD_ANOMALY_COLS " FROM anomalies WHERE id = ?", &q.get_anomaly));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "INSERT OR REPLACE INTO scores(service, start_ns, end_ns, score, anomaly) "
      "VALUES(?,?,?,?,?)",
      &q.add_score));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "INSERT INTO services(name, first_seen_ns, last_window_ns, last_score, last_anomaly, "
      "threshold, windows, anomalies) VALUES(?1,?2,?2,?3,?4,?5,1,?4) "
      "ON CONFLICT(name) DO UPDATE SET "
      "first_seen_ns = min(first_seen_ns, ?2), "
      "last_score = CASE WHEN ?2 >= last_window_ns THEN ?3 ELSE last_score END, "
      "last_anomaly = CASE WHEN ?2 >= last_window_ns THEN ?4 ELSE last_anomaly END, "
      "last_window_ns = max(last_window_ns, ?2), threshold = ?5, windows = windows + 1, "
      "anomalies = anomalies + ?4",
      &q.upsert_service));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "SELECT service, start_ns, end_ns, score, anomaly FROM scores WHERE (?1 = '' OR service = "
      "?1) AND start_ns >= ?2 AND start_ns < ?3 ORDER BY start_ns, service LIMIT ?4",
      &q.query_scores));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "SELECT name, first_seen_ns, last_window_ns, last_score, last_anomaly, threshold, windows, "
      "anomalies FROM services ORDER BY name",
      &q.list_services));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "INSERT INTO edges(caller, callee, calls, last_seen_ns) VALUES(?1,?2,?3,?4) "
      "ON CONFLICT(caller, callee) DO UPDATE SET calls = calls + ?3, "
      "last_seen_ns = max(last_seen_ns, ?4)",
      &q.add_edge));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "SELECT caller, callee, calls, last_seen_ns FROM edges ORDER BY caller, callee",
      &q.list_edges));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "INSERT OR REPLACE INTO templates(id, template, count, first_seen_ns, last_seen_ns) "
      "VALUES(?,?,?,?,?)",
      &q.upsert_template));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "SELECT id, template, count, first_seen_ns, last_seen_ns FROM templates "
      "ORDER BY count DESC, id LIMIT ?",
      &q.list_templates));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "INSERT INTO models(name, kind, path, version, threshold, info, loaded_ns) "
      "VALUES(?,?,?,?,?,?,?)",
      &q.add_model));
  TRIAD_RETURN_IF_ERROR(s->Prepare(
      "SELECT id, name, kind, path, version, threshold, info, loaded_ns FROM models "
      "ORDER BY id DESC",
      &q.list_models));
  TRIAD_RETURN_IF_ERROR(
      s->Prepare("DELETE FROM anomalies WHERE start_ns < ?", &q.delete_anomalies));
  TRIAD_RETURN_IF_ERROR(s->Prepare("DELETE FROM scores WHERE start_ns < ?", &q.delete_scores));
  *out = std::move(s);
  return Status::OK();
}

Store::~Store() {
  if (st_)
    for (sqlite3_stmt* st : st_->all()) sqlite3_finalize(st);
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Store::Error(const char* what) const {
  return Status::IOError(fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db_)));
}

Status Store::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::IOError(fmt::format("sqlite: {}", err ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return Status::OK();
}

Status Store::Prepare(const char* sql, sqlite3_stmt** st) {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, st, nullptr) != SQLITE_OK)
    return Error("prepare");
  return Status::OK();
}

Status Store::InTransaction(const std::function<Status()>& fn) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  TRIAD_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status s = fn();
  if (!s.ok()) {
    Exec("ROLLBACK");
    return s;
  }
  return Exec("COMMIT");
}

Status Store::PutMeta(const std::string& key, const std::string& value) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)", -1, &st,
                         nullptr) != SQLITE_OK)
    return Error("prepare put meta");
  BindText(st, 1, key);
  sqlite3_bind_blob(st, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return Error("put meta");
  return Status::OK();
}

Status Store::GetMeta(const std::string& key, std::string* value) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = ?", -1, &st, nullptr) !=
      SQLITE_OK)
    return Error("prepare get meta");
  BindText(st, 1, key);
  const int rc = sqlite3_step(st);
  Status s;
  if (rc == SQLITE_ROW) {
    const void* p = sqlite3_column_blob(st, 0);
    const int n = sqlite3_column_bytes(st, 0);
    value->assign(p != nullptr ? static_cast<const char*>(p) : "", static_cast<size_t>(n));
  } else if (rc == SQLITE_DONE) {
    s = Status::NotFound("meta key " + key);
  } else {
    s = Error("get meta");
  }
  sqlite3_finalize(st);
  return s;
}

Status Store::AddAnomaly(AnomalyRow* a) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = st_->add_anomaly;
  Reset r(st);
  BindText(st, 1, a->service);
  sqlite3_bind_int64(st, 2, a->start);
  sqlite3_bind_int64(st, 3, a->end);
  sqlite3_bind_double(st, 4, a->score);
  sqlite3_bind_double(st, 5, a->threshold);
  BindText(st, 6, a->model);
  BindText(st, 7, a->summary);
  BindText(st, 8, a->evidence_json.empty() ? std::string("{}") : a->evidence_json);
  sqlite3_bind_int64(st, 9, a->detected);
  if (sqlite3_step(st) != SQLITE_DONE) return Error("insert anomaly");
  a->id = sqlite3_last_insert_rowid(db_);
  return Status::OK();
}

namespace {
AnomalyRow ReadAnomaly(sqlite3_stmt* st) {
  AnomalyRow a;
  a.id = sqlite3_column_int64(st, 0);
  a.service = ColText(st, 1);
  a.start = sqlite3_column_int64(st, 2);
  a.end = sqlite3_column_int64(st, 3);
  a.score = sqlite3_column_double(st, 4);
  a.threshold = sqlite3_column_double(st, 5);
  a.model = ColText(st, 6);
  a.summary = ColText(st, 7);
  a.evidence_json = ColText(st, 8);
  a.detected = sqlite3_column_int64(st, 9);
  return a;
}
}  // namespace

Status Store::QueryAnomalies(const TimeQuery& q, std::vector<AnomalyRow>* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  out->clear();
  sqlite3_stmt* st = st_->query_anomalies;
  Reset r(st);
  BindText(st, 1, q.service);
  sqlite3_bind_int64(st, 2, q.from);
  sqlite3_bind_int64(st, 3, q.to);
  sqlite3_bind_int64(st, 4, Limit(q.limit));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out->push_back(ReadAnomaly(st));
  return rc == SQLITE_DONE ? Status::OK() : Error("query anomalies");
}

Status Store::GetAnomaly(int64_t id, AnomalyRow* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = st_->get_anomaly;
  Reset r(st);
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = ReadAnomaly(st);
    return Status::OK();
  }
  if (rc == SQLITE_DONE) return Status::NotFound(fmt::format("no anomaly {}", id));
  return Error("get anomaly");
}

Status Store::AddScore(const StoredScore& s, double threshold) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  {
    sqlite3_stmt* st = st_->add_score;
    Reset r(st);
    BindText(st, 1, s.service);
    sqlite3_bind_int64(st, 2, s.start);
    sqlite3_bind_int64(st, 3, s.end);
    sqlite3_bind_double(st, 4, s.score);
    sqlite3_bind_int(st, 5, s.anomaly ? 1 : 0);
    if (sqlite3_step(st) != SQLITE_DONE) return Error("insert score");
  }
  sqlite3_stmt* st = st_->upsert_service;
  Reset r(st);
  BindText(st, 1, s.service);
  sqlite3_bind_int64(st, 2, s.start);
  sqlite3_bind_double(st, 3, s.score);
  sqlite3_bind_int(st, 4, s.anomaly ? 1 : 0);
  sqlite3_bind_double(st, 5, threshold);
  if (sqlite3_step(st) != SQLITE_DONE) return Error("upsert service");
  return Status::OK();
}

Status Store::QueryScores(const TimeQuery& q, std::vector<StoredScore>* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  out->clear();
  sqlite3_stmt* st = st_->query_scores;
  Reset r(st);
  BindText(st, 1, q.service);
  sqlite3_bind_int64(st, 2, q.from);
  sqlite3_bind_int64(st, 3, q.to);
  sqlite3_bind_int64(st, 4, Limit(q.limit));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    out->push_back({ColText(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                    sqlite3_column_double(st, 3), sqlite3_column_int(st, 4) != 0});
  return rc == SQLITE_DONE ? Status::OK() : Error("query scores");
}

Status Store::ListServices(std::vector<ServiceRow>* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  out->clear();
  sqlite3_stmt* st = st_->list_services;
  Reset r(st);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ServiceRow s;
    s.name = ColText(st, 0);
    s.first_seen = sqlite3_column_int64(st, 1);
    s.last_window = sqlite3_column_int64(st, 2);
    s.last_score = sqlite3_column_double(st, 3);
    s.last_anomaly = sqlite3_column_int(st, 4) != 0;
    s.threshold = sqlite3_column_double(st, 5);
    s.windows = static_cast<uint64_t>(sqlite3_column_int64(st, 6));
    s.anomalies = static_cast<uint64_t>(sqlite3_column_int64(st, 7));
    out->push_back(std::move(s));
  }
  return rc == SQLITE_DONE ? Status::OK() : Error("list services");
}

Status Store::AddEdge(const std::string& caller, const std::string& callee, uint64_t calls,
                      TimeNs window_start) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = st_->add_edge;
  Reset r(st);
  BindText(st, 1, caller);
  BindText(st, 2, callee);
  sqlite3_bind_int64(st, 3, static_cast<int64_t>(calls));
  sqlite3_bind_int64(st, 4, window_start);
  if (sqlite3_step(st) != SQLITE_DONE) return Error("upsert edge");
  return Status::OK();
}

Status Store::ListEdges(std::vector<EdgeRow>* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  out->clear();
  sqlite3_stmt* st = st_->list_edges;
  Reset r(st);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    out->push_back({ColText(st, 0), ColText(st, 1),
                    static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
                    sqlite3_column_int64(st, 3)});
  return rc == SQLITE_DONE ? Status::OK() : Error("list edges");
}

Status Store::UpsertTemplate(const TemplateRow& t) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = st_->upsert_template;
  Reset r(st);
  sqlite3_bind_int64(st, 1, t.id);
  BindText(st, 2, t.text);
  sqlite3_bind_int64(st, 3, static_cast<int64_t>(t.count));
  sqlite3_bind_int64(st, 4, t.first_seen);
  sqlite3_bind_int64(st, 5, t.last_seen);
  if (sqlite3_step(st) != SQLITE_DONE) return Error("upsert template");
  return Status::OK();
}

Status Store::ListTemplates(size_t limit, std::vector<TemplateRow>* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  out->clear();
  sqlite3_stmt* st = st_->list_templates;
  Reset r(st);
  sqlite3_bind_int64(st, 1, Limit(limit));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    out->push_back({sqlite3_column_int64(st, 0), ColText(st, 1),
                    static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
                    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4)});
  return rc == SQLITE_DONE ? Status::OK() : Error("list templates");
}

Status Store::AddModel(ModelRow* m) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  sqlite3_stmt* st = st_->add_model;
  Reset r(st);
  BindText(st, 1, m->name);
  BindText(st, 2, m->kind);
  BindText(st, 3, m->path);
  sqlite3_bind_int(st, 4, m->version);
  sqlite3_bind_double(st, 5, m->threshold);
  BindText(st, 6, m->info_json.empty() ? std::string("{}") : m->info_json);
  sqlite3_bind_int64(st, 7, m->loaded);
  if (sqlite3_step(st) != SQLITE_DONE) return Error("insert model");
  m->id = sqlite3_last_insert_rowid(db_);
  return Status::OK();
}

Status Store::ListModels(std::vector<ModelRow>* out) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  out->clear();
  sqlite3_stmt* st = st_->list_models;
  Reset r(st);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ModelRow m;
    m.id = sqlite3_column_int64(st, 0);
    m.name = ColText(st, 1);
    m.kind = ColText(st, 2);
    m.path = ColText(st, 3);
    m.version = sqlite3_column_int(st, 4);
    m.threshold = sqlite3_column_double(st, 5);
    m.info_json = ColText(st, 6);
    m.loaded = sqlite3_column_int64(st, 7);
    out->push_back(std::move(m));
  }
  return rc == SQLITE_DONE ? Status::OK() : Error("list models");
}

Status Store::DeleteOlderThan(TimeNs cutoff, uint64_t* deleted) {
  std::lock_guard<std::recursive_mutex> l(mu_);
  uint64_t n = 0;
  for (sqlite3_stmt* st : {st_->delete_anomalies, st_->delete_scores}) {
    Reset r(st);
    sqlite3_bind_int64(st, 1, cutoff);
    if (sqlite3_step(st) != SQLITE_DONE) return Error("retention delete");
    n += static_cast<uint64_t>(sqlite3_changes(db_));
  }
  if (deleted != nullptr) *deleted = n;
  return Status::OK();
}

}  // namespace triad
