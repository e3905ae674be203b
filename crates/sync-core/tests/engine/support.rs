//! What every engine test shares: a client for the simulator over loopback.

use std::time::Duration;

use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelstart_client::retry::RetryPolicy;
use snelstart_mock::MockServer;

/// A client for `server` without a call budget and with fast retries (milliseconds, three
/// attempts), so tests meet faults quickly.
pub fn client(server: &MockServer) -> Client {
    client_with_budget(server, BudgetConfig::unlimited())
}

/// A client for `server` with this call budget and fast retries.
pub fn client_with_budget(server: &MockServer, budget: BudgetConfig) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(budget)
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .build()
        .expect("a client for the simulator")
}
