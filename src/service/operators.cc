#include "service/operators.h"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "service/accounts.h"
#include "service/downloads.h"
#include "service/totp.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

Error invalid_credentials() {
  return make_error(errc::kCredencialesInvalidas,
                    "Usuario, contraseña o código de verificación incorrecto.");
}

Error no_session() {
  return make_error(errc::kSinSesion, "Debe ingresar para continuar.");
}

// A decoy to check when the user name is unknown: the same work, the same time.
const std::string& decoy_hash() {
  static const std::string hash = [] {
    auto made = hash_password(SecretString("contraseña de relleno del operador"));
    return made ? *made : std::string();
  }();
  return hash;
}

bool valid_username(std::string_view name) {
  if (name.size() < 3 || name.size() > 40) return false;
  for (unsigned char c : name)
    if (!std::islower(c) && !std::isdigit(c) && c != '.' && c != '-' && c != '_') return false;
  return true;
}

}  // namespace

Result<OperatorRole> parse_operator_role(std::string_view text) {
  for (OperatorRole role : kAllOperatorRoles)
    if (operator_role_name(role) == text) return role;
  return make_error(
      errc::kRolInvalido,
      fmt::format("El rol \"{}\" no existe: administrador, soporte o auditor.", text));
}

bool role_may(OperatorRole role, Permission permission) {
  switch (permission) {
    case Permission::kRead: return true;
    case Permission::kActForTaxpayer:
      return role == OperatorRole::kSoporte || role == OperatorRole::kAdministrador;
    case Permission::kManageOperators:
    case Permission::kManageAuthorities: return role == OperatorRole::kAdministrador;
  }
  return false;
}

std::string operator_actor(const OperatorRecord& op) {
  return "operador:" + op.username;
}

std::string operator_detail(const OperatorRecord& op, std::string_view note) {
  std::string detail = fmt::format("rol={}", operator_role_name(op.role));
  if (!note.empty()) detail += fmt::format(" nota={}", note);
  return detail;
}

Result<OperatorRecord> OperatorService::create(const std::string& username, OperatorRole role,
                                               const SecretString& password,
                                               const std::string& actor,
                                               const OperatorSession* by) {
  if (by != nullptr) LLAVERO_TRY(require(*by, Permission::kManageOperators));
  if (!valid_username(username))
    return make_error(errc::kOperadorInvalido,
                      "El usuario lleva de 3 a 40 letras minúsculas, dígitos, '.', '-' o '_'.");
  if (password.size() < kMinOperatorPasswordLength)
    return make_error(errc::kContrasenaInvalida,
                      fmt::format("La contraseña de un operador debe tener al menos {} caracteres.",
                                  kMinOperatorPasswordLength));
  auto hash = hash_password(password);
  if (!hash) return hash.error();
  OperatorRecord record;
  record.username = username;
  record.role = role;
  record.password_hash = *hash;
  std::string detail = fmt::format("nuevo_rol={}", operator_role_name(role));
  if (by != nullptr) detail += " " + operator_detail(by->op, "");
  return store_.add_operator(record, AuditEvent{actor, "operador.crear", username, detail});
}

Result<std::optional<OperatorRecord>> OperatorService::find_active(const std::string& username) {
  auto found = store_.find_operator(username);
  if (!found) return found.error();
  if (*found && (*found)->disabled) return std::optional<OperatorRecord>();
  return found;
}

Result<std::vector<OperatorRecord>> OperatorService::list() {
  return store_.operators();
}

Status OperatorService::set_disabled(const OperatorSession& by, const std::string& username,
                                     bool disabled, const std::string& note) {
  LLAVERO_TRY(require(by, Permission::kManageOperators));
  auto found = store_.find_operator(username);
  if (!found) return found.error();
  if (!*found)
    return make_error(errc::kOperadorInvalido, fmt::format("No existe el operador {}.", username));
  return store_.set_operator_disabled(
      (*found)->id, disabled,
      AuditEvent{operator_actor(by.op), disabled ? "operador.desactivar" : "operador.activar",
                 username, operator_detail(by.op, note)});
}

Result<Bytes> OperatorService::secret_of(const OperatorRecord& op) {
  auto secret = open_with_server_key(key_, op.totp_sealed);
  if (!secret) return make_error(errc::kErrorInterno, "El secreto TOTP no se pudo abrir.");
  return std::move(*secret);
}

Result<bool> OperatorService::spend_code(const OperatorRecord& op, const std::string& code) {
  if (op.totp_sealed.empty() || code.size() != kTotpDigits) return false;
  auto secret = secret_of(op);
  if (!secret) return secret.error();
  const std::int64_t now = totp_step(now_seconds());
  for (std::int64_t step = now + 1; step >= now - 1; --step) {
    const std::string expected = totp_code(*secret, step);
    if (expected.size() == code.size() &&
        sodium_memcmp(expected.data(), code.data(), code.size()) == 0) {
      sodium_memzero(secret->data(), secret->size());
      return store_.spend_totp_step(op.id, step);
    }
  }
  sodium_memzero(secret->data(), secret->size());
  return false;
}

