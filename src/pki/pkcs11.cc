#include "pki/pkcs11.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <libp11.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <mutex>
#include <optional>

#include "util/error_codes.h"
#include "util/files.h"

// Last: its compatibility macros (CK_*, pValue, ...) are for this file only.
#include <p11-kit/pkcs11.h>

namespace llavero {

namespace {

Error token_error(std::string_view what) {
  return make_error(errc::kTokenPkcs11, fmt::format("Token PKCS#11: {}.", what));
}

Error token_error(std::string_view what, CK_RV rv) {
  return token_error(fmt::format("{} (CKR 0x{:x})", what, rv));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string percent_encode_bytes(const Bytes& bytes) {
  std::string out;
  for (std::uint8_t b : bytes) out += fmt::format("%{:02x}", b);
  return out;
}

// Label characters that need no escaping in a URI path attribute.
std::string percent_encode_label(std::string_view label) {
  std::string out;
  for (char c : label) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.';
    out += plain ? std::string(1, c) : fmt::format("%{:02x}", static_cast<unsigned char>(c));
  }
  return out;
}

// RAII for what libp11 and the module hand out.
struct CtxFree {
  void operator()(PKCS11_CTX* ctx) const {
    PKCS11_CTX_unload(ctx);
    PKCS11_CTX_free(ctx);
  }
};
using Ctx = std::unique_ptr<PKCS11_CTX, CtxFree>;

struct SlotList {
  PKCS11_CTX* ctx = nullptr;
  PKCS11_SLOT* slots = nullptr;
  unsigned int count = 0;
  SlotList() = default;
  SlotList(const SlotList&) = delete;
  SlotList& operator=(const SlotList&) = delete;
  ~SlotList() {
    if (slots) PKCS11_release_all_slots(ctx, slots, count);
  }
};

struct ModuleClose {
  void operator()(void* handle) const { dlclose(handle); }
};
using Module = std::unique_ptr<void, ModuleClose>;

}  // namespace

Result<Pkcs11Uri> Pkcs11Uri::parse(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return make_error(errc::kConfigInvalida, fmt::format("URI PKCS#11 inválido: {}.", why));
  };
  constexpr std::string_view kScheme = "pkcs11:";
  if (!text.starts_with(kScheme)) return invalid("debe empezar con pkcs11:");
  text.remove_prefix(kScheme.size());
  const auto question = text.find('?');
  const std::string_view path = text.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : text.substr(question + 1);
  Pkcs11Uri uri;
  const auto each = [&](std::string_view list, char separator,
                        auto&& take) -> std::optional<Error> {
    while (!list.empty()) {
      const auto end = list.find(separator);
      const std::string_view item = list.substr(0, end);
      list = end == std::string_view::npos ? std::string_view() : list.substr(end + 1);
      if (item.empty()) continue;
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) return invalid(fmt::format("falta '=' en «{}»", item));
      auto value = percent_decode(item.substr(eq + 1));
      if (!value) return invalid(fmt::format("escape % inválido en «{}»", item));
      if (auto problem = take(item.substr(0, eq), std::move(*value))) return problem;
    }
    return std::nullopt;
  };
  auto path_problem =
      each(path, ';', [&](std::string_view name, std::string value) -> std::optional<Error> {
        if (name == "token") uri.token = std::move(value);
        if (name == "object") uri.object = std::move(value);
        if (name == "id") uri.id.assign(value.begin(), value.end());
        if (name == "pin-value")
          return invalid("el PIN no va en el URI (use pin-source o " + std::string(kPkcs11PinEnv) +
                         ")");
        return std::nullopt;
      });
  if (path_problem) return *path_problem;
  auto query_problem =
      each(query, '&', [&](std::string_view name, std::string value) -> std::optional<Error> {
        if (name == "module-path") uri.module_path = std::move(value);
        if (name == "pin-source")
          uri.pin_source = value.starts_with("file:") ? value.substr(5) : std::move(value);
        if (name == "pin-value")
          return invalid("el PIN no va en el URI (use pin-source o " + std::string(kPkcs11PinEnv) +
                         ")");
        return std::nullopt;
      });
  if (query_problem) return *query_problem;
  return uri;
}

