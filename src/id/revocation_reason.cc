#include "id/revocation_reason.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero {

Result<RevocationReason> parse_revocation_reason(std::string_view text) {
  for (auto reason : kAllRevocationReasons)
    if (revocation_reason_name(reason) == text) return reason;
  return make_error(errc::kMotivoInvalido,
                    fmt::format("Motivo de revocación desconocido \"{}\": use keyCompromise, "
                                "cessationOfOperation, affiliationChanged o superseded.",
                                text));
}

std::string_view revocation_reason_name(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kKeyCompromise: return "keyCompromise";
    case RevocationReason::kAffiliationChanged: return "affiliationChanged";
    case RevocationReason::kSuperseded: return "superseded";
    case RevocationReason::kCessationOfOperation: return "cessationOfOperation";
  }
  return "";
}

std::string_view revocation_reason_label(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kKeyCompromise: return "llave comprometida";
    case RevocationReason::kAffiliationChanged: return "cambio de afiliación";
    case RevocationReason::kSuperseded: return "reemplazada por una nueva llave";
    case RevocationReason::kCessationOfOperation: return "cese de operaciones";
  }
  return "";
}

}  // namespace llavero
