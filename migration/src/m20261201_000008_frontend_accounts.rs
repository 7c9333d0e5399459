use sea_orm_migration::{prelude::*, schema::*};

/// What the client's frontend keeps on an account and a session: the profile's website,
/// location and bio; the Google account a user signed in with; and, on a spent refresh token,
/// its successor sealed with a key only the spent token derives — so the same token presented
/// again within the grace window (the frontend refreshes in parallel) gets the same new pair.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
            text_null(Users::Website),
            text_null(Users::Location),
            text_null(Users::Bio),
            string_null(Users::GoogleSubject),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("idx_users_google_subject")
                .table(Users::Table)
                .col(Users::GoogleSubject)
                .unique()
                .to_owned(),
        )
        .await?;
        for column in [
            text_null(RefreshTokens::SuccessorSealed),
            timestamp_with_time_zone_null(RefreshTokens::ReplacedAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_users_google_subject")
                .table(Users::Table)
                .to_owned(),
        )
        .await?;
        for column in [
            Users::Website,
            Users::Location,
            Users::Bio,
            Users::GoogleSubject,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [RefreshTokens::SuccessorSealed, RefreshTokens::ReplacedAt] {
            m.alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Website,
    Location,
    Bio,
    GoogleSubject,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    SuccessorSealed,
    ReplacedAt,
}
