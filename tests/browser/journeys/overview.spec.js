// The Overview: a new account's zero state, then the KPI cards after ElevenLabs has reported
// a known set of calls and chats through signed webhooks (the figures a recount of that set
// gives; `tests/tests/dashboard.rs` checks every card and chart point against the rows).
import { test, expect, newEmail, verifiedOnDashboard, conversations } from './harness.js';

/** The value shown on the KPI card labelled `label`. */
function card(page, label) {
  const box = page.locator('div.rounded-lg', { has: page.getByText(label, { exact: true }) }).last();
  return { box, value: box.locator('span.text-2xl') };
}

test('the Overview shows the zero state, then what the webhooks reported', async ({ page, watched }) => {
  const email = newEmail('olga');
  const tab = await verifiedOnDashboard(page, watched, 'Olga Berg', email);

  await expect(tab.getByText('Key Performance Indicators')).toBeVisible();
  await expect(tab.getByText('No KPI data')).toHaveCount(0);
  for (const label of ['Total Unique Leads', 'Total Interactions', 'Leads Converted']) {
    await expect(card(tab, label).value).toHaveText('0');
    await expect(card(tab, label).box).toContainText('vs previous 30 days');
  }
  await expect(tab.getByText('Avg. Lead Score', { exact: true })).toHaveCount(0);

  // Three calls (Hot, Warm, Cold; two evaluated successful) and one Hot chat.
  await conversations(email, [
    { total: 14, tag: 'Hot', ctas: ['demo_clicked'], successful: true },
    { total: 9, tag: 'Warm', successful: false },
    { total: 3, tag: 'Cold', successful: true },
    { chat: true, total: 13, tag: 'Hot', successful: true },
  ]);
  await tab.reload();
  await expect(card(tab, 'Total Unique Leads').value).toHaveText('4');
  await expect(card(tab, 'Total Interactions').value).toHaveText('4');
  await expect(card(tab, 'Leads Converted').value).toHaveText('2');
  await expect(card(tab, 'Leads Converted').box).toContainText('(50%)');
  // Out of 100: 14, 9, 3 and 13 of 15 are 93, 60, 20 and 87.
  await expect(card(tab, 'Avg. Lead Score').value).toHaveText('65.0');
  await expect(card(tab, 'Call Success Rate').value).toHaveText('66.7%');
  await expect(card(tab, 'Avg. Conversations per Hour').value).toBeVisible();
  await expect(tab.getByText('No KPI data')).toHaveCount(0);
  await watched.noErrorToast(tab);
});
