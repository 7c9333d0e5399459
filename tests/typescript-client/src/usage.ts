// What the frontend writes against the generated types. If the gateway's contract changes in a
// way this code cannot follow (a renamed field, a lost status, an untyped body), `tsc` fails.
import type { components, paths } from "./schema";

type Json<T> = T extends { content: { "application/json; charset=utf-8": infer B } } ? B : never;

type CallPage = Json<paths["/api/calls"]["get"]["responses"]["200"]>;
type ChatDetail = Json<paths["/api/chats/{id}"]["get"]["responses"]["200"]>;
type Overview = Json<paths["/api/dashboard/overview"]["get"]["responses"]["200"]>;
type Analytics = Json<paths["/api/dashboard/analytics"]["get"]["responses"]["200"]>;
type AgentList = Json<paths["/api/agents"]["get"]["responses"]["200"]>;
type LeadPage = Json<paths["/api/leads"]["get"]["responses"]["200"]>;
type NotFound = Json<paths["/api/calls/{id}"]["get"]["responses"]["404"]>;
type CallQuery = NonNullable<paths["/api/calls"]["get"]["parameters"]["query"]>;
type SignedIn = Json<paths["/api/auth/login"]["post"]["responses"]["200"]>;
type Validated = Json<paths["/api/auth/validate"]["get"]["responses"]["200"]>;

// What the client's AuthContext keeps of a sign-in, and the gate it checks.
export function storeSession(s: SignedIn): [string, string, string] {
  return [s.token, s.refreshToken, s.user.role];
}

export function verificationGateOpen(v: Validated): boolean {
  return v.user.emailVerified;
}

// The client keeps only its own codes; the union is generated from the gateway's enum.
export function isLocked(body: NotFound): boolean {
  const code: components["schemas"]["ErrorCode"] = body.error.code;
  return code === "ACCOUNT_LOCKED";
}

// CallLogs: the card's name line, mm:ss from durationSeconds, the status word and the source.
export function callRows(page: CallPage): string[] {
  return page.data.map(
    (row) =>
      `${row.contactName ?? "Unknown Contact"} ${row.phoneNumber ?? ""} · ${Math.floor(row.durationSeconds / 60)}:${String(row.durationSeconds % 60).padStart(2, "0")} · ${row.status} · ${row.callSource} · ${row.leadTag ?? "-"} (${row.totalScore ?? 0})`,
  );
}

export function hasMoreCalls(page: CallPage): boolean {
  return page.pagination.hasMore;
}

export function visitorLine(chat: ChatDetail): string {
  const who = chat.visitor.name ?? chat.visitor.email ?? "anonymous";
  return `${who}: ${chat.messages.length} messages, ${chat.credits_charged} credits`;
}

// OverviewKPIs: each card's label, value (a count or a formatted figure) and delta.
export function kpi(overview: Overview): [string, number | string, number | undefined][] {
  return overview.data.kpis.map((card) => [card.label, card.value, card.delta ?? undefined]);
}

export function detailedCalls(overview: Overview): [number, number | undefined] {
  return [overview.data.total_calls.value, overview.data.total_calls.change_pct ?? undefined];
}

// OverviewCharts: the per-day lines and the lead-quality split.
export function chartPoints(analytics: Analytics): [string, number, number][] {
  return analytics.data.interactionsOverTimeData.map((p) => [p.date, p.call, p.chat]);
}

export function hotShare(analytics: Analytics): number {
  const hot = analytics.data.leadQualityData.find((q) => q.name === "Hot");
  return (hot?.callCount ?? 0) + (hot?.chatCount ?? 0);
}

// AgentManager: the card line and the type the call-log filter compares.
export function agentCards(list: AgentList): string[] {
  return list.data.map(
    (a) => `${a.name} · ${a.type === "ChatAgent" ? "chat" : "call"} · ${a.language ?? "-"} · ${a.successRate}% · ${a.avgDuration}`,
  );
}

export function hotLeads(page: LeadPage): components["schemas"]["LeadItem"][] {
  return page.data.filter((lead) => lead.leadTag === "Hot");
}

// LeadIntelligence: the table's row and the badge the tag colours.
type LeadGroups = Json<paths["/api/lead-intelligence"]["get"]["responses"]["200"]>;
export function leadRows(groups: LeadGroups): string[] {
  return groups.map(
    (g) => `${g.name} ${g.email ?? ""} ${g.company ?? ""} · ${g.recentLeadTag.toLowerCase()} · ${g.interactedAgents.join(", ")} · ${g.interactions}`,
  );
}

export function errorCode(body: NotFound): string {
  return body.error.code;
}

export const searchCalls: CallQuery = {
  search: "pricing", sortBy: "duration_seconds", sortOrder: "DESC", limit: 30, offset: 0, agent: ["Sales line"],
};

type ContactList = Json<paths["/api/contacts"]["get"]["responses"]["200"]>;
type UploadAnswer = Json<paths["/api/contacts/upload"]["post"]["responses"]["200"]>;
type Notifications = Json<paths["/api/notifications"]["get"]["responses"]["200"]>;
type OpenedIntent = Json<paths["/api/billing/purchase"]["post"]["responses"]["201"]>;

// ContactList: the rows (the form splits phone_number's country code at the space), the pager.
export function contactRows(list: ContactList): [string, string, string, boolean] {
  const first = list.data.contacts[0];
  return [first.name, first.phone_number, first.call_link_type, list.data.pagination.hasMore];
}

// BulkContactUpload: the result panel reads `data` itself, duplicates by "already exists".
export function uploadPanel(answer: UploadAnswer): [boolean, number, string[]] {
  const result = answer.data;
  return [
    result.success,
    result.summary.successful + result.summary.failed + result.summary.duplicates,
    result.errors.map((e) => `Row ${e.row}: ${e.data.name} ${e.error.includes("already exists") ? "duplicate" : e.error}`),
  ];
}

// NotificationDropdown: the badge and each card's line, score and demo.
export function bell(list: Notifications): [number, string[]] {
  return [
    list.data.unreadCount,
    list.data.notifications.map((n) => `${n.smartNotification} ${n.totalScore ?? ""} ${n.leadType} ${n.demoBookDateTime ?? ""} ${n.isRead}`),
  ];
}

// CreditPurchaseModal: Stripe.js takes the client secret; the total is shown in dollars.
export function purchaseStep(opened: OpenedIntent): [string, string] {
  return [opened.data.clientSecret, opened.data.pricing.totalPrice.toFixed(2)];
}

type CustomerList = Json<paths["/api/customers"]["get"]["responses"]["200"]>;
type CustomerDetail = Json<paths["/api/customers/{id}"]["get"]["responses"]["200"]>;

// Customers: the table's row, and the detail's timeline (date-fns formats `interaction_date`).
export function customerRow(list: CustomerList): [string, string, string | undefined, string] {
  const c = list.data.customers[0];
  return [c.customer_reference_number, c.status, c.latest_interaction_date, c.conversion_date];
}

export function customerTimeline(detail: CustomerDetail): string[] {
  return detail.data.timeline.map(
    (e) => `${e.interaction_date} ${e.agent_name ?? "Unknown"} ${e.duration} ${e.status ?? e.call_status} ${e.companyName ?? "-"} ${e.intentLevel ?? "Unknown"}`,
  );
}
