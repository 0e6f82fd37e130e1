// What both backends store for the store's own enums, the column lists their
// records are read from, and how a row of those columns becomes a record:
// one spelling and one reading, whichever database holds it. A value read
// back that is none of the stored names (or a time that does not parse) is
// refused as corrupt ("almacen_corrupto"); it is never guessed.
//
// A backend's row (`Row`) offers text(i), optional_text(i), integer(i),
// flag(i), blob(i), null(i), time(i, column) and optional_time(i, column);
// its time() throws CorruptValue for what is not a time.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/certificate_store.h"
#include "store/comprobante_store.h"
#include "store/mail_store.h"
#include "store/operator_store.h"
#include "store/taxpayer_store.h"
#include "store/tool_store.h"
#include "util/error_codes.h"

namespace llavero::stored {

// The member of `all` stored as `text` (its name by `name_of`), if any.
template <typename E, std::size_t N, typename NameOf>
std::optional<E> enum_named(std::string_view text, const E (&all)[N], NameOf name_of) {
  for (E value : all)
    if (name_of(value) == text) return value;
  return std::nullopt;
}

inline constexpr CertificateStatus kAllStatuses[] = {
    CertificateStatus::kReserved, CertificateStatus::kPending, CertificateStatus::kActive,
    CertificateStatus::kRevoked};

constexpr std::string_view status_name(CertificateStatus status) {
  switch (status) {
    case CertificateStatus::kReserved: return "reserved";
    case CertificateStatus::kPending: return "pending";
    case CertificateStatus::kActive: return "active";
    case CertificateStatus::kRevoked: return "revoked";
  }
  return "";
}

inline constexpr ComprobanteState kAllStates[] = {
    ComprobanteState::kRecibido, ComprobanteState::kProcesando, ComprobanteState::kAceptado,
    ComprobanteState::kRechazado, ComprobanteState::kError};

constexpr std::string_view state_name(ComprobanteState state) {
  switch (state) {
    case ComprobanteState::kRecibido: return "recibido";
    case ComprobanteState::kProcesando: return "procesando";
    case ComprobanteState::kAceptado: return "aceptado";
    case ComprobanteState::kRechazado: return "rechazado";
    case ComprobanteState::kError: return "error";
  }
  return "recibido";
}

inline constexpr CallbackState kCallbackStates[] = {
    CallbackState::kPendiente, CallbackState::kEntregado, CallbackState::kAbandonado};

constexpr std::string_view callback_state_name(CallbackState state) {
  switch (state) {
    case CallbackState::kNinguno: return "";
    case CallbackState::kPendiente: return "pendiente";
    case CallbackState::kEntregado: return "entregado";
    case CallbackState::kAbandonado: return "abandonado";
  }
  return "";
}

inline constexpr MailState kMailStates[] = {MailState::kPendiente, MailState::kEntregado,
                                            MailState::kAbandonado, MailState::kOmitido};

constexpr std::string_view mail_state_name(MailState state) {
  switch (state) {
    case MailState::kPendiente: return "pendiente";
    case MailState::kEntregado: return "entregado";
    case MailState::kAbandonado: return "abandonado";
    case MailState::kOmitido: return "omitido";
  }
  return "pendiente";
}

inline constexpr std::string_view kTaxpayerColumns =
    "id, identification, id_type, nombre, apellidos, correo, created_at";

inline constexpr std::string_view kOperatorColumns =
    "id, username, role, password_hash, totp_sealed, totp_enrolled, totp_last_step, disabled, "
    "created_at";

inline constexpr std::string_view kCertificateColumns =
    "id, authority_id, serial_hex, taxpayer_id, environment, status, certificate_der, "
    "not_before, not_after, facturador_gratuito, revoked_at, revocation_reason, created_at, "
    "pending_until";

inline constexpr std::string_view kComprobanteColumns =
    "clave, environment, username, fecha, emisor_tipo, emisor_numero, receptor_tipo, "
    "receptor_numero, xml, estado, respuesta_xml, received_at, updated_at, callback_url, "
    "callback_estado, callback_intentos, callback_siguiente, consecutivo, referencia, escenario";

inline constexpr std::string_view kEmittedColumns =
    "clave, environment, taxpayer_id, tipo, consecutivo, receptor_nombre, total, moneda, xml, "
    "created_at";

// Each emitted document (emitidos, as `j`) with the reception's row of the
// same clave, if any: its state (estado), its answer (respuesta_xml), the
// receptor's identification (receptor_numero) and whether there is one
// (recibido). Read as kEmittedColumns followed by estado, respuesta_xml.
inline constexpr std::string_view kEmittedJoined =
    "(SELECT e.*, c.estado AS estado, c.respuesta_xml AS respuesta_xml, "
    "c.receptor_numero AS receptor_numero, c.clave IS NOT NULL AS recibido FROM emitidos e "
    "LEFT JOIN comprobantes c ON c.clave = e.clave AND c.environment = e.environment) AS j";

inline constexpr std::string_view kMailColumns = "clave, estado, intentos, siguiente";
inline constexpr std::string_view kMailAttemptColumns =
    "intento, at, destinatario, entregado, error";

inline constexpr std::string_view kClienteColumns =
    "id, taxpayer_id, environment, id_type, identificacion, nombre, correo";
inline constexpr std::string_view kProductoColumns =
    "id, taxpayer_id, environment, cabys, descripcion, unidad, precio, tarifa";

// `text` for a LIKE (or ILIKE) with ESCAPE '\': its wildcards are literal.
inline std::string like_literal(std::string_view text) {
  std::string pattern;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern;
}

// The refusals of Clientes and Productos (ToolStore), the same on both.
inline Error list_full(std::string_view what, std::int64_t max) {
  return Error{std::string(errc::kListaLlena),
               fmt::format("Su lista de {} ya tiene el máximo de {}: borre los que ya no "
                           "use para agregar otros.",
                           what, max)};
}
inline Error cliente_duplicado(std::string_view nombre) {
  return Error{std::string(errc::kClienteDuplicado),
               fmt::format("Ya tiene un cliente con esa identificación: {}.", nombre)};
}
inline Error not_listed() {
  return Error{std::string(errc::kRegistroNoEncontrado), "No se encontró el registro en su lista."};
}

// Thrown by the readers below; each backend turns it into the error
// "almacen_corrupto".
struct CorruptValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void corrupt(std::string_view column, std::string_view value) {
  throw CorruptValue(
      fmt::format("El almacén de datos está dañado: {} tiene el valor desconocido "
                  "\"{}\".",
                  column, value));
}

template <typename E, std::size_t N, typename NameOf>
E enum_from(std::string_view text, const E (&all)[N], NameOf name_of, std::string_view column) {
  if (auto value = enum_named(text, all, name_of)) return *value;
  corrupt(column, text);
}

inline Environment environment_from(std::string_view text, std::string_view column) {
  return enum_from(text, kAllEnvironments, environment_name, column);
}

inline std::optional<RevocationReason> reason_from(const std::optional<std::string>& text,
                                                   std::string_view column) {
  if (!text) return std::nullopt;
  return enum_from(*text, kAllRevocationReasons, revocation_reason_name, column);
}

inline std::optional<std::string_view> reason_name(std::optional<RevocationReason> reason) {
  if (!reason) return std::nullopt;
  return revocation_reason_name(*reason);
}

// A row of kTaxpayerColumns.
template <typename Row>
TaxpayerRecord taxpayer_from(const Row& s) {
  return TaxpayerRecord{s.integer(0),
                        s.text(1),
                        enum_from(s.text(2), kAllIdTypes, id_type_code, "taxpayers.id_type"),
                        s.text(3),
                        s.text(4),
                        s.text(5),
                        s.time(6, "taxpayers.created_at")};
}

// A row of kOperatorColumns.
template <typename Row>
OperatorRecord operator_from(const Row& s) {
  return OperatorRecord{
      s.integer(0),
      s.text(1),
      enum_from(s.text(2), kAllOperatorRoles, operator_role_name, "operators.role"),
      s.text(3),
      s.blob(4),
      s.flag(5),
      s.integer(6),
      s.flag(7),
      s.time(8, "operators.created_at")};
}

// A row of kCertificateColumns.
template <typename Row>
CertificateRecord certificate_from(const Row& s) {
  CertificateRecord c;
  c.id = s.integer(0);
  c.authority_id = s.integer(1);
  c.serial_hex = s.text(2);
  c.taxpayer_id = s.integer(3);
  c.environment = environment_from(s.text(4), "certificates.environment");
  c.status = enum_from(s.text(5), kAllStatuses, status_name, "certificates.status");
  c.certificate_der = s.blob(6);
  if (c.status != CertificateStatus::kReserved) {
    c.not_before = s.time(7, "certificates.not_before");
    c.not_after = s.time(8, "certificates.not_after");
  }
  c.facturador_gratuito = s.flag(9);
  c.revoked_at = s.optional_time(10, "certificates.revoked_at");
  c.revocation_reason = reason_from(s.optional_text(11), "certificates.revocation_reason");
  c.created_at = s.time(12, "certificates.created_at");
  c.pending_until = s.optional_time(13, "certificates.pending_until");
  return c;
}

// A row of kComprobanteColumns.
template <typename Row>
ComprobanteRecord comprobante_from(const Row& s) {
  ComprobanteRecord c;
  c.clave = s.text(0);
  c.environment = environment_from(s.text(1), "comprobantes.environment");
  c.username = s.text(2);
  c.fecha = s.text(3);
  c.emisor_tipo = s.text(4);
  c.emisor_numero = s.text(5);
  c.receptor_tipo = s.optional_text(6);
  c.receptor_numero = s.optional_text(7);
  c.xml = s.blob(8);
  c.state = enum_from(s.text(9), kAllStates, state_name, "comprobantes.estado");
  c.respuesta_xml = s.blob(10);
  c.received_at = s.time(11, "comprobantes.received_at");
  c.updated_at = s.time(12, "comprobantes.updated_at");
  c.callback_url = s.optional_text(13);
  if (auto state = s.optional_text(14))
    c.callback_state =
        enum_from(*state, kCallbackStates, callback_state_name, "comprobantes.callback_estado");
  c.callback_attempts = static_cast<int>(s.integer(15));
  if (!s.null(16)) c.callback_next = s.time(16, "comprobantes.callback_siguiente");
  c.consecutivo = s.optional_text(17);
  c.referencia = s.optional_text(18);
  c.escenario = s.optional_text(19);
  return c;
}

// A row of kEmittedColumns.
template <typename Row>
EmittedRecord emitted_from(const Row& s) {
  EmittedRecord r;
  r.clave = s.text(0);
  r.environment = environment_from(s.text(1), "emitidos.environment");
  r.taxpayer_id = s.integer(2);
  r.tipo = s.text(3);
  r.consecutivo = s.text(4);
  r.receptor_nombre = s.text(5);
  r.total = s.text(6);
  r.moneda = s.text(7);
  r.xml = s.blob(8);
  r.created_at = s.time(9, "emitidos.created_at");
  return r;
}

// A row of kEmittedColumns, estado, respuesta_xml (from kEmittedJoined).
template <typename Row>
EmittedRow emitted_row_from(const Row& s) {
  EmittedRow row{emitted_from(s), std::nullopt, s.blob(11)};
  if (auto state = s.optional_text(10))
    row.state = enum_from(*state, kAllStates, state_name, "comprobantes.estado");
  return row;
}

// A row of kMailColumns.
template <typename Row>
MailRecord mail_from(const Row& s) {
  return MailRecord{s.text(0),
                    enum_from(s.text(1), kMailStates, mail_state_name, "correos_emitidos.estado"),
                    static_cast<int>(s.integer(2)), s.time(3, "correos_emitidos.siguiente")};
}

// A row of kMailAttemptColumns.
template <typename Row>
MailAttempt mail_attempt_from(const Row& s) {
  return MailAttempt{static_cast<int>(s.integer(0)), s.time(1, "correo_intentos.at"), s.text(2),
                     s.flag(3), s.text(4)};
}

// A row of kClienteColumns.
template <typename Row>
ClienteRecord cliente_from(const Row& s) {
  ClienteRecord c;
  c.id = s.integer(0);
  c.taxpayer_id = s.integer(1);
  c.environment = environment_from(s.text(2), "clientes.environment");
  c.id_type = enum_from(s.text(3), kAllIdTypes, id_type_code, "clientes.id_type");
  c.identificacion = s.text(4);
  c.nombre = s.text(5);
  c.correo = s.text(6);
  return c;
}

// A row of kProductoColumns.
template <typename Row>
ProductoRecord producto_from(const Row& s) {
  ProductoRecord p;
  p.id = s.integer(0);
  p.taxpayer_id = s.integer(1);
  p.environment = environment_from(s.text(2), "productos.environment");
  p.cabys = s.text(3);
  p.descripcion = s.text(4);
  p.unidad = s.text(5);
  p.precio = s.text(6);
  p.tarifa = s.text(7);
  return p;
}

}  // namespace llavero::stored
