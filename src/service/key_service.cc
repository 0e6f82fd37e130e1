#include "service/key_service.h"

#include <fmt/format.h>

#include "pki/issue.h"
#include "service/custody.h"
#include "service/downloads.h"
#include "service/key_pool.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/metrics.h"

namespace llavero::service {

std::string_view key_state_name(KeyState state) {
  switch (state) {
    case KeyState::kPendiente: return "pendiente";
    case KeyState::kActiva: return "activa";
    case KeyState::kRevocada: return "revocada";
    case KeyState::kVencida: return "vencida";
  }
  return "";
}

namespace {

constexpr std::size_t kMaxNameLength = 128;  // ub-common-name of RFC 5280 is 64 per part

Status check_name(std::string_view field, const std::string& value, bool required) {
  if (value.empty()) {
    if (!required) return Ok{};
    return make_error(errc::kDatoFaltante, fmt::format("Falta {}.", field));
  }
  if (value.size() > kMaxNameLength)
    return make_error(
        errc::kDatoInvalido,
        fmt::format("{} es demasiado largo (máximo {} caracteres).", field, kMaxNameLength));
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f)
      return make_error(errc::kDatoInvalido,
                        fmt::format("{} contiene caracteres de control.", field));
  return Ok{};
}

KeyStatus status_of(const CertificateRecord& c, UnixSeconds now) {
  KeyStatus s;
  s.environment = c.environment;
  s.serial_hex = c.serial_hex;
  s.not_before = format_utc(c.not_before);
  s.not_after = format_utc(c.not_after);
  if (c.revoked_at) s.revoked_at = format_utc(*c.revoked_at);
  s.facturador_gratuito = c.facturador_gratuito;
  s.reason = c.revocation_reason;
  s.certificate_id = c.id;
  if (c.pending_until) s.pending_until = format_utc(*c.pending_until);
  if (c.status == CertificateStatus::kRevoked) {
    s.state = KeyState::kRevocada;
    s.never_delivered = c.pending_until.has_value();
  } else if (c.status == CertificateStatus::kPending) {
    s.state = KeyState::kPendiente;
  } else {
    s.state = c.not_after < now ? KeyState::kVencida : KeyState::kActiva;
  }
  s.certificate_der = c.certificate_der;
  return s;
}

// Counted where the keys change state (util/metrics.h); registered when the
// program starts, so /metrics lists every environment at 0 from the start.
const std::vector<std::vector<std::string>> kEnvironments = {{"pruebas"}, {"produccion"}};
metrics::CounterFamily& keys_issued = metrics::process().counters(
    "llavero_keys_issued", "Llaves emitidas por este servidor, por ambiente.", {"environment"},
    kEnvironments);
metrics::CounterFamily& keys_revoked = metrics::process().counters(
    "llavero_keys_revoked",
    "Llaves revocadas por este servidor (a pedido, reemplazadas o no descargadas), por ambiente.",
    {"environment"}, kEnvironments);
metrics::CounterFamily& key_pairs = metrics::process().counters(
    "llavero_key_pairs",
    "Pares de llaves de Generar: de las pregeneradas (pool) o generados al pedirlos (generated).",
    {"source"}, {{"pool"}, {"generated"}});

void count_issued(Environment env, bool from_pool) {
  keys_issued.with({environment_name(env)}).add();
  key_pairs.with({from_pool ? "pool" : "generated"}).add();
}

void count_revoked(Environment env) {
  keys_revoked.with({environment_name(env)}).add();
}

}  // namespace

std::string key_subject(const KeyStatus& key) {
  auto cert = ossl::x509_from_der(key.certificate_der);
  return cert ? ossl::subject_line(**cert) : std::string();
}

Result<TaxpayerRecord> KeyService::find_taxpayer(const std::string& identification) {
  return llavero::service::find_taxpayer(store_, identification);
}

Result<TaxpayerRecord> find_taxpayer(TaxpayerStore& store, const std::string& identification) {
  auto id = Identification::parse(identification);
  if (!id) return id.error();
  auto found = store.find_taxpayer(id->digits());
  if (!found) return found.error();
  if (!*found)
    return make_error(
        errc::kContribuyenteDesconocido,
        fmt::format("No existe un contribuyente con la identificación {}.", id->printed()));
  return std::move(**found);
}

