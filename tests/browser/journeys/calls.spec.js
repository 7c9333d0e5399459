// Reviewing conversations: after ElevenLabs reports a mix of conversations through signed
// webhooks — the client's lead data as its agents write it (a Python literal on the prompt's
// 5–15 scale with the caller's details extracted, strict JSON out of 100 under another key),
// a call that never connected, one from the web widget and a chat — the call logs list every
// call with its duration and status, search and the agent filter find the right ones, the
// transcript opens and its search highlights, the recording plays; Lead Intelligence shows each
// lead with the extracted name, company and e-mail, the tag's colour and the timeline, and a
// call's analytics detail; the Calling Agent's Analytics tab counts what was sent.
import { test, expect, newEmail, verifiedOnDashboard, conversations } from './harness.js';

// The client's agents write Python literals: single quotes, an apostrophe inside a text.
const PRIYA = "{'intent_level': 'High', 'intent_score': 3, 'urgency_level': 'Medium', 'urgency_score': 2, "
  + "'budget_constraint': 'No', 'budget_score': 3, 'fit_alignment': 'High', 'fit_score': 2, "
  + "'engagement_health': 'High', 'engagement_score': 2, 'total_score': 12, 'lead_status_tag': 'Hot', "
  + "'cta_demo_clicked': 'Yes', 'cta_website_clicked': 'Yes', 'cta_pricing_clicked': 'No', "
  + "'demo_book_datetime': '2026-12-03T10:00:00+05:30', "
  + "'reasoning': {'intent': 'Wants a quote for 20 seats', 'budget': 'The lead's budget is approved'}, "
  + "'extraction': {'name': 'Priya Shah', 'email_address': 'priya@brightlane.co.uk', "
  + "'company_name': 'Brightlane', 'smartnotification': 'Priya wants a demo on Thursday'}}";

// Earlier agents: strict JSON, totals out of 100, under `main`.
const marco = (total, tag) => JSON.stringify({
  total_score: total, lead_status_tag: tag, intent_level: tag === 'Hot' ? 'High' : 'Low',
  intent_score: tag === 'Hot' ? 3 : 1, budget_constraint: 'Maybe', budget_score: 2,
  engagement_health: 'Medium', engagement_score: 2,
  reasoning: { intent: tag === 'Hot' ? 'Ready to sign this month' : 'Just browsing' },
});

/** The call-log card of `name`. */
function row(page, name) {
  return page.locator('div.overflow-hidden', { has: page.getByRole('heading', { name, exact: true }) });
}

async function openCallLogs(page) {
  await page.getByText('Agents', { exact: true }).first().click();
  await page.getByText('Calling Agent', { exact: true }).first().click();
  await page.getByText('Unified Call Logs', { exact: true }).first().click();
}

