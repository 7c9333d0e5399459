// What every journey shares: a page that fails on what a person would notice (an uncaught
// error, an error toast, a 4xx/5xx from our API that the journey did not provoke), a network
// log written next to the failure screenshot, and the inbox of the stack's SMTP sink.
import { test as base, expect } from '@playwright/test';
import fs from 'node:fs';

export const API = process.env.API_URL || 'http://localhost:3900';
const CONTROL = process.env.CONTROL_URL || 'http://127.0.0.1:3901';

export const PASSWORD = 'Sunny-Roof-2026';

/** A fresh address per journey: journeys share one backend, users keep them apart. */
export function newEmail(tag) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/**
 * The credit banner sits on every page, the sign-in page included, and asks for the balance
 * whether or not anyone is signed in (`Bearer null`): a 401 to a request that carried no token
 * is the right answer (the banner hides itself), not a failure.
 */
function signedOutProbe(response) {
  const auth = response.request().headers()['authorization'] || '';
  return response.status() === 401 && /^(|Bearer( null| undefined)?)$/.test(auth.trim());
}

/**
 * Endpoints of features the contract lists as LATER (§6) that these screens call anyway; their
 * failure stays inside their own card. Each later issue removes its entries.
 */
const LATER = [/^\/api\/openai-prompts\/(validate|admin\/)/];
function later(path) {
  return LATER.some((re) => re.test(path));
}

export const test = base.extend({
  watched: [async ({ page }, use, testInfo) => {
    const problems = [];
    const log = [];
    // Statuses a journey provokes on purpose, e.g. `401 /api/auth/login`.
    const expected = [];
    // Answers the frontend's own code asks for, any number of times (each with its reason).
    const allowed = new Map();
    let lastAllowedAt = 0;
    // Every tab of the journey is watched (an emailed link opens in a new one).
    const attach = (p) => {
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      // The page's own console, beside its requests: what the frontend thought happened.
        p.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning' || /logout|token|session/i.test(m.text())) {
          log.push(`  console.${m.type()}: ${m.text().slice(0, 300)}`);
        }
      });
        p.on('response', (r) => {
        const url = new URL(r.url());
        log.push(`${r.request().method()} ${r.status()} ${url.pathname}${url.search}`);
        if (url.pathname.startsWith('/api/') && r.status() >= 400) {
          const key = `${r.status()} ${url.pathname}`;
          const i = expected.indexOf(key);
          if (i >= 0) expected.splice(i, 1);
          else if (allowed.has(key)) {
            lastAllowedAt = Date.now();
            log.push(`  (${allowed.get(key)}: ${key})`);
          }
          else if (signedOutProbe(r)) log.push(`  (signed-out probe: ${key})`);
          else if (later(url.pathname)) log.push(`  (LATER endpoint, outside this issue: ${key})`);
          else problems.push(`unexpected ${r.request().method()} ${key}`);
        }
      });
        p.on('requestfailed', (r) => {
        const url = new URL(r.url());
        if (url.pathname.startsWith('/api/')) log.push(`FAILED ${r.method()} ${url.pathname}: ${r.failure()?.errorText}`);
      });
    };
    attach(page);
    page.context().on('page', attach);
    const watched = {
      problems,
      /** Another person's browser (a second context) is watched as well. */
      watch(context) {
        context.pages().forEach(attach);
        context.on('page', attach);
      },
      /** The journey is about to provoke this answer (once). */
      expect(status, path) { expected.push(`${status} ${path}`); },
      /** The frontend itself provokes this answer (see `reason`), however often. */
      allow(status, path, reason) { allowed.set(`${status} ${path}`, reason); },
      /** No error toast on the page (the journey's first tab unless given) now. */
      async noErrorToast(on = page) {
        const errors = on.locator('[data-sonner-toast][data-type="error"], [role="status"].destructive, .destructive[data-state="open"]');
        let texts = await errors.allInnerTexts();
        // The frontend toasts every failed request with its generic text, those it provokes
        // itself (an allowed answer) too: these, while they last, are its doing.
        if (Date.now() - lastAllowedAt < 10_000) {
          const own = texts.filter((t) => t.startsWith('An unexpected error occurred'));
          if (own.length) log.push(`  (the frontend's toast for its own request: ${own.length})`);
          texts = texts.filter((t) => !t.startsWith('An unexpected error occurred'));
        }
        if (texts.length) problems.push(`error toast: ${texts.join(' | ')}`);
      },
    };
    await use(watched);
    fs.writeFileSync(testInfo.outputPath('network.log'), log.join('\n') + '\n');
    if (testInfo.status !== testInfo.expectedStatus) {
      await page.screenshot({ path: testInfo.outputPath('failure.png'), fullPage: true }).catch(() => {});
    }
    expect(problems, 'what a person would have noticed').toEqual([]);
  }, { auto: true }],
});

export { expect };

/** The messages the SMTP sink received for `to`, once at least `count` have arrived. */
export async function inbox(to, count = 1) {
  for (let i = 0; i < 150; i++) {
    const r = await fetch(`${CONTROL}/mail?to=${encodeURIComponent(to)}`);
    const mails = await r.json();
    if (mails.length >= count) return mails;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`fewer than ${count} mail(s) reached ${to}`);
}

