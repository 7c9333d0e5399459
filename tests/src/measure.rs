//! Latency figures for the benchmark commands.

use std::time::Duration;

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The durability settings the figures were measured under, printed before them: published
/// figures come from a database running as production does (all three on).
pub async fn durability(db: &impl sea_orm::ConnectionTrait) -> String {
    let mut shown = Vec::new();
    for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
        let value = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SHOW {setting}"),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get_by_index::<String>(0).ok())
            .unwrap_or_else(|| "?".into());
        shown.push(format!("{setting}={value}"));
    }
    let durable = shown.iter().all(|s| s.ends_with("=on"));
    format!(
        "PostgreSQL {} ({})",
        if durable {
            "durable"
        } else {
            "NOT durable: figures for tests only"
        },
        shown.join(", ")
    )
}
