#pragma once
/// \file
/// Counts heap allocations made through operator new, for tests that pin
/// "no allocation per key". The replacement operators are defined once, in
/// allocation_counter.cpp, linked into the unit-test binary.

#include <cstddef>

namespace strata::testing {
std::size_t allocations() noexcept;
}
