//! Assembling the gateway: the OpenAPI service, docs, middleware, and serving it (with the
//! embedded worker when configured).

use std::{sync::Arc, time::Duration};

use poem::{
    Endpoint, EndpointExt, IntoEndpoint, Route, Server,
    listener::{Acceptor, TcpAcceptor},
    middleware::Cors,
};
use poem_openapi::OpenApiService;
use shared::{Services, platform::live::LiveHub};
use tokio_util::sync::CancellationToken;

use crate::{
    admin::AdminApi,
    admin_agents::AdminAgentsApi,
    admin_analytics::AdminAnalyticsApi,
    admin_api_keys::AdminApiKeysApi,
    admin_audit::AdminAuditApi,
    admin_dashboard::AdminDashboardApi,
    admin_feature_flags::AdminFeatureFlagsApi,
    admin_phone_numbers::AdminPhoneNumbersApi,
    admin_report_schedules::AdminReportSchedulesApi,
    admin_report_shares::{AdminReportSharesApi, ReportSharesApi},
    admin_reports::AdminReportsApi,
    admin_session::AdminSessionApi,
    admin_settings::AdminSettingsApi,
    admin_users::AdminUsersApi,
    agents::AgentApi,
    auth::{AuthApi, EmailApi},
    billing::BillingApi,
    billing_summary::BillingSummaryApi,
    call_analytics::CallAnalyticsApi,
    calls::CallApi,
    campaigns::CampaignApi,
    chats::ChatApi,
    client_errors::ClientErrorApi,
    contact_imports::{ImportApi, UploadApi},
    contacts::ContactApi,
    credits::CreditsApi,
    customers::CustomerApi,
    dashboard::DashboardApi,
    do_not_call::DoNotCallApi,
    error::from_poem_error,
    events::EventsApi,
    health::HealthApi,
    integrations::IntegrationApi,
    lead_intelligence::LeadIntelligenceApi,
    leads::LeadApi,
    middleware::{
        AllowedMethods, BodyLimit, NoNul, RequestId, RequestTimeout, RouteLimit, SecurityHeaders,
        inline_script_hashes,
    },
    notifications::NotificationApi,
    rate_limit::{RateLimit, RateLimiter},
    user::UserApi,
    webhooks::WebhookApi,
};

pub type Apis = (
    HealthApi,
    (AuthApi, EmailApi, ClientErrorApi),
    UserApi,
    AgentApi,
    (CallApi, ChatApi, CampaignApi, DoNotCallApi),
    (LeadApi, LeadIntelligenceApi, CustomerApi),
    // poem-openapi implements tuples of up to 16 APIs; the admin area's are one of them.
    (
        AdminApi,
        AdminAgentsApi,
        AdminSessionApi,
        AdminSettingsApi,
        AdminAnalyticsApi,
        AdminUsersApi,
        AdminAuditApi,
        AdminDashboardApi,
        AdminApiKeysApi,
        AdminReportsApi,
        AdminPhoneNumbersApi,
        AdminFeatureFlagsApi,
        AdminReportSchedulesApi,
        AdminReportSharesApi,
        ReportSharesApi,
    ),
    (DashboardApi, CallAnalyticsApi),
    (ImportApi, UploadApi),
    ContactApi,
    IntegrationApi,
    (BillingApi, BillingSummaryApi),
    CreditsApi,
    NotificationApi,
    EventsApi,
    WebhookApi,
);