test('call logs, transcripts, recordings, Lead Intelligence and call analytics after mixed webhooks', async ({ page, watched }) => {
  // Successful plays of the page's audio, with the duration the browser decoded.
  await page.context().addInitScript(() => {
    window.__plays = [];
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function () {
      const started = play.call(this);
      started.then(() => window.__plays.push(this.duration)).catch(() => {});
      return started;
    };
  });
  const email = newEmail('rosa');
  const tab = await verifiedOnDashboard(page, watched, 'Rosa Lind', email);

  await conversations(email, [
    { number: '+14155550212', name: 'Marco Rossi', key: 'main', value: marco(45, 'Cold'), secs: 61, title: 'Browsing plans' },
    { failed: true },
    { web: true, key: 'primary', value: JSON.stringify({ total_score: 9, lead_status_tag: 'Warm' }), secs: 42, title: 'Pricing question' },
    { chat: true, total: 13, tag: 'Hot', successful: true },
  ]);
  // Later (the worker applies events that arrive together as one batch, in no set order).
  await conversations(email, [
    { number: '+14155550212', name: 'Marco Rossi', key: 'main', value: marco(85, 'Hot'), secs: 200, title: 'Ready to sign', agent: 'Closer Line' },
    // An unknown caller: the agent knew no name; the extraction gives it.
    { number: '+14155550211', name: '', value: PRIYA, secs: 95, audio: true, title: 'Demo for Brightlane' },
  ]);

  // The call logs: every call (the chat is not one), newest first, with duration and status.
  await tab.reload();
  await openCallLogs(tab);
  await expect(tab.getByText('Showing 5 calls of 5 total')).toBeVisible();
  await expect(row(tab, 'Priya Shah')).toContainText('1:35');
  await expect(row(tab, 'Priya Shah')).toContainText('Completed');
  await expect(row(tab, 'Priya Shah')).toContainText('+14155550211');
  await expect(row(tab, 'Marco Rossi').first()).toContainText('3:20', { message: 'his newer call first' });
  await expect(row(tab, 'Marco Rossi').nth(1)).toContainText('1:01');
  await expect(tab.getByText('Failed', { exact: true })).toHaveCount(1);

  // Search (on the server): the contact's name.
  await tab.getByPlaceholder('Search by contact, phone, or status...').fill('Marco');
  await expect(tab.getByText('Showing 2 calls of 2 total')).toBeVisible();
  await expect(row(tab, 'Priya Shah')).toHaveCount(0);
  await tab.getByPlaceholder('Search by contact, phone, or status...').fill('');
  await expect(tab.getByText('Showing 5 calls of 5 total')).toBeVisible();

  // The agent picker filters by the agent's name (on the server).
  await tab.getByRole('button', { name: 'All Agents' }).click();
  await tab.getByRole('menuitemcheckbox', { name: 'Closer Line' }).click();
  await tab.keyboard.press('Escape');
  await expect(tab.getByText('Showing 1 calls of 1 total')).toBeVisible();
  await expect(row(tab, 'Marco Rossi')).toContainText('3:20');
  await tab.getByRole('button', { name: 'Closer Line' }).click();
  await tab.getByRole('menuitemcheckbox', { name: 'Closer Line' }).click();
  await tab.keyboard.press('Escape');
  await expect(tab.getByText('Showing 5 calls of 5 total')).toBeVisible();

  // The transcript, and its search highlighting the match.
  await row(tab, 'Priya Shah').getByRole('button', { name: 'Transcript' }).click();
  const dialog = tab.getByRole('dialog');
  await expect(dialog.getByText('Plans start at 49 dollars per seat.')).toBeVisible();
  await dialog.getByPlaceholder('Search transcript...').fill('Thursday');
  await expect(dialog.locator('mark', { hasText: 'Thursday' }).first()).toBeVisible();
  await tab.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  // The recording plays (served as audio/mpeg; the browser decodes its length).
  await row(tab, 'Priya Shah').getByRole('button', { name: 'Play Audio' }).click();
  await expect.poll(() => tab.evaluate(() => window.__plays.length)).toBe(1);
  const decoded = await tab.evaluate(() => window.__plays[0]);
  expect(decoded).toBeGreaterThan(2);
  await watched.noErrorToast(tab);

  // Lead Intelligence: the extracted caller, the tag's colour, the timeline, the details.
  await tab.getByText('Lead Intelligence', { exact: true }).first().click();
  const priya = tab.getByRole('row', { name: /Priya Shah/ });
  await expect(priya).toContainText('priya@brightlane.co.uk');
  await expect(priya).toContainText('Brightlane');
  await expect(priya).toContainText('+14155550211');
  await expect(priya.getByText('Hot', { exact: true })).toHaveClass(/border-red-500/);
  const marcoRow = tab.getByRole('row', { name: /Marco Rossi/ });
  await expect(marcoRow.getByText('Hot', { exact: true })).toHaveClass(/border-red-500/);
  await expect(marcoRow).toContainText('2');
  const web = tab.getByRole('row', { name: /Anonymous/ });
  await expect(web.getByText('Warm', { exact: true })).toHaveClass(/border-yellow-500/);

  await marcoRow.getByText('Marco Rossi', { exact: true }).click();
  await expect(tab.getByText('Ready to sign', { exact: true })).toBeVisible();
  await expect(tab.getByText('Browsing plans', { exact: true })).toBeVisible();
  await expect(tab.getByText('03:20', { exact: true })).toBeVisible();
  await tab.getByText('Ready to sign', { exact: true }).click();
  const details = tab.getByRole('dialog');
  await expect(details).toContainText('Total Score: 85');
  await expect(details).toContainText('Ready to sign this month');
  await tab.keyboard.press('Escape');

  // The Calling Agent's Analytics tab: five calls, one never connected, two Hot; one agent's.
  await tab.getByText('Agents', { exact: true }).first().click();
  await tab.getByText('Calling Agent', { exact: true }).first().click();
  await tab.getByText('Analytics', { exact: true }).first().click();
  // A card's figure: the `text-2xl` line under its title.
  const kpi = (title) => tab.locator('div.rounded-xl', { has: tab.getByText(title, { exact: true }) })
    .last().locator('p.text-2xl');
  await expect(kpi('Total Calls Made')).toHaveText('5');
  await expect(kpi('Call Connection Rate')).toHaveText('80%');
  await expect(kpi('Not Connected')).toHaveText('1');
  await expect(kpi('Hot Leads Generated')).toHaveText('2');
  await expect(kpi('Demo Scheduled')).toHaveText('1');
  await tab.getByRole('button', { name: 'All agents' }).click();
  await tab.getByRole('menuitemcheckbox', { name: 'Closer Line' }).click();
  await tab.keyboard.press('Escape');
  await expect(kpi('Total Calls Made')).toHaveText('1');
  await expect(kpi('Hot Leads Generated')).toHaveText('1');
  await expect(kpi('Demo Scheduled')).toHaveText('0');
  await expect(tab.getByText('Failed to load analytics data. Please try again.')).toHaveCount(0);
  await watched.noErrorToast(tab);
});
