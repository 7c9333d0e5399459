//! The `api` command line: `api` (or `api serve`) serves HTTP; `api migrate` applies the
//! schema; `api openapi` prints the OpenAPI document; `api create-admin` promotes an account;
//! `api rebuild-counters` recomputes the dashboard counters; `api reencrypt-settings` finishes
//! an encryption key rotation.

use clap::{Parser, Subcommand};
use shared::platform::telemetry;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "api", version, about = "Switchboard gateway")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document and exit.
    Openapi,
    /// Recompute the dashboard counters from the calls (after restoring calls from a backup;
    /// safe while the service runs).
    RebuildCounters,
    /// Seal every stored secret again under CONFIG_ENCRYPTION_KEY (the last step of a key
    /// rotation: the old key must still be listed in CONFIG_ENCRYPTION_PREVIOUS_KEYS).
    ReencryptSettings,
    /// Make an existing account an admin (the only way besides ADMIN_EMAILS).
    CreateAdmin {
        /// Email of the account to promote.
        #[arg(long)]
        email: String,
        /// Make it a `super_admin`, who may also change the platform configuration (the
        /// frontend shows Configuration only to this role).
        #[arg(long)]
        super_admin: bool,
    },
}

/// Parses the command line and runs the command (shared by the binary and the tests).
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = telemetry::start_process();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let addr = format!("{}:{}", config.server.host, config.server.port);
            let migrate = config.database.auto_migrate;
            let services = shared::startup::start(config, migrate).await?;
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (HOST/PORT): {e}"))?;
            let shutdown = CancellationToken::new();
            tokio::spawn(telemetry::cancel_on_signal(shutdown.clone()));
            crate::serve(services, listener, shutdown).await
        }
        Command::Migrate => {
            let db = shared::platform::db::connect(&config).await?;
            shared::startup::prepare_database(&db).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email, super_admin } => {
            let migrate = config.database.auto_migrate;
            let services = shared::startup::start(config, migrate).await?;
            let role = if super_admin {
                shared::accounts::users::Role::SuperAdmin
            } else {
                shared::accounts::users::Role::Admin
            };
            match shared::accounts::users::promote_admin(&services.db, &email, role).await {
                Ok(user) => {
                    println!(
                        "{} is now a{} {role}",
                        user.email,
                        if super_admin { "" } else { "n" }
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("cannot promote {email}: {}", e.public_message());
                    std::process::exit(1);
                }
            }
        }
        Command::RebuildCounters => {
            let db = shared::platform::db::connect(&config).await?;
            let started = std::time::Instant::now();
            let recount = shared::dashboard::recount::rebuild(&db).await?;
            println!(
                "dashboard counters rebuilt from {}",
                recount.summary(started.elapsed().as_secs_f64())
            );
            Ok(())
        }
        Command::ReencryptSettings => {
            let db = shared::platform::db::connect(&config).await?;
            let count = shared::platform::system_config::reencrypt(&db, &config).await?;
            println!("{count} stored secrets sealed under the current CONFIG_ENCRYPTION_KEY");
            Ok(())
        }
        Command::Openapi => {
            // The document describes the API, not this deployment: it is built against a
            // throwaway database and key in a temporary directory, so printing it touches no
            // database and leaves nothing behind (no `./data`, no JWT secret file).
            let scratch = tempfile::tempdir()?;
            let mut offline = config;
            offline.database.url =
                format!("sqlite://{}/spec.db?mode=rwc", scratch.path().display());
            offline.jobs.redis_url = None;
            offline.server.data_dir = scratch.path().to_path_buf();
            offline.auth.jwt_secret = Some(shared::accounts::auth::tokens::random_token().into());
            let services = shared::startup::start(offline, false).await?;
            println!("{}", crate::openapi_json(&services));
            Ok(())
        }
    }
}
