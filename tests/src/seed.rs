//! A large account history written straight into PostgreSQL for the dashboard benchmark:
//! users, agents, contacts, calls with transcripts and lead scores, each derived from the row
//! number so a run is repeatable. The contacts' lead summaries are filled as the post-call job
//! would; the hourly counters are rebuilt by the product's own `rebuild`.

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use uuid::Uuid;

pub struct Shape {
    pub users: usize,
    pub calls: usize,
    /// Calls of the first user (the heavy account); the rest are spread over the others.
    pub heavy_calls: usize,
    pub heavy_contacts: usize,
    pub contacts_per_user: usize,
}

const TOPICS: &str = "'solar','insurance','mortgage','roofing','dental','fitness','catering','tutoring','plumbing','landscaping',\
'accounting','marketing','recruiting','security','cleaning','moving','storage','printing','photography','consulting',\
'payroll','hosting','flooring','windows','heating','cooling','lighting','furniture','signage','translation',\
'training','coaching','wellness','nutrition','childcare','eldercare','veterinary','grooming','laundry','courier',\
'logistics','packaging','welding','painting','masonry','fencing','paving','glazing','tiling','carpentry'";

/// Writes the history in one transaction, printing how long each statement took.
pub async fn history(db: &DatabaseConnection, heavy_user: Uuid, s: &Shape) -> anyhow::Result<()> {
    let others = s.users - 1;
    let statements = [
        format!(
            "CREATE TEMP TABLE bench_users ON COMMIT DROP AS \
             SELECT 0 AS idx, '{heavy_user}'::uuid AS id \
             UNION ALL SELECT g, gen_random_uuid() FROM generate_series(1, {others}) g"
        ),
        "INSERT INTO users (id, email, auth_provider, timezone, default_region, settings, role, status, \
           email_verified_at, failed_logins, credits, created_at, updated_at, session_epoch) \
         SELECT id, 'bench' || idx || '@example.com', 'email', 'UTC', 'US', '{}', 'user', 'active', \
           now(), 0, 1000, now(), now(), 0 FROM bench_users WHERE idx > 0"
            .to_string(),
        "CREATE TEMP TABLE bench_agents ON COMMIT DROP AS \
         SELECT u.idx AS user_idx, a AS agent_idx, gen_random_uuid() AS id, u.id AS user_id \
         FROM bench_users u, generate_series(0, 4) a WHERE a < CASE WHEN u.idx = 0 THEN 5 ELSE 2 END"
            .to_string(),
        "INSERT INTO agents (id, user_id, elevenlabs_agent_id, kind, status, name, config, sync_state, \
           created_at, updated_at) \
         SELECT id, user_id, 'bench_agent_' || user_idx || '_' || agent_idx, 'call', 'active', \
           'Agent ' || agent_idx, '{}', 'synced', now(), now() FROM bench_agents"
            .to_string(),
        format!(
            "CREATE TEMP TABLE bench_contacts ON COMMIT DROP AS \
             SELECT 0 AS user_idx, c AS contact_idx, gen_random_uuid() AS id, '{heavy_user}'::uuid AS user_id \
             FROM generate_series(0, {}) c \
             UNION ALL SELECT u.idx, c, gen_random_uuid(), u.id \
             FROM bench_users u, generate_series(0, {}) c WHERE u.idx > 0",
            s.heavy_contacts - 1,
            s.contacts_per_user - 1
        ),
        "INSERT INTO contacts (id, user_id, name, phone_e164, phone_raw, email, company, tags, \
           custom_fields, do_not_call, created_at, updated_at) \
         SELECT id, user_id, \
           (ARRAY['Ann','Bob','Cid','Dee','Eve','Fay','Gus','Hal','Ivy','Jon'])[contact_idx % 10 + 1] || ' ' || \
           (ARRAY['Apple','Berry','Cherry','Date','Elder','Fig','Grape','Hazel','Ilex','Juniper','Kiwi','Lime'])[(contact_idx / 10) % 12 + 1] \
             || ' ' || contact_idx, \
           '+1415' || lpad(contact_idx::text, 7, '0'), '(415) ' || contact_idx, \
           'c' || contact_idx || '@example.com', 'Company ' || (contact_idx % 500), '[]', '{}', false, now(), now() \
         FROM bench_contacts"
            .to_string(),
        format!(
            "CREATE TEMP TABLE bench_calls ON COMMIT DROP AS \
             SELECT g, gen_random_uuid() AS id, \
               CASE WHEN g <= {heavy} THEN 0 ELSE 1 + (g % {others}) END AS user_idx, \
               CASE WHEN g % 13 = 0 THEN 0 ELSE 20 + (g::bigint * 7919) % 580 END AS secs, \
               now() - ((g::bigint * 104729) % (365 * 86400)) * interval '1 second' AS at, \
               (g * 3) % 4 AS s1, (g * 5) % 4 AS s2, (g * 7) % 4 AS s3, (g / 3) % 4 AS s4, (g / 7) % 4 AS s5 \
             FROM generate_series(1, {total}) g",
            heavy = s.heavy_calls,
            total = s.calls,
        ),
        format!(
            "INSERT INTO calls (id, user_id, agent_id, contact_id, channel, direction, \
               elevenlabs_conversation_id, phone_number, status, failure_reason, duration_secs, \
               credits_charged, summary, summary_title, call_successful, metadata, started_at, \
               completed_at, created_at, updated_at, lead_score, lead_tag, transcript_text) \
             SELECT c.id, u.id, a.id, ct.id, 'call', \
               CASE WHEN c.g % 3 = 0 THEN 'inbound' ELSE 'outbound' END, 'bench_conv_' || c.g, \
               '+1415' || lpad(ct.contact_idx::text, 7, '0'), \
               CASE WHEN c.g % 13 = 0 THEN 'failed' ELSE 'completed' END, \
               CASE WHEN c.g % 13 = 0 THEN 'busy' END, c.secs, (c.secs + 59) / 60, \
               'Talked about ' || (ARRAY[{TOPICS}])[c.g % 50 + 1] || '.', 'Call ' || c.g, \
               CASE WHEN c.g % 13 = 0 THEN NULL WHEN c.g % 4 = 0 THEN 'failure' ELSE 'success' END, \
               '{{}}', c.at, c.at + c.secs * interval '1 second', c.at, c.at, \
               CASE WHEN c.g % 13 <> 0 THEN \
                 ROUND((c.s1 + c.s2 + c.s3 + c.s4 + c.s5) * 100.0 / 15)::int END, \
               CASE WHEN c.g % 13 = 0 THEN NULL \
                 WHEN c.s1 + c.s2 + c.s3 + c.s4 + c.s5 >= 12 THEN 'Hot' \
                 WHEN c.s1 + c.s2 + c.s3 + c.s4 + c.s5 >= 9 THEN 'Warm' ELSE 'Cold' END, \
               CASE WHEN c.g % 13 = 0 THEN NULL ELSE \
                 'agent: Hi, this is Ava calling from Acme about your enquiry.' || E'\\n' || \
                 'user: I am looking at ' || (ARRAY[{TOPICS}])[c.g % 50 + 1] || ' for my ' || \
                   (ARRAY[{TOPICS}])[(c.g / 50) % 50 + 1] || ' business, what does it cost?' || E'\\n' || \
                 'agent: Plans start at ' || (c.g % 90 + 10) || ' dollars a month; shall I book a demo?' END \
             FROM bench_calls c \
             JOIN bench_users u ON u.idx = c.user_idx \
             JOIN bench_agents a ON a.user_idx = c.user_idx \
               AND a.agent_idx = c.g % (CASE WHEN c.user_idx = 0 THEN 5 ELSE 2 END) \
             JOIN bench_contacts ct ON ct.user_idx = c.user_idx \
               AND ct.contact_idx = (c.g * 31) % (CASE WHEN c.user_idx = 0 THEN {} ELSE {} END)",
            s.heavy_contacts, s.contacts_per_user
        ),
        "INSERT INTO transcripts (id, call_id, seq, speaker, text, time_in_call_secs, created_at) \
         SELECT gen_random_uuid(), c.id, t, CASE WHEN t = 1 THEN 'user' ELSE 'agent' END, \
           split_part(c.transcript_text, E'\\n', t + 1), t * 9, c.created_at \
         FROM calls c, generate_series(0, 2) t WHERE c.transcript_text IS NOT NULL"
            .to_string(),
        "INSERT INTO lead_analytics (id, call_id, user_id, contact_id, intent_score, urgency_score, \
           budget_score, fit_score, engagement_score, total_score, lead_status_tag, reasoning, \
           cta_interactions, data_collection, created_at) \
         SELECT gen_random_uuid(), c.id, c.user_id, c.contact_id, \
           ROUND(b.s1 * 100.0 / 3)::int, ROUND(b.s2 * 100.0 / 3)::int, ROUND(b.s3 * 100.0 / 3)::int, \
           ROUND(b.s4 * 100.0 / 3)::int, ROUND(b.s5 * 100.0 / 3)::int, \
           c.lead_score, c.lead_tag, \
           '{\"intent\": \"benchmark\"}', \
           jsonb_build_object('pricing_clicked', b.g % 5 = 0, 'demo_clicked', b.g % 7 = 0, \
             'followup_clicked', b.g % 3 = 0, 'sample_clicked', b.g % 11 = 0, 'escalated_to_human', b.g % 17 = 0), \
           '{\"key\": \"default\", \"scale\": \"5-15\"}', c.created_at \
         FROM calls c JOIN bench_calls b ON b.id = c.id WHERE c.status = 'completed'"
            .to_string(),
        "UPDATE contacts ct SET call_count = x.n, interaction_count = x.n, last_interaction_at = x.at, \
           latest_lead_id = x.lead_id, latest_score = x.score, latest_tag = x.tag \
         FROM (SELECT DISTINCT ON (l.contact_id) l.contact_id, l.id AS lead_id, l.total_score AS score, \
                 l.lead_status_tag AS tag, l.created_at AS at, \
                 COUNT(*) OVER (PARTITION BY l.contact_id) AS n \
               FROM lead_analytics l ORDER BY l.contact_id, l.created_at DESC) x \
         WHERE ct.id = x.contact_id"
            .to_string(),
    ];
    let txn = db.begin().await?;
    for sql in &statements {
        let started = std::time::Instant::now();
        txn.execute_unprepared(sql).await?;
        let head: String = sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        println!("  {head:<48} {:>7.1} s", started.elapsed().as_secs_f64());
    }
    txn.commit().await?;
    Ok(())
}
