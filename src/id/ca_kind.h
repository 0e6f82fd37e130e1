// The kinds of certificate authority of each environment's hierarchy
// (docs/certificates.md): the root and the two issuing CAs, one for persons
// and one for companies.
#pragma once

#include <string_view>

#include "util/result.h"

namespace llavero {

enum class CaKind { kRoot, kPersonaFisica, kPersonaJuridica };

inline constexpr CaKind kAllCaKinds[] = {CaKind::kRoot, CaKind::kPersonaFisica,
                                         CaKind::kPersonaJuridica};

std::string_view ca_kind_name(CaKind kind);  // "root" | "pf" | "pj"
Result<CaKind> parse_ca_kind(std::string_view text);

}  // namespace llavero
