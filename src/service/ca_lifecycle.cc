#include "service/ca_lifecycle.h"

#include <fmt/format.h>

#include <ctime>

#include "service/operators.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

std::string ca_label(Environment env, CaKind kind) {
  return fmt::format("{}/{}", environment_name(env), ca_kind_name(kind));
}

Status must_be_administrator(const AdministratorCheck& is_administrator,
                             const std::string& operator_name) {
  auto admin = is_administrator(operator_name);
  if (!admin) return admin.error();
  if (!*admin)
    return make_error(errc::kNoEsAdministrador,
                      fmt::format("El operador '{}' no es administrador.", operator_name));
  return Ok{};
}

UnixSeconds asn1_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<UnixSeconds>(timegm(&tm));
}

}  // namespace

AdministratorCheck active_administrators(OperatorStore& operators) {
  return [&operators](std::string_view user) -> Result<bool> {
    auto found = operators.find_operator(std::string(user));
    if (!found) return found.error();
    return *found && !(*found)->disabled &&
           role_may((*found)->role, Permission::kManageAuthorities);
  };
}

CaLifecycle::CaLifecycle(Store& store, CaKeyring& keyring, const Config& config,
                         AdministratorCheck is_administrator)
    : store_(store),
      keyring_(keyring),
      config_(config),
      is_administrator_(std::move(is_administrator)) {}

Error CaLifecycle::refuse(const std::string& operator_name, std::string_view action,
                          const std::string& subject, const Error& why) {
  // The refusal is recorded; what the operator is told is `why`.
  (void)store_.record_ca_event(AuditEvent{"operador:" + operator_name, std::string(action), subject,
                                          fmt::format("rechazada: {}", why.code)});
  return why;
}

Result<std::int64_t> CaLifecycle::request(Environment env, CaKind kind,
                                          const std::string& operator_name) {
  const std::string subject = ca_label(env, kind);
  if (kind == CaKind::kRoot)
    return make_error(errc::kCaDesconocida, "Solo se renuevan las CA emisoras (pf, pj).");
  if (Status admin = must_be_administrator(is_administrator_, operator_name); !admin)
    return refuse(operator_name, "ca.renovar.solicitar", subject, admin.error());
  auto id = store_.request_rollover(
      RolloverRequest{env, kind, operator_name},
      AuditEvent{"operador:" + operator_name, "ca.renovar.solicitar", subject,
                 "renovación solicitada; espera la aprobación de otro administrador"});
  if (!id) return refuse(operator_name, "ca.renovar.solicitar", subject, id.error());
  return *id;
}

Result<CaGeneration> CaLifecycle::approve(std::int64_t request_id,
                                          const std::string& operator_name) {
  const std::string subject = fmt::format("renovacion:{}", request_id);
  auto fail = [&](const Error& why) -> Result<CaGeneration> {
    return refuse(operator_name, "ca.renovar.aprobar", subject, why);
  };
  if (Status admin = must_be_administrator(is_administrator_, operator_name); !admin)
    return fail(admin.error());
  auto all = store_.rollovers();
  if (!all) return all.error();
  const RolloverRecord* request = nullptr;
  for (const RolloverRecord& r : *all)
    if (r.id == request_id && r.approved_by.empty()) request = &r;
  if (!request)
    return fail(
        make_error(errc::kRenovacionNoPendiente,
                   fmt::format("No hay una renovación pendiente con el número {}.", request_id)));
  // Checked again by the store, in the transaction; here before a key is made.
  if (request->requested_by == operator_name)
    return fail(make_error(errc::kMismoOperador,
                           "La renovación debe aprobarla un administrador distinto del que la "
                           "pidió."));

  const Environment env = request->environment;
  const CaKind kind = request->kind;
  auto root = keyring_.unlocked(env, CaKind::kRoot);
  if (!root) return root.error();
  auto current = keyring_.certificate(env, kind);
  if (!current) return current.error();
  HierarchyOptions options;
  options.naming = config_.naming;
  options.base_url = config_.base_url;
  options.now = now_seconds();
  options.keys = &keyring_.key_store();  // the new key is made where the others are (a token)
  auto made = create_issuing_ca(*root->authority, kind, (*current)->generation + 1, options);
  if (!made) return made.error();
  auto der = ossl::x509_to_der(*made->certificate);
  if (!der) return der.error();
  const std::string subject_line = ossl::subject_line(*made->certificate);
  auto id = store_.approve_rollover(
      request_id, operator_name,
      NewAuthority{env, kind, subject_line, std::move(*der), made->key_reference, made->generation},
      AuditEvent{"operador:" + operator_name, "ca.renovar.aprobar", ca_label(env, kind),
                 fmt::format("renovacion={} solicitada_por={} generacion={} serie={}", request_id,
                             request->requested_by, made->generation,
                             ossl::serial_hex(*made->certificate))});
  if (!id) return fail(id.error());
  auto pem = ossl::x509_to_pem(*made->certificate);
  if (!pem) return pem.error();
  return CaGeneration{*id,
                      env,
                      kind,
                      made->generation,
                      subject_line,
                      asn1_seconds(X509_get0_notBefore(made->certificate.get())),
                      asn1_seconds(X509_get0_notAfter(made->certificate.get())),
                      true,
                      std::move(*pem)};
}

Result<std::vector<CaGeneration>> CaLifecycle::generations() {
  auto records = store_.authorities();
  if (!records) return records.error();
  std::vector<CaGeneration> out;
  for (const AuthorityRecord& r : *records) {
    auto cert = ossl::x509_from_der(r.certificate_der);
    if (!cert) return cert.error();
    bool newest = true;
    for (const AuthorityRecord& other : *records)
      if (other.environment == r.environment && other.kind == r.kind &&
          other.generation > r.generation)
        newest = false;
    out.push_back(CaGeneration{r.id, r.environment, r.kind, r.generation, r.subject,
                               asn1_seconds(X509_get0_notBefore(cert->get())),
                               asn1_seconds(X509_get0_notAfter(cert->get())),
                               newest && r.kind != CaKind::kRoot, ""});
  }
  return out;
}

Result<std::vector<RolloverRecord>> CaLifecycle::rollovers() {
  return store_.rollovers();
}

}  // namespace llavero::service
