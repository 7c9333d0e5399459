pub mod agents;
pub mod analytics;
pub mod health;
pub mod inbox;
pub mod settings;
pub mod users;
