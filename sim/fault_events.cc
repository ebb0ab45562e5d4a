#include "sim/fault_events.h"

namespace triad {

std::vector<FaultEvent> FaultEventsOf(const GroundTruth& truth) {
  std::vector<FaultEvent> out;
  for (const auto& f : truth.faults) {
    FaultEvent e;
    e.id = f.id;
    e.start = f.start;
    e.end = f.end;
    e.kind = f.type;
    e.services = f.services;
    if (!f.services.empty()) e.service = f.services[0];
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace triad
