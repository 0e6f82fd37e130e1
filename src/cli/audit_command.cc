// `llavero auditoria verificar`: walks the hash chain of the audit log and
// names the first row that was changed or deleted.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/audit.h"

namespace llavero::cli {

std::vector<Command> add_audit_commands(CLI::App& app) {
  auto* audit = app.add_subcommand("auditoria", "Bitácora de auditoría");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verificar", "Verifica la cadena de hashes de la bitácora");
  return {Command{verify, [](const std::string& data_flag) {
                    Session s = open_session(data_flag, false);
                    AuditVerification v = verify_audit_chain(must(s.dir->store().audit_log()));
                    if (v.first_bad_seq) {
                      std::cerr << fmt::format(
                          "Bitácora alterada: primera fila con problemas: {} ({}).\n",
                          *v.first_bad_seq, v.problem);
                      return 1;
                    }
                    std::cout << fmt::format("Bitácora íntegra: {} filas; hash de la última: {}\n",
                                             v.rows, v.head_hash);
                    return 0;
                  }}};
}

}  // namespace llavero::cli
