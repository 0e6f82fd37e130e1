// Certificate revocation lists (RFC 5280 §5): one per issuing CA, signed by
// it, with a CRL number, thisUpdate/nextUpdate, and per entry the serial, the
// revocation date and, when one was given, the reasonCode.
#pragma once

#include <optional>
#include <vector>

#include "pki/authority.h"
#include "id/revocation_reason.h"

namespace llavero {

struct CrlEntry {
  std::string serial_hex;  // as stored: upper-case hex
  UnixSeconds revoked_at = 0;
  std::optional<RevocationReason> reason;
};

struct CrlRequest {
  const Authority* issuer = nullptr;  // unlocked
  std::int64_t number = 0;
  UnixSeconds this_update = 0;
  UnixSeconds next_update = 0;
  std::vector<CrlEntry> entries;
};

// The DER CRL. Entries are sorted by serial, as relying parties search them.
Result<Bytes> build_crl(const CrlRequest& request);

}  // namespace llavero
