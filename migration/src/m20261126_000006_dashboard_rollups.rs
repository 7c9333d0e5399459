use sea_orm_migration::{prelude::*, schema::*};

/// Dashboards and lists on large accounts: hourly per-agent counters of finished calls (kept by
/// the post-call job in its own transaction), each contact's interaction counts and latest score
/// (so leads filter and sort on the contact alone), each call's score and tag (likewise for the
/// call list), and the indexes those lists page on.
#[derive(DeriveMigrationName)]
pub struct Migration;

const COUNTERS: [CallRollups; 25] = [
    CallRollups::Calls,
    CallRollups::Connected,
    CallRollups::Successful,
    CallRollups::Failed,
    CallRollups::Inbound,
    CallRollups::Outbound,
    CallRollups::DurationSecs,
    CallRollups::Credits,
    CallRollups::Scored,
    CallRollups::ScoreSum,
    CallRollups::Hot,
    CallRollups::Warm,
    CallRollups::Cold,
    CallRollups::OtherTag,
    CallRollups::Score0,
    CallRollups::Score1,
    CallRollups::Score2,
    CallRollups::Score3,
    CallRollups::Score4,
    CallRollups::CtaPricing,
    CallRollups::CtaDemo,
    CallRollups::CtaFollowup,
    CallRollups::CtaSample,
    CallRollups::CtaEscalated,
    CallRollups::Derived,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(CallRollups::Table)
            .col(uuid(CallRollups::UserId))
            // The nil uuid stands for "no agent", so the key has no NULL in it.
            .col(uuid(CallRollups::AgentId))
            .col(timestamp_with_time_zone(CallRollups::Hour));
        for counter in COUNTERS {
            table.col(big_integer(counter).default(0));
        }
        table
            .primary_key(
                Index::create()
                    .col(CallRollups::UserId)
                    .col(CallRollups::Hour)
                    .col(CallRollups::AgentId),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(CallRollups::Table, CallRollups::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        m.create_table(table.to_owned()).await?;

        // SQLite alters one column per statement.
        for column in [
            integer(Contacts::InteractionCount).default(0).to_owned(),
            integer(Contacts::CallCount).default(0).to_owned(),
            integer(Contacts::ChatCount).default(0).to_owned(),
            uuid_null(Contacts::LatestLeadId),
            integer_null(Contacts::LatestScore),
            string_null(Contacts::LatestTag),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Contacts::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [integer_null(Calls::LeadScore), string_null(Calls::LeadTag)] {
            m.alter_table(
                Table::alter()
                    .table(Calls::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        // Existing calls and contacts get their scores and counts from what is already stored.
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE calls SET \
               lead_score = (SELECT total_score FROM lead_analytics l WHERE l.call_id = calls.id), \
               lead_tag = (SELECT lead_status_tag FROM lead_analytics l WHERE l.call_id = calls.id)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE contacts SET \
               call_count = (SELECT COUNT(*) FROM calls WHERE calls.contact_id = contacts.id \
                 AND calls.channel = 'call' AND calls.status = 'completed'), \
               chat_count = (SELECT COUNT(*) FROM calls WHERE calls.contact_id = contacts.id \
                 AND calls.channel = 'chat' AND calls.status = 'completed'), \
               latest_lead_id = (SELECT id FROM lead_analytics l WHERE l.contact_id = contacts.id \
                 ORDER BY l.created_at DESC LIMIT 1)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE contacts SET interaction_count = call_count + chat_count, \
               latest_score = (SELECT total_score FROM lead_analytics l WHERE l.id = contacts.latest_lead_id), \
               latest_tag = (SELECT lead_status_tag FROM lead_analytics l WHERE l.id = contacts.latest_lead_id)",
        )
        .await?;

        // On PostgreSQL the dashboards and the call list read these indexes alone (index-only
        // scans): an account's counters or calls are scattered over the whole table, one row
        // per page, while its index entries sit together.
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let counters: Vec<String> = COUNTERS.iter().map(|c| c.to_string()).collect();
            db.execute_unprepared(&format!(
                "CREATE INDEX idx_call_rollups_covering ON call_rollups (user_id, hour, agent_id) \
                 INCLUDE ({})",
                counters.join(", ")
            ))
            .await?;
            // Searches match an account's contacts (name, number, email, company) by scanning
            // them; this keeps that scan to the index instead of the wide contact rows.
            db.execute_unprepared(
                "CREATE INDEX idx_contacts_user_search ON contacts (user_id) \
                 INCLUDE (id, name, phone_e164, email, company, interaction_count, call_count, \
                 chat_count, last_interaction_at, latest_score, latest_tag)",
            )
            .await?;
            db.execute_unprepared(
                "CREATE INDEX idx_calls_user_time ON calls (user_id, created_at) INCLUDE \
                 (id, status, direction, channel, duration_secs, credits_charged, lead_score, lead_tag, \
                  agent_id, contact_id)",
            )
            .await?;
        } else {
            m.create_index(
                Index::create()
                    .name("idx_calls_user_time")
                    .table(Alias::new("calls"))
                    .col(Alias::new("user_id"))
                    .col(Alias::new("created_at"))
                    .to_owned(),
            )
            .await?;
        }
        for (table, name, columns) in [
            (
                "contacts",
                "idx_contacts_user_interaction",
                &["user_id", "last_interaction_at"][..],
            ),
            (
                "contacts",
                "idx_contacts_user_latest_score",
                &["user_id", "latest_score"],
            ),
            (
                "lead_analytics",
                "idx_leads_user_created",
                &["user_id", "created_at"],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Alias::new(table));
            for column in columns {
                index.col(Alias::new(*column));
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            m.drop_index(
                Index::drop()
                    .name("idx_contacts_user_search")
                    .table(Alias::new("contacts"))
                    .to_owned(),
            )
            .await?;
        }
        for (table, name) in [
            ("contacts", "idx_contacts_user_interaction"),
            ("contacts", "idx_contacts_user_latest_score"),
            ("calls", "idx_calls_user_time"),
            ("lead_analytics", "idx_leads_user_created"),
        ] {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        for column in [
            Contacts::InteractionCount,
            Contacts::CallCount,
            Contacts::ChatCount,
            Contacts::LatestLeadId,
            Contacts::LatestScore,
            Contacts::LatestTag,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Contacts::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [Calls::LeadScore, Calls::LeadTag] {
            m.alter_table(
                Table::alter()
                    .table(Calls::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(CallRollups::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    LeadScore,
    LeadTag,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    InteractionCount,
    CallCount,
    ChatCount,
    LatestLeadId,
    LatestScore,
    LatestTag,
}

#[derive(DeriveIden, Clone, Copy)]
enum CallRollups {
    Table,
    UserId,
    AgentId,
    Hour,
    Calls,
    Connected,
    Successful,
    Failed,
    Inbound,
    Outbound,
    DurationSecs,
    Credits,
    Scored,
    ScoreSum,
    Hot,
    Warm,
    Cold,
    OtherTag,
    Score0,
    Score1,
    Score2,
    Score3,
    Score4,
    CtaPricing,
    CtaDemo,
    CtaFollowup,
    CtaSample,
    CtaEscalated,
    Derived,
}
