// What both backends store for the store's own enums, and the column lists
// their records are read from: one spelling, whichever database holds it.
// A backend that reads back a name not listed here reports the column as
// corrupt ("almacen_corrupto"); it never guesses.
#pragma once

#include <optional>
#include <string_view>

#include "store/certificate_store.h"
#include "store/comprobante_store.h"

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

inline constexpr std::string_view kTaxpayerColumns =
    "id, identification, id_type, nombre, apellidos, correo, created_at";

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

}  // namespace llavero::stored
