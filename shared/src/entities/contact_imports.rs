//! An uploaded contact spreadsheet and the progress and report of its import job.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contact_imports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub filename: String,
    pub format: Format,
    pub file: Vec<u8>,
    #[sea_orm(column_type = "JsonBinary")]
    pub column_mapping: Json,
    pub status: ImportStatus,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub imported: i32,
    pub duplicates: i32,
    pub invalid: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub report: Json,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

vocabulary! {
    /// Where a contact upload stands.
    pub enum ImportStatus {
        Queued,
        Processing,
        Completed,
        Failed,
    }
}

vocabulary! {
    /// The spreadsheet format of an upload.
    pub enum Format {
        Xlsx,
        Xls,
        Ods,
        Csv,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
