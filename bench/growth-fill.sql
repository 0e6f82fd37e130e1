-- The generator of scripts/bench-growth.sh: N taxpayers and 5 N certificates
-- in a PostgreSQL store made by `llavero init --db` (the real migrations), in
-- one transaction, with generate_series. Run it with psql:
--
--   psql -X -v ON_ERROR_STOP=1 -v n=1000000 -f bench/growth-fill.sql URL
--
-- What is real: every row passes the schema's CHECKs, unique indexes and
-- triggers, and is what the store, OCSP and the CRL read (serials as
-- serial_to_hex writes them, whole-second times). What is synthetic:
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
\set ON_ERROR_STOP on
BEGIN;
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
-- two cores: freeze and analyze the new rows, write them out.
VACUUM (FREEZE, ANALYZE) taxpayers;
VACUUM (FREEZE, ANALYZE) certificates;
CHECKPOINT;