/**
 * Opens an emailed link as a person does: in a new tab of the same browser. (Navigating the
 * first tab instead would abort its in-flight requests; the frontend signs the user out when a
 * refresh or session check fails, aborted or not.)
 */
export async function openLink(page, link) {
  const tab = await page.context().newPage();
  await tab.goto(link);
  return tab;
}

/** The first link of a message that opens the frontend at `path`. */
export function linkTo(mail, path) {
  const link = mail.links.find((l) => new URL(l).pathname === path);
  if (!link) throw new Error(`no ${path} link in: ${mail.text}`);
  return link;
}

/** Signs up through the form; the verification gate is what a new user sees next. */
export async function signUp(page, { name, email, password = PASSWORD }) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await page.getByPlaceholder('Enter your full name').fill(name);
  await page.getByPlaceholder('john@company.com').fill(email);
  await page.getByPlaceholder('Create a password').fill(password);
  await page.getByPlaceholder('Confirm your password').fill(password);
  await page.locator('#terms').click();
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** Signs in through the form. */
export async function signIn(page, email, password = PASSWORD) {
  await page.goto('/');
  await page.getByPlaceholder('john@company.com').fill(email);
  await page.getByPlaceholder('Enter your password').fill(password);
  await page.getByRole('button', { name: /^Sign in$/i }).click();
}

/** Who signs in at the fake Google from now on. */
export async function googleAccount(account) {
  const r = await fetch(`${CONTROL}/google`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(account),
  });
  if (!r.ok) throw new Error(`fake Google refused the account: ${r.status}`);
}

/** Registers an account directly (for journeys about what comes after sign-up). */
export async function registered(email, name, password = PASSWORD) {
  const r = await fetch(`${API}/api/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, name }),
  });
  if (r.status !== 201) throw new Error(`register ${email}: ${r.status} ${await r.text()}`);
  return r.json();
}

/**
 * The verification page posts its token again after every success (its effect depends on a
 * function the auth context recreates each render); the API answers the repeat 400
 * `already_verified`, which ends the loop. A second success would keep it posting until the
 * browser's own request limit signs the user out.
 */
export function allowRepost(watched) {
  watched.allow(400, '/api/email/verify', 'the verification page posting its token again');
}

/** A verified user on the dashboard: sign up through the form, open the emailed link. */
export async function verifiedOnDashboard(page, watched, name, email) {
  await signUp(page, { name, email });
  await expect(page.getByRole('heading', { name: 'Verify Your Email' })).toBeVisible();
  const [mail] = await inbox(email, 1);
  allowRepost(watched);
  const tab = await openLink(page, linkTo(mail, '/verify-email'));
  await expect(tab.getByText('Email verified successfully!', { exact: true }).first()).toBeVisible();
  await tab.waitForURL((url) => url.pathname === '/dashboard');
  await expect(tab.getByRole('heading', { name: 'Verify Your Email' })).toHaveCount(0);
  await expect(tab.getByText(`Welcome ${name}!`)).toBeVisible();
  return tab;
}

/**
 * Delivers ElevenLabs' post-call reports for `email`'s agents as signed webhooks (the stack
 * creates a call and a chat agent on first use) and returns once they are processed.
 */
export async function conversations(email, list) {
  const r = await fetch(`${CONTROL}/conversations`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, conversations: list }),
  });
  if (!r.ok) throw new Error(`delivering conversations: ${r.status} ${await r.text()}`);
  return r.json();
}

/** Makes an agent exist at the fake ElevenLabs, as one made in its own dashboard. */
export async function elevenLabsAgent(agent_id, name) {
  const r = await fetch(`${CONTROL}/elevenlabs/agents`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id, name }),
  });
  if (!r.ok) throw new Error(`fake ElevenLabs refused the agent: ${r.status}`);
}

/**
 * The stack's admin (ADMIN_EMAIL, promoted once its address is verified): registered and
 * verified through the emailed link on first use, signed in after.
 */
const adminTokens = new Map();

export async function adminToken(email = 'root@switchboard.test') {
  // Journeys in a row sign the same admin in: reusing a fresh token keeps them inside the
  // per-email sign-in budget (5 a minute) that the UI sign-ins also draw on.
  const cached = adminTokens.get(email);
  if (cached && Date.now() - cached.at < 60_000) return cached.token;
  const token = await signInAdmin(email);
  adminTokens.set(email, { token, at: Date.now() });
  return token;
}

async function signInAdmin(email) {
  const post = (path, body) => fetch(`${API}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const r = await post('/api/auth/register', { email, password: PASSWORD, name: 'Platform Admin' });
  if (r.status === 201) {
    const [mail] = await inbox(email, 1);
    const token = new URL(linkTo(mail, '/verify-email')).searchParams.get('token');
    const verified = await post('/api/email/verify', { token });
    if (!verified.ok) throw new Error(`admin verification: ${verified.status} ${await verified.text()}`);
  }
  const login = await post('/api/auth/login', { email, password: PASSWORD });
  if (!login.ok) throw new Error(`admin sign-in: ${login.status} ${await login.text()}`);
  return (await login.json()).token;
}

/** Calls our API as `token` from outside the page (what another person does meanwhile). */
export async function api(method, path, token, body) {
  const r = await fetch(`${API}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
