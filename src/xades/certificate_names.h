// Certificate names as a signature writes them (X509IssuerName, messages),
// and reading them back. Internal to src/xades/.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llavero::xades {

// A name as one RFC 4514 line, UTF-8 kept as it is.
std::string name_line(const X509_NAME* name);

// The CN of a name, or its whole line if it has none.
std::string common_name(const X509_NAME* name);

// A certificate's serial number in decimal, as X509SerialNumber holds it.
std::string serial_decimal(const X509& cert);

// An RFC 4514 name as (TYPE, value) pairs, so that two writings of the same
// name compare equal: spaces around separators, attribute type case, OIDs
// for the usual types and backslash escapes do not matter.
using NameParts = std::vector<std::pair<std::string, std::string>>;
NameParts dn_parts(std::string_view dn);

}  // namespace llavero::xades
