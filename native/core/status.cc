// Stable code strings: the binding copies them into `err.code`, so they must match KV_ERROR_CODES in
// scheduler/kv/types.ts character for character.
#include "status.h"

namespace nvl {

const char* codeName(Code code) {
  switch (code) {
    case Code::Ok: return "OK";
    case Code::InvalidArgument: return "E_INVALID_ARGUMENT";
    case Code::OutOfBlocks: return "E_OUT_OF_BLOCKS";
    case Code::UnknownSequence: return "E_UNKNOWN_SEQUENCE";
    case Code::SequenceFreed: return "E_SEQUENCE_FREED";
    case Code::NotPinned: return "E_NOT_PINNED";
    case Code::BlockShared: return "E_BLOCK_SHARED";
    case Code::WrongTier: return "E_WRONG_TIER";
    case Code::TooLarge: return "E_TOO_LARGE";
    case Code::BackendUnavailable: return "E_BACKEND_UNAVAILABLE";
    case Code::Closed: return "E_CLOSED";
    case Code::Internal: return "E_INTERNAL";
    case Code::CrossDomain: return "E_CROSS_DOMAIN";
    case Code::UnknownHandoff: return "E_UNKNOWN_HANDOFF";
    case Code::HandoffState: return "E_HANDOFF_STATE";
  }
  return "E_INTERNAL";
}

}  // namespace nvl