Result<SecretString> pkcs11_pin(const Pkcs11Uri& uri) {
  if (const char* env = std::getenv(kPkcs11PinEnv); env && *env) return SecretString(env);
  if (!uri.pin_source.empty()) {
    auto text = read_file(uri.pin_source);
    if (!text)
      return make_error(errc::kPinNoDisponible,
                        fmt::format("No se pudo leer el PIN del token en {}.", uri.pin_source));
    SecretString file(std::move(*text));
    std::string_view line = file.view().substr(0, file.view().find_first_of("\r\n"));
    return SecretString(std::string(line));
  }
  return make_error(errc::kPinNoDisponible,
                    fmt::format("Falta el PIN del token PKCS#11: defina {} o pin-source en el URI.",
                                kPkcs11PinEnv));
}

namespace {

class Pkcs11KeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<KeyStore>> open(const Pkcs11Uri& uri, const SecretString& pin) {
    std::unique_ptr<Pkcs11KeyStore> store(new Pkcs11KeyStore());
    store->uri_ = uri;
    const std::string module = uri.module_path.empty() ? kDefaultPkcs11Module : uri.module_path;
    store->ctx_.reset(PKCS11_CTX_new());
    if (!store->ctx_) return token_error("sin memoria");
    if (PKCS11_CTX_load(store->ctx_.get(), module.c_str()) != 0) {
      ERR_clear_error();
      PKCS11_CTX_free(store->ctx_.release());  // nothing loaded: nothing to unload
      return token_error(fmt::format("no se pudo cargar el módulo {}", module));
    }
    SlotList& slots = store->slots_;
    slots.ctx = store->ctx_.get();
    if (PKCS11_enumerate_slots(slots.ctx, &slots.slots, &slots.count) != 0) {
      ERR_clear_error();
      return token_error("no se pudieron listar las ranuras");
    }
    for (unsigned int i = 0; i < slots.count; ++i) {
      PKCS11_TOKEN* token = slots.slots[i].token;
      if (token && token->initialized && token->label && uri.token == token->label) {
        store->slot_ = &slots.slots[i];
        break;
      }
    }
    if (!store->slot_)
      return token_error(
          fmt::format("no hay un token con la etiqueta «{}» en {}", uri.token, module));
    if (PKCS11_login(store->slot_, 0, pin.c_str()) != 0) {
      ERR_clear_error();
      return token_error(fmt::format("el PIN del token «{}» fue rechazado", uri.token));
    }
    // The module's own API for what libp11 does not offer (generating with
    // CKA_EXTRACTABLE = false). dlopen gives the handle libp11 already holds,
    // and the module is already initialized and logged in for this process.
    store->module_.reset(dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (!store->module_) return token_error("dlopen del módulo");
    auto get_list =
        reinterpret_cast<CK_C_GetFunctionList>(dlsym(store->module_.get(), "C_GetFunctionList"));
    if (!get_list || get_list(&store->functions_) != CKR_OK || !store->functions_)
      return token_error("C_GetFunctionList");
    const CK_SLOT_ID slot_id = PKCS11_get_slotid_from_slot(store->slot_);
    CK_RV rv = store->functions_->C_OpenSession(slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                                nullptr, nullptr, &store->session_);
    if (rv != CKR_OK) return token_error("C_OpenSession", rv);
    store->session_open_ = true;
    return std::unique_ptr<KeyStore>(std::move(store));
  }

  ~Pkcs11KeyStore() override {
    if (session_open_) functions_->C_CloseSession(session_);
  }

