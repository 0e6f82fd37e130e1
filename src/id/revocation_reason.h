// Why a certificate was revoked: the RFC 5280 CRLReason values docs/product.md#key-lifecycle
// allows.
#pragma once

#include <optional>
#include <string_view>

#include "util/result.h"

namespace llavero {

enum class RevocationReason {
  kKeyCompromise = 1,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
};

inline constexpr RevocationReason kAllRevocationReasons[] = {
    RevocationReason::kKeyCompromise, RevocationReason::kAffiliationChanged,
    RevocationReason::kSuperseded, RevocationReason::kCessationOfOperation};

// Accepts the RFC 5280 names: keyCompromise, affiliationChanged, superseded,
// cessationOfOperation.
Result<RevocationReason> parse_revocation_reason(std::string_view text);
std::string_view revocation_reason_name(RevocationReason reason);
// Spanish wording for people: "llave comprometida", "reemplazada", ...
std::string_view revocation_reason_label(RevocationReason reason);

}  // namespace llavero
