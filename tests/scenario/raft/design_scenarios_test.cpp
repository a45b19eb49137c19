#include "tests/scenario/raft/scenario_support.hpp"
