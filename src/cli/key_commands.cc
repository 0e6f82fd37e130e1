// `llavero llave generar | estado | revocar`: the key lifecycle from the
// command line. generar writes the .p12 itself, so the new key supersedes the
// previous one at once.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/common.h"
#include "util/error_codes.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace llavero::cli {

using service::GeneratedKey;
using service::GenerateRequest;
using service::KeyStatus;
using service::StagedKey;

namespace {

// The .p12 goes to a temporary file in the output directory first, and gets
// its real name only after the key is active in the store. The directory and
// the temporary file are made before anything is issued, so an unusable
// --salida fails before the store changes; on failure both are removed.
class StagedFile {
 public:
  StagedFile(fs::path dir, std::string file_name)
      : dir_(std::move(dir)), final_(dir_ / file_name) {}
  ~StagedFile() {
    staged_.reset();  // removes the temporary file unless it was published
    std::error_code ec;
    if (!created_dir_.empty() && !published_) fs::remove(created_dir_, ec);  // only if empty
  }

  Status open() {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) {
      fs::create_directories(dir_, ec);
      if (ec)
        return make_error(
            errc::kSalidaInvalida,
            fmt::format("No se pudo crear el directorio {}: {}", dir_.string(), ec.message()));
      created_dir_ = dir_;
    } else if (!fs::is_directory(dir_, ec)) {
      return make_error(errc::kSalidaInvalida,
                        fmt::format("--salida {} no es un directorio.", dir_.string()));
    }
    auto staged = StagedWrite::open(final_, 0600);
    if (!staged) return make_error(errc::kSalidaInvalida, staged.error().message);
    staged_.emplace(std::move(*staged));
    return Ok{};
  }

  Status write(const StagedKey& key) {
    auto written = staged_->write(
        std::string_view(reinterpret_cast<const char*>(key.p12.data()), key.p12.size()));
    if (!written) return make_error(errc::kSalidaInvalida, written.error().message);
    return Ok{};
  }

  fs::path publish() {
    if (auto committed = staged_->commit(); !committed) {
      const fs::path temporary = staged_->release();  // the only copy of the active key
      fail(errc::kSalidaInvalida,
           fmt::format(
               "La llave quedó activa pero no se pudo nombrar el archivo {} (está en {}): {}",
               final_.string(), temporary.string(), committed.error().message));
    }
    published_ = true;
    return final_;
  }

 private:
  fs::path dir_, final_, created_dir_;
  std::optional<StagedWrite> staged_;
  bool published_ = false;
};

std::string describe(const KeyStatus& k) {
  std::string line =
      fmt::format("{:<10} {:<8}  serie {}  válida del {} al {}", environment_name(k.environment),
                  key_state_name(k.state), k.serial_hex, k.not_before, k.not_after);
  if (k.state == service::KeyState::kRevocada) {
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

}  // namespace

std::vector<Command> add_key_commands(CLI::App& app) {
  struct Flags {
    std::string id, environment, profile, output = ".", reason;
    bool pin_stdin = false, facturador = false, as_json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* key = app.add_subcommand("llave", "Llaves criptográficas");
  key->require_subcommand(1);
  auto* generate =
      key->add_subcommand("generar", "Genera una llave criptográfica y su archivo .p12");
  generate->add_option("--id", flags->id, "Identificación del contribuyente");
  generate->add_option("--ambiente", flags->environment, "produccion o pruebas");
  generate->add_flag("--pin-stdin", flags->pin_stdin,
                     "Lee el PIN de la entrada estándar (una línea; una segunda línea es la "
                     "confirmación)");
  generate->add_option("--salida", flags->output,
                       "Directorio donde escribir el .p12 (por omisión .)");
  generate->add_option("--perfil", flags->profile,
                       "Cifrado del .p12: compatible (por omisión) o moderno");
  generate->add_flag("--facturador-gratuito", flags->facturador,
                     "Soy usuario del Facturador Gratuito de Hacienda");
  auto* status = key->add_subcommand("estado", "Muestra las llaves de un contribuyente");
  status->add_option("--id", flags->id, "Identificación del contribuyente");
  status->add_option("--ambiente", flags->environment, "produccion o pruebas (por omisión ambos)");
  status->add_flag("--json", flags->as_json, "Salida JSON para programas");
  auto* revoke = key->add_subcommand("revocar", "Revoca la llave activa de un ambiente");
  revoke->add_option("--id", flags->id, "Identificación del contribuyente");
  revoke->add_option("--ambiente", flags->environment, "produccion o pruebas");
  revoke->add_option("--motivo", flags->reason,
                     "keyCompromise, cessationOfOperation, affiliationChanged o superseded");

  auto run_generate = [flags](const std::string& data_flag) {
    require(flags->id, "--id");
    require(flags->environment, "--ambiente");
    const Environment env = must(parse_environment(flags->environment));
    GenerateRequest request{flags->id, env, std::nullopt, flags->facturador};
    if (!flags->profile.empty()) request.profile = must(parse_p12_profile(flags->profile));
    const Identification identification = must(Identification::parse(flags->id));
    Session s = open_session(data_flag, true);
    must(s.keys->find_taxpayer(flags->id));                                 // before the PIN
    must(s.keyring->unlocked(env, issuing_ca_for(identification.type())));  // the passphrase
    Pin pin = read_new_pin(flags->pin_stdin);
    StagedFile file(flags->output, identification.p12_file_name());
    must(file.open());
    GeneratedKey made = must(s.keys->generate(
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
  };

  auto run_status = [flags](const std::string& data_flag) {
    require(flags->id, "--id");
    std::optional<Environment> env;
    if (!flags->environment.empty()) env = must(parse_environment(flags->environment));
    Session s = open_session(data_flag, false);
    std::vector<KeyStatus> keys = must(s.keys->status(flags->id, env));
    if (flags->as_json) {
      boost::json::array list;
      for (const auto& k : keys) list.push_back(to_json(k));
      boost::json::object out;
      out["identificacion"] = must(Identification::parse(flags->id)).printed();
      out["llaves"] = std::move(list);
      std::cout << boost::json::serialize(out) << "\n";
    } else if (keys.empty()) {
      std::cout << "No hay llaves criptográficas emitidas para esta identificación.\n";
    } else {
      for (const auto& k : keys) std::cout << describe(k) << "\n";
    }
    return 0;
  };

  auto run_revoke = [flags](const std::string& data_flag) {
    require(flags->id, "--id");
    require(flags->environment, "--ambiente");
    const Environment env = must(parse_environment(flags->environment));
    std::optional<RevocationReason> reason;
    if (!flags->reason.empty()) reason = must(parse_revocation_reason(flags->reason));
    Session s = open_session(data_flag, false);
    KeyStatus revoked = must(s.keys->revoke(flags->id, env, reason, actor()));
    std::cout << "Estimado usuario su llave criptográfica ha sido revocada\n"
              << describe(revoked) << "\n";
    return 0;
  };

  return {Command{generate, run_generate}, Command{status, run_status},
          Command{revoke, run_revoke}};
}

}  // namespace llavero::cli
