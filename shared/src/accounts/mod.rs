pub mod audit;
pub mod auth;
pub mod integrations;
pub mod notifications;
pub mod users;
