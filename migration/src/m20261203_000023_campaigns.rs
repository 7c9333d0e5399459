use sea_orm_migration::{prelude::*, schema::*};

/// Campaigns: an agent calling a list of contacts inside a daily window, under caps and
/// credits. A campaign owns one target per number (`campaign_targets`, with its own state,
/// attempts, time zone and next due time), and every dial is an attempt row claimed in the
/// database before ElevenLabs is asked (`dial_attempts`, unique per target and attempt
/// number), so a redelivered job or a second worker never dials the same attempt twice. An
/// account's do-not-call numbers (`dnc_numbers`) are never dialled by a campaign.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Campaigns::Table)
                .col(uuid(Campaigns::Id).primary_key())
                .col(uuid(Campaigns::UserId))
                .col(uuid(Campaigns::AgentId))
                .col(string_len(Campaigns::Name, 200))
                .col(string_len(Campaigns::Status, 16))
                .col(string_len_null(Campaigns::PauseReason, 32))
                .col(integer(Campaigns::Priority))
                .col(integer(Campaigns::MaxConcurrentCalls))
                .col(string_len(Campaigns::FirstCallTime, 5))
                .col(string_len(Campaigns::LastCallTime, 5))
                .col(date(Campaigns::StartDate))
                .col(date_null(Campaigns::EndDate))
                .col(string_len(Campaigns::Timezone, 64))
                .col(string_len(Campaigns::NextAction, 16))
                .col(integer(Campaigns::MaxAttempts))
                .col(integer(Campaigns::RetryDelaySecs))
                .col(integer(Campaigns::TotalContacts))
                .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                .col(timestamp_with_time_zone_null(Campaigns::StartedAt))
                .col(timestamp_with_time_zone_null(Campaigns::CompletedAt))
                .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Campaigns::Table, Campaigns::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Campaigns::Table, Campaigns::AgentId)
                        .to(Agents::Table, Agents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("campaigns_user_created")
                .table(Campaigns::Table)
                .col(Campaigns::UserId)
                .col(Campaigns::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("campaigns_status")
                .table(Campaigns::Table)
                .col(Campaigns::Status)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CampaignTargets::Table)
                .col(uuid(CampaignTargets::Id).primary_key())
                .col(uuid(CampaignTargets::CampaignId))
                .col(uuid(CampaignTargets::UserId))
                .col(uuid_null(CampaignTargets::ContactId))
                .col(string_len(CampaignTargets::PhoneE164, 20))
                .col(string_len(CampaignTargets::Timezone, 64))
                .col(string_len(CampaignTargets::State, 16))
                .col(string_len_null(CampaignTargets::Outcome, 32))
                .col(integer(CampaignTargets::Attempts))
                .col(timestamp_with_time_zone_null(
                    CampaignTargets::NextAttemptAt,
                ))
                .col(uuid_null(CampaignTargets::LastCallId))
                .col(timestamp_with_time_zone(CampaignTargets::CreatedAt))
                .col(timestamp_with_time_zone(CampaignTargets::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CampaignTargets::Table, CampaignTargets::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CampaignTargets::Table, CampaignTargets::ContactId)
                        .to(Contacts::Table, Contacts::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        // One target per number in a campaign; the dialer's scan is by state and due time.
        m.create_index(
            Index::create()
                .name("campaign_targets_number")
                .table(CampaignTargets::Table)
                .col(CampaignTargets::CampaignId)
                .col(CampaignTargets::PhoneE164)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("campaign_targets_due")
                .table(CampaignTargets::Table)
                .col(CampaignTargets::CampaignId)
                .col(CampaignTargets::State)
                .col(CampaignTargets::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("campaign_targets_contact")
                .table(CampaignTargets::Table)
                .col(CampaignTargets::ContactId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DialAttempts::Table)
                .col(uuid(DialAttempts::Id).primary_key())
                .col(uuid(DialAttempts::TargetId))
                .col(uuid(DialAttempts::CampaignId))
                .col(uuid(DialAttempts::UserId))
                .col(integer(DialAttempts::AttemptNo))
                .col(uuid(DialAttempts::CallId))
                .col(string_len(DialAttempts::State, 16))
                .col(string_len_null(DialAttempts::ConversationId, 128))
                .col(string_len_null(DialAttempts::Outcome, 32))
                .col(timestamp_with_time_zone(DialAttempts::ClaimedAt))
                .col(timestamp_with_time_zone(DialAttempts::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(DialAttempts::Table, DialAttempts::TargetId)
                        .to(CampaignTargets::Table, CampaignTargets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("dial_attempts_once")
                .table(DialAttempts::Table)
                .col(DialAttempts::TargetId)
                .col(DialAttempts::AttemptNo)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("dial_attempts_call")
                .table(DialAttempts::Table)
                .col(DialAttempts::CallId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("dial_attempts_state")
                .table(DialAttempts::Table)
                .col(DialAttempts::State)
                .col(DialAttempts::ClaimedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DncNumbers::Table)
                .col(uuid(DncNumbers::UserId))
                .col(string_len(DncNumbers::PhoneE164, 20))
                .col(string_len_null(DncNumbers::Reason, 200))
                .col(timestamp_with_time_zone(DncNumbers::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(DncNumbers::UserId)
                        .col(DncNumbers::PhoneE164),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DncNumbers::Table, DncNumbers::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DncNumbers::Table.into_iden(),
            DialAttempts::Table.into_iden(),
            CampaignTargets::Table.into_iden(),
            Campaigns::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    UserId,
    AgentId,
    Name,
    Status,
    PauseReason,
    Priority,
    MaxConcurrentCalls,
    FirstCallTime,
    LastCallTime,
    StartDate,
    EndDate,
    Timezone,
    NextAction,
    MaxAttempts,
    RetryDelaySecs,
    TotalContacts,
    CreatedAt,
    StartedAt,
    CompletedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CampaignTargets {
    Table,
    Id,
    CampaignId,
    UserId,
    ContactId,
    PhoneE164,
    Timezone,
    State,
    Outcome,
    Attempts,
    NextAttemptAt,
    LastCallId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DialAttempts {
    Table,
    Id,
    TargetId,
    CampaignId,
    UserId,
    AttemptNo,
    CallId,
    State,
    ConversationId,
    Outcome,
    ClaimedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DncNumbers {
    Table,
    UserId,
    PhoneE164,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}
