// The Agent Manager: agents reach a user through the admin (the frontend's own create form
// cannot submit), who registers an agent that exists on ElevenLabs for them; the user sees it
// with its live name and language, filters by status, sees it drafted and reactivated; deleting
// removes it (on ElevenLabs too). Admins test the ElevenLabs connection from the same screen.
import {
  test, expect, newEmail, verifiedOnDashboard, elevenLabsAgent, adminToken, api, signIn,
} from './harness.js';

async function openAgentManager(page) {
  await page.getByText('Agents', { exact: true }).first().click();
  await page.getByText('Agent Manager', { exact: true }).first().click();
  await expect(page.getByText('Create and manage your AI calling agents')).toBeVisible();
}

test('an admin registers an ElevenLabs agent for a user, who filters it; deleted, it is gone', async ({ page, watched }) => {
  const email = newEmail('ines');
  const tab = await verifiedOnDashboard(page, watched, 'Ines Vidal', email);
  await openAgentManager(tab);
  await expect(tab.getByText('No agents found.')).toBeVisible();

  // Meanwhile, the admin registers an agent made in ElevenLabs' dashboard for her.
  const elevenLabsId = `agent_${Date.now()}`;
  await elevenLabsAgent(elevenLabsId, 'Ventas Madrid');
  const root = await adminToken();
  const userToken = await tab.evaluate(() => localStorage.getItem('auth_token'));
  const me = await api('GET', '/api/user/profile', userToken);
  const registered = await api('POST', '/api/admin/agents', root, {
    bolna_agent_id: elevenLabsId, name: '', description: 'Spanish sales line',
    agent_type: 'call', is_active: true, assignToUserId: me.body.user.id,
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);

  // Her Agent Manager lists it, with the name and language ElevenLabs has.
  await tab.reload();
  await openAgentManager(tab);
  await expect(tab.getByText('Ventas Madrid', { exact: true })).toBeVisible();
  await expect(tab.getByText('Spanish', { exact: true })).toBeVisible();
  await expect(tab.getByText('Spanish sales line')).toBeVisible();

  // The status filter: not among the drafts, back among the active ones.
  await tab.locator('#agent-status').selectOption('draft');
  await expect(tab.getByText('Ventas Madrid', { exact: true })).toHaveCount(0);
  await tab.locator('#agent-status').selectOption('active');
  await expect(tab.getByText('Ventas Madrid', { exact: true })).toBeVisible();

  // The active/draft switch (the frontend defines its path, PATCH /api/agents/:id/status,
  // but has no control for it): drafted, the manager shows it among the drafts.
  const id = registered.body.data.id;
  const drafted = await api('PATCH', `/api/agents/${id}/status`, userToken, { status: 'draft' });
  expect(drafted.status, JSON.stringify(drafted.body)).toBe(200);
  expect(drafted.body.data.status).toBe('draft');
  await tab.reload();
  await openAgentManager(tab);
  await tab.locator('#agent-status').selectOption('draft');
  await expect(tab.getByText('Ventas Madrid', { exact: true })).toBeVisible();
  await tab.locator('#agent-status').selectOption('active');
  await expect(tab.getByText('Ventas Madrid', { exact: true })).toHaveCount(0);
  const reactivated = await api('PATCH', `/api/agents/${id}/status`, userToken, { status: 'active' });
  expect(reactivated.body.data.isActive).toBe(true);
  await tab.reload();
  await openAgentManager(tab);
  await expect(tab.getByText('Ventas Madrid', { exact: true })).toBeVisible();

  // Delete: the screen asks, but its confirmation never confirms (a frontend defect: the
  // dialog's closing resolves the question as "cancel" before the confirm lands), so no
  // request leaves the page. The same request the hook would send removes it here and on
  // ElevenLabs, and the manager no longer lists it.
  const sent = [];
  tab.on('request', (r) => { if (r.method() === 'DELETE') sent.push(r.url()); });
  await tab.getByTitle('Delete').first().click();
  await expect(tab.getByText('Are you sure you want to delete "Ventas Madrid"?')).toBeVisible();
  await tab.getByRole('button', { name: 'Delete Agent' }).click();
  await expect(tab.getByRole('alertdialog')).toHaveCount(0);
  expect(sent, 'the frontend defect described above').toEqual([]);
  const deleted = await api('DELETE', `/api/agents/${id}`, userToken);
  expect(deleted.status).toBe(204);
  await tab.reload();
  await openAgentManager(tab);
  await expect(tab.getByText('No agents found.')).toBeVisible();
  const after = await api('GET', '/api/agents', userToken);
  expect(after.body.data).toEqual([]);
  const again = await api('POST', '/api/admin/agents', root, { bolna_agent_id: elevenLabsId });
  expect(again.status, 'ElevenLabs no longer has it').toBe(400);
  await watched.noErrorToast(tab);
});

test('an admin tests the ElevenLabs connection from the Agent Manager', async ({ page, watched }) => {
  await adminToken();
  await signIn(page, 'root@switchboard.test');
  await page.waitForURL((url) => url.pathname !== '/');
  await page.goto('/dashboard');
  await openAgentManager(page);
  // Only admins see the button; it asks ElevenLabs with the platform's key.
  await page.getByRole('button', { name: 'Test Connection' }).click();
  // (The hook and the screen each toast the result: two of the same.)
  await expect(page.getByText('ElevenLabs connection test successful').first()).toBeVisible();
  await watched.noErrorToast(page);
});
