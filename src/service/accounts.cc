#include "service/accounts.h"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "service/key_service.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/hash.h"
#include "util/metrics.h"

namespace llavero::service {

namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// A hash to compare against when the account does not exist, so that an
// unknown identification takes as long as a wrong password.
const std::string& decoy_hash() {
  static const std::string hash = [] {
    auto made = hash_password(SecretString("contraseña de relleno"));
    return made ? *made : std::string();
  }();
  return hash;
}

Error invalid_credentials() {
  return make_error(errc::kCredencialesInvalidas, "Identificación o contraseña incorrecta.");
}

// A log-in refused (a wrong password, or one not checked because the
// account must wait), for /metrics: `kind` is "portal" or "api".
metrics::CounterFamily& login_failures = metrics::process().counters(
    "llavero_login_failures",
    "Ingresos rechazados (contraseña equivocada o cuenta en espera), del portal o de la API.",
    {"kind"}, {{"portal"}, {"api"}});

void count_login_failure(std::string_view kind) {
  login_failures.with({kind}).add();
}

// "30 segundos", "1 minuto", "15 minutos": how long a person waits.
std::string duration_text(UnixSeconds seconds) {
  if (seconds < 60) return fmt::format("{} segundos", std::max<UnixSeconds>(seconds, 1));
  const UnixSeconds minutes = (seconds + 59) / 60;
  return minutes == 1 ? "1 minuto" : fmt::format("{} minutos", minutes);
}

// The one text of a throttled attempt, for the portal and the API alike.
Error must_wait(UnixSeconds until, UnixSeconds now) {
  return make_error(errc::kDemasiadosIntentos,
                    fmt::format("Demasiados intentos fallidos. Por seguridad, espere {} antes de "
                                "volver a intentarlo (a partir de las {}, hora de Costa Rica).",
                                duration_text(until - now), format_costa_rica_hour(until + 59)));
}

}  // namespace

Result<std::string> hash_password(const SecretString& password) {
  if (!sodium_ready()) return make_error(errc::kErrorInterno, "libsodium no se pudo iniciar.");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return make_error(errc::kErrorInterno,
                      "No hay memoria para calcular el hash de la contraseña.");
  return std::string(out);
}

bool password_matches(const std::string& hash, const SecretString& password) {
  if (!sodium_ready() || hash.empty()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0;
}

std::string random_token() {
  sodium_ready();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string text = base64_encode(std::span<const std::uint8_t>(raw), kBase64Url);
  sodium_memzero(raw, sizeof raw);
  return text;
}

std::string token_hash(std::string_view token) {
  return to_hex(sha256(token));
}

SecretString generate_api_password() {
  sodium_ready();
  static constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
  static constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static constexpr std::string_view kDigits = "0123456789";
  const std::string alphabet = std::string(kLower) + std::string(kUpper) + std::string(kDigits) +
                               std::string(kApiPasswordSymbols);
  for (;;) {
    std::string candidate(kApiPasswordLength, ' ');
    for (char& c : candidate)
      c = alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))];
    auto has = [&candidate](std::string_view set) {
      return candidate.find_first_of(set) != std::string::npos;
    };
    if (has(kLower) && has(kUpper) && has(kDigits) && has(kApiPasswordSymbols))
      return SecretString(std::move(candidate));
    sodium_memzero(candidate.data(), candidate.size());
  }
}

Result<TaxpayerRecord> AccountService::taxpayer(const std::string& identification) {
  return find_taxpayer(store_, identification);
}

Status AccountService::set_portal_password(const std::string& identification,
                                           const SecretString& password, const std::string& actor) {
  if (password.size() < kMinPortalPasswordLength)
    return make_error(
        errc::kContrasenaInvalida,
        fmt::format("La contraseña debe tener al menos {} caracteres.", kMinPortalPasswordLength));
  auto t = taxpayer(identification);
  if (!t) return t.error();
  auto hash = hash_password(password);
  if (!hash) return hash.error();
  return store_.set_password_hash(t->id, *hash,
                                  AuditEvent{actor, "contribuyente.contrasena_portal",
                                             t->identification, "contraseña del portal asignada"});
}

