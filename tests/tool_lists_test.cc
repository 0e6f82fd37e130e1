// The Herramienta Gratuita's Clientes and Productos (service/tool_lists.h,
// docs/herramienta.md): add, edit, delete and list; a repeated
// identification, a bad identification, CABYS, unit, price or tariff is
// refused with nothing stored; a list cannot grow past its limit; another
// taxpayer's entries can be neither seen, changed nor deleted; each change
// is an audit row.
#include "service/tool_lists.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "testing.h"
#include "util/error_codes.h"

namespace llavero {

using namespace llavero::service;
namespace {

struct Lists {
  std::unique_ptr<testing::Installation> inst;
  ToolLists lists{*inst->store, 3};
  TaxpayerRecord mine = **inst->store->find_taxpayer("106470958");
  TaxpayerRecord other = **inst->store->find_taxpayer("3101522899");

  explicit Lists(testing::Backend backend) : inst(testing::make_installation(backend)) {}

  std::int64_t rows(const std::string& table) {
    return testing::sql_count(*inst, "SELECT count(*) FROM " + table);
  }
  std::int64_t audits(const std::string& action) {
    return testing::sql_count(
        *inst, fmt::format("SELECT count(*) FROM audit_log WHERE action = '{}'", action));
  }
  Result<ClienteRecord> add(const ClienteInput& in, std::vector<FieldError>* errors = nullptr,
                            Environment env = Environment::kPruebas) {
    std::vector<FieldError> local;
    return lists.add_cliente(mine, env, in, errors ? *errors : local, "test");
  }
  Result<ProductoRecord> add(const ProductoInput& in, std::vector<FieldError>* errors = nullptr) {
    std::vector<FieldError> local;
    return lists.add_producto(mine, Environment::kPruebas, in, errors ? *errors : local, "test");
  }
};

ClienteInput empresa() {
  return ClienteInput{"02", "3-101-522899", "EMPRESA PEÑA DE PRUEBA S.A.", "pagos@example.com"};
}
ProductoInput consultoria() {
  return ProductoInput{"8313100000000", "Consultoría en facturación", "h", "25000", "08"};
}

// Every test runs on both stores.
class ToolLists : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(ToolLists);

bool has_field(const std::vector<FieldError>& errors, const std::string& field) {
  for (const FieldError& e : errors)
    if (e.field == field) return true;
  return false;
}

TEST_P(ToolLists, ClienteIsAddedListedByNameEditedAndDeleted) {
  Lists t(backend());
  auto a = t.add(empresa());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->identificacion, "3101522899");
  EXPECT_EQ(a->id_type, IdType::kJuridica);
  auto b = t.add(ClienteInput{"01", "1-0647-0958", "Ana Mora", ""});
  ASSERT_TRUE(b.ok()) << b.error().message;

  auto listed = t.lists.clientes(t.mine, Environment::kPruebas, 0, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->total, 2);
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[0].nombre, "Ana Mora");  // sorted by name
  EXPECT_EQ(listed->items[1].nombre, "EMPRESA PEÑA DE PRUEBA S.A.");
  // Paginated.
  auto second = t.lists.clientes(t.mine, Environment::kPruebas, 1, 1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->total, 2);
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, a->id);
  // Each environment has its own list.
  auto produccion = t.lists.clientes(t.mine, Environment::kProduccion, 0, 10);
  ASSERT_TRUE(produccion.ok());
  EXPECT_EQ(produccion->total, 0);

  std::vector<FieldError> errors;
  ClienteInput changed = empresa();
  changed.nombre = "Empresa Peña Renombrada";
  changed.correo = "";
  ASSERT_TRUE(
      t.lists.edit_cliente(t.mine, Environment::kPruebas, a->id, changed, errors, "test").ok());
  auto found = t.lists.cliente(t.mine, Environment::kPruebas, a->id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->nombre, "Empresa Peña Renombrada");
  EXPECT_EQ((*found)->correo, "");

  ASSERT_TRUE(t.lists.delete_cliente(t.mine, Environment::kPruebas, a->id, "test").ok());
  EXPECT_FALSE(t.lists.cliente(t.mine, Environment::kPruebas, a->id)->has_value());
  EXPECT_EQ(t.rows("clientes"), 1);
  EXPECT_EQ(t.audits("herramienta.cliente.agregar"), 2);
  EXPECT_EQ(t.audits("herramienta.cliente.editar"), 1);
  EXPECT_EQ(t.audits("herramienta.cliente.borrar"), 1);
}

