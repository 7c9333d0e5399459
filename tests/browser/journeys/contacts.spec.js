// Contacts, calling a contact, the bell and the billing card: a CRM export uploaded through the
// Contacts screen's dialog shows its counts and the rows it skipped (numbered as the
// spreadsheet numbers them), then its rows in the list; a contact is created from the form with
// the `+91 ` it pre-fills, edited (number included) and deleted; calling a contact starts the
// call through ElevenLabs and its post-call webhook completes that same call in the call logs;
// the agent's note on that call rings the bell and is marked read; the Settings page shows the
// balance, totals and the ledger after the call was charged.
import { test, expect, newEmail, verifiedOnDashboard, api } from './harness.js';

const CONTROL = process.env.CONTROL_URL || 'http://127.0.0.1:3901';
const TWILIO_NUMBER_ID = 'phnum_twilio_1';

async function openContacts(page) {
  await page.getByText('Contacts', { exact: true }).first().click();
  await expect(page.getByRole('heading', { name: 'Contacts', exact: true })).toBeVisible();
}

/** The contact list's row of `name`. */
function contactRow(page, name) {
  return page.getByRole('row').filter({ has: page.getByText(name, { exact: true }) });
}

/**
 * The delete confirmation opens from the row's menu; when the menu's closing and the dialog's
 * opening overlap, Radix can leave `pointer-events: none` on the body after the dialog closes
 * (a frontend defect: every click on the page then lands on nothing). A person reloads; so
 * does the journey, and says so in its log.
 */
async function unstuck(page) {
  await expect(page.getByRole('alertdialog')).toHaveCount(0);
  const cleared = await page
    .waitForFunction(() => document.body.style.pointerEvents !== 'none', null, { timeout: 3000 })
    .then(() => true, () => false);
  if (!cleared) {
    console.log('the page was left unclickable after the delete dialog: reloading');
    await page.reload();
  }
}

async function rowAction(page, name, action) {
  await contactRow(page, name).getByRole('button').last().click();
  await page.getByRole('menuitem', { name: action }).click();
}

