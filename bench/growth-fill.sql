-- The generator of scripts/bench-growth.sh: N taxpayers and 5 N certificates
-- in a PostgreSQL store made by `llavero init --db` (the real migrations),
-- with generate_series. Run it with psql (2.5 min for n = 1000000 on two
-- busy cores; 12 s for 100000):
--
--   psql -X -v ON_ERROR_STOP=1 -v n=1000000 -f bench/growth-fill.sql URL
--
-- What is real: every row passes the schema's CHECKs, unique indexes and
-- foreign keys (checked when they are made again, below), and is what the
-- store, OCSP and the CRL read (serials as serial_to_hex writes them,
-- whole-second times). What is synthetic:
--   * taxpayers are personas físicas 8-XXXX-XXXX (no password, no audit
--     rows: the audit log does not grow with them);
--   * certificates are not signed one by one: certificate_der holds the
--     issuing CA's own DER (a real certificate of the right size). OCSP
--     answers from the row's status and times, the CRL from serial_hex,
--     revoked_at and the reason; neither parses that DER;
--   * serials are 32 hex digits from md5 (first nibble 4, as random_serial()
--     keeps the top bits of its 16 bytes), random with respect to the row id.
-- Each taxpayer t gets five certificates, all of the persona física CAs:
--   pruebas:    0 revoked and not expired (a line of the CRL)
--               1 revoked long ago, expired (not in any CRL)
--               2 active
--   producción: 3 revoked long ago, expired (not in any CRL)
--               4 active
-- so the pruebas pf CRL has N lines and the producción pf CRL none, while
-- each CA holds N expired revoked rows the CRL query must not need to read.
--
-- Fast, and the same schema at the end: rows go in without the tables'
-- secondary indexes, unique and foreign-key constraints (5 000 000 random
-- serials into a unique B-tree, one foreign-key lookup per row and key:
-- still filling after 13 min on two cores), which are then made
-- again from their own definitions, read from the catalog before dropping
-- them: CREATE UNIQUE INDEX and ADD CONSTRAINT check every row, so a
-- duplicate serial or a dangling reference still fails the fill. Primary
-- keys stay (ids grow, so they only append). CHECKs stay.
\set ON_ERROR_STOP on
SET maintenance_work_mem = '1GB';
BEGIN;
-- What to drop and how to make it again: plain secondary indexes first,
-- then unique constraints, then foreign keys (which need them).
CREATE TEMP TABLE growth_rebuild ON COMMIT PRESERVE ROWS AS
SELECT 0 AS step, format('DROP INDEX %s', i.indexrelid::regclass) AS drop_sql,
       pg_get_indexdef(i.indexrelid) AS create_sql
FROM pg_index i
WHERE i.indrelid IN ('taxpayers'::regclass, 'certificates'::regclass) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                    AND c.conrelid = i.indrelid)
UNION ALL
SELECT CASE c.contype WHEN 'u' THEN 1 ELSE 2 END,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid))
FROM pg_constraint c
WHERE c.conrelid IN ('taxpayers'::regclass, 'certificates'::regclass) AND c.contype IN ('u', 'f');
SELECT drop_sql FROM growth_rebuild ORDER BY step DESC \gexec
SELECT coalesce(max(id), 0) AS tbase FROM taxpayers \gset
SELECT coalesce(max(id), 0) AS cbase FROM certificates \gset
SELECT id AS pruebas_pf, certificate_der AS ca_der_hex FROM authorities
  WHERE environment = 'pruebas' AND kind = 'pf' \gset
SELECT id AS produccion_pf FROM authorities WHERE environment = 'produccion' AND kind = 'pf' \gset
SELECT date_trunc('second', now()) AS t0 \gset

INSERT INTO taxpayers (id, identification, id_type, nombre, apellidos, correo, created_at)
SELECT :tbase + t, '8' || lpad(t::text, 8, '0'), '01', 'CONTRIBUYENTE ' || t,
       'GENERADO DE PRUEBA', '', :'t0'::timestamptz - interval '3 years'
FROM generate_series(1, :n) AS t;

INSERT INTO certificates (id, authority_id, serial_hex, taxpayer_id, environment, status,
                          certificate_der, not_before, not_after, facturador_gratuito,
                          revoked_at, revocation_reason, created_at)
SELECT :cbase + 5 * (t - 1) + c + 1,
       CASE WHEN c < 3 THEN :pruebas_pf ELSE :produccion_pf END,
       '4' || upper(substr(md5('llavero-growth-' || (5 * (t - 1) + c)), 1, 31)),
       :tbase + t,
       CASE WHEN c < 3 THEN 'pruebas' ELSE 'produccion' END,
       CASE WHEN c IN (2, 4) THEN 'active' ELSE 'revoked' END,
       :'ca_der_hex'::bytea,
       nb, nb + interval '4 years', t % 7 = 0,
       CASE WHEN c IN (2, 4) THEN NULL ELSE nb + interval '90 days' END,
       CASE WHEN c IN (2, 4) THEN NULL
            WHEN t % 50 = 0 THEN NULL
            WHEN t % 10 = 0 THEN 'keyCompromise'
            ELSE 'superseded' END,
       nb
FROM generate_series(1, :n) AS t
CROSS JOIN generate_series(0, 4) AS c
CROSS JOIN LATERAL (
  SELECT CASE WHEN c IN (1, 3) THEN :'t0'::timestamptz - interval '6 years'
              WHEN c = 0 THEN :'t0'::timestamptz - interval '2 years'
              ELSE :'t0'::timestamptz - interval '1 year' END
         - make_interval(secs => (t::bigint * 7919) % 31536000) AS nb
) AS times;

SELECT setval(pg_get_serial_sequence('taxpayers', 'id'), (SELECT max(id) FROM taxpayers));
SELECT setval(pg_get_serial_sequence('certificates', 'id'), (SELECT max(id) FROM certificates));
COMMIT;
-- What autovacuum would otherwise do during the measurements, on one of the
-- two cores: freeze the new rows (before the indexes are made, so vacuum
-- has no index to visit and the index builds read frozen pages).
VACUUM (FREEZE) taxpayers;
VACUUM (FREEZE) certificates;
BEGIN;
SELECT create_sql FROM growth_rebuild ORDER BY step \gexec
COMMIT;
ANALYZE taxpayers;
ANALYZE certificates;
CHECKPOINT;
