// What a relying party learned about whether a certificate is revoked, and
// from where: the answer a revocation check (store, OCSP or CRL) gives to the
// signature verifier. It lives apart from both so that neither depends on the
// other.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "pki/openssl.h"
#include "id/revocation_reason.h"
#include "util/clock.h"

namespace llavero {

enum class RevocationStatus {
  kGood,  // the issuer (or its responder) vouches for it
  kRevoked,
  kUnknown,     // the issuer does not know the certificate
  kNotChecked,  // no source could be asked (no URL, network down, bad answer)
};

struct RevocationAnswer {
  RevocationStatus status = RevocationStatus::kNotChecked;
  UnixSeconds revoked_at = 0;  // kRevoked only
  std::optional<RevocationReason> reason;
  std::string source;  // "almacén local", "OCSP <url>", "CRL <url>"
  std::string detail;  // Spanish, why kUnknown / kNotChecked
};

// Asks about `cert`, issued by `issuer`. An Error means the check itself broke
// (e.g. the store is unreachable); a source that cannot be asked is a
// kNotChecked answer, not an Error.
using RevocationCallback =
    std::function<Result<RevocationAnswer>(const X509& cert, const X509& issuer)>;

}  // namespace llavero
