// TaxpayerStore: the registered taxpayers (contribuyentes), the people and
// companies keys are issued to and accounts belong to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "id/identification.h"
#include "store/audit_store.h"
#include "util/clock.h"
#include "util/result.h"

namespace llavero {

struct NewTaxpayer {
  std::string identification;  // digits only, as Identification::digits()
  IdType id_type = IdType::kFisica;
  std::string nombre;
  std::string apellidos;  // empty for a Jurídica
  std::string correo;
};

struct TaxpayerRecord {
  std::int64_t id = 0;
  std::string identification;
  IdType id_type = IdType::kFisica;
  std::string nombre, apellidos, correo;
  UnixSeconds created_at = 0;
};

class TaxpayerStore {
 public:
  virtual ~TaxpayerStore() = default;

  // Fails with code "contribuyente_duplicado" when the identification exists.
  virtual Result<TaxpayerRecord> add_taxpayer(const NewTaxpayer& taxpayer,
                                              const AuditEvent& audit) = 0;
  virtual Result<std::optional<TaxpayerRecord>> find_taxpayer(
      const std::string& identification) = 0;
  virtual Result<std::optional<TaxpayerRecord>> find_taxpayer_by_id(std::int64_t id) = 0;
};

}  // namespace llavero
