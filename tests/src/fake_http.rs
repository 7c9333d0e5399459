//! Fake third-party HTTP APIs on loopback (ElevenLabs, Stripe, JWKS hosts): a real HTTP server
//! answering with the providers' documented shapes.

pub use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

/// Starts an empty fake provider on a loopback port; mount `Mock`s on it.
pub async fn start() -> MockServer {
    MockServer::start().await
}
