// The simulator's ground truth as the fault events every evaluation uses
// (ingest/nezha_faults.h: FaultEvent), so simulator and Nezha runs share code.
#ifndef TRIAD_SIM_FAULT_EVENTS_H_
#define TRIAD_SIM_FAULT_EVENTS_H_

#include <vector>

#include "ingest/nezha_faults.h"
#include "sim/simulator.h"

namespace triad {

// One FaultEvent per injected fault: id, [start, end), kind = the fault type,
// services as in the truth and service = services[0] (the root cause; the
// caller for network_delay).
std::vector<FaultEvent> FaultEventsOf(const GroundTruth& truth);

}  // namespace triad

#endif  // TRIAD_SIM_FAULT_EVENTS_H_
