// ComprobanteStore: the reception's memory. The comprobantes received and
// the verdict on each (a queue: recibido → procesando → aceptado or
// rechazado), and the service keys the server signs with besides the CAs
// (each realm's JWT key, the MensajeHacienda signer).
#pragma once

#include <optional>
#include <string>
#include <vector>

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

// kError: the comprobante could not be processed at all (not XML, not a
// known document type); Hacienda's GET answers ind-estado "error".
enum class ComprobanteState { kRecibido, kProcesando, kAceptado, kRechazado, kError };

// Where the POST of the final state to the callbackUrl stands.
enum class CallbackState { kNinguno, kPendiente, kEntregado, kAbandonado };

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
  std::optional<std::string> callback_url;
  CallbackState callback_state = CallbackState::kNinguno;  // set by the store
  int callback_attempts = 0;
  UnixSeconds callback_next = 0;
  // The emisor's consecutivo when unique per emisor is enforced (-99).
  std::optional<std::string> consecutivo;
  std::optional<std::string> referencia;  // the clave a nota references
  std::optional<std::string> escenario;   // pruebas only (docs/recepcion.md)
};

// One POST to a callbackUrl: status 0 when no answer came (error says why).
struct CallbackAttempt {
  int number = 0;
  UnixSeconds at = 0;
  int status = 0;
  std::string error;
};

// A page of GET /comprobantes: documents of one environment where `party`
// (identification digits) is emisor or receptor, optionally narrowed.
struct ComprobanteQuery {
  Environment environment;
  std::string party;
  std::optional<std::string> emisor, receptor;
  std::int64_t offset = 0, limit = 50;
  bool newest_first = false;  // the API lists oldest first; the portal newest first
};
struct ComprobantePage {
  std::vector<ComprobanteRecord> items;
  std::int64_t total = 0;
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
  // Whatever was claimed at or before `claimed_before` and is still being
  // processed goes back to the queue: its server stopped (or died) while
  // deciding it. Servers sharing one database call it with a lease in the
  // past, so a claim another server is working on now is left alone.
  virtual Status requeue_comprobantes(UnixSeconds claimed_before) = 0;

  // add_comprobante fails with "consecutivo_usado" when the record's
  // consecutivo was already used by its emisor in its environment.
  // set_referencia records the clave a nota references (found in processing).
  virtual Status set_referencia(const std::string& clave, const std::string& referencia) = 0;
  // The clave of another comprobante (not `except`) of `emisor` in `env`
  // with this consecutivo, if any: the -99 rule in processing, for what the
  // unique index at POST did not see (received before migration 5, or while
  // regla_consecutivo was off).
  virtual Result<std::optional<std::string>> clave_with_consecutivo(Environment env,
                                                                    const std::string& emisor,
                                                                    const std::string& consecutivo,
                                                                    const std::string& except) = 0;

  // Callbacks. finish_comprobante makes the callback of a comprobante with a
  // callback_url pending, due at once. claim_callbacks returns pending ones
  // due by `now` and, in the same statement, makes them due again only at
  // `lease_until`: another server sharing the database skips them meanwhile,
  // so each attempt is made by one server (and, should that server die
  // before recording it, made again after the lease).
  // record_callback_attempt stores an attempt and either the time of the
  // next one or the end (delivered or given up).
  virtual Result<std::vector<ComprobanteRecord>> claim_callbacks(UnixSeconds now,
                                                                 UnixSeconds lease_until,
                                                                 int limit) = 0;
  virtual Status record_callback_attempt(const std::string& clave, const CallbackAttempt& attempt,
                                         CallbackState state, UnixSeconds next) = 0;
  virtual Result<std::vector<CallbackAttempt>> callback_attempts(const std::string& clave) = 0;

  // GET /comprobantes and the notas that reference a clave.
  virtual Result<ComprobantePage> list_comprobantes(const ComprobanteQuery& query) = 0;
  virtual Result<std::vector<ComprobanteRecord>> referencing(const std::string& clave) = 0;
  // Empties an environment's comprobantes (the sandbox may be emptied at any
  // time); returns how many were deleted.
  virtual Result<std::int64_t> purge_comprobantes(Environment env) = 0;
};

}  // namespace llavero
