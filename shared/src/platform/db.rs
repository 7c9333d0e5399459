//! Connecting to the database (embedded SQLite or PostgreSQL) and migrating it.

use std::{str::FromStr, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, SqlxSqliteConnector,
    Statement, TransactionTrait,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{
    platform::config::Config,
    platform::error::{AppError, AppResult},
};

/// Opens the configured database. For SQLite the file's directory is created first and the
/// connection is tuned for one writer with concurrent readers (WAL, a busy timeout).
pub async fn connect(config: &Config) -> AppResult<DatabaseConnection> {
    if config.database.is_sqlite() {
        let options = SqliteConnectOptions::from_str(&config.database.url)
            .map_err(|e| AppError::internal(format!("DATABASE_URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(15))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                AppError::internal(format!("cannot create database directory {dir:?}: {e}"))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(config.database.max_connections)
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(options)
            .await
            .map_err(|e| {
                AppError::Database(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
                    std::sync::Arc::new(e),
                )))
            })?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    } else {
        let mut options = ConnectOptions::new(config.database.url.clone());
        options
            .max_connections(config.database.max_connections)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        Ok(Database::connect(options).await?)
    }
}

/// Key of the PostgreSQL advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK_KEY: i64 = 0x5357_4254_4d49_4752; // "SWBTMIGR"

/// Applies pending migrations. On PostgreSQL the run holds an advisory lock inside one
/// transaction, so several replicas starting at once migrate exactly once.
pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [MIGRATION_LOCK_KEY.into()],
            ))
            .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await?;
        }
        _ => Migrator::up(db, None).await?,
    }
    Ok(())
}

/// The rows of a list one request reads: `limit` rows after the first `offset`. The
/// admin tables count pages from 1, the client's user-side lists send `limit`/`offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

impl Window {
    /// Page `page` (1-based) of `per_page` rows.
    pub fn page(page: u64, per_page: u64) -> Self {
        Self {
            offset: page.saturating_sub(1).saturating_mul(per_page),
            limit: per_page,
        }
    }
}

/// One window of a sorted list and the total count of its rows.
///
/// The page's ids and the total are found with only the filter and sort columns (a covering
/// index answers both on PostgreSQL: an account's rows are scattered over the table, its index
/// entries are not), then only the page's rows are read, by id. A `searched` list (a text
/// search, whose cost is finding the matches) is numbered and counted in one pass; otherwise
/// counting and paging separately lets the page stop after its rows. On PostgreSQL
/// it is planned for the actual values: a list's best plan depends on them (a search matching
/// a few rows or a tenth of the account), and the generic plan PostgreSQL would reuse after a
/// few executions of the same prepared statement was a hundred times slower.
pub async fn page_of<E>(
    db: &DatabaseConnection,
    sorted: sea_orm::Select<E>,
    id: E::Column,
    id_of: impl Fn(&E::Model) -> uuid::Uuid,
    searched: bool,
    window: Window,
) -> Result<(Vec<E::Model>, u64), sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
{
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QuerySelect};
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    let Window { offset, limit } = window;
    let only_ids = sorted.clone().select_only().column(id);
    let (ids, total) = if searched {
        // The matches are found once and counted as they are numbered.
        let numbered: Vec<(uuid::Uuid, i64)> = only_ids
            .column_as(
                sea_orm::sea_query::Expr::cust("COUNT(*) OVER ()"),
                "page_total",
            )
            .limit(limit)
            .offset(offset)
            .into_tuple()
            .all(&txn)
            .await?;
        let total = match numbered.first() {
            Some((_, total)) => *total as u64,
            None if offset == 0 => 0,
            // Past the last page: the total still counts.
            None => sorted.count(&txn).await?,
        };
        (
            numbered.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
            total,
        )
    } else {
        // Counting walks the index; the page stops after its rows.
        let ids: Vec<uuid::Uuid> = only_ids
            .limit(limit)
            .offset(offset)
            .into_tuple()
            .all(&txn)
            .await?;
        (ids, sorted.count(&txn).await?)
    };
    let order: std::collections::HashMap<uuid::Uuid, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut rows = E::find()
        .filter(id.is_in(ids.iter().copied()))
        .all(&txn)
        .await?;
    txn.commit().await?;
    rows.sort_by_key(|row| order.get(&id_of(row)).copied().unwrap_or(usize::MAX));
    Ok((rows, total))
}

/// The one row `select` finds, locked for the rest of the transaction on PostgreSQL (`FOR
/// UPDATE`), so concurrent changes to it queue up and each sees the previous one. SQLite needs
/// no lock: `begin_write` already holds the database's only write lock.
pub async fn one_for_update<E: sea_orm::EntityTrait>(
    txn: &sea_orm::DatabaseTransaction,
    select: sea_orm::Select<E>,
) -> Result<Option<E::Model>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    let select = if txn.get_database_backend() == DbBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
    };
    select.one(txn).await
}

/// Starts a transaction that will write. On SQLite it begins `IMMEDIATE`, taking the write
/// lock up front (waiting up to the busy timeout): a deferred transaction that reads first
/// and writes later fails at once with "database is locked" if another writer committed in
/// between. PostgreSQL ignores the mode.
pub async fn begin_write(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
