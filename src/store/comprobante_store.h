// ComprobanteStore: the reception's memory. The comprobantes received and
// the verdict on each (a queue: recibido → procesando → aceptado or
// rechazado), and the service keys the server signs with besides the CAs
// (each realm's JWT key, the MensajeHacienda signer).
#pragma once

#include <optional>
#include <string>

#include "id/environment.h"
#include "store/audit_store.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/result.h"

namespace llavero {

struct ServiceKey {
  std::string name;
  std::string key_pem;    // encrypted PKCS#8
  Bytes certificate_der;  // may be empty
};

enum class ComprobanteState { kRecibido, kProcesando, kAceptado, kRechazado };

struct ComprobanteRecord {
  std::string clave;
  Environment environment;
  std::string username;
  std::string fecha;
  std::string emisor_tipo, emisor_numero;
  std::optional<std::string> receptor_tipo, receptor_numero;
  Bytes xml;
  ComprobanteState state = ComprobanteState::kRecibido;
  Bytes respuesta_xml;
  UnixSeconds received_at = 0, updated_at = 0;  // set by the store
};

class ComprobanteStore {
 public:
  virtual ~ComprobanteStore() = default;

  // Service keys: put_service_key keeps the first one stored under a name
  // (two servers starting at once agree on one); service_key reads it.
  virtual Status put_service_key(const ServiceKey& key, const AuditEvent& audit) = 0;
  virtual Result<std::optional<ServiceKey>> service_key(const std::string& name) = 0;

  // Comprobantes. add_comprobante fails with "clave_duplicada" for a clave
  // already received. claim_comprobante moves one 'recibido' to 'procesando'
  // and returns it; finish_comprobante records the answer.
  virtual Status add_comprobante(const ComprobanteRecord& comprobante) = 0;
  virtual Result<std::optional<ComprobanteRecord>> find_comprobante(const std::string& clave) = 0;
  virtual Result<std::optional<ComprobanteRecord>> claim_comprobante() = 0;
  virtual Status finish_comprobante(const std::string& clave, ComprobanteState state,
                                    const Bytes& respuesta_xml) = 0;
  // After a restart: whatever was being processed is processed again.
  virtual Status requeue_comprobantes() = 0;
};

}  // namespace llavero
