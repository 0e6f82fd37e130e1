// The Herramienta Gratuita assembled for tests (docs/herramienta.md): over a
// fresh installation (the two demo taxpayers, on SQLite unless a backend is
// named), the key custody, the
// reception and its processor, and emission (ToolServices); and Tool, with
// 1-0647-0958 holding a key of pruebas (kept in custody unless asked not to).
// emission_test, mailer_test and receiver_test build on them.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "official_schemas.h"
#include "service/accounts.h"
#include "service/custody.h"
#include "service/emission.h"
#include "service/processing.h"
#include "service/reception.h"
#include "service/revocation_check.h"
#include "service/token_service.h"
#include "testing.h"

namespace llavero::testing {

// The official v4.4 schemas, loaded once per test binary.
inline const xml::SchemaValidator& schemas() {
  return official_schemas();
}

inline constexpr const char* kToolTaxpayer = "1-0647-0958";

struct ToolServices {
  std::unique_ptr<Installation> inst;
  KeyCustody custody{*inst->store, *inst->keyring,
                     *load_or_create_custody_key(inst->dir.path(), "")};
  AccountService accounts{*inst->store, inst->config};
  TokenService tokens{*inst->store, accounts, *inst->keyring, inst->config};
  ReceptionService reception{*inst->store, tokens, inst->config};
  RevocationChecker revocation{inst->store.get()};
  ComprobanteProcessor processor{*inst->store, *inst->keyring, revocation, official_schemas(),
                                 inst->config};
  EmissionService emission{*inst->store, inst->config, custody, reception, official_schemas()};

  explicit ToolServices(Backend backend = Backend::kSqlite) : inst(make_installation(backend)) {
    inst->service->keep_in_custody_with(&custody);
    auto started = processor.start();
    EXPECT_TRUE(started.ok()) << (started ? "" : started.error().message);
  }

  // A new key for `identification` in pruebas, kept in custody when `keep`.
  void generate_key(const std::string& identification, bool keep) {
    Bytes p12;
    auto made = inst->service->generate(
        GenerateRequest{identification, Environment::kPruebas, std::nullopt, keep},
        *Pin::parse("1234"), keep_p12(p12), "test");
    EXPECT_TRUE(made.ok()) << (made ? "" : made.error().message);
  }

  // Processes everything waiting in the reception.
  void process_all() {
    for (;;) {
      auto next =
          reception.process_next([&](const ComprobanteRecord& c) { return processor.process(c); });
      ASSERT_TRUE(next.ok());
      if (!*next) break;
    }
  }
};

// The tool of 1-0647-0958, who emits.
struct Tool : ToolServices {
  TaxpayerRecord taxpayer = *inst->service->find_taxpayer(kToolTaxpayer);

  explicit Tool(bool keep_key = true, Backend backend = Backend::kSqlite) : ToolServices(backend) {
    generate_key(kToolTaxpayer, keep_key);
  }

  Result<Emission> emit(const EmissionInput& input, std::vector<FieldError>* errors = nullptr) {
    std::vector<FieldError> local;
    auto out = emission.emit(taxpayer, input, errors ? *errors : local, "test");
    return out;
  }
  std::int64_t emitted_rows() { return sql_count(*inst, "SELECT count(*) FROM emitidos"); }
  std::int64_t signatures() {
    return sql_count(*inst, "SELECT count(*) FROM audit_log WHERE action = 'herramienta.firmar'");
  }
};

// A factura of three lines, one with a discount, to 3-101-522899.
inline EmissionInput factura() {
  EmissionInput in;
  in.otras_senas = "Avenida 2, calles 5 y 7";
  in.correo = "prueba@example.com";
  in.receptor_identificacion = "3-101-522899";
  in.receptor_nombre = "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA";
  in.lines = {
      LineInput{"8313100000000", "Consultoría en facturación", "10", "h", "25000", "", "", "08"},
      LineInput{"8314100000000", "Soporte mensual", "1", "Sp", "40000", "4000", "Cliente frecuente",
                "08"},
      LineInput{"4321000000000", "Cable de red", "3.5", "M", "1234.56789", "", "", "04"},
  };
  return in;
}

}  // namespace llavero::testing
