// Argument checking at the JS boundary: every value that reaches the core is of the right type and range, and
// every failure is a JS Error with a stable `.code` (SPEC §10). Never a crash on bad input.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace nvlb {

// Throws a JS Error carrying `.code` (a KV_ERROR_CODES string).
[[noreturn]] void throwCode(Napi::Env env, nvl::Code code, const std::string& message);
// Throws when `status` is not ok.
void check(Napi::Env env, const nvl::Status& status);
Napi::Error makeError(Napi::Env env, const nvl::Status& status);

// A number that is an integer in [min, max]; `field` names it in the error.
int64_t intArg(Napi::Env env, const Napi::Value& value, const char* field, int64_t min, int64_t max);
uint32_t u32Arg(Napi::Env env, const Napi::Value& value, const char* field);
// A sequence id: a non-number is E_INVALID_ARGUMENT; a number that cannot be an id is E_UNKNOWN_SEQUENCE (SPEC §4).
uint32_t seqArg(Napi::Env env, const Napi::Value& value);
double numberArg(Napi::Env env, const Napi::Value& value, const char* field, double min, double max);
std::string stringArg(Napi::Env env, const Napi::Value& value, const char* field);

// A BigUint64Array (or undefined/null → empty). Points into the JS buffer: valid during the call only.
struct HashSpan {
  const uint64_t* data = nullptr;
  size_t size = 0;
};
HashSpan hashesArg(Napi::Env env, const Napi::Value& value, const char* field);

// Optional object fields: missing or undefined → fallback.
double numberField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path, double fallback,
                   double min, double max);
int64_t intField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path, int64_t fallback,
                 int64_t min, int64_t max);
std::string stringField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path,
                        const std::string& fallback);
bool hasField(const Napi::Object& obj, const char* key);

uint64_t bigintArg(Napi::Env env, const Napi::Value& value, const char* field);

}  // namespace nvlb
