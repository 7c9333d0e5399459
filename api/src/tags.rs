//! OpenAPI tags, one per area of the API.

use poem_openapi::Tags;

#[derive(Tags)]
pub enum Tag {
    /// Health, readiness and other operational endpoints.
    Operations,
}
