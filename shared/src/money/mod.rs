pub mod billing;
pub mod credits;