Result<TaxpayerRecord> KeyService::create_taxpayer(const NewTaxpayerRequest& request,
                                                   const std::string& actor) {
  auto id = Identification::parse(request.identification);
  if (!id) return id.error();
  const bool juridica = id->type() == IdType::kJuridica;
  LLAVERO_TRY(check_name(juridica ? "la razón social (--nombre)" : "el nombre (--nombre)",
                         request.nombre, true));
  if (juridica && !request.apellidos.empty())
    return make_error(errc::kDatoInvalido,
                      "Una persona jurídica no tiene apellidos: indique solo la razón social en "
                      "--nombre.");
  LLAVERO_TRY(check_name("los apellidos (--apellidos)", request.apellidos, !juridica));
  LLAVERO_TRY(check_name("el correo (--correo)", request.correo, false));
  if (!request.correo.empty() && request.correo.find('@') == std::string::npos)
    return make_error(errc::kDatoInvalido,
                      fmt::format("Correo inválido \"{}\": falta la @.", request.correo));
  // The subject must encode; catch a bad name here rather than at Generar.
  LLAVERO_TRY(taxpayer_subject(TaxpayerSubject{*id, request.nombre, request.apellidos}));

  NewTaxpayer record{id->digits(), id->type(), request.nombre, request.apellidos, request.correo};
  auto added = store_.add_taxpayer(
      record,
      AuditEvent{actor, "contribuyente.crear", id->digits(),
                 fmt::format("tipo={} nombre={}", id_type_code(id->type()),
                             taxpayer_common_name({*id, request.nombre, request.apellidos}))});
  if (!added && added.error().code == errc::kContribuyenteDuplicado)
    return make_error(
        errc::kContribuyenteDuplicado,
        fmt::format("Ya existe un contribuyente con la identificación {}.", id->printed()));
  return added;
}

Result<KeyService::Issued> KeyService::issue(const IssueOrder& order,
                                             const std::function<Status(const IssuedKey&)>& keep,
                                             const std::string& actor) {
  auto id = Identification::parse(order.taxpayer.identification);
  if (!id) return id.error();
  auto issuer = keyring_.unlocked(order.environment, issuing_ca_for(id->type()));
  if (!issuer) return issuer.error();
  auto root = keyring_.certificate(order.environment, CaKind::kRoot);
  if (!root) return root.error();

  // A key the order brings (the MensajeHacienda seal's, from the keyring) is
  // used as it is; otherwise a pooled pair, removed from the pool as it is
  // taken: never two certificates with one public key.
  std::optional<ossl::PKey> pooled =
      !order.key && pool_ != nullptr ? pool_->take() : std::nullopt;
  const bool from_pool = pooled.has_value();
  Result<ossl::PKey> key = order.key  ? ossl::share_key(**order.key)
                           : pooled ? Result<ossl::PKey>(std::move(*pooled))
                                    : KeyPool::rsa_2048();
  if (!key) return key.error();

  // Reserve the serial before signing: a crash after this point burns it, it
  // never reuses it. A collision of 126 random bits is not expected, but the
  // store is the judge, so ask again if it happens.
  Issued out;
  std::int64_t certificate_id = 0;
  for (int attempt = 0;; ++attempt) {
    auto fresh = random_serial();
    if (!fresh) return fresh.error();
    auto reserved = store_.reserve_serial(SerialReservation{
        issuer->authority_id, serial_to_hex(*fresh), order.taxpayer.id, order.environment});
    if (reserved) {
      out.key.serial = std::move(*fresh);
      certificate_id = *reserved;
      out.key.certificate_id = certificate_id;
      break;
    }
    if (reserved.error().code != errc::kSerialDuplicado || attempt == 3) return reserved.error();
  }

  const TaxpayerSubject subject{*id, order.taxpayer.nombre, order.taxpayer.apellidos};
  IssuedKey& issued = out.key;
  issued.serial_hex = serial_to_hex(issued.serial);
  issued.not_before = order.not_before.value_or(now_seconds());
  issued.not_after = taxpayer_not_after(issued.not_before);
  issued.common_name = taxpayer_common_name(subject);
  IssueRequest request{issuer->authority,     key->get(),        subject,
                       issued.serial,         issued.not_before, config_.base_url,
                       config_.strict_profile};
  auto cert = issue_taxpayer_certificate(request);
  if (!cert) return cert.error();
  issued.key = std::move(*key);
  issued.certificate = std::move(*cert);
  issued.chain = {issuer->authority->certificate.get(), (*root)->certificate.get()};

  LLAVERO_TRY(keep(issued));

  auto der = ossl::x509_to_der(*issued.certificate);
  if (!der) return der.error();
  std::string detail =
      fmt::format("ambiente={} serie={}", environment_name(order.environment), issued.serial_hex);
  if (!order.audit_detail.empty()) detail += " " + order.audit_detail;
  if (order.pending_until) detail += " pendiente_de_descarga=si";
  Bytes wrapped;
  if (order.facturador_gratuito && custody_ != nullptr) {
    auto sealed = custody_->wrap(*issued.key, issued.serial_hex);
    if (!sealed) return sealed.error();
    wrapped = std::move(*sealed);
    detail += " custodia=si";
  }
  auto previous = store_.activate_certificate(
      Activation{certificate_id, order.facturador_gratuito, std::move(*der), issued.not_before,
                 issued.not_after, order.pending_until, std::move(wrapped)},
      AuditEvent{actor, "llave.generar", id->digits(), std::move(detail)});
  if (!previous) return previous.error();
  count_issued(order.environment, from_pool);
  if (*previous) {
    out.superseded_serial = (*previous)->serial_hex;
    count_revoked(order.environment);
  }
  return out;
}

