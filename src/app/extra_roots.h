// The extra trust roots of a data directory: the certificates an operator
// drops into <data>/confianza/ (for instance the roots of Costa Rica's
// national PKI, whose "sello electrónico" seals Hacienda's MensajeHacienda),
// trusted by the reception and by `llavero verificar` besides this
// installation's own CAs. Their revocation is asked of each certificate's
// OCSP responder or CRL (service/revocation_check.h).
#pragma once

#include <filesystem>
#include <vector>

#include "pki/openssl.h"
#include "util/result.h"

namespace llavero::app {

inline constexpr const char* kTrustDirName = "confianza";

// The certificates of <data_path>/confianza/; none when the folder is absent
// or holds no certificate file. A file that is not a certificate is an error.
Result<std::vector<ossl::X509Ptr>> extra_trust_roots(const std::filesystem::path& data_path);

}  // namespace llavero::app