Status AccountService::count_portal_failure(const std::string& account,
                                            const std::string& remote_address) {
  const std::string actor = "portal:" + remote_address;
  const LoginThrottle::Failure failure =
      portal_throttle_.failure(account, remote_address, now_seconds());
  if (failure.alarm) {
    // The account is not locked (a stranger could lock anyone out): the
    // operator decides, warned in the log and the audit log.
    const std::string detail =
        fmt::format("{} contraseñas equivocadas en la última hora desde {} direcciones",
                    failure.account_failures, failure.account_addresses);
    spdlog::warn("posible ataque a la cuenta {}: {}", account, detail);
    LLAVERO_TRY(
        store_.record_login_event(AuditEvent{actor, "cuenta.posible_ataque", account, detail}));
  }
  return store_.record_login_event(AuditEvent{actor, "portal.ingreso_fallido", account, ""});
}

Result<Login> AccountService::login(const std::string& identification, const SecretString& password,
                                    const std::string& remote_address) {
  auto id = Identification::parse(identification);
  if (!id) return id.error();
  const std::string account = id->digits();
  const UnixSeconds now = now_seconds();
  // Before any hashing, and whether or not the identification is registered.
  if (auto until = portal_throttle_.wait_until(account, remote_address, now)) {
    count_login_failure("portal");
    return must_wait(*until, now);
  }
  auto found = store_.find_taxpayer(account);
  if (!found) return found.error();
  std::optional<std::string> hash;
  if (*found) {
    auto stored = store_.password_hash((*found)->id);
    if (!stored) return stored.error();
    hash = std::move(*stored);
  }
  // An unknown identification, or one without a portal password, is checked
  // against a decoy: the same work, the same time, the same answer.
  const bool right =
      hash ? password_matches(*hash, password) : (password_matches(decoy_hash(), password), false);
  if (!right) {
    count_login_failure("portal");
    LLAVERO_TRY(count_portal_failure(account, remote_address));
    return invalid_credentials();
  }
  portal_throttle_.success(account, remote_address);
  const TaxpayerRecord& t = **found;
  Login login{PortalSession{t, *id, random_token(), ""}, random_token()};
  login.session.id_hash = token_hash(login.cookie_token);
  LLAVERO_TRY(store_.create_session(
      SessionRecord{login.session.id_hash, t.id, login.session.csrf_token, now, now},
      AuditEvent{"portal:" + remote_address, "portal.ingreso", t.identification, ""}));
  return login;
}

Result<PortalSession> AccountService::session(const std::string& cookie_token) {
  if (cookie_token.empty()) return make_error(errc::kSinSesion, "Debe ingresar para continuar.");
  const std::string hash = token_hash(cookie_token);
  auto record = store_.find_session(hash);
  if (!record) return record.error();
  if (!*record) return make_error(errc::kSinSesion, "Debe ingresar para continuar.");
  const UnixSeconds now = now_seconds();
  if ((*record)->last_seen + kSessionIdleSeconds < now) {
    LLAVERO_TRY(store_.delete_session(hash));
    return make_error(errc::kSesionExpirada, "Su sesión expiró por inactividad. Ingrese de nuevo.");
  }
  LLAVERO_TRY(store_.touch_session(hash, now));
  auto found = store_.find_taxpayer_by_id((*record)->taxpayer_id);
  if (!found) return found.error();
  if (!*found) return make_error(errc::kSinSesion, "Debe ingresar para continuar.");
  auto id = Identification::parse((*found)->identification);
  if (!id) return id.error();
  return PortalSession{**found, *id, (*record)->csrf_token, hash};
}

Status AccountService::logout(const std::string& cookie_token) {
  return store_.delete_session(token_hash(cookie_token));
}

