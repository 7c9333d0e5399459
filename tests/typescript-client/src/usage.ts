// What the frontend writes against the generated types. If the gateway's contract changes in a
// way this code cannot follow (a renamed field, a lost status, an untyped body), `tsc` fails.
import type { components, paths } from "./schema";

type Json<T> = T extends { content: { "application/json; charset=utf-8": infer B } } ? B : never;

type CallPage = Json<paths["/api/calls"]["get"]["responses"]["200"]>;
type ChatDetail = Json<paths["/api/chats/{id}"]["get"]["responses"]["200"]>;
type Overview = Json<paths["/api/dashboard/overview"]["get"]["responses"]["200"]>;
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

export function callRows(page: CallPage): string[] {
  return page.items.map(
    (row) => `${row.contact_name ?? row.phone_number ?? "unknown"} · ${row.duration} · ${row.lead_status_tag ?? "-"} (${row.lead_score ?? 0})`,
  );
}

export function visitorLine(chat: ChatDetail): string {
  const who = chat.visitor.name ?? chat.visitor.email ?? "anonymous";
  return `${who}: ${chat.messages.length} messages, ${chat.credits_charged} credits`;
}

export function kpi(overview: Overview): [number, number | undefined] {
  return [overview.total_calls.value, overview.total_calls.change_pct ?? undefined];
}

export function hotLeads(page: LeadPage): components["schemas"]["Lead"][] {
  return page.items.filter((lead) => lead.lead_status_tag === "Hot");
}

export function errorCode(body: NotFound): string {
  return body.error.code;
}

export const searchCalls: CallQuery = { q: "pricing", sort: "duration", order: "desc", page: 1, per_page: 25 };
