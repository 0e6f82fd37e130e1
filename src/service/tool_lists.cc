#include "service/tool_lists.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero::service {

namespace {

Error invalid(std::string_view what) {
  return make_error(errc::kDatoInvalido, fmt::format("Revise los datos del {}.", what));
}

// A line's rule, said of a producto: its sentence's end, capitalised.
void add_problem(std::vector<FieldError>& e, std::string field,
                 const std::optional<std::string>& problem) {
  if (!problem) return;
  std::string message = *problem;
  if (!message.empty() && message[0] >= 'a' && message[0] <= 'z') message[0] -= 'a' - 'A';
  e.push_back({std::move(field), std::move(message)});
}

AuditEvent audit(const TaxpayerRecord& owner, Environment env, const std::string& actor,
                 std::string_view action, const std::string& detail) {
  return AuditEvent{actor, std::string(action), owner.identification,
                    fmt::format("ambiente={} {}", environment_name(env), detail)};
}

ClienteRecord cliente_record(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                             const ClienteInput& in) {
  const Identification parsed = *Identification::parse(in.identificacion);
  return ClienteRecord{id, owner.id, env, parsed.type(), parsed.digits(), in.nombre, in.correo};
}

ProductoRecord producto_record(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                               const ProductoInput& in) {
  return ProductoRecord{id,        owner.id,  env,      in.cabys, in.descripcion,
                        in.unidad, in.precio, in.tarifa};
}

// A repeated identification is the form's error on that field.
template <typename T>
Result<T> duplicate_as_field(Result<T> stored, std::vector<FieldError>& errors) {
  if (!stored && stored.error().code == errc::kClienteDuplicado) {
    errors.push_back({"identificacion", stored.error().message});
    return invalid("cliente");
  }
  return stored;
}

}  // namespace

std::vector<FieldError> ToolLists::check(const ClienteInput& in) const {
  std::vector<FieldError> e;
  if (in.tipo != "01" && in.tipo != "02" && in.tipo != "03" && in.tipo != "04")
    e.push_back({"tipo", "Elija el tipo de identificación de la lista."});
  for (FieldError& p : check_party(in.identificacion, in.nombre, in.correo, "", "cliente"))
    e.push_back(std::move(p));
  if (auto problem = identification_type_problem(in.tipo, in.identificacion))
    e.push_back({"identificacion", *problem});
  if (in.correo.size() > 160)
    e.push_back({"correo", "El correo del cliente tiene a lo sumo 160 caracteres."});
  return e;
}

std::vector<FieldError> ToolLists::check(const ProductoInput& in) const {
  std::vector<FieldError> e;
  add_problem(e, "cabys", cabys_problem(in.cabys));
  add_problem(e, "descripcion", detalle_problem(in.descripcion));
  add_problem(e, "unidad", unidad_problem(in.unidad));
  add_problem(e, "precio", precio_problem(in.precio));
  add_problem(e, "tarifa", tarifa_problem(in.tarifa));
  return e;
}

Result<ClienteRecord> ToolLists::add_cliente(const TaxpayerRecord& owner, Environment env,
                                             const ClienteInput& in,
                                             std::vector<FieldError>& errors,
                                             const std::string& actor) {
  errors = check(in);
  if (!errors.empty()) return invalid("cliente");
  const ClienteRecord c = cliente_record(owner, env, 0, in);
  return duplicate_as_field(
      store_.add_cliente(c, max_,
                         audit(owner, env, actor, "herramienta.cliente.agregar",
                               "identificacion=" + c.identificacion)),
      errors);
}

Status ToolLists::edit_cliente(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                               const ClienteInput& in, std::vector<FieldError>& errors,
                               const std::string& actor) {
  errors = check(in);
  if (!errors.empty()) return invalid("cliente");
  const ClienteRecord c = cliente_record(owner, env, id, in);
  return duplicate_as_field(
      store_.update_cliente(c, audit(owner, env, actor, "herramienta.cliente.editar",
                                     fmt::format("id={} identificacion={}", id, c.identificacion))),
      errors);
}

Status ToolLists::delete_cliente(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                                 const std::string& actor) {
  return store_.delete_cliente(
      owner.id, env, id,
      audit(owner, env, actor, "herramienta.cliente.borrar", fmt::format("id={}", id)));
}

Result<std::optional<ClienteRecord>> ToolLists::cliente(const TaxpayerRecord& owner,
                                                        Environment env, std::int64_t id) {
  return store_.find_cliente(owner.id, env, id);
}

Result<ListPage<ClienteRecord>> ToolLists::clientes(const TaxpayerRecord& owner, Environment env,
                                                    std::int64_t offset, std::int64_t limit) {
  return store_.clientes(owner.id, env, offset, limit);
}

Result<ProductoRecord> ToolLists::add_producto(const TaxpayerRecord& owner, Environment env,
                                               const ProductoInput& in,
                                               std::vector<FieldError>& errors,
                                               const std::string& actor) {
  errors = check(in);
  if (!errors.empty()) return invalid("producto");
  return store_.add_producto(
      producto_record(owner, env, 0, in), max_,
      audit(owner, env, actor, "herramienta.producto.agregar", "cabys=" + in.cabys));
}

Status ToolLists::edit_producto(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                                const ProductoInput& in, std::vector<FieldError>& errors,
                                const std::string& actor) {
  errors = check(in);
  if (!errors.empty()) return invalid("producto");
  return store_.update_producto(producto_record(owner, env, id, in),
                                audit(owner, env, actor, "herramienta.producto.editar",
                                      fmt::format("id={} cabys={}", id, in.cabys)));
}

Status ToolLists::delete_producto(const TaxpayerRecord& owner, Environment env, std::int64_t id,
                                  const std::string& actor) {
  return store_.delete_producto(
      owner.id, env, id,
      audit(owner, env, actor, "herramienta.producto.borrar", fmt::format("id={}", id)));
}

Result<std::optional<ProductoRecord>> ToolLists::producto(const TaxpayerRecord& owner,
                                                          Environment env, std::int64_t id) {
  return store_.find_producto(owner.id, env, id);
}

Result<ListPage<ProductoRecord>> ToolLists::productos(const TaxpayerRecord& owner, Environment env,
                                                      std::int64_t offset, std::int64_t limit) {
  return store_.productos(owner.id, env, offset, limit);
}

}  // namespace llavero::service