TEST_P(ToolLists, SameIdentificationTwiceIsRefusedWithAClearMessage) {
  Lists t(backend());
  ASSERT_TRUE(t.add(empresa()).ok());
  std::vector<FieldError> errors;
  // The same number written another way is the same identification.
  auto again = t.add(ClienteInput{"02", "3101522899", "Otro nombre", ""}, &errors);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kDatoInvalido);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "identificacion");
  EXPECT_NE(errors[0].message.find("Ya tiene un cliente con esa identificación"),
            std::string::npos);
  EXPECT_NE(errors[0].message.find("EMPRESA PEÑA"), std::string::npos);
  EXPECT_EQ(t.rows("clientes"), 1);
  EXPECT_EQ(t.audits("herramienta.cliente.agregar"), 1);

  // Editing another entry into that identification is refused too.
  auto ana = t.add(ClienteInput{"01", "1-0647-0958", "Ana Mora", ""});
  ASSERT_TRUE(ana.ok());
  errors.clear();
  ClienteInput into = empresa();
  into.nombre = "Ana Mora";
  auto edited = t.lists.edit_cliente(t.mine, Environment::kPruebas, ana->id, into, errors, "t");
  ASSERT_FALSE(edited.ok());
  EXPECT_TRUE(has_field(errors, "identificacion"));
  EXPECT_EQ((*t.lists.cliente(t.mine, Environment::kPruebas, ana->id))->identificacion,
            "106470958");
  // The same identification in the other environment, or another taxpayer's
  // list, is another list.
  EXPECT_TRUE(t.add(empresa(), nullptr, Environment::kProduccion).ok());
  std::vector<FieldError> unused;
  EXPECT_TRUE(t.lists.add_cliente(t.other, Environment::kPruebas, empresa(), unused, "test").ok());
}

TEST_P(ToolLists, BadClienteIsRefusedFieldByFieldWithNothingStored) {
  Lists t(backend());
  struct Case {
    ClienteInput in;
    std::string field;
  };
  const Case cases[] = {
      {{"01", "", "Ana Mora", ""}, "identificacion"},
      {{"01", "12345", "Ana Mora", ""}, "identificacion"},
      {{"01", "3-101-522899", "Ana Mora", ""}, "identificacion"},  // a jurídica, not física
      {{"09", "1-0647-0958", "Ana Mora", ""}, "tipo"},
      {{"01", "1-0647-0958", "A", ""}, "nombre"},
      {{"01", "1-0647-0958", "Ana Mora", "ana.example.com"}, "correo"},
  };
  for (const Case& c : cases) {
    std::vector<FieldError> errors;
    auto out = t.add(c.in, &errors);
    ASSERT_FALSE(out.ok()) << c.field;
    EXPECT_EQ(out.error().code, errc::kDatoInvalido);
    EXPECT_TRUE(has_field(errors, c.field)) << c.field;
  }
  EXPECT_EQ(t.rows("clientes"), 0);
  EXPECT_EQ(t.audits("herramienta.cliente.agregar"), 0);
}

