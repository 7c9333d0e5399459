use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Foreign key from `table.column` to `users.id`, removing the row with its owner.
fn owned_by_user(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(table: impl IntoIden, name: &str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for column in columns {
        stmt.col(Alias::new(*column));
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_uuid(Users::Id))
                .col(string_uniq(Users::Email))
                .col(string_null(Users::ExternalId).unique_key())
                .col(string(Users::AuthProvider))
                .col(string_null(Users::PasswordHash))
                .col(string_null(Users::Name))
                .col(string_null(Users::Company))
                .col(string_null(Users::Phone))
                .col(string(Users::Timezone))
                .col(string(Users::DefaultRegion))
                .col(json_binary(Users::Settings))
                .col(string(Users::Role))
                .col(string(Users::Status))
                .col(string_null(Users::SuspendedReason))
                .col(timestamp_with_time_zone_null(Users::EmailVerifiedAt))
                .col(integer(Users::FailedLogins).default(0))
                .col(timestamp_with_time_zone_null(Users::LockedUntil))
                .col(big_integer(Users::Credits).default(0))
                .col(timestamp_with_time_zone_null(Users::LastSeenAt))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(Users::Table, "idx_users_created", &["created_at"]))
            .await?;

        // Refresh tokens rotate inside a family; reuse of a rotated token revokes the family.
        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(pk_uuid(RefreshTokens::Id))
                .col(uuid(RefreshTokens::UserId))
                .col(uuid(RefreshTokens::FamilyId))
                .col(string_uniq(RefreshTokens::TokenHash))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                .col(uuid_null(RefreshTokens::ReplacedBy))
                .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                .foreign_key(&mut owned_by_user(
                    RefreshTokens::Table,
                    RefreshTokens::UserId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            RefreshTokens::Table,
            "idx_refresh_user",
            &["user_id"],
        ))
        .await?;
        m.create_index(index(
            RefreshTokens::Table,
            "idx_refresh_family",
            &["family_id"],
        ))
        .await?;

        // Single-use, expiring links: email verification, password reset, email change.
        m.create_table(
            Table::create()
                .table(AuthTokens::Table)
                .col(pk_uuid(AuthTokens::Id))
                .col(uuid(AuthTokens::UserId))
                .col(string(AuthTokens::Purpose))
                .col(string_uniq(AuthTokens::TokenHash))
                .col(string_null(AuthTokens::NewEmail))
                .col(timestamp_with_time_zone(AuthTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(AuthTokens::UsedAt))
                .col(timestamp_with_time_zone(AuthTokens::CreatedAt))
                .foreign_key(&mut owned_by_user(AuthTokens::Table, AuthTokens::UserId))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            AuthTokens::Table,
            "idx_auth_tokens_user",
            &["user_id", "purpose"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Agents::Table)
                .col(pk_uuid(Agents::Id))
                .col(uuid(Agents::UserId))
                .col(string_null(Agents::ElevenlabsAgentId).unique_key())
                .col(string(Agents::Kind))
                .col(string(Agents::Status))
                .col(string(Agents::Name))
                .col(text_null(Agents::Description))
                .col(json_binary(Agents::Config))
                .col(string(Agents::SyncState))
                .col(text_null(Agents::SyncError))
                .col(string_null(Agents::PhoneNumberId))
                .col(timestamp_with_time_zone(Agents::CreatedAt))
                .col(timestamp_with_time_zone(Agents::UpdatedAt))
                .foreign_key(&mut owned_by_user(Agents::Table, Agents::UserId))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            Agents::Table,
            "idx_agents_user",
            &["user_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Contacts::Table)
                .col(pk_uuid(Contacts::Id))
                .col(uuid(Contacts::UserId))
                .col(string(Contacts::Name))
                .col(string(Contacts::PhoneE164))
                .col(string(Contacts::PhoneRaw))
                .col(string_null(Contacts::Email))
                .col(string_null(Contacts::Company))
                .col(json_binary(Contacts::Tags))
                .col(text_null(Contacts::Notes))
                .col(json_binary(Contacts::CustomFields))
                .col(boolean(Contacts::DoNotCall).default(false))
                .col(text_null(Contacts::LastCallSummary))
                .col(timestamp_with_time_zone_null(Contacts::LastInteractionAt))
                .col(timestamp_with_time_zone(Contacts::CreatedAt))
                .col(timestamp_with_time_zone(Contacts::UpdatedAt))
                .foreign_key(&mut owned_by_user(Contacts::Table, Contacts::UserId))
                .to_owned(),
        )
        .await?;
        // One contact per normalised phone per user: imports and caller lookup rely on it.
        m.create_index(
            index(
                Contacts::Table,
                "uq_contacts_user_phone",
                &["user_id", "phone_e164"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            Contacts::Table,
            "idx_contacts_user_name",
            &["user_id", "name"],
        ))
        .await?;
        m.create_index(index(
            Contacts::Table,
            "idx_contacts_user_created",
            &["user_id", "created_at"],
        ))
        .await?;

        // Calls and chats share one table, told apart by `channel`.
        m.create_table(
            Table::create()
                .table(Calls::Table)
                .col(pk_uuid(Calls::Id))
                .col(uuid(Calls::UserId))
                .col(uuid_null(Calls::AgentId))
                .col(uuid_null(Calls::ContactId))
                .col(string(Calls::Channel))
                .col(string(Calls::Direction))
                .col(string_null(Calls::ElevenlabsConversationId).unique_key())
                .col(string_null(Calls::PhoneNumber))
                .col(string(Calls::Status))
                .col(string_null(Calls::FailureReason))
                .col(integer(Calls::DurationSecs).default(0))
                .col(big_integer(Calls::CreditsCharged).default(0))
                .col(text_null(Calls::Summary))
                .col(string_null(Calls::SummaryTitle))
                .col(string_null(Calls::CallSuccessful))
                .col(string_null(Calls::RecordingKey))
                .col(json_binary(Calls::Metadata))
                .col(timestamp_with_time_zone_null(Calls::StartedAt))
                .col(timestamp_with_time_zone_null(Calls::CompletedAt))
                .col(timestamp_with_time_zone(Calls::CreatedAt))
                .col(timestamp_with_time_zone(Calls::UpdatedAt))
                .foreign_key(&mut owned_by_user(Calls::Table, Calls::UserId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Calls::Table, Calls::AgentId)
                        .to(Agents::Table, Agents::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Calls::Table, Calls::ContactId)
                        .to(Contacts::Table, Contacts::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            Calls::Table,
            "idx_calls_user_created",
            &["user_id", "channel", "created_at"],
        ))
        .await?;
        m.create_index(index(
            Calls::Table,
            "idx_calls_user_status",
            &["user_id", "status"],
        ))
        .await?;
        m.create_index(index(
            Calls::Table,
            "idx_calls_agent",
            &["agent_id", "created_at"],
        ))
        .await?;
        m.create_index(index(
            Calls::Table,
            "idx_calls_contact",
            &["contact_id", "created_at"],
        ))
        .await?;

        // One row per transcript turn, ordered by `seq` within the call.
        m.create_table(
            Table::create()
                .table(Transcripts::Table)
                .col(pk_uuid(Transcripts::Id))
                .col(uuid(Transcripts::CallId))
                .col(integer(Transcripts::Seq))
                .col(string(Transcripts::Speaker))
                .col(text(Transcripts::Text))
                .col(integer(Transcripts::TimeInCallSecs))
                .col(timestamp_with_time_zone(Transcripts::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Transcripts::Table, Transcripts::CallId)
                        .to(Calls::Table, Calls::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                Transcripts::Table,
                "uq_transcripts_call_seq",
                &["call_id", "seq"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LeadAnalytics::Table)
                .col(pk_uuid(LeadAnalytics::Id))
                .col(uuid_uniq(LeadAnalytics::CallId))
                .col(uuid(LeadAnalytics::UserId))
                .col(uuid_null(LeadAnalytics::ContactId))
                .col(string_null(LeadAnalytics::IntentLevel))
                .col(integer(LeadAnalytics::IntentScore).default(0))
                .col(string_null(LeadAnalytics::UrgencyLevel))
                .col(integer(LeadAnalytics::UrgencyScore).default(0))
                .col(string_null(LeadAnalytics::BudgetConstraint))
                .col(integer(LeadAnalytics::BudgetScore).default(0))
                .col(string_null(LeadAnalytics::FitAlignment))
                .col(integer(LeadAnalytics::FitScore).default(0))
                .col(string_null(LeadAnalytics::EngagementHealth))
                .col(integer(LeadAnalytics::EngagementScore).default(0))
                .col(integer(LeadAnalytics::TotalScore).default(0))
                .col(string(LeadAnalytics::LeadStatusTag))
                .col(json_binary(LeadAnalytics::Reasoning))
                .col(json_binary(LeadAnalytics::CtaInteractions))
                .col(json_binary(LeadAnalytics::DataCollection))
                .col(timestamp_with_time_zone(LeadAnalytics::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LeadAnalytics::Table, LeadAnalytics::CallId)
                        .to(Calls::Table, Calls::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut owned_by_user(
                    LeadAnalytics::Table,
                    LeadAnalytics::UserId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            LeadAnalytics::Table,
            "idx_leads_user_score",
            &["user_id", "total_score"],
        ))
        .await?;
        m.create_index(index(
            LeadAnalytics::Table,
            "idx_leads_user_tag",
            &["user_id", "lead_status_tag"],
        ))
        .await?;
        m.create_index(index(
            LeadAnalytics::Table,
            "idx_leads_contact",
            &["contact_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ContactImports::Table)
                .col(pk_uuid(ContactImports::Id))
                .col(uuid(ContactImports::UserId))
                .col(string(ContactImports::Filename))
                .col(string(ContactImports::Format))
                .col(blob(ContactImports::File))
                .col(json_binary(ContactImports::ColumnMapping))
                .col(string(ContactImports::Status))
                .col(integer(ContactImports::TotalRows).default(0))
                .col(integer(ContactImports::ProcessedRows).default(0))
                .col(integer(ContactImports::Imported).default(0))
                .col(integer(ContactImports::Duplicates).default(0))
                .col(integer(ContactImports::Invalid).default(0))
                .col(json_binary(ContactImports::Report))
                .col(text_null(ContactImports::Error))
                .col(timestamp_with_time_zone(ContactImports::CreatedAt))
                .col(timestamp_with_time_zone(ContactImports::UpdatedAt))
                .col(timestamp_with_time_zone_null(ContactImports::CompletedAt))
                .foreign_key(&mut owned_by_user(
                    ContactImports::Table,
                    ContactImports::UserId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            ContactImports::Table,
            "idx_imports_user",
            &["user_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Purchases::Table)
                .col(pk_uuid(Purchases::Id))
                .col(uuid(Purchases::UserId))
                .col(big_integer(Purchases::Credits))
                .col(big_integer(Purchases::AmountCents))
                .col(string(Purchases::Currency))
                .col(string(Purchases::Status))
                .col(string_null(Purchases::StripeCheckoutSessionId).unique_key())
                .col(string_null(Purchases::StripePaymentIntentId))
                .col(string_null(Purchases::StripeChargeId))
                .col(text_null(Purchases::CheckoutUrl))
                .col(text_null(Purchases::ReceiptUrl))
                .col(big_integer(Purchases::RefundedCredits).default(0))
                .col(timestamp_with_time_zone(Purchases::CreatedAt))
                .col(timestamp_with_time_zone(Purchases::UpdatedAt))
                .col(timestamp_with_time_zone_null(Purchases::PaidAt))
                .foreign_key(&mut owned_by_user(Purchases::Table, Purchases::UserId))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            Purchases::Table,
            "idx_purchases_user",
            &["user_id", "created_at"],
        ))
        .await?;
        m.create_index(index(
            Purchases::Table,
            "idx_purchases_intent",
            &["stripe_payment_intent_id"],
        ))
        .await?;

        // The ledger: append-only, one unique reference per movement so a retry is a no-op.
        m.create_table(
            Table::create()
                .table(CreditTransactions::Table)
                .col(pk_uuid(CreditTransactions::Id))
                .col(uuid(CreditTransactions::UserId))
                .col(string(CreditTransactions::Kind))
                .col(big_integer(CreditTransactions::Amount))
                .col(big_integer(CreditTransactions::BalanceAfter))
                .col(string_uniq(CreditTransactions::Reference))
                .col(text_null(CreditTransactions::Description))
                .col(string_null(CreditTransactions::StripePaymentId))
                .col(uuid_null(CreditTransactions::ActorId))
                .col(uuid_null(CreditTransactions::CallId))
                .col(uuid_null(CreditTransactions::PurchaseId))
                .col(uuid_null(CreditTransactions::AgentId))
                .col(timestamp_with_time_zone(CreditTransactions::CreatedAt))
                .foreign_key(&mut owned_by_user(
                    CreditTransactions::Table,
                    CreditTransactions::UserId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            CreditTransactions::Table,
            "idx_credit_tx_user",
            &["user_id", "created_at"],
        ))
        .await?;
        m.create_index(index(
            CreditTransactions::Table,
            "idx_credit_tx_kind",
            &["user_id", "kind", "created_at"],
        ))
        .await?;

        // The webhook inbox: the provider's own id is the deduplication key.
        m.create_table(
            Table::create()
                .table(WebhookEvents::Table)
                .col(pk_uuid(WebhookEvents::Id))
                .col(string(WebhookEvents::Provider))
                .col(string(WebhookEvents::EventType))
                .col(string(WebhookEvents::ExternalId))
                .col(blob(WebhookEvents::Payload))
                .col(string(WebhookEvents::Status))
                .col(text_null(WebhookEvents::Error))
                .col(uuid_null(WebhookEvents::UserId))
                .col(timestamp_with_time_zone(WebhookEvents::ReceivedAt))
                .col(timestamp_with_time_zone_null(WebhookEvents::ProcessedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                WebhookEvents::Table,
                "uq_webhook_provider_id",
                &["provider", "external_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            WebhookEvents::Table,
            "idx_webhook_status",
            &["status", "received_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(EmailOutbox::Table)
                .col(pk_uuid(EmailOutbox::Id))
                .col(uuid_null(EmailOutbox::UserId))
                .col(string(EmailOutbox::ToAddress))
                .col(string(EmailOutbox::Subject))
                .col(text(EmailOutbox::TextBody))
                .col(text_null(EmailOutbox::HtmlBody))
                .col(string(EmailOutbox::Status))
                .col(string_null(EmailOutbox::ProviderMessageId))
                .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(EmailOutbox::Table, EmailOutbox::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            EmailOutbox::Table,
            "idx_outbox_user",
            &["user_id", "created_at"],
        ))
        .await?;

        // Every background job's state: the queue only carries the id of a row here. (Not `jobs`:
        // the embedded queue, apalis-sqlite, owns a `Jobs` table in the same SQLite file.)
        m.create_table(
            Table::create()
                .table(BackgroundJobs::Table)
                .col(pk_uuid(BackgroundJobs::Id))
                .col(string(BackgroundJobs::Kind))
                .col(uuid(BackgroundJobs::SubjectId))
                .col(string(BackgroundJobs::Status))
                .col(integer(BackgroundJobs::Attempts).default(0))
                .col(integer(BackgroundJobs::MaxAttempts))
                .col(text_null(BackgroundJobs::LastError))
                .col(timestamp_with_time_zone(BackgroundJobs::NextAttemptAt))
                .col(timestamp_with_time_zone_null(BackgroundJobs::EnqueuedAt))
                .col(string_null(BackgroundJobs::LockedBy))
                .col(timestamp_with_time_zone_null(BackgroundJobs::LockedUntil))
                .col(timestamp_with_time_zone(BackgroundJobs::CreatedAt))
                .col(timestamp_with_time_zone(BackgroundJobs::UpdatedAt))
                .col(timestamp_with_time_zone_null(BackgroundJobs::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                BackgroundJobs::Table,
                "uq_background_jobs_kind_subject",
                &["kind", "subject_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            BackgroundJobs::Table,
            "idx_background_jobs_due",
            &["status", "next_attempt_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(SystemConfig::Table)
                .col(string(SystemConfig::Key).primary_key())
                .col(text(SystemConfig::Value))
                .col(boolean(SystemConfig::IsSecret).default(false))
                .col(uuid_null(SystemConfig::UpdatedBy))
                .col(timestamp_with_time_zone(SystemConfig::UpdatedAt))
                .to_owned(),
        )
        .await?;

        // Append-only: no code path updates or deletes these rows.
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(pk_uuid(AuditLog::Id))
                .col(uuid_null(AuditLog::ActorId))
                .col(string(AuditLog::Action))
                .col(string_null(AuditLog::TargetType))
                .col(string_null(AuditLog::TargetId))
                .col(json_binary(AuditLog::Details))
                .col(string_null(AuditLog::Ip))
                .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(AuditLog::Table, "idx_audit_created", &["created_at"]))
            .await?;
        m.create_index(index(
            AuditLog::Table,
            "idx_audit_actor",
            &["actor_id", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            SystemConfig::Table.into_iden(),
            BackgroundJobs::Table.into_iden(),
            EmailOutbox::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            CreditTransactions::Table.into_iden(),
            Purchases::Table.into_iden(),
            ContactImports::Table.into_iden(),
            LeadAnalytics::Table.into_iden(),
            Transcripts::Table.into_iden(),
            Calls::Table.into_iden(),
            Contacts::Table.into_iden(),
            Agents::Table.into_iden(),
            AuthTokens::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    ExternalId,
    AuthProvider,
    PasswordHash,
    Name,
    Company,
    Phone,
    Timezone,
    DefaultRegion,
    Settings,
    Role,
    Status,
    SuspendedReason,
    EmailVerifiedAt,
    FailedLogins,
    LockedUntil,
    Credits,
    LastSeenAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    RevokedAt,
    ReplacedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    NewEmail,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    UserId,
    ElevenlabsAgentId,
    Kind,
    Status,
    Name,
    Description,
    Config,
    SyncState,
    SyncError,
    PhoneNumberId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    UserId,
    Name,
    PhoneE164,
    PhoneRaw,
    Email,
    Company,
    Tags,
    Notes,
    CustomFields,
    DoNotCall,
    LastCallSummary,
    LastInteractionAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    UserId,
    AgentId,
    ContactId,
    Channel,
    Direction,
    ElevenlabsConversationId,
    PhoneNumber,
    Status,
    FailureReason,
    DurationSecs,
    CreditsCharged,
    Summary,
    SummaryTitle,
    CallSuccessful,
    RecordingKey,
    Metadata,
    StartedAt,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Transcripts {
    Table,
    Id,
    CallId,
    Seq,
    Speaker,
    Text,
    TimeInCallSecs,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LeadAnalytics {
    Table,
    Id,
    CallId,
    UserId,
    ContactId,
    IntentLevel,
    IntentScore,
    UrgencyLevel,
    UrgencyScore,
    BudgetConstraint,
    BudgetScore,
    FitAlignment,
    FitScore,
    EngagementHealth,
    EngagementScore,
    TotalScore,
    LeadStatusTag,
    Reasoning,
    CtaInteractions,
    DataCollection,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContactImports {
    Table,
    Id,
    UserId,
    Filename,
    Format,
    File,
    ColumnMapping,
    Status,
    TotalRows,
    ProcessedRows,
    Imported,
    Duplicates,
    Invalid,
    Report,
    Error,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Purchases {
    Table,
    Id,
    UserId,
    Credits,
    AmountCents,
    Currency,
    Status,
    StripeCheckoutSessionId,
    StripePaymentIntentId,
    StripeChargeId,
    CheckoutUrl,
    ReceiptUrl,
    RefundedCredits,
    CreatedAt,
    UpdatedAt,
    PaidAt,
}

#[derive(DeriveIden)]
enum CreditTransactions {
    Table,
    Id,
    UserId,
    Kind,
    Amount,
    BalanceAfter,
    Reference,
    Description,
    StripePaymentId,
    ActorId,
    CallId,
    PurchaseId,
    AgentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    Provider,
    EventType,
    ExternalId,
    Payload,
    Status,
    Error,
    UserId,
    ReceivedAt,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    UserId,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    Status,
    ProviderMessageId,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BackgroundJobs {
    Table,
    Id,
    Kind,
    SubjectId,
    Status,
    Attempts,
    MaxAttempts,
    LastError,
    NextAttemptAt,
    EnqueuedAt,
    LockedBy,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SystemConfig {
    Table,
    Key,
    Value,
    IsSecret,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Details,
    Ip,
    CreatedAt,
}
