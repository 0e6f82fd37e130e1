// The Herramienta Gratuita's Clientes and Productos (docs/herramienta.md):
// small lists a taxpayer keeps, per environment, to fill Emitir faster. A
// cliente is checked by the rules of Emitir's receptor and a producto by
// those of a line (service/emission.h): what the lists hold, Emitir accepts.
// Each list is bounded (kMaxPerList); an identification is saved once per
// list; each change is an audit row. A taxpayer only ever reaches their own
// entries: another's id is "registro_no_encontrado", as if it did not exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "service/emission.h"
#include "store/store.h"

namespace llavero::service {

// A cliente as typed: the identification type ("01".."04"), number, name
// and e-mail (optional). Form fields: tipo, identificacion, nombre, correo.
struct ClienteInput {
  std::string tipo;
  std::string identificacion;
  std::string nombre;
  std::string correo;
};

// A producto as typed. Form fields: cabys, descripcion, unidad, precio, tarifa.
struct ProductoInput {
  std::string cabys;
  std::string descripcion;
  std::string unidad = "Unid";
  std::string precio;
  std::string tarifa = "08";
};

class ToolLists {
 public:
  // Entries a list may hold, per taxpayer and environment.
  static constexpr std::int64_t kMaxPerList = 500;

  explicit ToolLists(ToolStore& store, std::int64_t max_per_list = kMaxPerList)
      : store_(store), max_(max_per_list) {}

  // What is wrong with a cliente or a producto, field by field.
  std::vector<FieldError> check(const ClienteInput& in) const;
  std::vector<FieldError> check(const ProductoInput& in) const;

  // Add or change an entry. With bad input, error "dato_invalido" and
  // `errors` filled (a repeated identification is an error on
  // "identificacion"); a full list is "lista_llena". Nothing is stored then.
  Result<ClienteRecord> add_cliente(const TaxpayerRecord& owner, Environment env,
                                    const ClienteInput& in, std::vector<FieldError>& errors,
                                    const std::string& actor);
  Status edit_cliente(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                      const ClienteInput& in, std::vector<FieldError>& errors,
                      const std::string& actor);
  Status delete_cliente(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                        const std::string& actor);
  Result<std::optional<ClienteRecord>> cliente(const TaxpayerRecord& owner, Environment env,
                                               std::int64_t id);
  Result<ListPage<ClienteRecord>> clientes(const TaxpayerRecord& owner, Environment env,
                                           std::int64_t offset, std::int64_t limit);

  Result<ProductoRecord> add_producto(const TaxpayerRecord& owner, Environment env,
                                      const ProductoInput& in, std::vector<FieldError>& errors,
                                      const std::string& actor);
  Status edit_producto(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                       const ProductoInput& in, std::vector<FieldError>& errors,
                       const std::string& actor);
  Status delete_producto(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                         const std::string& actor);
  Result<std::optional<ProductoRecord>> producto(const TaxpayerRecord& owner, Environment env,
                                                 std::int64_t id);
  Result<ListPage<ProductoRecord>> productos(const TaxpayerRecord& owner, Environment env,
                                             std::int64_t offset, std::int64_t limit);

  std::int64_t max_per_list() const { return max_; }

 private:
  ToolStore& store_;
  std::int64_t max_;
};

}  // namespace llavero::service