pub fn openapi_service(
    services: &Services,
    hub: LiveHub,
    limiter: Arc<RateLimiter>,
) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            HealthApi {
                services: services.clone(),
            },
            (
                AuthApi {
                    services: services.clone(),
                    limiter: limiter.clone(),
                },
                EmailApi {
                    services: services.clone(),
                    limiter: limiter.clone(),
                },
                ClientErrorApi {
                    services: services.clone(),
                },
            ),
            UserApi {
                services: services.clone(),
            },
            AgentApi {
                services: services.clone(),
            },
            (
                CallApi {
                    services: services.clone(),
                },
                ChatApi {
                    services: services.clone(),
                },
                CampaignApi {
                    services: services.clone(),
                },
                DoNotCallApi {
                    services: services.clone(),
                },
            ),
            (
                LeadApi {
                    services: services.clone(),
                },
                LeadIntelligenceApi {
                    services: services.clone(),
                },
                CustomerApi {
                    services: services.clone(),
                },
            ),
            (
                AdminApi {
                    services: services.clone(),
                },
                AdminAgentsApi {
                    services: services.clone(),
                },
                AdminSessionApi {
                    services: services.clone(),
                },
                AdminSettingsApi {
                    services: services.clone(),
                },
                AdminAnalyticsApi {
                    services: services.clone(),
                },
                AdminUsersApi {
                    services: services.clone(),
                },
                AdminAuditApi {
                    services: services.clone(),
                },
                AdminDashboardApi {
                    services: services.clone(),
                },
                AdminApiKeysApi {
                    services: services.clone(),
                },
                AdminReportsApi {
                    services: services.clone(),
                },
                AdminPhoneNumbersApi {
                    services: services.clone(),
                },
                AdminFeatureFlagsApi {
                    services: services.clone(),
                },
                AdminReportSchedulesApi {
                    services: services.clone(),
                },
                AdminReportSharesApi {
                    services: services.clone(),
                },
                ReportSharesApi {
                    services: services.clone(),
                },
            ),
            (
                DashboardApi {
                    services: services.clone(),
                },
                CallAnalyticsApi {
                    services: services.clone(),
                },
            ),
            (
                ImportApi {
                    services: services.clone(),
                },
                UploadApi {
                    services: services.clone(),
                },
            ),
            ContactApi {
                services: services.clone(),
            },
            IntegrationApi {
                services: services.clone(),
            },
            (
                BillingApi {
                    services: services.clone(),
                },
                BillingSummaryApi {
                    services: services.clone(),
                },
            ),
            CreditsApi {
                services: services.clone(),
            },
            NotificationApi {
                services: services.clone(),
            },
            EventsApi {
                services: services.clone(),
                hub,
            },
            WebhookApi {
                services: services.clone(),
            },
        ),
        "Switchboard API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(format!(
        "Backend of the Switchboard AI calling-agent platform.\n\n\
         Sign in with `POST /api/auth/login` (or Stack Auth) and send the access token (`token`) \
         as `Authorization: Bearer <token>`. The shapes are those of the client's frontend; \
         lists not yet moved to its vocabulary take `page` (from 1) and `per_page` (≤ 100) \
         and answer `items`, `page`, `per_page`, `total`. Times are UTC RFC 3339 \
         (`2026-12-01T08:04:06.698Z` where the frontend reads them).\n\n\
         ## Errors\n\nEvery error has the body `{{ \"success\": false, \"error\": {{ \"code\", \
         \"reason\", \"message\", \"details\"?, \"timestamp\" }} }}`: `code` is one of the \
         client's own codes below, `reason` the fine-grained stable cause, `message` is for \
         people; an invalid field is 400 with `details: {{<field>: message}}`. Each endpoint \
         lists its statuses with the reasons they carry:\n\n{}",
        crate::error::error_code_table()
    ))
}

/// The OpenAPI document as JSON (what `api openapi` prints and `/openapi.json` serves).
pub fn openapi_json(services: &Services) -> String {
    openapi_service(
        services,
        LiveHub::new(services.clone(), CancellationToken::new()),
        Arc::new(RateLimiter::new(services)),
    )
    .spec()
}

