#include "id/ca_kind.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero {

std::string_view ca_kind_name(CaKind kind) {
  switch (kind) {
    case CaKind::kRoot: return "root";
    case CaKind::kPersonaFisica: return "pf";
    case CaKind::kPersonaJuridica: return "pj";
  }
  return "";
}

Result<CaKind> parse_ca_kind(std::string_view text) {
  for (auto kind : kAllCaKinds)
    if (ca_kind_name(kind) == text) return kind;
  return make_error(errc::kCaInvalida,
                    fmt::format("CA desconocida \"{}\": use pf, pj o root.", text));
}

}  // namespace llavero