TEST_P(ToolLists, ProductoIsAddedListedByDescriptionEditedAndDeleted) {
  Lists t(backend());
  auto a = t.add(consultoria());
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = t.add(ProductoInput{"4321000000000", "Cable de red", "M", "1234.56789", "04"});
  ASSERT_TRUE(b.ok()) << b.error().message;
  auto listed = t.lists.productos(t.mine, Environment::kPruebas, 0, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[0].descripcion, "Cable de red");
  EXPECT_EQ(listed->items[0].precio, "1234.56789");
  EXPECT_EQ(listed->items[0].unidad, "M");
  EXPECT_EQ(listed->items[0].tarifa, "04");
  EXPECT_EQ(listed->items[1].descripcion, "Consultoría en facturación");

  std::vector<FieldError> errors;
  ProductoInput changed = consultoria();
  changed.precio = "30000";
  ASSERT_TRUE(
      t.lists.edit_producto(t.mine, Environment::kPruebas, a->id, changed, errors, "test").ok());
  EXPECT_EQ((*t.lists.producto(t.mine, Environment::kPruebas, a->id))->precio, "30000");
  ASSERT_TRUE(t.lists.delete_producto(t.mine, Environment::kPruebas, b->id, "test").ok());
  EXPECT_EQ(t.rows("productos"), 1);
  EXPECT_EQ(t.audits("herramienta.producto.agregar"), 2);
  EXPECT_EQ(t.audits("herramienta.producto.editar"), 1);
  EXPECT_EQ(t.audits("herramienta.producto.borrar"), 1);
}

TEST_P(ToolLists, BadProductoIsRefusedByTheLineRulesWithNothingStored) {
  Lists t(backend());
  struct Case {
    ProductoInput in;
    std::string field;
    std::string says;  // the message is Emitir's for a line
  };
  const Case cases[] = {
      {{"83131", "Consultoría", "h", "25000", "08"}, "cabys", "El código CABYS tiene 13 dígitos."},
      {{"831310000000A", "Consultoría", "h", "25000", "08"}, "cabys", "CABYS"},
      {{"8313100000000", "C", "h", "25000", "08"}, "descripcion", "descripción"},
      {{"8313100000000", "Consultoría", "Docena", "25000", "08"}, "unidad", "unidad de medida"},
      {{"8313100000000", "Consultoría", "h", "-1", "08"}, "precio", "precio unitario"},
      {{"8313100000000", "Consultoría", "h", "abc", "08"}, "precio", "precio unitario"},
      {{"8313100000000", "Consultoría", "h", "25000", "13"}, "tarifa", "tarifa de IVA"},
  };
  for (const Case& c : cases) {
    std::vector<FieldError> errors;
    auto out = t.add(c.in, &errors);
    ASSERT_FALSE(out.ok()) << c.field;
    ASSERT_EQ(errors.size(), 1u) << c.field;
    EXPECT_EQ(errors[0].field, c.field);
    EXPECT_NE(errors[0].message.find(c.says), std::string::npos) << errors[0].message;
  }
  EXPECT_EQ(t.rows("productos"), 0);
  EXPECT_EQ(t.audits("herramienta.producto.agregar"), 0);
}

TEST_P(ToolLists, AListStopsAtItsLimit) {
  Lists t(backend());  // a limit of 3 per list
  const ClienteInput clients[] = {{"01", "1-0647-0958", "Cliente 1", ""},
                                  {"02", "3-101-522899", "Cliente 2", ""},
                                  {"01", "1-1111-1111", "Cliente 3", ""},
                                  {"02", "3-102-333333", "Cliente 4", ""}};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.add(clients[i]).ok()) << i;
  ASSERT_EQ(t.rows("clientes"), 3);
  auto full = t.add(clients[3]);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, errc::kListaLlena);
  EXPECT_NE(full.error().message.find("máximo de 3"), std::string::npos);
  EXPECT_EQ(t.rows("clientes"), 3);
  EXPECT_EQ(t.audits("herramienta.cliente.agregar"), 3);
  // The other environment's list is not full.
  EXPECT_TRUE(t.add(clients[3], nullptr, Environment::kProduccion).ok());

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.add(consultoria()).ok());
  auto more = t.add(consultoria());
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().code, errc::kListaLlena);
  EXPECT_EQ(t.rows("productos"), 3);
  // Deleting one makes room again.
  auto listed = t.lists.productos(t.mine, Environment::kPruebas, 0, 10);
  ASSERT_TRUE(
      t.lists.delete_producto(t.mine, Environment::kPruebas, listed->items[0].id, "t").ok());
  EXPECT_TRUE(t.add(consultoria()).ok());
}

