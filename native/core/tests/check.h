// A tiny header-only test harness: CHECK(cond), CHECK_EQ(a, b), CHECK_OK(status), CHECK_CODE(status, code).
// A failed check prints file:line and the expression, and the test continues; main() returns
// checkFailures() != 0 so ctest reports the executable as failed.
#pragma once
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "status.h"

namespace nvltest {

inline int& failures() {
  static int count = 0;
  return count;
}

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
inline std::string show(unsigned char v) { return std::to_string(unsigned(v)); }
template <class T>
std::string show(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + show(v[i]);
  return out + "]";
}

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what.c_str());
}

inline int finish(const char* name) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", name);
    return 0;
  }
  std::fprintf(stderr, "%s: %d check(s) failed\n", name, failures());
  return 1;
}

}  // namespace nvltest

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) nvltest::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                                                   \
  do {                                                                                                   \
    const auto& va_ = (a);                                                                               \
    const auto& vb_ = (b);                                                                               \
    if (!(va_ == vb_)) {                                                                                 \
      nvltest::fail(__FILE__, __LINE__,                                                                  \
                    "CHECK_EQ(" #a ", " #b "): " + nvltest::show(va_) + " != " + nvltest::show(vb_)); \
    }                                                                                                    \
  } while (0)

#define CHECK_OK(expr)                                                                                    \
  do {                                                                                                    \
    const nvl::Status st_ = (expr);                                                                       \
    if (!st_.ok()) {                                                                                      \
      nvltest::fail(__FILE__, __LINE__,                                                                   \
                    "CHECK_OK(" #expr "): " + std::string(nvl::codeName(st_.code)) + " " + st_.message); \
    }                                                                                                     \
  } while (0)

#define CHECK_CODE(expr, expected)                                                                       \
  do {                                                                                                   \
    const nvl::Status st_ = (expr);                                                                      \
    if (st_.code != (expected)) {                                                                        \
      nvltest::fail(__FILE__, __LINE__, "CHECK_CODE(" #expr "): got " + std::string(nvl::codeName(st_.code)) + \
                                            " (" + st_.message + "), want " + nvl::codeName(expected));   \
    } else if (st_.message.empty() && (expected) != nvl::Code::Ok) {                                     \
      nvltest::fail(__FILE__, __LINE__, "CHECK_CODE(" #expr "): error without a message");                \
    }                                                                                                    \
  } while (0)
