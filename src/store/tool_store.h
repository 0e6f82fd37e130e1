// ToolStore: what the Herramienta Gratuita (docs/herramienta.md) needs
// remembered. The private keys kept in custody for taxpayers who ticked
// "Soy usuario del Facturador Gratuito de Hacienda" (wrapped under a key that
// is not in the database), the consecutivo counters of the comprobantes it
// emits, the emitted comprobantes themselves, and the taxpayer's Clientes
// and Productos (the lists that fill Emitir).
//
// A key in custody lives exactly as long as its certificate may sign: the
// schema deletes it in the transaction that revokes the certificate (a
// trigger of migration 8), whichever path revokes it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "id/environment.h"
#include "id/identification.h"
#include "store/audit_store.h"
#include "store/comprobante_store.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/result.h"

namespace llavero {

// The wrapped private key of a taxpayer's active key, with that certificate.
struct CustodyRecord {
  std::int64_t certificate_id = 0;
  std::int64_t taxpayer_id = 0;
  Environment environment;
  std::string serial_hex;
  Bytes certificate_der;
  Bytes wrapped_key;  // service/custody.h says how it is sealed
};

// Whose counter a consecutivo comes from: one per emisor, sucursal, terminal
// and document type, in each environment.
struct ConsecutivoKey {
  Environment environment;
  std::string emisor;    // identification digits
  std::string sucursal;  // 3 digits
  std::string terminal;  // 5 digits
  std::string tipo;      // 2 digits
};

struct EmittedRecord {
  std::string clave;
  Environment environment;
  std::int64_t taxpayer_id = 0;
  std::string tipo;  // "01", "03", …
  std::string consecutivo;
  std::string receptor_nombre;
  std::string total;           // TotalComprobante as written
  std::string moneda;          // CRC, USD
  Bytes xml;                   // as signed
  UnixSeconds created_at = 0;  // set by the store
};

// What the builder of a numbered document hands back: the document, and the
// audit row of its signature (committed with it).
struct NumberedEmission {
  EmittedRecord record;
  AuditEvent audit;
};

// An emitted comprobante with what the reception has of it (a join, not a
// lookup per row): its state and MensajeHacienda; none when not received.
struct EmittedRow {
  EmittedRecord record;
  std::optional<ComprobanteState> state;
  Bytes respuesta_xml;
};

struct EmittedPage {
  std::vector<EmittedRow> items;
  std::int64_t total = 0;
};

// What Comprobantes emitidos is narrowed to; each part is optional.
struct EmittedFilter {
  // The receptor (in a factura de compra, the proveedor): its name contains
  // `receptor_text` (SQLite's LIKE: case folded for ASCII only), or its
  // identification is `receptor_digits` (the envelope's, in the reception).
  std::string receptor_text, receptor_digits;
  std::optional<UnixSeconds> from, until;  // created_at in [from, until)
  // Only this state of the reception; with `not_received`, only documents
  // the reception does not have.
  std::optional<ComprobanteState> state;
  bool not_received = false;
};

// A client a taxpayer keeps to fill a receptor (Clientes).
struct ClienteRecord {
  std::int64_t id = 0;  // set by the store
  std::int64_t taxpayer_id = 0;
  Environment environment;
  IdType id_type = IdType::kFisica;
  std::string identificacion;  // digits
  std::string nombre;
  std::string correo;  // may be empty
};

// A product or service a taxpayer keeps to fill a line (Productos).
struct ProductoRecord {
  std::int64_t id = 0;  // set by the store
  std::int64_t taxpayer_id = 0;
  Environment environment;
  std::string cabys;  // 13 digits
  std::string descripcion;
  std::string unidad;  // UnidadMedida
  std::string precio;  // unit price as typed
  std::string tarifa;  // CodigoTarifaIVA
};

template <typename Record>
struct ListPage {
  std::vector<Record> items;
  std::int64_t total = 0;
};

class ToolStore {
 public:
  virtual ~ToolStore() = default;

  // The key in custody of the taxpayer's active key in `env`, if any.
  virtual Result<std::optional<CustodyRecord>> custody_key(std::int64_t taxpayer_id,
                                                           Environment env) = 0;
  // Deletes it ("Dejar de firmar automáticamente") without revoking the
  // certificate. Fails with "sin_llave_custodia" when there is none.
  virtual Status delete_custody_key(std::int64_t taxpayer_id, Environment env,
                                    const AuditEvent& audit) = 0;

  // Takes the next number of `key`'s counter and runs `build` with it inside
  // one write transaction; the number is used only if `build` succeeds and
  // its record is stored, so numbers have no gaps and no repeats, whatever
  // runs at the same time. An error of `build` is returned as is.
  virtual Result<EmittedRecord> emit_numbered(
      const ConsecutivoKey& key,
      const std::function<Result<NumberedEmission>(std::int64_t numero)>& build) = 0;
  // The comprobantes a taxpayer emitted in `env` that match `filter`, newest first.
  virtual Result<EmittedPage> emitted(std::int64_t taxpayer_id, Environment env,
                                      const EmittedFilter& filter, std::int64_t offset,
                                      std::int64_t limit) = 0;
  virtual Result<std::optional<EmittedRecord>> find_emitted(const std::string& clave) = 0;
  // The MensajeReceptor (tipo 05, 06 or 07, its clave "<clave>-<consecutivo>")
  // the tool emitted in answer to the document `clave` of `env`, if any. A
  // document has at most one (migration 10's unique index): emit_numbered
  // fails for a second one.
  virtual Result<std::optional<EmittedRecord>> receptor_answer(Environment env,
                                                               const std::string& clave) = 0;

  // Clientes and Productos, each list per taxpayer and environment. A record
  // is found, changed or deleted only by its id together with its owner and
  // environment: another taxpayer's id is "registro_no_encontrado". Adding
  // fails with "lista_llena" when the list already has `max` entries (counted
  // in the same transaction), and a client whose identification the list
  // already has with "cliente_duplicado"; each change writes `audit` with it.
  virtual Result<ClienteRecord> add_cliente(const ClienteRecord& c, std::int64_t max,
                                            const AuditEvent& audit) = 0;
  virtual Status update_cliente(const ClienteRecord& c, const AuditEvent& audit) = 0;
  virtual Status delete_cliente(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                const AuditEvent& audit) = 0;
  virtual Result<std::optional<ClienteRecord>> find_cliente(std::int64_t taxpayer_id,
                                                            Environment env, std::int64_t id) = 0;
  // Sorted by name.
  virtual Result<ListPage<ClienteRecord>> clientes(std::int64_t taxpayer_id, Environment env,
                                                   std::int64_t offset, std::int64_t limit) = 0;
  virtual Result<ProductoRecord> add_producto(const ProductoRecord& p, std::int64_t max,
                                              const AuditEvent& audit) = 0;
  virtual Status update_producto(const ProductoRecord& p, const AuditEvent& audit) = 0;
  virtual Status delete_producto(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                 const AuditEvent& audit) = 0;
  virtual Result<std::optional<ProductoRecord>> find_producto(std::int64_t taxpayer_id,
                                                              Environment env, std::int64_t id) = 0;
  // Sorted by description.
  virtual Result<ListPage<ProductoRecord>> productos(std::int64_t taxpayer_id, Environment env,
                                                     std::int64_t offset, std::int64_t limit) = 0;
};

}  // namespace llavero