// Many adds at once (several servers on one PostgreSQL database, or threads
// of one): the limit still holds, and an identification is saved once.
TEST_P(ToolLists, AddsAtTheSameInstantKeepTheLimitAndTheUniqueIdentification) {
  Lists t(backend());  // a limit of 3 per list
  std::mutex mu;
  std::vector<Error> refused;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      auto r = t.add(consultoria());
      std::lock_guard lock(mu);
      if (!r) refused.push_back(r.error());
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.rows("productos"), 3);
  ASSERT_EQ(refused.size(), 5u);
  for (const Error& e : refused) EXPECT_EQ(e.code, errc::kListaLlena) << e.message;

  // The same client four times at once: one is saved, three are told why.
  std::vector<std::string> told;
  threads.clear();
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      std::vector<FieldError> errors;
      auto r = t.add(empresa(), &errors);
      std::lock_guard lock(mu);
      if (!r) told.push_back(errors.empty() ? r.error().message : errors[0].message);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.rows("clientes"), 1);
  ASSERT_EQ(told.size(), 3u);
  for (const std::string& m : told)
    EXPECT_NE(m.find("Ya tiene un cliente con esa identificación"), std::string::npos) << m;
  EXPECT_EQ(t.audits("herramienta.cliente.agregar"), 1);
}

TEST_P(ToolLists, AnotherTaxpayerNeitherSeesNorChangesMine) {
  Lists t(backend());
  auto c = t.add(empresa());
  auto p = t.add(consultoria());
  ASSERT_TRUE(c.ok() && p.ok());
  const Environment env = Environment::kPruebas;

  EXPECT_EQ(t.lists.clientes(t.other, env, 0, 10)->total, 0);
  EXPECT_EQ(t.lists.productos(t.other, env, 0, 10)->total, 0);
  EXPECT_FALSE(t.lists.cliente(t.other, env, c->id)->has_value());
  EXPECT_FALSE(t.lists.producto(t.other, env, p->id)->has_value());
  // Nor in the other environment, by the same taxpayer.
  EXPECT_FALSE(t.lists.cliente(t.mine, Environment::kProduccion, c->id)->has_value());

  std::vector<FieldError> errors;
  ClienteInput rename = empresa();
  rename.nombre = "Cambiado por otro";
  auto edited = t.lists.edit_cliente(t.other, env, c->id, rename, errors, "t");
  ASSERT_FALSE(edited.ok());
  EXPECT_EQ(edited.error().code, errc::kRegistroNoEncontrado);
  ProductoInput reprice = consultoria();
  reprice.precio = "1";
  auto repriced = t.lists.edit_producto(t.other, env, p->id, reprice, errors, "t");
  ASSERT_FALSE(repriced.ok());
  EXPECT_EQ(repriced.error().code, errc::kRegistroNoEncontrado);
  auto deleted = t.lists.delete_cliente(t.other, env, c->id, "t");
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code, errc::kRegistroNoEncontrado);
  EXPECT_EQ(t.lists.delete_producto(t.other, env, p->id, "t").error().code,
            errc::kRegistroNoEncontrado);

  EXPECT_EQ((*t.lists.cliente(t.mine, env, c->id))->nombre, "EMPRESA PEÑA DE PRUEBA S.A.");
  EXPECT_EQ((*t.lists.producto(t.mine, env, p->id))->precio, "25000");
  EXPECT_EQ(t.rows("clientes"), 1);
  EXPECT_EQ(t.rows("productos"), 1);
  EXPECT_EQ(t.audits("herramienta.cliente.editar") + t.audits("herramienta.cliente.borrar") +
                t.audits("herramienta.producto.editar"),
            0);
}

}  // namespace
}  // namespace llavero
