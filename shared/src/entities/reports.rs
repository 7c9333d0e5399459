//! A report an admin saved as a template or generated for download.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: ReportKind,
    pub name: String,
    /// The checked definition (`admin::reports::ReportSpec`) as JSON.
    pub definition: String,
    pub format: ReportFormat,
    pub created_by: Uuid,
    /// SHA-256 of the token the download link carries (generated reports only).
    #[serde(skip)]
    pub download_token_hash: Option<String>,
    /// After this the link no longer works.
    pub expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

vocabulary! {
    pub enum ReportKind {
        Template,
        Generated,
    }
}

vocabulary! {
    /// The file a report is rendered as (`excel` is the screen's word for .xlsx).
    pub enum ReportFormat {
        Pdf,
        Csv,
        Excel,
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
