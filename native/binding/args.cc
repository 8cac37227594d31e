#include "args.h"

#include <cmath>
#include <sstream>

namespace nvlb {

Napi::Error makeError(Napi::Env env, const nvl::Status& status) {
  Napi::Error error = Napi::Error::New(env, status.message);
  error.Set("code", Napi::String::New(env, nvl::codeName(status.code)));
  return error;
}

void throwCode(Napi::Env env, nvl::Code code, const std::string& message) {
  throw makeError(env, nvl::Status::Error(code, message));
}

void check(Napi::Env env, const nvl::Status& status) {
  if (!status.ok()) throw makeError(env, status);
}

static std::string describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsNumber()) {
    std::ostringstream out;
    out << value.As<Napi::Number>().DoubleValue();
    return out.str();
  }
  if (value.IsString()) return "a string";
  if (value.IsBigInt()) return "a bigint";
  if (value.IsArray()) return "an array";
  if (value.IsTypedArray()) return "a typed array of another kind";
  if (value.IsObject()) return "an object";
  return "a value of another type";
}

int64_t intArg(Napi::Env env, const Napi::Value& value, const char* field, int64_t min, int64_t max) {
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(number) && std::floor(number) == number && number >= static_cast<double>(min) &&
        number <= static_cast<double>(max)) {
      return static_cast<int64_t>(number);
    }
  }
  std::ostringstream msg;
  msg << field << " must be an integer in [" << min << ", " << max << "], got " << describe(value);
  throwCode(env, nvl::Code::InvalidArgument, msg.str());
}

uint32_t u32Arg(Napi::Env env, const Napi::Value& value, const char* field) {
  return static_cast<uint32_t>(intArg(env, value, field, 0, UINT32_MAX));
}

uint32_t seqArg(Napi::Env env, const Napi::Value& value) {
  if (!value.IsNumber()) {
    throwCode(env, nvl::Code::InvalidArgument, "seqId must be a number, got " + describe(value));
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(number) && std::floor(number) == number && number >= 1 && number <= UINT32_MAX)) {
    throwCode(env, nvl::Code::UnknownSequence, "seqId " + describe(value) + " is not a sequence id (ids are integers from 1)");
  }
  return static_cast<uint32_t>(number);
}

double numberArg(Napi::Env env, const Napi::Value& value, const char* field, double min, double max) {
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(number) && number >= min && number <= max) return number;
  }
  std::ostringstream msg;
  msg << field << " must be a finite number in [" << min << ", " << max << "], got " << describe(value);
  throwCode(env, nvl::Code::InvalidArgument, msg.str());
}

std::string stringArg(Napi::Env env, const Napi::Value& value, const char* field) {
  if (!value.IsString()) {
    throwCode(env, nvl::Code::InvalidArgument, std::string(field) + " must be a string, got " + describe(value));
  }
  return value.As<Napi::String>().Utf8Value();
}

HashSpan hashesArg(Napi::Env env, const Napi::Value& value, const char* field) {
  if (value.IsUndefined() || value.IsNull()) return {};
  // One napi_get_typedarray_info call (it fails cleanly on anything that is not a typed array): this runs on
  // every allocate/append/match, so the two lookups node-addon-api's wrappers would make are worth saving.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) == napi_ok &&
      type == napi_biguint64_array) {
    return {static_cast<const uint64_t*>(data), length};
  }
  throwCode(env, nvl::Code::InvalidArgument,
            std::string(field) + " must be a BigUint64Array of chained block hashes, got " + describe(value));
}

bool hasField(const Napi::Object& obj, const char* key) {
  return obj.Has(key) && !obj.Get(key).IsUndefined();
}

double numberField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path, double fallback,
                   double min, double max) {
  if (!hasField(obj, key)) return fallback;
  return numberArg(env, obj.Get(key), path.c_str(), min, max);
}

int64_t intField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path, int64_t fallback,
                 int64_t min, int64_t max) {
  if (!hasField(obj, key)) return fallback;
  return intArg(env, obj.Get(key), path.c_str(), min, max);
}

std::string stringField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path,
                        const std::string& fallback) {
  if (!hasField(obj, key)) return fallback;
  return stringArg(env, obj.Get(key), path.c_str());
}

uint64_t bigintArg(Napi::Env env, const Napi::Value& value, const char* field) {
  if (value.IsUndefined()) return 0;
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t result = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless) return result;
  }
  throwCode(env, nvl::Code::InvalidArgument,
            std::string(field) + " must be a bigint in [0, 2^64 - 1], got " + describe(value));
}

}  // namespace nvlb