Result<OperatorLogin> OperatorService::login(const std::string& username,
                                             const SecretString& password, const std::string& code,
                                             const std::string& remote_address) {
  const UnixSeconds now = now_seconds();
  if (auto until = throttle_.wait_until(username, remote_address, now))
    return make_error(errc::kDemasiadosIntentos,
                      fmt::format("Demasiados intentos fallidos. Espere {} segundos antes de "
                                  "volver a intentarlo.",
                                  *until - now));
  auto found = store_.find_operator(username);
  if (!found) return found.error();
  const bool usable = *found && !(*found)->disabled;
  bool right = usable ? password_matches((*found)->password_hash, password)
                      : (password_matches(decoy_hash(), password), false);
  // Once enrolled the code is part of the credentials; before, the session
  // that opens can only enrol.
  if (right && (*found)->totp_enrolled) {
    auto spent = spend_code(**found, code);
    if (!spent) return spent.error();
    right = *spent;
  }
  const std::string actor = "operador:" + remote_address;
  if (!right) {
    const LoginThrottle::Failure failure = throttle_.failure(username, remote_address, now);
    if (failure.alarm)
      spdlog::warn("posible ataque al operador {}: {} intentos fallidos desde {} direcciones",
                   username, failure.account_failures, failure.account_addresses);
    LLAVERO_TRY(
        store_.record_operator_event(AuditEvent{actor, "operador.ingreso_fallido", username, ""}));
    return invalid_credentials();
  }
  throttle_.success(username, remote_address);
  auto fresh = store_.find_operator_by_id((*found)->id);  // the step just spent
  if (!fresh) return fresh.error();
  if (!*fresh) return invalid_credentials();
  OperatorLogin login{OperatorSession{**fresh, random_token(), ""}, random_token()};
  login.session.id_hash = token_hash(login.cookie_token);
  LLAVERO_TRY(store_.create_operator_session(
      OperatorSessionRecord{login.session.id_hash, (*fresh)->id, login.session.csrf_token, now,
                            now},
      AuditEvent{actor, "operador.ingreso", username,
                 fmt::format("rol={}{}", operator_role_name((*fresh)->role),
                             (*fresh)->totp_enrolled ? "" : " segundo_factor=pendiente")}));
  return login;
}

Result<OperatorSession> OperatorService::session(const std::string& cookie_token) {
  if (cookie_token.empty()) return no_session();
  const std::string hash = token_hash(cookie_token);
  auto record = store_.find_operator_session(hash);
  if (!record) return record.error();
  if (!*record) return no_session();
  const UnixSeconds now = now_seconds();
  if ((*record)->last_seen + kOperatorIdleSeconds < now) {
    LLAVERO_TRY(store_.delete_operator_session(hash));
    return make_error(errc::kSesionExpirada, "Su sesión expiró por inactividad. Ingrese de nuevo.");
  }
  auto op = store_.find_operator_by_id((*record)->operator_id);
  if (!op) return op.error();
  if (!*op || (*op)->disabled) return no_session();
  LLAVERO_TRY(store_.touch_operator_session(hash, now));
  return OperatorSession{**op, (*record)->csrf_token, hash};
}

Status OperatorService::logout(const OperatorSession& session) {
  return store_.delete_operator_session(session.id_hash);
}

Result<TotpEnrolment> OperatorService::enrolment(const OperatorSession& session) {
  auto op = store_.find_operator_by_id(session.op.id);
  if (!op) return op.error();
  if (!*op) return no_session();
  if ((*op)->totp_sealed.empty()) {
    Bytes secret(kTotpSecretBytes);
    randombytes_buf(secret.data(), secret.size());
    auto sealed = seal_with_server_key(key_, secret);
    sodium_memzero(secret.data(), secret.size());
    if (!sealed) return sealed.error();
    LLAVERO_TRY(store_.set_operator_totp((*op)->id, *sealed));
    op = store_.find_operator_by_id(session.op.id);  // another server may have won
    if (!op) return op.error();
    if (!*op) return no_session();
  }
  auto secret = secret_of(**op);
  if (!secret) return secret.error();
  TotpEnrolment out;
  out.secret_base32 = base32(*secret);
  out.uri = otpauth_uri("llavero", (*op)->username, *secret);
  sodium_memzero(secret->data(), secret->size());
  out.qr_svg = qr_svg(out.uri, "Código QR para la aplicación de autenticación");
  return out;
}

Status OperatorService::confirm_enrolment(const OperatorSession& session, const std::string& code) {
  auto op = store_.find_operator_by_id(session.op.id);
  if (!op) return op.error();
  if (!*op) return no_session();
  auto spent = spend_code(**op, code);
  if (!spent) return spent.error();
  if (!*spent)
    return make_error(errc::kCodigoInvalido,
                      "El código no es correcto o ya se usó. Escriba el código de 6 dígitos "
                      "que muestra ahora la aplicación.");
  return store_.record_operator_event(AuditEvent{operator_actor(**op), "operador.segundo_factor",
                                                 (*op)->username, operator_detail(**op, "")});
}

Status OperatorService::require(const OperatorSession& session, Permission permission) const {
  if (session.enrolled() && role_may(session.op.role, permission)) return Ok{};
  return make_error(errc::kOperadorNoAutorizado, fmt::format("El rol {} no permite esta acción.",
                                                             operator_role_name(session.op.role)));
}

Status OperatorService::record(const OperatorSession& session, std::string action,
                               std::string subject, std::string_view note) {
  return store_.record_operator_event(AuditEvent{operator_actor(session.op), std::move(action),
                                                 std::move(subject),
                                                 operator_detail(session.op, note)});
}

Status OperatorService::purge_expired() {
  return store_.purge_operator_sessions(now_seconds() - kOperatorIdleSeconds);
}

}  // namespace llavero::service
