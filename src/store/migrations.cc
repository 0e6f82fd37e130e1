#include "store/migrations.h"

namespace llavero {

namespace {

// Migration 16, the same SQL in both dialects. The CRL lists the revoked
// certificates of a CA that have not expired: by (authority_id, not_after) it
// reads just those, not every revocation the CA ever made (bench-growth's
// store of 1 000 000 certificates: the producción CRL, no line but 200 000
// expired revocations, was a scan of the whole table, 6.6 s on PostgreSQL).
constexpr std::string_view kRevokedByExpiry = R"sql(
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates (authority_id, not_after) WHERE status = 'revoked';
)sql";

// Migration 17, the same SQL in both dialects. The same index, now holding
// every column the CRL reads: the CRL is read from the index alone, not
// from the table's rows, which hold each certificate's DER (bench-growth,
// 1 000 000 taxpayers: the pruebas CRL, 1 000 000 lines, read the whole
// 9.7 GB table, 3.3 s; from this index, 300 MB, 0.3 s). `status`, the same
// in every entry, is for SQLite (3.40), which otherwise reads the row to
// check the condition the index already guarantees.
constexpr std::string_view kRevokedCovering = R"sql(
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked
  ON certificates (authority_id, not_after, serial_hex, revoked_at, revocation_reason, status)
  WHERE status = 'revoked';
)sql";

