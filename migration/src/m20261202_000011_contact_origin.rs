use sea_orm_migration::{prelude::*, schema::*};

/// Where a contact came from: typed in (`manual`), a spreadsheet (`import`), or created by a
/// conversation with a number the account did not know (`call`, `chat`). The Contacts screen
/// filters on "auto created" and shows how each contact is linked to its calls. Contacts that
/// exist already keep `manual`: which of them a conversation created was never recorded.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Contacts::Table)
                .add_column(string_len(Contacts::Origin, 16).default("manual"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Contacts::Table)
                .drop_column(Contacts::Origin)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Origin,
}
