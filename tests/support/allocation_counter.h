// AllocationCount(): how many times the test binary has called the global
// operator new so far. A binary gets it by listing
// tests/support/allocation_counter.cc among its sources (not through a
// library, so the replacement is always linked): that file replaces the global
// operator new and delete with malloc/free plus an atomic counter. Tests
// read the count before and after the code under test to show it allocates
// nothing. Lock-free; never blocks.
//
// Not for a TSan build: TSan's runtime defines operator new too, and the link
// fails (tests/sanitize.sh).
#ifndef PROXIMA_TESTS_SUPPORT_ALLOCATION_COUNTER_H_
#define PROXIMA_TESTS_SUPPORT_ALLOCATION_COUNTER_H_

namespace proxima::testing {

long AllocationCount();

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_ALLOCATION_COUNTER_H_
