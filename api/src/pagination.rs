//! Page-based pagination shared by list endpoints.

use poem_openapi::{
    Enum, Object,
    types::{ParseFromJSON, ToJSON},
};

/// Defaults and bounds of `page` / `per_page`.
pub const DEFAULT_PER_PAGE: u64 = 25;
pub const MAX_PER_PAGE: u64 = 100;

/// `page` when a list request names none.
pub fn default_page() -> u64 {
    1
}

/// `per_page` when a list request names none.
pub fn default_per_page() -> u64 {
    DEFAULT_PER_PAGE
}

/// The direction of a list's sort (`order=asc|desc`); each list has its own default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// `ASC` or `DESC`, as the call logs and the admin tables send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "UPPERCASE")]
pub enum UpperSortOrder {
    Asc,
    Desc,
}

impl UpperSortOrder {
    /// Whether `order` (absent: `default_descending`) sorts largest first.
    pub fn descending(order: Option<Self>, default_descending: bool) -> bool {
        match order {
            Some(o) => o == Self::Desc,
            None => default_descending,
        }
    }
}

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

/// The client's user-side lists (calls, contacts, leads) take `limit` and `offset` and read
/// this beside their rows.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, rename_all = "camelCase")]
pub struct Pagination {
    /// Rows across all pages.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
    /// Whether rows follow this page.
    pub has_more: bool,
}

impl Pagination {
    pub fn new(total: u64, limit: u64, offset: u64) -> Self {
        Self {
            total,
            limit,
            offset,
            has_more: offset.saturating_add(limit) < total,
        }
    }
}

impl poem_openapi::types::Example for Pagination {
    fn example() -> Self {
        Self::new(212, 20, 40)
    }
}

/// The client's numbered lists (admin tables, the credit history) take `page` from 1 and
/// `limit`, and read `total`, `page`, `limit` and this.
pub fn total_pages(total: u64, limit: u64) -> u64 {
    total.div_ceil(limit.max(1))
}

/// Default and bound of `limit` in the client's lists.
pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_pagination_vocabulary() {
        assert_eq!(
            Pagination::new(45, 20, 20),
            Pagination {
                total: 45,
                limit: 20,
                offset: 20,
                has_more: true
            }
        );
        assert!(!Pagination::new(45, 20, 40).has_more);
        assert!(!Pagination::new(0, 20, 0).has_more);
        assert_eq!(
            (total_pages(45, 20), total_pages(40, 20), total_pages(0, 20)),
            (3, 2, 0)
        );
    }
}