test('contacts: upload, create, edit, delete, call; the bell and the billing card', async ({ page, watched }) => {
  const email = newEmail('meera');
  const tab = await verifiedOnDashboard(page, watched, 'Meera Iyer', email);
  const token = await tab.evaluate(() => localStorage.getItem('auth_token'));
  // A calling agent with a number (made through the API; the agent screens are another journey).
  const made = await api('POST', '/api/agents', token, {
    name: 'Outbound Dialer', type: 'call', first_message: 'Hi {{contact_name}}', phone_number_id: TWILIO_NUMBER_ID,
  });
  expect(made.status).toBe(201);

  await openContacts(tab);
  await expect(tab.getByText('No contacts yet').or(tab.getByText(/No contacts/)).first()).toBeVisible();

  // A contact typed in first, so the upload finds one of its numbers taken. The form's number
  // field is a country picker (+91 by default) and the national number.
  await tab.getByRole('button', { name: 'Add Contact' }).click();
  await expect(tab.getByRole('dialog').getByRole('combobox')).toContainText('+91');
  await tab.getByLabel('Name').fill('Omar Haddad');
  await tab.getByPlaceholder('Enter phone number').fill('98450 11111');
  await tab.getByRole('button', { name: 'Create Contact' }).click();
  await expect(contactRow(tab, 'Omar Haddad')).toContainText('+91 98450 11111');

  // The upload: a real .xlsx as a CRM exports it.
  const sheet = Buffer.from(await (await fetch(`${CONTROL}/spreadsheet`)).arrayBuffer());
  await tab.getByRole('button', { name: 'Bulk Upload' }).click();
  await tab.locator('input[type="file"]').setInputFiles({
    name: 'leads-november.xlsx',
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    buffer: sheet,
  });
  await tab.getByRole('button', { name: 'Upload Contacts' }).click();
  const summary = tab.locator('h4', { hasText: 'Upload Summary' }).locator('..');
  const figure = (label) => summary.locator('div.text-center', { hasText: label }).locator('div').first();
  await expect(figure('Successful')).toHaveText('2');
  await expect(figure('Failed')).toHaveText('1');
  await expect(figure('Duplicates')).toHaveText('2');
  await expect(figure('Total Processed')).toHaveText('5');
  // Rows as Excel numbers them: the title, a blank row, the header and another blank row come first.
  await expect(tab.getByText('Row 7: Ana Twice')).toBeVisible();
  await expect(tab.getByText('Row 8: Omar Haddad')).toBeVisible();
  await expect(tab.getByText('Contact "Omar Haddad" with phone 919845011111 already exists')).toBeVisible();
  await expect(tab.getByText('Row 9: No Number')).toBeVisible();
  await expect(tab.getByText('invalid phone number')).toBeVisible();
  await tab.getByRole('button', { name: 'Close', exact: true }).first().click();
  await expect(contactRow(tab, 'Dana Reyes')).toBeVisible();
  await expect(contactRow(tab, 'Dana Reyes')).toContainText('+44 7911 123456');
  await expect(contactRow(tab, 'Dana Reyes')).toContainText('Northwind');
  await expect(contactRow(tab, 'Ana Lima')).toBeVisible();

  // Create from the form with the pre-filled `+91 `, then edit the number, then delete.
  await tab.getByRole('button', { name: 'Add Contact' }).click();
  await tab.getByLabel('Name').fill('Ravi Kumar');
  await tab.getByPlaceholder('Enter phone number').fill('98450 12345');
  await tab.getByLabel('Email').fill('ravi@example.in');
  await tab.getByRole('button', { name: 'Create Contact' }).click();
  await expect(contactRow(tab, 'Ravi Kumar')).toContainText('+91 98450 12345');
  await rowAction(tab, 'Ravi Kumar', 'Edit');
  const national = tab.getByPlaceholder('Enter phone number');
  await expect(national).toHaveValue('98450 12345');
  await national.fill('98450 99999');
  await tab.getByRole('button', { name: 'Update Contact' }).click();
  await expect(contactRow(tab, 'Ravi Kumar')).toContainText('+91 98450 99999');
  await rowAction(tab, 'Ana Lima', 'Delete');
  await tab.getByRole('button', { name: 'Delete Contact' }).click();
  await expect(contactRow(tab, 'Ana Lima')).toHaveCount(0);
  await unstuck(tab);
  const listed = await api('GET', '/api/contacts?search=ravi', token);
  expect(listed.body.data.contacts[0].phone_e164).toBe('+919845099999');

  // Call Ravi through the dialog; ElevenLabs' post-call webhook completes that same call.
  await rowAction(tab, 'Ravi Kumar', 'Call (Direct)');
  // The dialog picks the only active agent itself.
  await expect(tab.getByRole('dialog').getByRole('combobox')).toContainText('Outbound Dialer');
  await tab.getByRole('button', { name: 'Call Now' }).click();
  await expect(tab.getByRole('dialog')).toHaveCount(0);
  const dialled = await api('GET', '/api/calls', token);
  expect(dialled.body.data[0]).toMatchObject({ contactName: 'Ravi Kumar', phoneNumber: '+919845099999' });
  const finished = await (await fetch(`${CONTROL}/calls/finish`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }),
  })).json();
  expect(finished.finished).toBe(1);
  const calls = await api('GET', '/api/calls', token);
  expect(calls.body.pagination.total).toBe(1);
  expect(calls.body.data[0]).toMatchObject({ contactName: 'Ravi Kumar', status: 'completed', durationSeconds: 75 });

  await tab.getByText('Agents', { exact: true }).first().click();
  await tab.getByText('Calling Agent', { exact: true }).first().click();
  await tab.getByText('Unified Call Logs', { exact: true }).first().click();
  const logRow = tab.locator('div.overflow-hidden', { has: tab.getByRole('heading', { name: 'Ravi Kumar', exact: true }) });
  await expect(logRow).toBeVisible();
  await expect(logRow).toContainText('1:15');

  // The agent's note on the call rings the bell; opening it marks it read.
  await tab.reload();
  const bell = tab.locator('button:has(svg.lucide-bell)');
  await expect(bell).toContainText('1');
  await bell.click();
  const note = tab.getByText('Callback requested', { exact: true });
  await expect(note).toBeVisible();
  await note.click();
  await expect.poll(async () => (await api('GET', '/api/notifications', token)).body.data.unreadCount).toBe(0);
  await tab.reload();
  await expect(tab.locator('button:has(svg.lucide-bell)')).not.toContainText('1');

  // The billing card: the free credits, the call's two credits used, the ledger's rows.
  const stats = (await api('GET', '/api/billing/stats', token)).body.data;
  expect(stats.totalUsed).toBe(2);
  await tab.getByText('Settings', { exact: true }).first().click();
  await expect(tab.getByText('Profile Information')).toBeVisible();
  await expect(tab.getByText(`${stats.currentBalance} available`)).toBeVisible();
  const usage = tab.locator('div.space-y-2', { has: tab.getByText('Total Used:') });
  await expect(usage).toContainText('Total Used:2');
  await expect(tab.getByText(`${stats.transactionCount} transactions`)).toBeVisible();
});