Result<GeneratedKey> KeyService::generate(const GenerateRequest& request, const Pin& pin,
                                          const std::function<Status(const StagedKey&)>& stage,
                                          const std::string& actor) {
  auto taxpayer = find_taxpayer(request.identification);
  if (!taxpayer) return taxpayer.error();
  auto id = Identification::parse(taxpayer->identification);
  if (!id) return id.error();
  const P12Options options{request.profile.value_or(config_.p12_profile), config_.p12_iterations};
  IssueOrder order{
      *taxpayer, request.environment, request.facturador_gratuito,
      fmt::format("perfil={} facturador_gratuito={}", p12_profile_name(options.profile),
                  request.facturador_gratuito ? "si" : "no"),
      std::nullopt};
  if (request.until_downloaded) order.pending_until = now_seconds() + kDownloadWindowSeconds;
  GeneratedKey out;
  out.file_name = id->p12_file_name();
  auto issued = issue(
      order,
      [&](const IssuedKey& k) -> Status {
        auto p12 = build_p12(*k.key, *k.certificate, k.chain, k.common_name, pin, options);
        if (!p12) return p12.error();
        return stage(StagedKey{out.file_name, *p12, k.certificate_id});
      },
      actor);
  if (!issued) return issued.error();
  out.serial_hex = issued->key.serial_hex;
  out.not_before = format_utc(issued->key.not_before);
  out.not_after = format_utc(issued->key.not_after);
  out.certificate_id = issued->key.certificate_id;
  out.pending = request.until_downloaded;
  if (out.pending)
    out.annulled_pending_serial = std::move(issued->superseded_serial);
  else
    out.superseded_serial = std::move(issued->superseded_serial);
  return out;
}

Result<std::optional<std::string>> KeyService::complete_download(std::int64_t taxpayer_id,
                                                                 std::int64_t certificate_id,
                                                                 const std::string& actor) {
  auto certificates = store_.certificates_of(taxpayer_id);
  if (!certificates) return certificates.error();
  const CertificateRecord* key = nullptr;
  for (const CertificateRecord& c : *certificates)
    if (c.id == certificate_id) key = &c;
  if (key == nullptr) return make_error(errc::kCertificadoDesconocido, "Certificado desconocido.");
  auto taxpayer = store_.find_taxpayer_by_id(taxpayer_id);
  const std::string subject = taxpayer && *taxpayer ? (*taxpayer)->identification : "";
  auto previous = store_.activate_pending(
      certificate_id, AuditEvent{actor, "llave.activar", subject,
                                 fmt::format("ambiente={} serie={} motivo=descarga_completa",
                                             environment_name(key->environment), key->serial_hex)});
  if (!previous) return previous.error();
  if (!*previous) return std::optional<std::string>();
  count_revoked(key->environment);
  return std::optional<std::string>((*previous)->serial_hex);
}

Result<int> KeyService::expire_pending(UnixSeconds now) {
  auto expired = store_.pending_before(now - kPendingGraceSeconds);
  if (!expired) return expired.error();
  int annulled = 0;
  for (const CertificateRecord& c : *expired) {
    auto taxpayer = store_.find_taxpayer_by_id(c.taxpayer_id);
    const std::string subject = taxpayer && *taxpayer ? (*taxpayer)->identification : "";
    Status revoked = store_.revoke_pending(
        c.id, AuditEvent{"sistema", "llave.anular", subject,
                         fmt::format("ambiente={} serie={} motivo=sin_descarga",
                                     environment_name(c.environment), c.serial_hex)});
    // Completed or annulled meanwhile: nothing left to do for it.
    if (!revoked && revoked.error().code == errc::kLlaveNoPendiente) continue;
    if (!revoked) return revoked.error();
    count_revoked(c.environment);
    ++annulled;
  }
  return annulled;
}

Result<KeyStatus> KeyService::revoke(const std::string& identification, Environment env,
                                     std::optional<RevocationReason> reason,
                                     const std::string& actor, std::string_view detail) {
  auto taxpayer = find_taxpayer(identification);
  if (!taxpayer) return taxpayer.error();
  auto revoked = store_.revoke_active(
      taxpayer->id, env, reason,
      AuditEvent{actor, "llave.revocar", taxpayer->identification,
                 fmt::format("ambiente={} motivo={}{}{}", environment_name(env),
                             reason ? revocation_reason_name(*reason) : "sin motivo",
                             detail.empty() ? "" : " ", detail)});
  if (!revoked) return revoked.error();
  count_revoked(env);
  return status_of(*revoked, now_seconds());
}

Result<std::vector<KeyStatus>> KeyService::status(const std::string& identification,
                                                  std::optional<Environment> env) {
  auto taxpayer = find_taxpayer(identification);
  if (!taxpayer) return taxpayer.error();
  auto certificates = store_.certificates_of(taxpayer->id);
  if (!certificates) return certificates.error();
  std::vector<KeyStatus> out;
  const UnixSeconds now = now_seconds();
  for (const CertificateRecord& c : *certificates)
    if (!env || c.environment == *env) out.push_back(status_of(c, now));
  return out;
}

}  // namespace llavero::service
