// Status codes of the pure C++ core. The binding maps them to JS errors with the same `.code` strings
// (scheduler/kv/types.ts KV_ERROR_CODES); nothing here throws across the core's API.
#pragma once
#include <string>
#include <utility>

namespace nvl {

enum class Code : int {
  Ok = 0,
  InvalidArgument,
  OutOfBlocks,
  UnknownSequence,
  SequenceFreed,
  NotPinned,
  BlockShared,
  WrongTier,
  TooLarge,
  BackendUnavailable,
  Closed,
  Internal,
  CrossDomain,     // a hand-off between NVLink domains without crossDomain: true
  UnknownHandoff,  // a hand-off id this manager never issued
  HandoffState,    // the hand-off is not in a state that allows the call (ended, incomplete, wrong side)
};

const char* codeName(Code code);  // "E_INVALID_ARGUMENT", ...

// A status with a message for people: it names the argument and the allowed values.
struct Status {
  Code code = Code::Ok;
  std::string message;

  bool ok() const { return code == Code::Ok; }
  static Status Ok() { return {}; }
  static Status Error(Code c, std::string msg) { return Status{c, std::move(msg)}; }
};

}  // namespace nvl
