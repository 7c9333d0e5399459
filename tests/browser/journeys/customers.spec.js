// From lead to customer: after ElevenLabs reports two calls with a lead (the second books a
// demo), Lead Intelligence shows the lead; a follow-up is scheduled from its row with the date
// picker and a remark, then marked done (and back); the lead is converted through the conversion dialog
// with a sales rep and notes and leaves Lead Intelligence; the Customers tab lists the customer
// with its reference, details and rep, its detail shows both calls, and its status is switched
// to Inactive.
import { test, expect, newEmail, verifiedOnDashboard, conversations, api } from './harness.js';

const lead = (total, tag, extra = {}) => JSON.stringify({
  total_score: total, lead_status_tag: tag, intent_level: 'High', intent_score: 3,
  urgency_level: 'Medium', budget_constraint: 'No', fit_alignment: 'High',
  engagement_health: 'High', engagement_score: 3,
  extraction: { name: 'Nadia Okafor', email_address: 'nadia@tidewater.io', company_name: 'Tidewater' },
  ...extra,
});

test('schedule a follow-up, convert a lead and manage the customer', async ({ page, watched }) => {
  const email = newEmail('omar');
  const tab = await verifiedOnDashboard(page, watched, 'Omar Haddad', email);
  await conversations(email, [
    { number: '+14155550301', name: 'Nadia Okafor', value: lead(11, 'Warm'), secs: 70, title: 'First questions' },
  ]);
  await conversations(email, [
    {
      number: '+14155550301', name: 'Nadia Okafor', secs: 185, title: 'Demo booked',
      value: lead(14, 'Hot', { demo_book_datetime: '2027-01-20T15:30:00+00:00' }),
    },
  ]);

  await tab.reload();
  await tab.getByText('Lead Intelligence', { exact: true }).first().click();
  const nadia = tab.getByRole('row', { name: /Nadia Okafor/ });
  await expect(nadia).toContainText('nadia@tidewater.io');
  await expect(nadia.getByText('Hot', { exact: true })).toBeVisible();
  // The cells after the checkbox: …, follow-up date (12), its status (13), demo (14).
  const cell = (n) => nadia.getByRole('cell').nth(n + 1);
  await expect(cell(14)).toContainText('Jan 20, 2027');
  await expect(cell(13)).toHaveText('-');

  // Schedule a follow-up on the 15th of next month (the picker refuses past days).
  await cell(12).getByRole('button').click();
  const dialog = tab.getByRole('dialog');
  await expect(dialog.getByText('Scheduling follow-up for:')).toContainText('Nadia Okafor');
  await dialog.getByRole('button', { name: 'Pick a date' }).click();
  await tab.getByRole('button', { name: 'Go to next month' }).click();
  await tab.getByRole('gridcell', { name: '15', exact: true }).click();
  await dialog.getByPlaceholder('Add a note about this follow-up...').fill('Send the 20-seat quote');
  await dialog.getByRole('button', { name: 'Schedule Follow-up' }).click();
  await expect(dialog).toHaveCount(0);
  // The lead's row shows the day as the browser reads it (a day is stored at noon UTC).
  const day = await tab.evaluate(() => {
    const now = new Date();
    return new Date(Date.UTC(now.getFullYear(), now.getMonth() + 1, 15, 12)).toLocaleDateString();
  });
  await expect(cell(12)).toHaveText(day);
  await expect(cell(13)).toContainText('Pending');

  const token = await tab.evaluate(() => localStorage.getItem('auth_token'));
  const followUps = async () => (await api('GET', '/api/follow-ups', token)).body.data;
  const [task] = await followUps();
  expect(task.remark).toBe('Send the 20-seat quote');
  expect(task.status).toBe('pending');

  // The switch: done, back to pending (it sends `scheduled`), done again; kept after a reload.
  const status = cell(13).getByRole('switch');
  await status.click();
  await expect(cell(13)).toContainText('Done');
  await expect.poll(async () => (await followUps())[0].status).toBe('completed');
  await status.click();
  await expect(cell(13)).toContainText('Pending');
  await expect.poll(async () => (await followUps())[0].status).toBe('pending');
  await status.click();
  await expect.poll(async () => (await followUps())[0].status).toBe('completed');
  await tab.reload();
  await tab.getByText('Lead Intelligence', { exact: true }).first().click();
  await expect(cell(13)).toContainText('Done');

  // Convert: the dialog starts from the lead's details; a rep and notes are added.
  await nadia.getByRole('button', { name: 'Convert' }).click();
  const convert = tab.getByRole('dialog');
  await expect(convert.getByRole('heading', { name: 'Convert to Customer' })).toBeVisible();
  await expect(convert.getByLabel('Name *')).toHaveValue('Nadia Okafor');
  await expect(convert.getByLabel('Email')).toHaveValue('nadia@tidewater.io');
  await expect(convert.getByLabel('Company')).toHaveValue('Tidewater');
  await convert.getByLabel('Assigned Sales Rep').fill('Dana Cole');
  await convert.getByLabel('Notes').fill('Signed for 20 seats');
  await convert.getByRole('button', { name: 'Convert to Customer' }).click();
  await expect(convert).toHaveCount(0);
  // A customer is no longer a lead.
  await expect(nadia).toHaveCount(0);

  // The Customers tab: reference, details, rep, status, the latest call's day.
  await tab.getByText('Customers', { exact: true }).first().click();
  const customer = tab.getByRole('row', { name: /Nadia Okafor/ });
  await expect(customer).toContainText(/CUST-\d{4}-[0-9A-F]{8}/);
  await expect(customer).toContainText('nadia@tidewater.io');
  await expect(customer).toContainText('+14155550301');
  await expect(customer).toContainText('Tidewater');
  await expect(customer).toContainText('Dana Cole');
  await expect(customer).toContainText('Active');
  await expect(customer).toContainText('Signed for 20 seats');

  await expect(customer).not.toContainText('No interactions');

  // Switched to Inactive, and the server kept it (the tab's success toast goes to a toaster
  // the app never mounts).
  await customer.getByRole('switch').click();
  await expect(customer).toContainText('Inactive');
  await expect.poll(async () => (await api('GET', '/api/customers?status=Inactive', token)).body.data.customers.length).toBe(1);
  const [stored] = (await api('GET', '/api/customers', token)).body.data.customers;
  expect(stored.status).toBe('Inactive');
  expect(stored.assigned_sales_rep).toBe('Dana Cole');

  // The detail: both calls with the lead, newest first, with their scores' levels.
  await customer.getByText('Nadia Okafor', { exact: true }).click();
  await expect(tab.getByText('Rep: Dana Cole')).toBeVisible();
  await expect(tab.getByText('Lead Intelligence', { exact: true }).last()).toBeVisible();
  const calls = tab.getByRole('row').filter({ hasText: 'Tidewater' });
  await expect(calls).toHaveCount(2);
  await expect(calls.first()).toContainText('03:05');
  await expect(calls.nth(1)).toContainText('01:10');
  await watched.noErrorToast(tab);
});
