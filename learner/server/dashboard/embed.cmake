# Writes OUTPUT, a C++ file defining proxima::DashboardPage()
# (learner/server/dashboard.h), with the text of INPUT as a raw string.
#   cmake -DINPUT=index.html -DOUTPUT=dashboard_page.cc -P embed.cmake
file(READ "${INPUT}" page)
set(delimiter "proxima_page")
string(FIND "${page}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string end ')${delimiter}\"'")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by learner/server/dashboard/embed.cmake; do not edit.\n"
  "#include \"absl/strings/string_view.h\"\n\n"
  "namespace proxima {\n\n"
  "absl::string_view DashboardPage() {\n"
  "  static constexpr char kPage[] = R\"${delimiter}(${page})${delimiter}\";\n"
  "  return absl::string_view(kPage, sizeof(kPage) - 1);\n"
  "}\n\n"
  "}  // namespace proxima\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
