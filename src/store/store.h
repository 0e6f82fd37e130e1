// Store: everything llavero keeps, as one object made of role interfaces:
//
//   TaxpayerStore     (store/taxpayer_store.h)     the contribuyentes
//   CertificateStore  (store/certificate_store.h)  CAs, serials, certificates,
//                                                  revocations, CRL numbers,
//                                                  OCSP responders
//   AccountStore      (store/account_store.h)      passwords, lockout, sessions,
//                                                  form tokens, downloads, API
//                                                  credentials, refresh tokens
//   ComprobanteStore  (store/comprobante_store.h)  the reception queue and the
//                                                  service keys
//   ToolStore         (store/tool_store.h)         the Herramienta Gratuita: keys
//                                                  in custody, consecutivos,
//                                                  emitted comprobantes,
//                                                  Clientes and Productos
//   MailStore         (store/mail_store.h)         the Herramienta's correo to
//                                                  the receptor: pending, attempts
//   AuditStore        (store/audit_store.h)        reading the audit log
//   OperatorStore     (store/operator_store.h)     the operators' console:
//                                                  accounts, TOTP, sessions
//
// A service takes the narrowest role it needs; the application builds one
// Store and hands it to each. Two backends implement it and pass the same
// tests: SqliteStore (store/sqlite/, the default) and PostgresStore
// (store/postgres/, for several machines sharing one database, chosen by a
// postgresql:// URL; docs/architecture.md#the-store-sqlite-or-postgresql).
//
// Records carry the project's enums (Environment, CaKind, RevocationReason,
// IdType, the states) and times as UnixSeconds; the SQLite columns keep
// ISO-8601 text (util/clock.h), PostgreSQL's TIMESTAMPTZ, converted at the
// store's edge. What a backend
// reads back that is none of the stored names, or a time that does not parse,
// is an error "almacen_corrupto", never a default.
//
// Every method that changes state is one transaction, and each appends its
// audit row inside that same transaction: an action and its audit row are
// committed together or not at all.
#pragma once

#include "store/account_store.h"
#include "store/audit_store.h"
#include "store/certificate_store.h"
#include "store/comprobante_store.h"
#include "store/mail_store.h"
#include "store/operator_store.h"
#include "store/taxpayer_store.h"
#include "store/tool_store.h"
#include "util/result.h"

namespace llavero {

class Store : public TaxpayerStore,
              public CertificateStore,
              public AccountStore,
              public ComprobanteStore,
              public ToolStore,
              public MailStore,
              public AuditStore,
              public OperatorStore {
 public:
  ~Store() override = default;

  // A trivial query: is the store there and answering?
  virtual Status ping() = 0;

  // Whether this process leads the servers sharing the store: the leader
  // alone does the periodic work that must happen once (the hourly CRL
  // rebuild, renewing the OCSP responders). PostgreSQL: a session advisory
  // lock held on a connection of its own, so when the leader stops or dies
  // its session ends and the next server to ask takes over; asking again
  // while leading keeps it. SQLite: the one process is always the leader.
  virtual Result<bool> lead() = 0;
};

}  // namespace llavero
