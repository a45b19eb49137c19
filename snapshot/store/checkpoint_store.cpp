// What every checkpoint store does the same way, on top of its virtual operations.
#include "snapshot/store/checkpoint_store.hpp"

namespace troupe::checkpoint::store {

result<std::optional<checkpoint_summary>> checkpoint_store::latest_complete() {
  auto all = list();
  if (!all) return all.err();
  for (auto& m : *all) {
    if (m.complete()) return std::optional<checkpoint_summary>{std::move(m)};
  }
  return std::optional<checkpoint_summary>{};
}

result<std::vector<restore_plan>> checkpoint_store::plan(checkpoint_id id) {
  auto state = load(id);
  if (!state) return state.err();
  return plan_restore(*state);
}

}  // namespace troupe::checkpoint::store
