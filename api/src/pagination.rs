//! Page-based pagination shared by list endpoints.

use poem_openapi::{
    Object,
    types::{ParseFromJSON, ToJSON},
};

/// Defaults and bounds of `page` / `per_page`.
pub const DEFAULT_PER_PAGE: u64 = 25;
pub const MAX_PER_PAGE: u64 = 100;

/// One page of results with what a table needs to draw its pager.
#[derive(Debug, Object)]
#[oai(example)]
#[oai(skip_serializing_if_is_none)]
pub struct Page<T: ParseFromJSON + ToJSON + Send + Sync> {
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u64,
    pub per_page: u64,
    /// Items across all pages.
    pub total: u64,
}

impl<T: ParseFromJSON + ToJSON + Send + Sync> Page<T> {
    /// A page of `rows` converted to their API shape.
    pub fn of<R: Into<T>>(rows: Vec<R>, page: u64, per_page: u64, total: u64) -> Self {
        Self {
            items: rows.into_iter().map(Into::into).collect(),
            page,
            per_page,
            total,
        }
    }
}
