// `llavero`: the operator's command. It parses arguments, reads PINs safely,
// calls the key service and prints what happened in Spanish. Errors go to
// stderr and exit with status 1; --help exits 0.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/processing.h"
#include "api/routes.h"
#include "cli/commands.h"
#include "cli/prompt.h"
#include "keys/accounts.h"
#include "keys/authorities.h"
#include "keys/data_dir.h"
#include "keys/downloads.h"
#include "keys/key_service.h"
#include "keys/publication.h"
#include "keys/revocation_check.h"
#include "pki/crl.h"
#include "store/audit.h"
#include "util/clock.h"
#include "util/files.h"
#include "web/portal.h"
#include "web/publication_routes.h"
#include "web/server.h"

namespace fs = std::filesystem;
using namespace llavero;

namespace {

// Every failure leaves through here: the message, and status 1.
struct Failure {
  Error error;
};

template <typename T>
T must(Result<T> result) {
  if (!result) throw Failure{result.error()};
  return std::move(*result);
}
[[noreturn]] void fail(std::string code, std::string message) {
  throw Failure{make_error(std::move(code), std::move(message))};
}

std::string actor() {
  const char* user = std::getenv("USER");
  return fmt::format("cli:{}", user && *user ? user : std::to_string(getuid()));
}

struct Session {
  std::unique_ptr<DataDir> dir;
  std::unique_ptr<CaKeyring> keyring;
  std::unique_ptr<KeyService> service;
};

// Opens the data directory; the CA passphrase is only needed to sign.
Session open_session(const std::string& data_flag, bool needs_ca_keys) {
  Session s;
  s.dir = must(DataDir::open(default_data_path(data_flag)));
  SecretString passphrase;
  if (needs_ca_keys) passphrase = must(s.dir->ca_passphrase());
  s.keyring = std::make_unique<CaKeyring>(s.dir->store(), std::move(passphrase));
  s.service = std::make_unique<KeyService>(s.dir->store(), s.dir->config(), *s.keyring);
  return s;
}

void require(const std::string& value, std::string_view option) {
  if (value.empty())
    fail("opcion_faltante", fmt::format("Falta la opción obligatoria {}.", option));
}

Pin read_pin(bool from_stdin) {
  cli::TypedPin typed = must(from_stdin ? cli::read_pin_from_stdin() : cli::ask_pin_on_terminal());
  Pin pin = must(Pin::parse(typed.pin.view()));
  if (typed.confirmation && typed.confirmation->view() != typed.pin.view())
    fail("pin_no_coincide", "El PIN y su confirmación no coinciden.");
  return pin;
}

// The .p12 goes to a temporary file in the output directory first, and gets
// its real name only after the key is active in the store. The directory and
// the temporary file are made before anything is issued, so an unusable
// --salida fails before the store changes; on failure both are removed.
class StagedFile {
 public:
  StagedFile(fs::path dir, std::string file_name)
      : dir_(std::move(dir)), final_(dir_ / file_name) {}
  ~StagedFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
    std::error_code ec;
    if (!created_dir_.empty() && !published_) fs::remove(created_dir_, ec);  // only if empty
  }

  Status open() {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) {
      fs::create_directories(dir_, ec);
      if (ec)
        return make_error("salida_invalida", fmt::format("No se pudo crear el directorio {}: {}",
                                                         dir_.string(), ec.message()));
      created_dir_ = dir_;
    } else if (!fs::is_directory(dir_, ec)) {
      return make_error("salida_invalida",
                        fmt::format("--salida {} no es un directorio.", dir_.string()));
    }
    fs::path tmp = dir_ / fmt::format(".{}.{}.tmp", final_.filename().string(), getpid());
    fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0)
      return make_error("salida_invalida", fmt::format("No se pudo escribir en {}: {}",
                                                       dir_.string(), std::strerror(errno)));
    tmp_ = tmp;
    return Ok{};
  }

  Status write(const StagedKey& key) {
    bool ok =
        ::write(fd_, key.p12.data(), key.p12.size()) == static_cast<ssize_t>(key.p12.size()) &&
        ::fsync(fd_) == 0;
    ok = ::close(fd_) == 0 && ok;
    fd_ = -1;
    if (!ok)
      return make_error("salida_invalida", fmt::format("No se pudo escribir {}: {}", tmp_.string(),
                                                       std::strerror(errno)));
    return Ok{};
  }

  fs::path publish() {
    if (std::rename(tmp_.c_str(), final_.c_str()) != 0)
      fail("salida_invalida",
           fmt::format(
               "La llave quedó activa pero no se pudo nombrar el archivo {} (está en {}): {}",
               final_.string(), tmp_.string(), std::strerror(errno)));
    tmp_.clear();
    published_ = true;
    int dirfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
      ::fsync(dirfd);
      ::close(dirfd);
    }
    return final_;
  }

 private:
  fs::path dir_, final_, tmp_, created_dir_;
  int fd_ = -1;
  bool published_ = false;
};

