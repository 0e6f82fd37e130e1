// Times in signatures: SigningTime is written in Costa Rica time
// (costa_rica_time and parse_date_time, in xades.h), certificates carry ASN.1
// times. Internal to src/xades/.
#pragma once

#include <openssl/asn1.h>

#include <optional>

#include "util/clock.h"

namespace llavero::xades {

// An ASN.1 time (notBefore, notAfter) as Unix seconds.
std::optional<UnixSeconds> asn1_time_seconds(const ASN1_TIME* t);

}  // namespace llavero::xades