/// The whole HTTP application; `hub` carries live events to its streams and ends them at
/// shutdown.
pub fn build_app(services: &Services, hub: LiveHub) -> impl Endpoint + 'static {
    let limiter = Arc::new(RateLimiter::new(services));
    let socket = crate::admin_live::AdminSocket {
        services: services.clone(),
        shutdown: hub.shutdown(),
    };
    let api = openapi_service(services, hub, limiter.clone());
    // The documentation pages may run their own inline scripts and nothing else.
    let scripts: Vec<String> = [api.scalar_html(), api.swagger_ui_html()]
        .iter()
        .flat_map(|html| inline_script_hashes(html))
        .collect();
    let docs_policy = format!(
        "default-src 'none'; script-src {}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'none'",
        scripts.join(" ")
    );
    let allowed = AllowedMethods::from_spec(&api.spec());
    let docs = api.scalar();
    let swagger = api.swagger_ui();
    let spec = api.spec_endpoint();
    let config = &services.config;
    let cors = Cors::new()
        .allow_origins(config.server.cors_origins.iter().map(String::as_str))
        .allow_credentials(true)
        .expose_header("x-request-id")
        .max_age(600);
    let mut routes = Route::new();
    if config.server.metrics_port.is_none() {
        routes = routes.at("/metrics", crate::metrics::endpoint(services));
    }
    routes
        .at("/admin/ws", socket)
        .nest("/", api)
        .nest("/docs", docs)
        .nest("/swagger", swagger)
        .at("/openapi.json", spec)
        .with(NoNul)
        .with(BodyLimit {
            limit: config.server.max_body_bytes,
            routes: vec![
                ("/webhooks/elevenlabs", RouteLimit::Streamed),
                // The file plus the multipart framing around it.
                (
                    "/api/contacts/imports",
                    RouteLimit::Setting(|config| config.uploads.import_max_bytes + 64 * 1024),
                ),
                (
                    "/api/campaigns/upload-csv",
                    RouteLimit::Setting(|config| config.uploads.import_max_bytes + 64 * 1024),
                ),
                // Up to 10,000 contact ids (about 40 bytes each) and the campaign's fields.
                ("/api/campaigns", RouteLimit::Setting(|_| 512 * 1024)),
            ],
            services: services.clone(),
        })
        .with(RequestTimeout(Duration::from_secs(
            config.server.request_timeout_secs,
        )))
        .with(RateLimit {
            services: services.clone(),
            limiter,
        })
        .with(cors)
        .catch_all_error(|err| async move { from_poem_error(err) })
        .with(allowed)
        .with(SecurityHeaders {
            hsts: config.server.hsts,
            docs_policy,
        })
        .with(RequestId)
}

/// Serves until `shutdown` is cancelled, then drains connections. With the embedded worker,
/// the worker runs in this process and stops with it.
pub async fn serve(
    services: Services,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let worker = if services.config.jobs.runs_embedded_worker() {
        let state = worker::WorkerState::new(services.clone())?;
        Some(tokio::spawn(worker::run(state, shutdown.clone())))
    } else {
        None
    };
    let metrics = match services.config.server.metrics_port {
        Some(port) => {
            let listener =
                tokio::net::TcpListener::bind((services.config.server.host.as_str(), port)).await?;
            let server = Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?);
            let endpoint = crate::metrics::app(&services);
            let stop = shutdown.clone();
            Some(tokio::spawn(async move {
                server
                    .run_with_graceful_shutdown(endpoint, stop.cancelled_owned(), None)
                    .await
            }))
        }
        None => None,
    };
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    let addr = acceptor.local_addr();
    tracing::info!(addresses = ?addr, embedded_worker = worker.is_some(), "gateway listening");
    let hub = LiveHub::new(services.clone(), shutdown.clone());
    let app = build_app(&services, hub).into_endpoint();
    let timeout = Duration::from_secs(services.config.jobs.shutdown_timeout_secs);
    let signal = {
        let shutdown = shutdown.clone();
        async move { shutdown.cancelled().await }
    };
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, signal, Some(timeout))
        .await;
    shutdown.cancel();
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    if let Some(worker) = worker {
        worker.await??;
    }
    served?;
    Ok(())
}
