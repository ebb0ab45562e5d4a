// Log templates of the simulated services and a small renderer for them.
// Placeholders are "{name}"; the caller resolves each name to a value.
#ifndef TRIAD_SIM_LOG_TEMPLATES_H_
#define TRIAD_SIM_LOG_TEMPLATES_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/topology.h"

namespace triad {

// INFO templates logged while a request is handled by `s` (one per operation,
// cycling). Never empty.
const std::vector<std::string>& RequestInfoTemplates(const Service& s);
// Stack-trace-like ERROR body for an unhandled exception in a service with `runtime`.
const std::string& ExceptionTemplate(const std::string& runtime, int variant);
// FATAL log of a crashing process / of an out-of-memory kill.
const std::string& CrashTemplate(const std::string& runtime);
const std::string& OomTemplate(const std::string& runtime);
// Startup sequence of a (re)started process, in order. Lines holding "{store}"
// are repeated by the caller once per data store the service uses.
const std::vector<std::string>& StartupTemplates(const Service& s);
// Templates that only a bad deploy ever emits (WARN then ERROR variants).
const std::vector<std::string>& BadDeployWarnTemplates();
const std::vector<std::string>& BadDeployErrorTemplates();

// Replaces each "{name}" in `tmpl` by resolve(name). Text without a closing
// brace is copied as is.
std::string RenderTemplate(std::string_view tmpl,
                           const std::function<std::string(std::string_view)>& resolve);

}  // namespace triad

#endif  // TRIAD_SIM_LOG_TEMPLATES_H_