std::string describe(const KeyStatus& k) {
  std::string line =
      fmt::format("{:<10} {:<8}  serie {}  válida del {} al {}", environment_name(k.environment),
                  key_state_name(k.state), k.serial_hex, k.not_before, k.not_after);
  if (k.state == KeyState::kRevocada) {
    line += fmt::format("  revocada el {}", k.revoked_at.value_or("?"));
    if (k.reason)
      line += fmt::format(" (motivo: {}, {})", revocation_reason_label(*k.reason),
                          revocation_reason_name(*k.reason));
  }
  return line;
}

boost::json::object to_json(const KeyStatus& k) {
  boost::json::object o;
  o["ambiente"] = environment_name(k.environment);
  o["estado"] = key_state_name(k.state);
  o["serie"] = k.serial_hex;
  o["valida_desde"] = k.not_before;
  o["valida_hasta"] = k.not_after;
  o["sujeto"] = key_subject(k);
  o["facturador_gratuito"] = k.facturador_gratuito;
  if (k.revoked_at) o["revocada_el"] = *k.revoked_at;
  if (k.reason) o["motivo"] = revocation_reason_name(*k.reason);
  return o;
}

int serve_forever(const std::string& data, const std::string& listen, const std::string& tls_cert,
                  const std::string& tls_key, std::size_t baseline_bytes) {
  web::ServerOptions options;
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535)
    fail("listen_invalido",
         fmt::format("--listen \"{}\" no es DIRECCIÓN:PUERTO (p. ej. 127.0.0.1:8080).", listen));
  options.address = listen.substr(0, colon);
  options.port = static_cast<unsigned short>(port);
  options.tls_certificate = tls_cert;
  options.tls_private_key = tls_key;
  if (tls_cert.empty() != tls_key.empty())
    fail("tls_invalido", "Indique --tls-cert y --tls-key juntos.");

  Session s = open_session(data, true);
  PublicationOptions publication;
  publication.crl_validity = s.dir->config().crl_validity_days * 86400;
  RevocationPublisher publisher(s.dir->store(), *s.keyring, publication);
  must(publisher.start());
  AccountService accounts(s.dir->store(), s.dir->config());
  DownloadVault downloads(s.dir->store(),
                          must(load_or_create_server_key(s.dir->path() / "portal.key")));
  web::Router router;
  web::add_publication_routes(router, publisher, s.dir->store());
  web::add_portal_routes(router, web::PortalServices{*s.service, accounts, downloads});

  api::TokenService tokens(s.dir->store(), accounts, *s.keyring, s.dir->config());
  must(tokens.start());
  api::SchemaValidator schemas(api::schema_directory(s.dir->config().xsd_directory));
  must(schemas.load());
  RevocationChecker revocation(&s.dir->store());
  api::ComprobanteProcessor processor(s.dir->store(), *s.keyring, revocation, schemas,
                                      s.dir->config());
  must(processor.start());
  api::ReceptionService reception(s.dir->store(), tokens, s.dir->config());
  must(s.dir->store().requeue_comprobantes());
  api::add_api_routes(router, tokens, reception);
  if (baseline_bytes > 0) {
    // The benchmark's yardstick: the same server answering a fixed body of
    // the OCSP response's size, so the ratio measures only our OCSP work.
    router.add(web::http::verb::get, "/_baseline",
               web::Route{[body = std::string(baseline_bytes, 'x')](
                              const web::Request& request,
                              const web::RouteContext&) -> std::optional<web::Response> {
                            return web::make_response(request, web::http::status::ok, body,
                                                      "application/octet-stream");
                          },
                          nullptr});
  }
  web::Server server(options, std::move(router));
  must(server.listen());
  // Revocations made by other processes are noticed within a second even
  // with no request asking; requests check on their own as well.
  server.every(std::chrono::seconds(1), [&publisher] {
    if (Status refreshed = publisher.refresh(); !refreshed)
      spdlog::error("actualización de CRL/OCSP: {}", refreshed.error().message);
  });
  // Comprobantes answered 202 are decided here: two workers, each taking one
  // at a time until none is waiting (or a second has passed, to let the
  // timer see a shutdown), then looking again 50 ms later.
  auto decide_waiting = [&reception, &processor] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until) {
      auto done = reception.process_next(
          [&processor](const ComprobanteRecord& c) { return processor.process(c); });
      if (!done) {
        spdlog::error("procesamiento de comprobantes: {}", done.error().message);
        break;
      }
      if (!*done) break;
    }
  };
  server.every(std::chrono::milliseconds(50), decide_waiting);
  server.every(std::chrono::milliseconds(50), decide_waiting);
  server.every(std::chrono::seconds(60), [&accounts] {
    if (Status purged = accounts.purge_expired(); !purged)
      spdlog::error("limpieza de sesiones y descargas: {}", purged.error().message);
  });
  const std::string scheme = tls_cert.empty() ? "http" : "https";
  std::cout << fmt::format(
                   "llavero sirviendo en {}://{}:{} (datos: {}; URL pública en los "
                   "certificados: {})",
                   scheme, options.address, server.port(), s.dir->path().string(),
                   s.dir->config().base_url)
            << std::endl;
  server.run();
  std::cout << "llavero detenido." << std::endl;
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{
      "llavero: autoridad certificadora y llaves criptográficas de comprobantes "
      "electrónicos"};
  app.fallthrough();
  app.require_subcommand(1);
  std::string data;
  app.add_option("--data", data,
                 "Directorio de datos (por omisión $LLAVERO_DATA, si no ./llavero-data)");

  std::string id, environment_text, profile_text, output = ".", reason_text;

  // init
  auto* init =
      app.add_subcommand("init", "Crea el directorio de datos con las CA de ambos ambientes");
  std::string base_url;
  init->add_option("--url-base", base_url, "URL pública impresa en los certificados");
  std::string init_config;
  init->add_option("--config", init_config,
                   "Archivo llavero.conf con los valores a usar (nombres de las CA, URL, ...)");

  // contribuyente crear
  auto* taxpayer = app.add_subcommand("contribuyente", "Contribuyentes");
  taxpayer->require_subcommand(1);
  auto* create = taxpayer->add_subcommand("crear", "Registra un contribuyente");
  NewTaxpayerRequest new_taxpayer;
  create->add_option("--id", new_taxpayer.identification,
                     "Identificación (1-0647-0958, 3-101-522899, ...)");
  create->add_option("--nombre", new_taxpayer.nombre,
                     "Nombre, o razón social de una persona jurídica");
  create->add_option("--apellidos", new_taxpayer.apellidos,
                     "Apellidos (personas físicas, DIMEX, NITE)");
  create->add_option("--correo", new_taxpayer.correo, "Correo electrónico");
  bool if_missing = false, password_stdin = false;
  create->add_flag("--si-no-existe", if_missing,
                   "No es un error que la identificación ya esté registrada");
  create->add_flag(
      "--contrasena-stdin", password_stdin,
      "Lee de la entrada estándar la contraseña del portal (una línea, 8 caracteres o más)");

  // contrasena generar
  auto* api = app.add_subcommand("contrasena", "Contraseñas de la API de comprobantes");
  api->require_subcommand(1);
  auto* api_generate = api->add_subcommand(
      "generar", "Genera el usuario y una nueva contraseña de la API (la anterior deja de servir)");
  api_generate->add_option("--id", id, "Identificación del contribuyente");
  api_generate->add_option("--ambiente", environment_text, "produccion o pruebas");

  // llave generar | estado | revocar
  auto* key = app.add_subcommand("llave", "Llaves criptográficas");
  key->require_subcommand(1);
  bool pin_stdin = false, facturador = false, as_json = false;
  auto* generate =
      key->add_subcommand("generar", "Genera una llave criptográfica y su archivo .p12");
  generate->add_option("--id", id, "Identificación del contribuyente");
  generate->add_option("--ambiente", environment_text, "produccion o pruebas");
  generate->add_flag("--pin-stdin", pin_stdin,
                     "Lee el PIN de la entrada estándar (una línea; una segunda línea es la "
                     "confirmación)");
  generate->add_option("--salida", output, "Directorio donde escribir el .p12 (por omisión .)");
  generate->add_option("--perfil", profile_text,
                       "Cifrado del .p12: compatible (por omisión) o moderno");
  generate->add_flag("--facturador-gratuito", facturador,
                     "Soy usuario del Facturador Gratuito de Hacienda");
  auto* status = key->add_subcommand("estado", "Muestra las llaves de un contribuyente");
  status->add_option("--id", id, "Identificación del contribuyente");
  status->add_option("--ambiente", environment_text, "produccion o pruebas (por omisión ambos)");
  status->add_flag("--json", as_json, "Salida JSON para programas");
  auto* revoke = key->add_subcommand("revocar", "Revoca la llave activa de un ambiente");
  revoke->add_option("--id", id, "Identificación del contribuyente");
  revoke->add_option("--ambiente", environment_text, "produccion o pruebas");
  revoke->add_option("--motivo", reason_text,
                     "keyCompromise, cessationOfOperation, affiliationChanged o superseded");

  // auditoria verificar
  auto* audit = app.add_subcommand("auditoria", "Bitácora de auditoría");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verificar", "Verifica la cadena de hashes de la bitácora");

  // serve
  auto* serve = app.add_subcommand("serve", "Sirve CRL, OCSP, certificados de las CA y el portal");
  std::string listen = "127.0.0.1:8080", tls_cert, tls_key;
  serve->add_option("--listen", listen, "Dirección y puerto, p. ej. 127.0.0.1:8080");
  serve->add_option("--tls-cert", tls_cert, "Certificado TLS (PEM, con su cadena)");
  serve->add_option("--tls-key", tls_key, "Llave privada TLS (PEM)");
  std::size_t baseline_bytes = 0;
  serve
      ->add_option("--baseline-bytes", baseline_bytes,
                   "Solo para medir: GET /_baseline responde N bytes fijos desde memoria")
      ->group("");

  // crl
  auto* crl = app.add_subcommand("crl", "Escribe la CRL vigente de una CA emisora");
  std::string ca_text;
  crl->add_option("--ambiente", environment_text, "produccion o pruebas");
  crl->add_option("--ca", ca_text, "pf (persona física) o pj (persona jurídica)");
  crl->add_option("--salida", output, "Archivo DER donde escribir la CRL");

  // firmar, verificar
  std::vector<cli::Command> extra = cli::add_xades_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "Error: argumentos inválidos: " << e.what()
              << "\nUse --help para ver las opciones.\n";
    return 1;
  }

  if (init->parsed()) {
    InitOptions options;
    if (!init_config.empty()) {
      std::ifstream in(init_config);
      if (!in) fail("config_invalida", fmt::format("No se pudo leer {}.", init_config));
      std::ostringstream text;
      text << in.rdbuf();
      options.config = must(parse_config(text.str()));
    }
    if (!base_url.empty()) options.config.base_url = base_url;
    options.actor = actor();
    InitReport report = must(initialize_data_dir(default_data_path(data), options));
    for (const auto& line : report.lines) std::cout << line << "\n";
    return 0;
  }

  if (create->parsed()) {
    require(new_taxpayer.identification, "--id");
    require(new_taxpayer.nombre, "--nombre");
    Session s = open_session(data, false);
    std::optional<SecretString> password;
    if (password_stdin) {
      cli::TypedPin typed = must(cli::read_pin_from_stdin());  // one line, never argv
      password = std::move(typed.pin);
      if (password->size() < kMinPortalPasswordLength)
        fail("contrasena_invalida", fmt::format("La contraseña debe tener al menos {} caracteres.",
                                                kMinPortalPasswordLength));
    }
    auto made = s.service->create_taxpayer(new_taxpayer, actor());
    if (!made && if_missing && made.error().code == "contribuyente_duplicado") {
      std::cout << made.error().message << "\n";
      return 0;
    }
    TaxpayerRecord t = must(std::move(made));
    if (password) {
      AccountService accounts(s.dir->store(), s.dir->config());
      Status set = accounts.set_portal_password(t.identification, *password, actor());
      if (!set) fail(set.error().code, set.error().message);
    }
    auto parsed = must(Identification::parse(t.identification));
    std::cout << fmt::format("Contribuyente registrado: {} {} ({})\n", parsed.printed(),
                             t.apellidos.empty() ? t.nombre : t.nombre + " " + t.apellidos,
                             id_type_name(parsed.type()));
    return 0;
  }

  if (generate->parsed()) {
    require(id, "--id");
    require(environment_text, "--ambiente");
    const Environment env = must(parse_environment(environment_text));
    GenerateRequest request{id, env, std::nullopt, facturador};
    if (!profile_text.empty()) request.profile = must(parse_p12_profile(profile_text));
    const Identification identification = must(Identification::parse(id));
    Session s = open_session(data, true);
    must(s.service->find_taxpayer(id));  // before asking for a PIN
    must(s.keyring->unlocked(env, issuing_ca_for(identification.type())));  // the passphrase
    Pin pin = read_pin(pin_stdin);
    StagedFile file(output, identification.p12_file_name());
    must(file.open());
    GeneratedKey made = must(s.service->generate(
        request, pin, [&file](const StagedKey& k) { return file.write(k); }, actor()));
    fs::path path = file.publish();
    std::cerr << fmt::format("Llave criptográfica de {} generada: serie {}, válida del {} al {}.\n",
                             environment_label(env), made.serial_hex, made.not_before,
                             made.not_after);
    if (made.superseded_serial)
      std::cerr << fmt::format("La llave anterior (serie {}) fue revocada automáticamente.\n",
                               *made.superseded_serial);
    std::cout << path.string() << "\n";
    return 0;
  }

  if (status->parsed()) {
    require(id, "--id");
    std::optional<Environment> env;
    if (!environment_text.empty()) env = must(parse_environment(environment_text));
    Session s = open_session(data, false);
    std::vector<KeyStatus> keys = must(s.service->status(id, env));
    if (as_json) {
      boost::json::array list;
      for (const auto& k : keys) list.push_back(to_json(k));
      boost::json::object out;
      out["identificacion"] = must(Identification::parse(id)).printed();
      out["llaves"] = std::move(list);
      std::cout << boost::json::serialize(out) << "\n";
    } else if (keys.empty()) {
      std::cout << "No hay llaves criptográficas emitidas para esta identificación.\n";
    } else {
      for (const auto& k : keys) std::cout << describe(k) << "\n";
    }
    return 0;
  }

  if (revoke->parsed()) {
    require(id, "--id");
    require(environment_text, "--ambiente");
    const Environment env = must(parse_environment(environment_text));
    std::optional<RevocationReason> reason;
    if (!reason_text.empty()) reason = must(parse_revocation_reason(reason_text));
    Session s = open_session(data, false);
    KeyStatus revoked = must(s.service->revoke(id, env, reason, actor()));
    std::cout << "Estimado usuario su llave criptográfica ha sido revocada\n"
              << describe(revoked) << "\n";
    return 0;
  }

  for (auto& command : extra)
    if (command.subcommand->parsed()) return command.run(data);

  if (serve->parsed()) return serve_forever(data, listen, tls_cert, tls_key, baseline_bytes);

  if (crl->parsed()) {
    require(environment_text, "--ambiente");
    require(ca_text, "--ca");
    if (output == ".") fail("opcion_faltante", "Falta la opción obligatoria --salida.");
    const Environment env = must(parse_environment(environment_text));
    const CaKind kind = must(parse_ca_kind(ca_text));
    if (kind == CaKind::kRoot)
      fail("ca_invalida", "La raíz no emite certificados de contribuyentes: use pf o pj.");
    Session s = open_session(data, true);
    auto ca = must(s.keyring->unlocked(env, kind));
    Bytes der = must(build_current_crl(s.dir->store(), ca.authority_id, *ca.authority,
                                       now_seconds(), s.dir->config().crl_validity_days * 86400));
    must(write_file_atomically(
        output, std::string_view(reinterpret_cast<const char*>(der.data()), der.size())));
    std::cout << output << "\n";
    return 0;
  }

  if (api_generate->parsed()) {
    require(id, "--id");
    require(environment_text, "--ambiente");
    const Environment env = must(parse_environment(environment_text));
    Session s = open_session(data, false);
    AccountService accounts(s.dir->store(), s.dir->config());
    NewApiPassword made = must(accounts.generate_api_password(id, env, actor()));
    std::cout << "Usuario: " << made.username << "\nContraseña: " << made.password.view() << "\n";
    return 0;
  }

  if (verify->parsed()) {
    Session s = open_session(data, false);
    AuditVerification v = verify_audit_chain(must(s.dir->store().audit_log()));
    if (v.first_bad_seq) {
      std::cerr << fmt::format("Bitácora alterada: primera fila con problemas: {} ({}).\n",
                               *v.first_bad_seq, v.problem);
      return 1;
    }
    std::cout << fmt::format("Bitácora íntegra: {} filas; hash de la última: {}\n", v.rows,
                             v.head_hash);
    return 0;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::cerr << "Error: " << f.error.message << "\n";
    return 1;
  }
}
