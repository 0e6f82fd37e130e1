// Issuing a taxpayer's signing certificate, field by field as docs/certificates.md says.
#pragma once

#include "pki/authority.h"

namespace llavero {

struct IssueRequest {
  const Authority* issuer = nullptr;      // unlocked issuing CA
  const EVP_PKEY* subject_key = nullptr;  // the taxpayer's new public key
  TaxpayerSubject subject;
  Bytes serial;  // from random_serial(), already reserved
  UnixSeconds not_before = 0;
  std::string base_url;  // public base URL for AIA / CRL DP / OCSP
  bool strict = false;   // true: only the extensions the real service puts
};

// notBefore + 4 years − 1 day, in calendar years (UTC).
UnixSeconds taxpayer_not_after(UnixSeconds not_before);

Result<ossl::X509Ptr> issue_taxpayer_certificate(const IssueRequest& request);

}  // namespace llavero
