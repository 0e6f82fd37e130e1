// Shared set-up of the browser tests: a data directory made once with
// `llavero init`, taxpayers with portal passwords, `llavero serve` on a free
// loopback port, Debian's chromium driven by playwright-core, and the
// independent tools (openssl, sqlite3) that check what the portal did.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

export const LLAVERO_SOURCE = resolve(process.env.LLAVERO || join(here, '..', 'build', 'llavero'));
export const SCREENSHOT_DIR = resolve(process.env.SCREENSHOT_DIR || join(here, '..', 'build', 'screenshots'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const VIEWPORT = { width: 1000, height: 700 };

// The taxpayers of the tests. FIRST is the demo taxpayer of `make serve`.
export const FIRST = {
  id: '1-0647-0958', cpf: '01-0647-0958', nombre: 'CONTRIBUYENTE', apellidos: 'PEÑA DE PRUEBA',
  password: 'clave-del-portal-1', p12: '010647095876.p12',
  apiUser: { pruebas: 'cpf-01-0647-0958@stag.comprobanteselectronicos.go.cr' },
};
export const SECOND = {
  id: '2-0456-0789', nombre: 'ANA', apellidos: 'MORA SOLÍS', password: 'clave-del-portal-2',
};
// Only for the lock-out test, so that locking it blocks no other test.
export const THIRD = {
  id: '1-1111-1111', nombre: 'LUIS', apellidos: 'VARGAS ROJAS', password: 'clave-del-portal-3',
};

// The Spanish texts a user reads (docs/portal.md, and the portal's templates and services).
export const T = {
  avisoDescargar: 'Estimado usuario favor de dar clic a la opción de descargar, para obtener el certificado.',
  paso4: '4. Descargar el certificado con llave criptográfica.',
  preguntaRevocar: 'Estimado usuario desea revocar su llave criptográfica para el uso de comprobantes electrónicos?',
  revocada: 'Estimado usuario su llave criptográfica ha sido revocada',
  pinNoCoincide: 'El PIN y su confirmación no coinciden.',
  pinCuatro: 'El PIN debe contener exactamente 4 números.',
  noDisponible: 'ya no está disponible',
  generarNueva: 'Genere una nueva llave criptográfica',
  credenciales: 'Identificación o contraseña incorrecta.',
  sesionExpiro: 'Su sesión expiró',
  sesionTermino: 'Su sesión terminó.',
  estadoTitulo: 'Estado de mis llaves criptográficas',
};

// --- processes -------------------------------------------------------------------

// run(cmd, args, {input}) → {status, stdout, stderr}; throws nothing.
export function run(cmd, args, { input, timeout = 120_000 } = {}) {
  const r = spawnSync(cmd, args, { input, timeout, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

// must(...) : run(), failing with the whole output when the exit status is not 0.
export function must(cmd, args, options) {
  const r = run(cmd, args, options);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} → estado ${r.status}${r.error ? ` (${r.error.message})` : ''}\n` +
      `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the environment: data directory, server, browser ----------------------------------

export class Env {
  async start() {
    this.tmp = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'llavero-e2e-'));
    // A private copy of the binary, so that a rebuild meanwhile cannot pull it
    // from under the server.
    this.llavero = join(this.tmp, 'llavero');
    copyFileSync(LLAVERO_SOURCE, this.llavero);
    spawnSync('chmod', ['+x', this.llavero]);
    this.data = join(this.tmp, 'data');
    this.files = join(this.tmp, 'files');
    mkdirSync(this.files);
    mkdirSync(SCREENSHOT_DIR, { recursive: true });

    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    must(this.llavero, ['--data', this.data, 'init'], { timeout: 300_000 });
    // Before any certificate is issued, so that its AIA/OCSP name this server.
    const conf = join(this.data, 'llavero.conf');
    const text = readFileSync(conf, 'utf8');
    if (!/^url_base = .*$/m.test(text)) throw new Error(`llavero.conf sin url_base:\n${text}`);
    writeFileSync(conf, text.replace(/^url_base = .*$/m, `url_base = ${this.base}`));

    for (const t of [FIRST, SECOND, THIRD]) {
      must(this.llavero, ['--data', this.data, 'contribuyente', 'crear', '--id', t.id, '--nombre', t.nombre,
        '--apellidos', t.apellidos, '--correo', 'prueba@example.com', '--contrasena-stdin'],
      { input: `${t.password}\n` });
    }

    this.log = join(this.tmp, 'server.log');
    await this.startServer();
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    return this;
  }

  async startServer() {
    const { openSync } = await import('node:fs');
    const out = openSync(this.log, 'a');
    this.server = spawn(this.llavero, ['--data', this.data, 'serve', '--listen', `127.0.0.1:${this.port}`],
      { stdio: ['ignore', out, out] });
    this.serverExit = new Promise((r) => this.server.once('exit', (code, signal) => r({ code, signal })));
    for (let i = 0; i < 150; i++) {
      if (this.server.exitCode !== null) break;
      try {
        const res = await fetch(`${this.base}/healthz`);
        if (res.status === 200) return;
      } catch { /* not yet */ }
      await sleep(200);
    }
    throw new Error(`el servidor no respondió /healthz\n${readFileSync(this.log, 'utf8')}`);
  }

  async stop() {
    await this.browser?.close().catch(() => {});
    if (this.server && this.server.exitCode === null && this.server.signalCode === null) {
      this.server.kill('SIGTERM');
      const stopped = await Promise.race([this.serverExit, sleep(10_000).then(() => null)]);
      if (!stopped) {
        this.server.kill('SIGKILL');
        await this.serverExit;
      }
    }
    if (this.tmp && !process.env.E2E_KEEP) rmSync(this.tmp, { recursive: true, force: true });
    else if (this.tmp) console.log(`# datos conservados en ${this.tmp}`);
  }

  serverLog() {
    try { return readFileSync(this.log, 'utf8'); } catch { return ''; }
  }

  // A browser context as a user's own browser: its cookies, its downloads.
  async newContext({ javaScriptEnabled = true } = {}) {
    const context = await this.browser.newContext({
      baseURL: this.base, viewport: VIEWPORT, acceptDownloads: true, javaScriptEnabled, locale: 'es-CR',
    });
    context.setDefaultTimeout(30_000);
    context.setDefaultNavigationTimeout(60_000);
    return context;
  }

  // --- independent checks ---------------------------------------------------------

  cli(args, options) { return must(this.llavero, ['--data', this.data, ...args], options); }

  keys(id) { return JSON.parse(this.cli(['llave', 'estado', '--id', id, '--json']).stdout).llaves; }

  sql(query) {
    return must('sqlite3', ['-batch', '-cmd', '.timeout 5000', join(this.data, 'llavero.db'), query]).stdout.trim();
  }

  caFile(env, name) { return join(this.data, 'ca', env, `${name}.pem`); }
}

// --- the certificate and OCSP, with openssl ----------------------------------------------

// The taxpayer certificate (PEM) of a .p12, opened with its PIN.
export function certOfP12(p12, pin, outPem) {
  const r = must('openssl', ['pkcs12', '-in', p12, '-passin', `pass:${pin}`, '-nokeys', '-clcerts']);
  const pem = r.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/);
  if (!pem) throw new Error(`openssl pkcs12 no dio un certificado:\n${r.stdout}\n${r.stderr}`);
  writeFileSync(outPem, pem[0]);
  return pem[0];
}

export function certField(pem, ...flags) {
  return must('openssl', ['x509', '-in', pem, '-noout', ...flags]).stdout.trim();
}

// Normalized serial: upper-case hex without leading zeros.
export const normSerial = (s) => s.replace(/^serial=/, '').replace(/\s+/g, '').toUpperCase().replace(/^0+/, '');

// openssl ocsp as a relying party runs it; returns {status, text} where
// status is "good", "revoked", "unknown" or what else openssl printed.
export function ocsp(env, envName, certPem) {
  const url = certField(certPem, '-ocsp_uri');
  const r = run('openssl', ['ocsp', '-timeout', '20', '-issuer', env.caFile(envName, 'pf'), '-cert', certPem,
    '-url', url, '-CAfile', env.caFile(envName, 'root')], { timeout: 60_000 });
  const text = `${r.stdout}\n${r.stderr}`;
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${certPem}: `));
  return { rc: r.status, url, status: line ? line.slice(certPem.length + 2).trim() : '<sin estado>', text };
}

// --- screenshots ---------------------------------------------------------------------------

let shotCount = 0;
export async function shot(page, name) {
  shotCount += 1;
  const file = join(SCREENSHOT_DIR, `${String(shotCount).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// --- what a user does ----------------------------------------------------------------------

// Clicks what submits a form (or follows a link) and waits for the new page;
// returns the response of the page shown (after redirects).
export async function submit(page, target) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
    target.click(),
  ]);
  return response;
}

// Logs in through the form; returns the response of the page shown: /portal
// when it worked, the login page again (401, 423, 429) when not.
export async function login(page, identification, password) {
  await page.goto('/ingresar');
  await page.getByLabel('Identificación').fill(identification);
  await page.getByLabel('Contraseña').fill(password);
  return submit(page, page.getByRole('button', { name: 'Ingresar' }));
}

// Opens "Comprobantes Electrónicos" → SUBMENU and clicks LINK, as a user
// does (the menus are <details>: they open without JavaScript).
export async function menu(page, submenu, link, screenshotName) {
  const nav = page.getByRole('navigation', { name: 'Menú principal' });
  const open = async (title) => {
    if (await nav.locator('details[open] > summary', { hasText: title }).count() === 0) {
      await nav.locator('summary', { hasText: title }).click();
      await nav.locator('details[open] > summary', { hasText: title }).waitFor();
    }
  };
  await open('Comprobantes Electrónicos');
  if (submenu) await open(submenu);
  const target = nav.getByRole('link', { name: link, exact: true });
  await target.waitFor({ state: 'visible' });
  if (screenshotName) await shot(page, screenshotName);
  const href = await target.getAttribute('href');
  await target.click();
  await page.waitForURL((u) => u.pathname === href);
}

// The text a user reads on the page (its <main>).
export const mainText = async (page) => (await page.locator('main').innerText()).replace(/\s+/g, ' ');

// Does PASSWORD match the Argon2id HASH (libsodium's crypto_pwhash_str
// format, as the store keeps it)? Checked with the machine's libsodium through
// python3's ctypes, so that the tests need no npm package but playwright-core.
// Returns null when python3 or libsodium is missing.
export function argon2Verify(hash, password) {
  const script = `
import ctypes, ctypes.util, sys
name = ctypes.util.find_library("sodium")
if not name:
    print("sin-libsodium"); sys.exit(0)
lib = ctypes.CDLL(name)
if lib.sodium_init() < 0:
    print("sin-libsodium"); sys.exit(0)
password = sys.stdin.buffer.read()
ok = lib.crypto_pwhash_str_verify(ctypes.c_char_p(sys.argv[1].encode()), ctypes.c_char_p(password),
                                  ctypes.c_ulonglong(len(password))) == 0
print("si" if ok else "no")
`;
  const r = run('python3', ['-c', script, hash], { input: password });
  const out = r.stdout.trim();
  if (r.status !== 0 || out === 'sin-libsodium') return null;
  return out === 'si';
}

export const sha256hex = async (text) => (await import('node:crypto')).createHash('sha256').update(text).digest('hex');

// Waits until CHECK() is true (at most MS milliseconds); returns its last value.
export async function eventually(check, ms = 10_000) {
  const end = Date.now() + ms;
  let value = await check();
  while (!value && Date.now() < end) {
    await sleep(100);
    value = await check();
  }
  return value;
}
