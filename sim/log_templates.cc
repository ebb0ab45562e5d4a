#include "sim/log_templates.h"

#include <map>

namespace triad {

const std::vector<std::string>& RequestInfoTemplates(const Service& s) {
  static const std::map<std::string, std::vector<std::string>> kByName = {
      {"auth",
       {"Token verified for user {user} (scopes=read,write; expires in {n}m)",
        "User {user} logged in from {ip} via password",
        "Refreshed session token for user {user}"}},
      {"catalog",
       {"Fetched product {id} from catalog in {ms} ms",
        "Listed {n} products in category {cat} (page {page})",
        "Loaded category {id} with {n} products"}},
      {"cart",
       {"Loaded cart {id} with {n} items for user {user}",
        "Added item {item} x{n} to cart {id}",
        "Cleared cart {id} for user {user}"}},
      {"orders",
       {"Order {id} status is {status}",
        "Created order {id} for user {user}: {n} items, total {amount} USD",
        "Listed {n} orders of user {user}"}},
      {"payment",
       {"Charged {amount} USD to card ending {card} for user {user} (txn {txn})",
        "Refund {id} processed: {amount} USD"}},
      {"shipping",
       {"Quoted shipping for {n} items to zip {zip}: {amount} USD",
        "Shipment {id} handed to carrier {carrier}"}},
      {"recommendation", {"Computed {n} recommendations for product {id} in {ms} ms (model v{n})"}},
      {"user", {"Loaded profile of user {user} (id {uid})", "Updated profile {id}: fields=[email,address]"}},
      {"inventory",
       {"Stock for {item}: {n} units in warehouse {wh}",
        "Reserved {n} units of {item} for order {id}"}},
      {"search",
       {"Search query '{q}' returned {n} results in {ms} ms", "Suggestions for '{q}': {n} entries"}},
      {"review", {"Loaded {n} reviews for product {id}", "Stored review {id} with rating {r}"}},
      {"notification",
       {"Sent email notification {id} to {user}@example.com", "Fetched notification {id} for {user}"}},
      {"pricing", {"Price of {item} is {amount} USD (discount {pct}%)", "Quoted {n} prices in {ms} ms"}},
      {"currency", {"Converted {amount} USD to EUR at rate 0.{n}", "Served rates for {n} currencies"}},
      {"checkout",
       {"Checkout {id} started for user {user} with {n} items", "Checkout {id} status requested"}},
      {"ads", {"Served {n} ads for context '{q}'"}},
  };
  static const std::vector<std::string> kGeneric = {
      "Handled {method} {path} for user {user} in {ms} ms",
      "Processed request {id} ({size} bytes)",
      "Resolved {n} records for {id}",
      "Updated entity {id} (version {n})",
  };
  static const std::vector<std::string> kPostgres = {
      "duration: {ms} ms  statement: {stmt}",
  };
  static const std::vector<std::string> kMysql = {
      "Query_time: {ms} ms Rows_sent: {rows} Rows_examined: {rows} statement: {stmt}",
  };
  static const std::vector<std::string> kRedis = {
      "Accepted {cip}:{cport}",
  };
  if (s.kind == ServiceKind::kCache) return kRedis;
  if (s.kind == ServiceKind::kDatabase) return s.runtime == "postgres" ? kPostgres : kMysql;
  auto it = kByName.find(s.name);
  return it == kByName.end() ? kGeneric : it->second;
}

const std::string& ExceptionTemplate(const std::string& runtime, int variant) {
  static const std::vector<std::string> kJava = {
      "Unhandled exception processing {method} {path}\njava.lang.IllegalStateException: invalid "
      "state transition for entity {id}\n\tat com.shop.{svc}.{Svc}Service.apply({Svc}Service.java:{line})\n"
      "\tat com.shop.{svc}.{Svc}Controller.handle({Svc}Controller.java:{line})\n"
      "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
      "Unhandled exception processing {method} {path}\njava.lang.NullPointerException: Cannot invoke "
      "\"Money.amount()\" because \"price\" is null\n\tat com.shop.{svc}.{Svc}Mapper.toDto({Svc}Mapper.java:{line})\n"
      "\tat com.shop.{svc}.{Svc}Controller.handle({Svc}Controller.java:{line})",
  };
  static const std::vector<std::string> kGo = {
      "panic recovered in {method} {path}: runtime error: index out of range [{n}] with length {n}\n"
      "goroutine {line} [running]:\nmain.(*server).handle(0xc000{hex4}, {{0x{hex4}, 0xc0001}})\n"
      "\t/app/{svc}/handler.go:{line} +0x{hex4}",
      "request {method} {path} failed: invalid state transition for entity {id}\n"
      "main.(*store).apply\n\t/app/{svc}/store.go:{line}\nmain.(*server).handle\n\t/app/{svc}/handler.go:{line}",
  };
  static const std::vector<std::string> kNode = {
      "TypeError: Cannot read properties of undefined (reading 'price')\n    at {Svc}Handler.handle "
      "(/app/src/handlers/{svc}.js:{line}:17)\n    at processTicksAndRejections "
      "(node:internal/process/task_queues:95:5)",
      "Error: invalid state transition for entity {id}\n    at {Svc}Store.apply (/app/src/store.js:{line}:11)\n"
      "    at async {Svc}Handler.handle (/app/src/handlers/{svc}.js:{line}:5)",
  };
  static const std::vector<std::string> kPython = {
      "Exception on {method} {path}\nTraceback (most recent call last):\n  File \"/app/{svc}/views.py\", "
      "line {line}, in handle\n    result = self.process(request)\nKeyError: 'price'",
      "Exception on {method} {path}\nTraceback (most recent call last):\n  File \"/app/{svc}/models.py\", "
      "line {line}, in apply\n    raise ValueError(f\"invalid state transition for {{entity}}\")\n"
      "ValueError: invalid state transition for entity {id}",
  };
  static const std::vector<std::string> kDb = {
      "ERROR:  could not serialize access due to concurrent update\nSTATEMENT:  {stmt}",
      "ERROR:  deadlock detected\nDETAIL:  Process {pid} waits for ShareLock on transaction {txn}; "
      "blocked by process {pid}.\nSTATEMENT:  {stmt}",
  };
  static const std::vector<std::string> kRedis = {
      "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk",
      "Client id={n} addr={cip}:{cport} closed for overcoming of output buffer limits",
  };
  const std::vector<std::string>* v = &kGo;
  if (runtime == "java") v = &kJava;
  if (runtime == "node") v = &kNode;
  if (runtime == "python") v = &kPython;
  if (runtime == "postgres" || runtime == "mysql") v = &kDb;
  if (runtime == "redis") v = &kRedis;
  return (*v)[static_cast<size_t>(variant) % v->size()];
}

const std::string& CrashTemplate(const std::string& runtime) {
  static const std::map<std::string, std::string> k = {
      {"go", "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: "
             "segmentation violation code=0x1 addr=0x18 pc=0x{hex4}]"},
      {"java", "Uncaught exception in thread \"main\", terminating JVM: java.lang.StackOverflowError"},
      {"node", "Uncaught Error: ECONNRESET, process exiting with code 1"},
      {"python", "Worker (pid:{pid}) was sent SIGSEGV! Shutting down"},
      {"postgres", "server process (PID {pid}) was terminated by signal 11: Segmentation fault"},
      {"mysql", "mysqld got signal 11 ; Most likely, you have hit a bug"},
      {"redis", "Redis {n}.0.{n} crashed by signal: 11, si_code: 1"},
  };
  auto it = k.find(runtime);
  return it == k.end() ? k.at("go") : it->second;
}

const std::string& OomTemplate(const std::string& runtime) {
  static const std::map<std::string, std::string> k = {
      {"go", "fatal error: runtime: out of memory (heap {mb} MB)"},
      {"java", "java.lang.OutOfMemoryError: Java heap space (heap {mb} MB), terminating"},
      {"node", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory ({mb} MB)"},
      {"python", "MemoryError: cannot allocate {size} bytes (rss {mb} MB), worker exiting"},
  };
  auto it = k.find(runtime);
  return it == k.end() ? k.at("go") : it->second;
}

const std::vector<std::string>& StartupTemplates(const Service& s) {
  static const std::vector<std::string> kApp = {
      "Starting {svc} v{ver} ({runtime}) on {inst} with PID {pid}",
      "Loaded {n} configuration keys from /etc/{svc}/config.yaml in {ms} ms",
      "Connected to {store} at {sip}:{sport} (pool size {n})",
      "Listening on 0.0.0.0:{port}",
      "Started {svc} in {sec} seconds",
  };
  static const std::vector<std::string> kPostgres = {
      "database system was interrupted; last known up at {date}",
      "database system was not properly shut down; automatic recovery in progress",
      "redo done at 0/{hex4}; system usage: CPU: user: 0.{n} s",
      "database system is ready to accept connections",
  };
  static const std::vector<std::string> kMysql = {
      "mysqld (mysqld {ver}) starting as process {pid}",
      "InnoDB: Starting crash recovery",
      "ready for connections. Version: '{ver}'  socket: '/var/run/mysqld/mysqld.sock'  port: {port}",
  };
  static const std::vector<std::string> kRedis = {
      "Redis version={ver}, bits=64, pid={pid}, just started",
      "Server initialized",
      "DB loaded from disk: 0.{n} seconds",
      "Ready to accept connections tcp",
  };
  if (s.kind == ServiceKind::kCache) return kRedis;
  if (s.kind == ServiceKind::kDatabase) return s.runtime == "postgres" ? kPostgres : kMysql;
  return kApp;
}

const std::vector<std::string>& BadDeployWarnTemplates() {
  static const std::vector<std::string> k = {
      "Config key '{svc}.features.{flag}' is deprecated and ignored since v{ver}; using fallback",
      "Feature flag '{flag}' evaluated without attribute 'region' for user {user}; defaulting to off",
      "Response of {path} took legacy code path (compat mode {n}); cache bypassed",
  };
  return k;
}

const std::vector<std::string>& BadDeployErrorTemplates() {
  static const std::vector<std::string> k = {
      "Schema mismatch decoding payload of {id}: unknown field 'price_v2' (strict mode)",
      "Failed to serialize entity {id}: field 'metadata' exceeds 4096 bytes",
  };
  return k;
}

std::string RenderTemplate(std::string_view tmpl,
                           const std::function<std::string(std::string_view)>& resolve) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {  // "{{" -> "{"
      out.push_back('{');
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      out.push_back('}');
      i += 2;
      continue;
    }
    if (c == '{') {
      const size_t close = tmpl.find('}', i + 1);
      if (close != std::string_view::npos) {
        out += resolve(tmpl.substr(i + 1, close - i - 1));
        i = close + 1;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace triad
