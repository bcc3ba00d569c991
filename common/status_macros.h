// Early-return helpers for absl::Status / absl::StatusOr.
//
// Abseil 20220623 (Debian bookworm) ships neither ABSL_RETURN_IF_ERROR nor
// ABSL_ASSIGN_OR_RETURN, so Proxima defines its own two:
//
//   PROXIMA_RETURN_IF_ERROR(DoThing());
//   PROXIMA_ASSIGN_OR_RETURN(auto value, ComputeValue());
#ifndef PROXIMA_COMMON_STATUS_MACROS_H_
#define PROXIMA_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PROXIMA_RETURN_IF_ERROR(expr)                    \
  do {                                                   \
    ::absl::Status proxima_status_ = (expr);             \
    if (!proxima_status_.ok()) return proxima_status_;   \
  } while (false)

#define PROXIMA_STATUS_CONCAT_INNER_(a, b) a##b
#define PROXIMA_STATUS_CONCAT_(a, b) PROXIMA_STATUS_CONCAT_INNER_(a, b)

#define PROXIMA_ASSIGN_OR_RETURN(lhs, expr)                                  \
  PROXIMA_ASSIGN_OR_RETURN_IMPL_(                                            \
      PROXIMA_STATUS_CONCAT_(proxima_statusor_, __LINE__), lhs, expr)

#define PROXIMA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // PROXIMA_COMMON_STATUS_MACROS_H_