// Plain SQL shared by both dialects as far as it goes: TEXT times in
// ISO-8601 UTC, no AUTOINCREMENT, partial unique indexes (both support them).
constexpr Migration kSqlite[] = {
    {1, "esquema inicial", R"sql(
CREATE TABLE taxpayers (
  id INTEGER PRIMARY KEY,
  identification TEXT NOT NULL UNIQUE,
  id_type TEXT NOT NULL CHECK (id_type IN ('01','02','03','04')),
  nombre TEXT NOT NULL,
  apellidos TEXT NOT NULL DEFAULT '',
  correo TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);

CREATE TABLE authorities (
  id INTEGER PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  kind TEXT NOT NULL CHECK (kind IN ('root','pf','pj')),
  subject TEXT NOT NULL,
  certificate_der BLOB NOT NULL,
  key_pem TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (environment, kind)
);

CREATE TABLE certificates (
  id INTEGER PRIMARY KEY,
  authority_id INTEGER NOT NULL REFERENCES authorities(id),
  serial_hex TEXT NOT NULL,
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  status TEXT NOT NULL CHECK (status IN ('reserved','active','revoked')),
  certificate_der BLOB,
  not_before TEXT,
  not_after TEXT,
  facturador_gratuito INTEGER NOT NULL DEFAULT 0,
  revoked_at TEXT,
  revocation_reason TEXT CHECK (revocation_reason IN
    ('keyCompromise','affiliationChanged','superseded','cessationOfOperation')),
  created_at TEXT NOT NULL,
  UNIQUE (authority_id, serial_hex),
  CHECK (status = 'reserved' OR certificate_der IS NOT NULL),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

-- The rule of docs/product.md#key-lifecycle, kept by the database: one active key per taxpayer
-- and environment.
CREATE UNIQUE INDEX certificates_one_active
  ON certificates (taxpayer_id, environment) WHERE status = 'active';
CREATE INDEX certificates_by_taxpayer ON certificates (taxpayer_id);

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

-- The newest (seq, hash): deleting the last rows leaves it pointing past them.
CREATE TABLE audit_head (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);

-- Append-only, as far as the database can say so. Whoever drops these
-- triggers to edit the log is still caught by the hash chain.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql"},
    {2, "publicación de revocaciones", R"sql(
-- Bumped in the transaction of every revocation: readers (the OCSP cache,
-- the CRL builder, other processes) compare it to know when to refresh.
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('revocations', 0);

-- The last CRL number of each CA: strictly increasing across restarts and
-- across the servers sharing this store.
CREATE TABLE crl_numbers (
  authority_id INTEGER PRIMARY KEY REFERENCES authorities(id),
  last_number INTEGER NOT NULL
);

-- Delegated OCSP responder certificates, one current per issuing CA; the
-- key is encrypted like the CA keys.
CREATE TABLE ocsp_responders (
  id INTEGER PRIMARY KEY,
  authority_id INTEGER NOT NULL REFERENCES authorities(id),
  serial_hex TEXT NOT NULL,
  certificate_der BLOB NOT NULL,
  key_pem TEXT NOT NULL,
  not_after TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (authority_id, serial_hex)
);

CREATE INDEX certificates_revoked ON certificates (authority_id) WHERE status = 'revoked';
)sql"},
    {3, "portal y credenciales", R"sql(
-- Portal login: an Argon2id hash (libsodium's crypto_pwhash_str format).
ALTER TABLE taxpayers ADD COLUMN password_hash TEXT;

-- Wrong passwords per account; five lock it for a while.
CREATE TABLE login_failures (
  taxpayer_id INTEGER PRIMARY KEY REFERENCES taxpayers(id),
  failures INTEGER NOT NULL,
  locked_until TEXT
);

-- Portal sessions, by the SHA-256 of the cookie value (a leaked database
-- does not leak live sessions).
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen TEXT NOT NULL
);

-- Single-use form tokens already spent (double submits, replays).
CREATE TABLE spent_nonces (
  nonce_hash TEXT PRIMARY KEY,
  spent_at TEXT NOT NULL
);

-- A generated .p12 waiting for its download, encrypted with the server key;
-- deleted after the first complete download or when it expires.
CREATE TABLE pending_downloads (
  token_hash TEXT PRIMARY KEY,
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  file_name TEXT NOT NULL,
  ciphertext BLOB NOT NULL,
  expires_at TEXT NOT NULL
);

-- The API user and password of "Generar contraseña", one per environment.
CREATE TABLE api_credentials (
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (taxpayer_id, environment)
);
)sql"},
    {4, "tokens y recepción", R"sql(
-- Refresh tokens of the token endpoint, by SHA-256; a logout revokes the
-- whole session they belong to.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  username TEXT NOT NULL,
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Keys the service signs with besides the CAs: the JWT key of each realm and
-- the certificate that signs MensajeHacienda. Encrypted like the CA keys.
CREATE TABLE service_keys (
  name TEXT PRIMARY KEY,
  key_pem TEXT NOT NULL,
  certificate_der BLOB,
  created_at TEXT NOT NULL
);

-- Comprobantes received by the reception API and their answer.
CREATE TABLE comprobantes (
  clave TEXT PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  username TEXT NOT NULL,
  fecha TEXT NOT NULL,
  emisor_tipo TEXT NOT NULL,
  emisor_numero TEXT NOT NULL,
  receptor_tipo TEXT,
  receptor_numero TEXT,
  xml BLOB NOT NULL,
  estado TEXT NOT NULL CHECK (estado IN ('recibido','procesando','aceptado','rechazado')),
  respuesta_xml BLOB,
  received_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX comprobantes_pendientes ON comprobantes (estado) WHERE estado IN ('recibido','procesando');
)sql"},
    {5, "recepción: callbacks, estado error, consecutivos", R"sql(
-- The reception as integrators call it (docs/recepcion.md). SQLite cannot
-- widen a CHECK, so comprobantes is rebuilt with the state 'error' (could
-- not be processed at all) and new columns: the callbackUrl and where its
-- delivery stands, the emisor's consecutivo and document type (unique per
-- emisor, code -99), the clave a nota references, and the scenario of
-- pruebas the request asked for.
CREATE TABLE comprobantes_v5 (
  clave TEXT PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  username TEXT NOT NULL,
  fecha TEXT NOT NULL,
  emisor_tipo TEXT NOT NULL,
  emisor_numero TEXT NOT NULL,
  receptor_tipo TEXT,
  receptor_numero TEXT,
  xml BLOB NOT NULL,
  estado TEXT NOT NULL CHECK (estado IN ('recibido','procesando','aceptado','rechazado','error')),
  respuesta_xml BLOB,
  received_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  callback_url TEXT,
  callback_estado TEXT CHECK (callback_estado IN ('pendiente','entregado','abandonado')),
  callback_intentos INTEGER NOT NULL DEFAULT 0,
  callback_siguiente TEXT,
  consecutivo TEXT,
  referencia TEXT,
  escenario TEXT
);
INSERT INTO comprobantes_v5 (clave, environment, username, fecha, emisor_tipo, emisor_numero,
    receptor_tipo, receptor_numero, xml, estado, respuesta_xml, received_at, updated_at)
  SELECT clave, environment, username, fecha, emisor_tipo, emisor_numero, receptor_tipo,
    receptor_numero, xml, estado, respuesta_xml, received_at, updated_at FROM comprobantes;
DROP TABLE comprobantes;
ALTER TABLE comprobantes_v5 RENAME TO comprobantes;
CREATE INDEX comprobantes_pendientes ON comprobantes (estado) WHERE estado IN ('recibido','procesando');
CREATE INDEX comprobantes_callbacks ON comprobantes (callback_siguiente)
  WHERE callback_estado = 'pendiente';
CREATE UNIQUE INDEX comprobantes_consecutivo_unico
  ON comprobantes (environment, emisor_numero, consecutivo) WHERE consecutivo IS NOT NULL;
CREATE INDEX comprobantes_por_emisor ON comprobantes (environment, emisor_numero);
CREATE INDEX comprobantes_por_receptor ON comprobantes (environment, receptor_numero);
CREATE INDEX comprobantes_por_referencia ON comprobantes (referencia) WHERE referencia IS NOT NULL;

-- Every POST to a callbackUrl: when, the HTTP status (0: none) and the error.
CREATE TABLE callback_intentos (
  clave TEXT NOT NULL REFERENCES comprobantes(clave) ON DELETE CASCADE,
  intento INTEGER NOT NULL,
  at TEXT NOT NULL,
  status INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (clave, intento)
);
)sql"},
    {6, "llave pendiente de descarga", R"sql(
-- A key the portal generated stays 'pending' until its .p12 is downloaded:
-- the previous key stays active meanwhile (docs/portal.md#generar). SQLite
-- cannot widen a CHECK, so the table is rebuilt with the same rows; nothing
-- references it. pending_until is the end of the download window; it stays
-- set on a pending key revoked because the window passed, and is cleared
-- when the key becomes active.
CREATE TABLE certificates_v6 (
  id INTEGER PRIMARY KEY,
  authority_id INTEGER NOT NULL REFERENCES authorities(id),
  serial_hex TEXT NOT NULL,
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  status TEXT NOT NULL CHECK (status IN ('reserved','pending','active','revoked')),
  certificate_der BLOB,
  not_before TEXT,
  not_after TEXT,
  facturador_gratuito INTEGER NOT NULL DEFAULT 0,
  revoked_at TEXT,
  revocation_reason TEXT CHECK (revocation_reason IN
    ('keyCompromise','affiliationChanged','superseded','cessationOfOperation')),
  created_at TEXT NOT NULL,
  pending_until TEXT,
  UNIQUE (authority_id, serial_hex),
  CHECK (status = 'reserved' OR certificate_der IS NOT NULL),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
  CHECK (status <> 'pending' OR pending_until IS NOT NULL)
);
INSERT INTO certificates_v6 (id, authority_id, serial_hex, taxpayer_id, environment, status,
    certificate_der, not_before, not_after, facturador_gratuito, revoked_at, revocation_reason,
    created_at)
  SELECT id, authority_id, serial_hex, taxpayer_id, environment, status, certificate_der,
    not_before, not_after, facturador_gratuito, revoked_at, revocation_reason, created_at
  FROM certificates;
DROP TABLE certificates;
ALTER TABLE certificates_v6 RENAME TO certificates;

-- Still one active key per taxpayer and environment, and at most one
-- waiting for its download.
CREATE UNIQUE INDEX certificates_one_active
  ON certificates (taxpayer_id, environment) WHERE status = 'active';
CREATE UNIQUE INDEX certificates_one_pending
  ON certificates (taxpayer_id, environment) WHERE status = 'pending';
CREATE INDEX certificates_by_taxpayer ON certificates (taxpayer_id);
CREATE INDEX certificates_revoked ON certificates (authority_id) WHERE status = 'revoked';

-- The pending key a download delivers (NULL for files of no pending key).
ALTER TABLE pending_downloads ADD COLUMN certificate_id INTEGER;
)sql"},
    {7, "intentos fallidos en memoria", R"sql(
-- Wrong passwords are no longer counted per account in the store: a stranger
-- could lock anyone out with them (issue 12). They are throttled in memory
-- per (account, address) by service/login_throttle.h; each failure is still
-- an audit row.
DROP TABLE login_failures;
)sql"},
    {8, "herramienta gratuita", R"sql(
-- The Herramienta Gratuita (docs/herramienta.md). A private key kept in
-- custody for a taxpayer who ticked "Soy usuario del Facturador Gratuito":
-- sealed under the key file llave-custodia.key, which is not in this
-- database. One per certificate; it goes away in the very transaction that
-- revokes its certificate (superseded, revoked, annulled), by the trigger
-- below, so no code path can forget it.
CREATE TABLE llaves_custodia (
  certificate_id INTEGER PRIMARY KEY REFERENCES certificates(id),
  llave_envuelta BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TRIGGER llaves_custodia_al_revocar AFTER UPDATE OF status ON certificates
  WHEN NEW.status = 'revoked'
BEGIN
  DELETE FROM llaves_custodia WHERE certificate_id = NEW.id;
END;

-- The last number given to each counter of consecutivos: the number and the
-- emitted document are written in one transaction, so there are no gaps.
CREATE TABLE consecutivos (
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  emisor TEXT NOT NULL,
  sucursal TEXT NOT NULL,
  terminal TEXT NOT NULL,
  tipo TEXT NOT NULL,
  ultimo INTEGER NOT NULL,
  PRIMARY KEY (environment, emisor, sucursal, terminal, tipo)
);

-- What the Herramienta Gratuita emitted; its state is the reception's.
CREATE TABLE emitidos (
  clave TEXT PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  tipo TEXT NOT NULL,
  consecutivo TEXT NOT NULL,
  receptor_nombre TEXT NOT NULL,
  total TEXT NOT NULL,
  moneda TEXT NOT NULL,
  xml BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX emitidos_por_contribuyente ON emitidos (taxpayer_id, environment, created_at);
)sql"},
    {9, "herramienta: correo al receptor", R"sql(
-- Sending an emitted comprobante to its receptor by correo (docs/herramienta.md,
-- service/mailer.h). One row per emitted comprobante to send: made pending by
-- the trigger below in the very transaction that makes it aceptado (whatever
-- path decides it), so no acceptance is missed, a rechazado one never gets a
-- row, and a restart loses nothing. intentos counts the attempts since it
-- became pending (the retries' budget); "Enviar de nuevo" makes it pending
-- again with intentos 0.
CREATE TABLE correos_emitidos (
  clave TEXT PRIMARY KEY REFERENCES emitidos(clave),
  estado TEXT NOT NULL CHECK (estado IN ('pendiente','entregado','abandonado','omitido')),
  intentos INTEGER NOT NULL,
  siguiente TEXT NOT NULL
);
CREATE INDEX correos_emitidos_pendientes ON correos_emitidos (siguiente)
  WHERE estado = 'pendiente';
CREATE TRIGGER correo_al_aceptar AFTER UPDATE OF estado ON comprobantes
  WHEN NEW.estado = 'aceptado' AND OLD.estado IS NOT 'aceptado'
BEGIN
  INSERT OR IGNORE INTO correos_emitidos (clave, estado, intentos, siguiente)
    SELECT clave, 'pendiente', 0, NEW.updated_at FROM emitidos WHERE clave = NEW.clave;
END;

-- Every attempt: when, to whom, and delivered or the error (the SMTP
-- server's reply). Numbered per clave across "Enviar de nuevo".
CREATE TABLE correo_intentos (
  clave TEXT NOT NULL REFERENCES emitidos(clave),
  intento INTEGER NOT NULL,
  at TEXT NOT NULL,
  destinatario TEXT NOT NULL,
  entregado INTEGER NOT NULL CHECK (entregado IN (0, 1)),
  error TEXT NOT NULL,
  PRIMARY KEY (clave, intento)
);
)sql"},
    {10, "herramienta gratuita: recibidos", R"sql(
-- A MensajeReceptor the tool emits (tipo 05 aceptación, 06 aceptación
-- parcial, 07 rechazo) is kept in emitidos under the reception's key
-- "<clave>-<consecutivo>". A document is answered once: a second answer, even
-- from two requests at the same instant, fails here and spends no number.
CREATE UNIQUE INDEX emitidos_una_respuesta ON emitidos (environment, substr(clave, 1, 50))
  WHERE tipo IN ('05', '06', '07');
)sql"},
    {11, "clientes y productos", R"sql(
-- The Herramienta Gratuita's Clientes and Productos (docs/herramienta.md):
-- small lists a taxpayer keeps, per environment, to fill Emitir faster. The
-- service bounds each list (service/tool_lists.h); an identification is
-- saved once per taxpayer and environment.
CREATE TABLE clientes (
  id INTEGER PRIMARY KEY,
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  id_type TEXT NOT NULL CHECK (id_type IN ('01','02','03','04')),
  identificacion TEXT NOT NULL,
  nombre TEXT NOT NULL,
  correo TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  UNIQUE (taxpayer_id, environment, identificacion)
);
CREATE INDEX clientes_por_nombre ON clientes (taxpayer_id, environment, nombre);

CREATE TABLE productos (
  id INTEGER PRIMARY KEY,
  taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  cabys TEXT NOT NULL,
  descripcion TEXT NOT NULL,
  unidad TEXT NOT NULL,
  precio TEXT NOT NULL,
  tarifa TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX productos_por_descripcion ON productos (taxpayer_id, environment, descripcion);
)sql"},
    {12, "crl publicadas", R"sql(
-- The CRL each issuing CA publishes, shared by every server on the store:
-- a server answers the highest-numbered one, so the number a client sees
-- only rises whichever server answers. Only the newest per CA is kept.
CREATE TABLE crls (
  authority_id INTEGER NOT NULL REFERENCES authorities(id),
  number INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  this_update TEXT NOT NULL,
  next_update TEXT NOT NULL,
  der BLOB NOT NULL,
  PRIMARY KEY (authority_id, number)
);
)sql"},
    {13, "consola de operadores", R"sql(
-- The operators' console (docs/operador.md): accounts apart from the
-- taxpayers, with a role, an Argon2id hash and a TOTP second factor whose
-- secret is sealed with the server key; totp_last_step refuses a code used
-- twice. Sessions by the SHA-256 of the cookie, like the portal's.
CREATE TABLE operators (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('administrador','soporte','auditor')),
  password_hash TEXT NOT NULL,
  totp_sealed BLOB,
  totp_enrolled INTEGER NOT NULL DEFAULT 0,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

CREATE TABLE operator_sessions (
  id_hash TEXT PRIMARY KEY,
  operator_id INTEGER NOT NULL REFERENCES operators(id),
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
)sql"},
    {14, "generaciones de las CA", R"sql(
-- An issuing CA has generations (docs/certificates.md#ca-rollover): a
-- rollover adds a new CA of the same kind under the same root, and the old
-- one keeps answering for its certificates. SQLite cannot drop the
-- UNIQUE (environment, kind), so the table is rebuilt with the same ids
-- (the store runs migrations with foreign keys off and checks them before
-- committing).
CREATE TABLE authorities_v14 (
  id INTEGER PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  kind TEXT NOT NULL CHECK (kind IN ('root','pf','pj')),
  generation INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1),
  subject TEXT NOT NULL,
  certificate_der BLOB NOT NULL,
  key_pem TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (environment, kind, generation)
);
INSERT INTO authorities_v14 (id, environment, kind, subject, certificate_der, key_pem, created_at)
  SELECT id, environment, kind, subject, certificate_der, key_pem, created_at FROM authorities;
DROP TABLE authorities;
ALTER TABLE authorities_v14 RENAME TO authorities;

-- A rollover is asked for by one administrator and carried out when another
-- approves it: two people for the one CA operation that cannot be undone.
-- At most one waits per CA.
CREATE TABLE ca_rollovers (
  id INTEGER PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  kind TEXT NOT NULL CHECK (kind IN ('pf','pj')),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  approved_by TEXT,
  approved_at TEXT,
  new_authority_id INTEGER REFERENCES authorities(id),
  CHECK (approved_by IS NULL OR approved_by <> requested_by),
  CHECK ((approved_by IS NULL) = (new_authority_id IS NULL)),
  CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
CREATE UNIQUE INDEX ca_rollovers_one_pending ON ca_rollovers (environment, kind)
  WHERE approved_by IS NULL;
)sql"},
    {16, "CRL sin leer las revocaciones vencidas", kRevokedByExpiry},
    {17, "CRL leída del índice", kRevokedCovering},
};

// The same migrations for PostgreSQL 15 (store/postgres/): the same tables,
// CHECKs, partial unique indexes and append-only triggers, in its types:
// identity keys, TIMESTAMPTZ times (the store sets TimeZone to UTC), BYTEA,
// BOOLEAN flags. Where SQLite had to rebuild a table to widen a CHECK, the
// constraint is replaced in place. A CRL number comes from a sequence: strictly
// increasing across every server sharing the database, without a row lock.
// audit_log.at stays TEXT: it is hashed exactly as written.
constexpr Migration kPostgres[] = {
    {1, "esquema inicial", R"sql(
CREATE TABLE taxpayers (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  identification TEXT NOT NULL UNIQUE,
  id_type TEXT NOT NULL CHECK (id_type IN ('01','02','03','04')),
  nombre TEXT NOT NULL,
  apellidos TEXT NOT NULL DEFAULT '',
  correo TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE authorities (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  kind TEXT NOT NULL CHECK (kind IN ('root','pf','pj')),
  subject TEXT NOT NULL,
  certificate_der BYTEA NOT NULL,
  key_pem TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (environment, kind)
);

CREATE TABLE certificates (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  authority_id BIGINT NOT NULL REFERENCES authorities(id),
  serial_hex TEXT NOT NULL,
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  status TEXT NOT NULL CONSTRAINT certificates_status_check
    CHECK (status IN ('reserved','active','revoked')),
  certificate_der BYTEA,
  not_before TIMESTAMPTZ,
  not_after TIMESTAMPTZ,
  facturador_gratuito BOOLEAN NOT NULL DEFAULT FALSE,
  revoked_at TIMESTAMPTZ,
  revocation_reason TEXT CHECK (revocation_reason IN
    ('keyCompromise','affiliationChanged','superseded','cessationOfOperation')),
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (authority_id, serial_hex),
  CHECK (status = 'reserved' OR certificate_der IS NOT NULL),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

-- The rule of docs/product.md#key-lifecycle, kept by the database: one active key per taxpayer
-- and environment.
CREATE UNIQUE INDEX certificates_one_active
  ON certificates (taxpayer_id, environment) WHERE status = 'active';
CREATE INDEX certificates_by_taxpayer ON certificates (taxpayer_id);

CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

-- The newest (seq, hash): deleting the last rows leaves it pointing past them.
CREATE TABLE audit_head (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);

-- Append-only, as far as the database can say so. Whoever drops these
-- triggers to edit the log is still caught by the hash chain.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
)sql"},
    {2, "publicación de revocaciones", R"sql(
-- Bumped in the transaction of every revocation: readers (the OCSP cache,
-- the CRL builder, other processes) compare it to know when to refresh.
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('revocations', 0);

-- CRL numbers: strictly increasing for every CA across restarts and across
-- the servers sharing this database (one sequence; gaps are allowed).
CREATE SEQUENCE crl_numbers AS BIGINT START 1;

-- Delegated OCSP responder certificates, one current per issuing CA; the
-- key is encrypted like the CA keys.
CREATE TABLE ocsp_responders (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  authority_id BIGINT NOT NULL REFERENCES authorities(id),
  serial_hex TEXT NOT NULL,
  certificate_der BYTEA NOT NULL,
  key_pem TEXT NOT NULL,
  not_after TIMESTAMPTZ NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (authority_id, serial_hex)
);

CREATE INDEX certificates_revoked ON certificates (authority_id) WHERE status = 'revoked';
)sql"},
    {3, "portal y credenciales", R"sql(
-- Portal login: an Argon2id hash (libsodium's crypto_pwhash_str format).
ALTER TABLE taxpayers ADD COLUMN password_hash TEXT;

-- Wrong passwords per account; five lock it for a while.
CREATE TABLE login_failures (
  taxpayer_id BIGINT PRIMARY KEY REFERENCES taxpayers(id),
  failures INTEGER NOT NULL,
  locked_until TIMESTAMPTZ
);

-- Portal sessions, by the SHA-256 of the cookie value (a leaked database
-- does not leak live sessions).
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  csrf_token TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL
);

-- Single-use form tokens already spent (double submits, replays).
CREATE TABLE spent_nonces (
  nonce_hash TEXT PRIMARY KEY,
  spent_at TIMESTAMPTZ NOT NULL
);

-- A generated .p12 waiting for its download, encrypted with the server key;
-- deleted after the first complete download or when it expires.
CREATE TABLE pending_downloads (
  token_hash TEXT PRIMARY KEY,
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  file_name TEXT NOT NULL,
  ciphertext BYTEA NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);

-- The API user and password of "Generar contraseña", one per environment.
CREATE TABLE api_credentials (
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (taxpayer_id, environment)
);
)sql"},
    {4, "tokens y recepción", R"sql(
-- Refresh tokens of the token endpoint, by SHA-256; a logout revokes the
-- whole session they belong to.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  username TEXT NOT NULL,
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Keys the service signs with besides the CAs: the JWT key of each realm and
-- the certificate that signs MensajeHacienda. Encrypted like the CA keys.
CREATE TABLE service_keys (
  name TEXT PRIMARY KEY,
  key_pem TEXT NOT NULL,
  certificate_der BYTEA,
  created_at TIMESTAMPTZ NOT NULL
);

-- Comprobantes received by the reception API and their answer.
CREATE TABLE comprobantes (
  clave TEXT PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  username TEXT NOT NULL,
  fecha TEXT NOT NULL,
  emisor_tipo TEXT NOT NULL,
  emisor_numero TEXT NOT NULL,
  receptor_tipo TEXT,
  receptor_numero TEXT,
  xml BYTEA NOT NULL,
  estado TEXT NOT NULL CONSTRAINT comprobantes_estado_check
    CHECK (estado IN ('recibido','procesando','aceptado','rechazado')),
  respuesta_xml BYTEA,
  received_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX comprobantes_pendientes ON comprobantes (estado) WHERE estado IN ('recibido','procesando');
)sql"},
    {5, "recepción: callbacks, estado error, consecutivos", R"sql(
-- The reception as integrators call it (docs/recepcion.md): the state
-- 'error', the callbackUrl and where its delivery stands, the emisor's
-- consecutivo (unique per emisor, code -99), the clave a nota references and
-- the scenario of pruebas the request asked for.
ALTER TABLE comprobantes DROP CONSTRAINT comprobantes_estado_check;
ALTER TABLE comprobantes ADD CONSTRAINT comprobantes_estado_check
  CHECK (estado IN ('recibido','procesando','aceptado','rechazado','error'));
ALTER TABLE comprobantes
  ADD COLUMN callback_url TEXT,
  ADD COLUMN callback_estado TEXT CHECK (callback_estado IN ('pendiente','entregado','abandonado')),
  ADD COLUMN callback_intentos INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN callback_siguiente TIMESTAMPTZ,
  ADD COLUMN consecutivo TEXT,
  ADD COLUMN referencia TEXT,
  ADD COLUMN escenario TEXT;
CREATE INDEX comprobantes_callbacks ON comprobantes (callback_siguiente)
  WHERE callback_estado = 'pendiente';
CREATE UNIQUE INDEX comprobantes_consecutivo_unico
  ON comprobantes (environment, emisor_numero, consecutivo) WHERE consecutivo IS NOT NULL;
CREATE INDEX comprobantes_por_emisor ON comprobantes (environment, emisor_numero);
CREATE INDEX comprobantes_por_receptor ON comprobantes (environment, receptor_numero);
CREATE INDEX comprobantes_por_referencia ON comprobantes (referencia) WHERE referencia IS NOT NULL;

-- Every POST to a callbackUrl: when, the HTTP status (0: none) and the error.
CREATE TABLE callback_intentos (
  clave TEXT NOT NULL REFERENCES comprobantes(clave) ON DELETE CASCADE,
  intento INTEGER NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  status INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (clave, intento)
);
)sql"},
    {6, "llave pendiente de descarga", R"sql(
-- A key the portal generated stays 'pending' until its .p12 is downloaded:
-- the previous key stays active meanwhile (docs/portal.md#generar).
-- pending_until is the end of the download window; it stays set on a
-- pending key revoked because the window passed, and is cleared when the key
-- becomes active.
ALTER TABLE certificates DROP CONSTRAINT certificates_status_check;
ALTER TABLE certificates ADD CONSTRAINT certificates_status_check
  CHECK (status IN ('reserved','pending','active','revoked'));
ALTER TABLE certificates ADD COLUMN pending_until TIMESTAMPTZ;
ALTER TABLE certificates ADD CONSTRAINT certificates_pending_until_check
  CHECK (status <> 'pending' OR pending_until IS NOT NULL);

-- Still one active key per taxpayer and environment, and at most one
-- waiting for its download.
CREATE UNIQUE INDEX certificates_one_pending
  ON certificates (taxpayer_id, environment) WHERE status = 'pending';

-- The pending key a download delivers (NULL for files of no pending key).
ALTER TABLE pending_downloads ADD COLUMN certificate_id BIGINT;
)sql"},
    {7, "intentos fallidos en memoria", R"sql(
-- Wrong passwords are no longer counted per account in the store: a stranger
-- could lock anyone out with them (issue 12). They are throttled in memory
-- per (account, address) by service/login_throttle.h; each failure is still
-- an audit row.
DROP TABLE login_failures;
)sql"},
    {8, "herramienta gratuita", R"sql(
-- The Herramienta Gratuita (docs/herramienta.md). A private key kept in
-- custody for a taxpayer who ticked "Soy usuario del Facturador Gratuito":
-- sealed under the key file llave-custodia.key, which is not in this
-- database. One per certificate; it goes away in the very transaction that
-- revokes its certificate (superseded, revoked, annulled), by the trigger
-- below, so no code path can forget it.
CREATE TABLE llaves_custodia (
  certificate_id BIGINT PRIMARY KEY REFERENCES certificates(id),
  llave_envuelta BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE FUNCTION llaves_custodia_al_revocar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM llaves_custodia WHERE certificate_id = NEW.id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER llaves_custodia_al_revocar AFTER UPDATE OF status ON certificates
  FOR EACH ROW WHEN (NEW.status = 'revoked')
  EXECUTE FUNCTION llaves_custodia_al_revocar();

-- The last number given to each counter of consecutivos: the number and the
-- emitted document are written in one transaction, so there are no gaps.
CREATE TABLE consecutivos (
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  emisor TEXT NOT NULL,
  sucursal TEXT NOT NULL,
  terminal TEXT NOT NULL,
  tipo TEXT NOT NULL,
  ultimo BIGINT NOT NULL,
  PRIMARY KEY (environment, emisor, sucursal, terminal, tipo)
);

-- What the Herramienta Gratuita emitted; its state is the reception's.
CREATE TABLE emitidos (
  clave TEXT PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  tipo TEXT NOT NULL,
  consecutivo TEXT NOT NULL,
  receptor_nombre TEXT NOT NULL,
  total TEXT NOT NULL,
  moneda TEXT NOT NULL,
  xml BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX emitidos_por_contribuyente ON emitidos (taxpayer_id, environment, created_at);
)sql"},
    {9, "herramienta: correo al receptor", R"sql(
-- Sending an emitted comprobante to its receptor by correo (docs/herramienta.md,
-- service/mailer.h). One row per emitted comprobante to send: made pending by
-- the trigger below in the very transaction that makes it aceptado (whatever
-- path decides it), so no acceptance is missed, a rechazado one never gets a
-- row, and a restart loses nothing. intentos counts the attempts since it
-- became pending (the retries' budget); "Enviar de nuevo" makes it pending
-- again with intentos 0.
CREATE TABLE correos_emitidos (
  clave TEXT PRIMARY KEY REFERENCES emitidos(clave),
  estado TEXT NOT NULL CHECK (estado IN ('pendiente','entregado','abandonado','omitido')),
  intentos INTEGER NOT NULL,
  siguiente TIMESTAMPTZ NOT NULL
);
CREATE INDEX correos_emitidos_pendientes ON correos_emitidos (siguiente)
  WHERE estado = 'pendiente';
CREATE FUNCTION correo_al_aceptar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO correos_emitidos (clave, estado, intentos, siguiente)
    SELECT clave, 'pendiente', 0, NEW.updated_at FROM emitidos WHERE clave = NEW.clave
    ON CONFLICT (clave) DO NOTHING;
  RETURN NULL;
END;
$$;
CREATE TRIGGER correo_al_aceptar AFTER UPDATE OF estado ON comprobantes
  FOR EACH ROW WHEN (NEW.estado = 'aceptado' AND OLD.estado IS DISTINCT FROM 'aceptado')
  EXECUTE FUNCTION correo_al_aceptar();

-- Every attempt: when, to whom, and delivered or the error (the SMTP
-- server's reply). Numbered per clave across "Enviar de nuevo".
CREATE TABLE correo_intentos (
  clave TEXT NOT NULL REFERENCES emitidos(clave),
  intento INTEGER NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  destinatario TEXT NOT NULL,
  entregado BOOLEAN NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (clave, intento)
);
)sql"},
    {10, "herramienta gratuita: recibidos", R"sql(
-- A MensajeReceptor the tool emits (tipo 05 aceptación, 06 aceptación
-- parcial, 07 rechazo) is kept in emitidos under the reception's key
-- "<clave>-<consecutivo>". A document is answered once: a second answer, even
-- from two requests at the same instant, fails here and spends no number.
CREATE UNIQUE INDEX emitidos_una_respuesta ON emitidos (environment, substr(clave, 1, 50))
  WHERE tipo IN ('05', '06', '07');
)sql"},
    {11, "clientes y productos", R"sql(
-- The Herramienta Gratuita's Clientes and Productos (docs/herramienta.md):
-- small lists a taxpayer keeps, per environment, to fill Emitir faster. The
-- service bounds each list (service/tool_lists.h); an identification is
-- saved once per taxpayer and environment. The lists are read sorted by
-- lower(nombre) and lower(descripcion), as SQLite's COLLATE NOCASE.
CREATE TABLE clientes (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  id_type TEXT NOT NULL CHECK (id_type IN ('01','02','03','04')),
  identificacion TEXT NOT NULL,
  nombre TEXT NOT NULL,
  correo TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (taxpayer_id, environment, identificacion)
);
CREATE INDEX clientes_por_nombre ON clientes (taxpayer_id, environment, lower(nombre));

CREATE TABLE productos (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  taxpayer_id BIGINT NOT NULL REFERENCES taxpayers(id),
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  cabys TEXT NOT NULL,
  descripcion TEXT NOT NULL,
  unidad TEXT NOT NULL,
  precio TEXT NOT NULL,
  tarifa TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX productos_por_descripcion ON productos (taxpayer_id, environment, lower(descripcion));
)sql"},
    {12, "crl publicadas", R"sql(
-- The CRL each issuing CA publishes, shared by every server on the store:
-- a server answers the highest-numbered one, so the number a client sees
-- only rises whichever server answers. Only the newest per CA is kept.
CREATE TABLE crls (
  authority_id BIGINT NOT NULL REFERENCES authorities(id),
  number BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  this_update TIMESTAMPTZ NOT NULL,
  next_update TIMESTAMPTZ NOT NULL,
  der BYTEA NOT NULL,
  PRIMARY KEY (authority_id, number)
);
)sql"},
    {13, "consola de operadores", R"sql(
-- The operators' console (docs/operador.md): accounts apart from the
-- taxpayers, with a role, an Argon2id hash and a TOTP second factor whose
-- secret is sealed with the server key; totp_last_step refuses a code used
-- twice. Sessions by the SHA-256 of the cookie, like the portal's.
CREATE TABLE operators (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('administrador','soporte','auditor')),
  password_hash TEXT NOT NULL,
  totp_sealed BYTEA,
  totp_enrolled BOOLEAN NOT NULL DEFAULT FALSE,
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE operator_sessions (
  id_hash TEXT PRIMARY KEY,
  operator_id BIGINT NOT NULL REFERENCES operators(id),
  csrf_token TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL
);
)sql"},
    {14, "generaciones de las CA", R"sql(
-- An issuing CA has generations (docs/certificates.md#ca-rollover).
ALTER TABLE authorities ADD COLUMN generation INTEGER NOT NULL DEFAULT 1
  CHECK (generation >= 1);
ALTER TABLE authorities DROP CONSTRAINT authorities_environment_kind_key;
ALTER TABLE authorities ADD CONSTRAINT authorities_generation
  UNIQUE (environment, kind, generation);

-- A rollover is asked for by one administrator and carried out when another
-- approves it. At most one waits per CA.
CREATE TABLE ca_rollovers (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  environment TEXT NOT NULL CHECK (environment IN ('produccion','pruebas')),
  kind TEXT NOT NULL CHECK (kind IN ('pf','pj')),
  requested_by TEXT NOT NULL,
  requested_at TIMESTAMPTZ NOT NULL,
  approved_by TEXT,
  approved_at TIMESTAMPTZ,
  new_authority_id BIGINT REFERENCES authorities(id),
  CHECK (approved_by IS NULL OR approved_by <> requested_by),
  CHECK ((approved_by IS NULL) = (new_authority_id IS NULL)),
  CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
CREATE UNIQUE INDEX ca_rollovers_one_pending ON ca_rollovers (environment, kind)
  WHERE approved_by IS NULL;
)sql"},
    {16, "CRL sin leer las revocaciones vencidas", kRevokedByExpiry},
    {17, "CRL leída del índice", kRevokedCovering},
};

}  // namespace

std::span<const Migration> migrations(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kSqlite: return kSqlite;
    case SqlDialect::kPostgres: return kPostgres;
  }
  return {};
}

}  // namespace llavero