Result<bool> AccountService::spend_form_token(const std::string& token) {
  return store_.spend_nonce(token_hash(token), now_seconds());
}

Result<std::optional<std::string>> AccountService::api_user(const std::string& identification,
                                                            Environment env) {
  auto t = taxpayer(identification);
  if (!t) return t.error();
  auto id = Identification::parse(t->identification);
  if (!id) return id.error();
  const std::string username = id->api_user(env, config_.user_domain);
  auto found = store_.find_api_credential(username);
  if (!found) return found.error();
  if (!*found || (*found)->taxpayer_id != t->id) return std::optional<std::string>();
  return std::optional<std::string>(username);
}

int AccountService::attempts_left(const std::string& identification,
                                  const std::string& remote_address) {
  auto id = Identification::parse(identification);
  if (!id) return 0;
  return portal_throttle_.free_left(id->digits(), remote_address, now_seconds());
}

Result<NewApiPassword> AccountService::generate_api_password(const std::string& identification,
                                                             Environment env,
                                                             const std::string& actor) {
  auto t = taxpayer(identification);
  if (!t) return t.error();
  auto id = Identification::parse(t->identification);
  if (!id) return id.error();
  NewApiPassword out{id->api_user(env, config_.user_domain),
                     llavero::service::generate_api_password()};
  auto hash = hash_password(out.password);
  if (!hash) return hash.error();
  LLAVERO_TRY(store_.set_api_credential(
      ApiCredential{t->id, env, out.username, *hash},
      AuditEvent{actor, "api.contrasena", t->identification,
                 fmt::format("ambiente={} usuario={}", environment_name(env), out.username)}));
  return out;
}

Result<std::optional<ApiCredential>> AccountService::check_api_password(
    const std::string& username, const SecretString& password, const std::string& remote_address) {
  const UnixSeconds now = now_seconds();
  if (auto until = api_throttle_.wait_until(username, remote_address, now)) {
    count_login_failure("api");
    return must_wait(*until, now);
  }
  auto credential = store_.find_api_credential(username);
  if (!credential) return credential.error();
  const bool right = *credential ? password_matches((*credential)->password_hash, password)
                                 : (password_matches(decoy_hash(), password), false);
  if (!right) {
    // No audit row per wrong API password (a token flood would write one per
    // request); the operator's warning still comes when an account looks attacked.
    count_login_failure("api");
    const LoginThrottle::Failure failure = api_throttle_.failure(username, remote_address, now);
    if (failure.alarm)
      spdlog::warn(
          "posible ataque al usuario de la API {}: {} contraseñas equivocadas en la "
          "última hora desde {} direcciones",
          username, failure.account_failures, failure.account_addresses);
    return std::optional<ApiCredential>();
  }
  api_throttle_.success(username, remote_address);
  return *credential;
}

Status AccountService::purge_expired() {
  const UnixSeconds now = now_seconds();
  return store_.purge(now, now - kSessionIdleSeconds);
}

Result<std::map<std::string, UnixSeconds>> AccountService::portal_waits(
    const std::string& identification) {
  auto t = taxpayer(identification);
  if (!t) return t.error();
  return portal_throttle_.waits(t->identification, now_seconds());
}

Status AccountService::unlock_portal(const std::string& identification, const AuditEvent& audit) {
  auto t = taxpayer(identification);
  if (!t) return t.error();
  portal_throttle_.forget(t->identification);
  return store_.record_login_event(audit);
}

Result<SecretString> AccountService::reset_portal_password(const std::string& identification,
                                                           const std::string& actor,
                                                           const std::string& detail) {
  auto t = taxpayer(identification);
  if (!t) return t.error();
  SecretString password = llavero::service::generate_api_password();
  auto hash = hash_password(password);
  if (!hash) return hash.error();
  LLAVERO_TRY(store_.set_password_hash(
      t->id, *hash,
      AuditEvent{actor, "contribuyente.contrasena_restablecida", t->identification, detail}));
  return password;
}

}  // namespace llavero::service