  Result<NewKey> generate_rsa(int bits, std::string_view label, KeyUse use) override {
    std::lock_guard lock(mu_);
    Bytes id(16);
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
      return ossl::internal_error("RAND_bytes");
    CK_MECHANISM mechanism{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_BBOOL sign = use == KeyUse::kSign ? CK_TRUE : CK_FALSE;
    CK_BBOOL decrypt = use == KeyUse::kDecrypt ? CK_TRUE : CK_FALSE;
    CK_ULONG modulus_bits = static_cast<CK_ULONG>(bits);
    CK_BYTE exponent[] = {0x01, 0x00, 0x01};
    std::string text_label(label);
    CK_ATTRIBUTE public_template[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &sign, sizeof sign},
        {CKA_ENCRYPT, &decrypt, sizeof decrypt},
        {CKA_WRAP, &no, sizeof no},
        {CKA_MODULUS_BITS, &modulus_bits, sizeof modulus_bits},
        {CKA_PUBLIC_EXPONENT, exponent, sizeof exponent},
        {CKA_LABEL, text_label.data(), text_label.size()},
        {CKA_ID, id.data(), id.size()},
    };
    CK_ATTRIBUTE private_template[] = {
        {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &sign, sizeof sign},    {CKA_DECRYPT, &decrypt, sizeof decrypt},
        {CKA_UNWRAP, &no, sizeof no},      {CKA_LABEL, text_label.data(), text_label.size()},
        {CKA_ID, id.data(), id.size()},
    };
    CK_OBJECT_HANDLE public_key = 0, private_key = 0;
    CK_RV rv = functions_->C_GenerateKeyPair(
        session_, &mechanism, public_template, std::size(public_template), private_template,
        std::size(private_template), &public_key, &private_key);
    if (rv != CKR_OK) return token_error("no se pudo generar la llave RSA en el token", rv);
    Pkcs11Uri made;
    made.object = text_label;
    made.id = id;
    auto key = find(made);
    if (!key) return key.error();
    return NewKey{std::move(*key),
                  fmt::format("pkcs11:object={};id={}", percent_encode_label(text_label),
                              percent_encode_bytes(id))};
  }

  Result<ossl::PKey> open(std::string_view reference) override {
    auto uri = Pkcs11Uri::parse(reference);
    if (!uri) return uri.error();
    std::lock_guard lock(mu_);
    return find(*uri);
  }

  bool in_token() const override { return true; }
  std::string description() const override {
    return fmt::format("en el token PKCS#11 «{}», generadas dentro y no extraíbles", uri_.token);
  }

 private:
  Pkcs11KeyStore() = default;

  // The private key with the URI's id (or, without one, its label).
  Result<ossl::PKey> find(const Pkcs11Uri& wanted) {
    PKCS11_KEY* keys = nullptr;
    unsigned int count = 0;
    if (PKCS11_enumerate_keys(slot_->token, &keys, &count) != 0) {
      ERR_clear_error();
      return token_error("no se pudieron listar las llaves");
    }
    for (unsigned int i = 0; i < count; ++i) {
      const PKCS11_KEY& k = keys[i];
      const bool match = wanted.id.empty() ? (k.label && wanted.object == k.label)
                                           : (k.id_len == wanted.id.size() &&
                                              std::equal(wanted.id.begin(), wanted.id.end(), k.id));
      if (!match) continue;
      ossl::PKey key(PKCS11_get_private_key(&keys[i]));
      if (!key) return token_error("no se pudo usar la llave del token");
      return key;
    }
    return make_error(errc::kLlaveNoEncontrada, fmt::format("El token «{}» no tiene la llave «{}».",
                                                            uri_.token, wanted.object));
  }

  // Destroyed in reverse: the session, the module handle, the slots, the
  // context (which finalizes the module).
  Pkcs11Uri uri_;
  Ctx ctx_;
  SlotList slots_;
  PKCS11_SLOT* slot_ = nullptr;
  Module module_;
  CK_FUNCTION_LIST_PTR functions_ = nullptr;
  CK_SESSION_HANDLE session_ = 0;
  bool session_open_ = false;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> open_pkcs11_key_store(std::string_view text) {
  auto uri = Pkcs11Uri::parse(text);
  if (!uri) return uri.error();
  if (uri->token.empty())
    return make_error(errc::kConfigInvalida, "URI PKCS#11 inválido: falta token=ETIQUETA.");
  auto pin = pkcs11_pin(*uri);
  if (!pin) return pin.error();
  return Pkcs11KeyStore::open(*uri, *pin);
}

}  // namespace llavero
