//! Daily platform-wide call counters (the admin KPIs), split over a few shards by account;
//! moved with `call_rollups` in the same statements' transaction (see `dashboard::rollups`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "platform_rollups")]
pub struct Model {
    /// Midnight (UTC) of the day the calls were created on.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: DateTimeUtc,
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i16,
    pub calls: i64,
    pub successful: i64,
    pub duration_secs: i64,
    pub credits: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
