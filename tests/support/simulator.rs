//! What the root tests share: a client for the simulator over loopback, without a call budget.

use snelstart_mock::MockServer;
use snelstart_sync::client::Client;
use snelstart_sync::client::budget::BudgetConfig;

/// A client for `server` without a call budget (the client's default retries).
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .build()
        .expect("a client for the simulator")
}
