//! The calendar jobs of `snelsync serve`: the weekly digest reaches its webhook once per
//! appointment, a failed delivery is not recorded as sent (the next start tries again), and a
//! restart does not send it twice; the monthly reconcile records its result for the status.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use support::Setup;

/// A webhook receiver on 127.0.0.1 that keeps what it was sent and answers `status`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    status: Arc<AtomicU16>,
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    r.got.lock().unwrap().push(body);
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

impl Receiver {
    async fn start(status: u16) -> (Receiver, String) {
        let r = Receiver::default();
        r.status.store(status, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

/// Starts `snelsync serve`, waits until its schedule has looked at the clock once (the
/// "schedule: waiting" log line, written after every due job ran), then stops it with
/// SIGTERM. Returns the log.
fn serve_once(s: &Setup, webhook: &str) -> String {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args(["serve"])
        .current_dir(s.dir.path())
        .envs(s.env())
        .env("RUST_LOG", "warn,snelsync=info")
        .env("NO_COLOR", "1")
        .env("SNELSYNC_CONFIG", s.path("snelsync.toml"))
        .env("SNELSYNC_DIGEST_WEBHOOK", webhook)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    // Bounded: the service logs a handful of lines before the schedule's first wait.
    for _ in 0..200 {
        let Some(Ok(line)) = lines.next() else { break };
        log.push_str(&line);
        log.push('\n');
        if line.contains("schedule: waiting") {
            break;
        }
    }
    assert!(log.contains("schedule: waiting"), "{log}");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    for line in lines.map_while(Result::ok) {
        log.push_str(&line);
        log.push('\n');
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_digest_reaches_its_webhook_once_and_a_failed_one_is_retried() {
    let s = Setup::start().await;
    s.init();
    let (receiver, url) = Receiver::start(500).await;
    let s = Arc::new(s);

    // First start: the digest is due (it never ran) but the webhook fails: not recorded.
    let log = tokio::task::spawn_blocking({
        let (s, url) = (Arc::clone(&s), url.clone());
        move || serve_once(&s, &url)
    })
    .await
    .unwrap();
    assert_eq!(receiver.count(), 1, "{log}");
    assert!(log.contains("weekly digest failed"), "{log}");
    assert!(
        !log.contains(&url),
        "the webhook URL may hold a token: {log}"
    );

    // Second start, the webhook works: delivered, written, recorded.
    receiver.status.store(200, Ordering::SeqCst);
    let log = tokio::task::spawn_blocking({
        let (s, url) = (Arc::clone(&s), url.clone());
        move || serve_once(&s, &url)
    })
    .await
    .unwrap();
    assert_eq!(receiver.count(), 2, "{log}");
    let body = receiver.got.lock().unwrap()[1].clone();
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("# snelsync weekly digest"), "{text}");
    assert!(text.contains("## bakkerij"), "{text}");
    assert!(body["attention"].is_boolean() && body["generated_at"].is_string());
    let files: Vec<_> = std::fs::read_dir(s.path("digests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        files.len() == 1 && files[0].starts_with("digest-") && files[0].ends_with(".md"),
        "{files:?}"
    );

    // Third start: this appointment's digest went out; nothing is sent again.
    let log = tokio::task::spawn_blocking({
        let (s, url) = (Arc::clone(&s), url.clone());
        move || serve_once(&s, &url)
    })
    .await
    .unwrap();
    assert_eq!(receiver.count(), 2, "sent twice for one appointment: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_reconcile_records_its_result_and_a_plain_http_webhook_elsewhere_is_refused() {
    let s = Setup::start().await;
    s.init();
    let export = s.export();
    let config = std::fs::read_to_string(s.path("snelsync.toml")).unwrap();
    let config = config
        .replace("# reconcile = \"1 06:00\"", "reconcile = \"1 06:00\"")
        .replace(
            "# reconcile_from = \"crm-export.json\"",
            &format!("reconcile_from = {:?}", export.file_name().unwrap()),
        );
    assert!(config.contains("\nreconcile = \"1 06:00\""), "{config}");
    std::fs::write(s.path("snelsync.toml"), config).unwrap();

    // A digest webhook over plain HTTP to another host would carry the digest in clear text.
    let refused = Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args(["serve"])
        .current_dir(s.dir.path())
        .envs(s.env())
        .env("SNELSYNC_CONFIG", s.path("snelsync.toml"))
        .env(
            "SNELSYNC_DIGEST_WEBHOOK",
            "http://example.com/hook?token=abc",
        )
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "a configuration error");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("SNELSYNC_DIGEST_WEBHOOK") && err.contains("https"),
        "{err}"
    );
    assert!(!err.contains("token=abc"), "{err}");

    let (_receiver, url) = Receiver::start(200).await;
    let s = Arc::new(s);
    let log = tokio::task::spawn_blocking({
        let s = Arc::clone(&s);
        move || serve_once(&s, &url)
    })
    .await
    .unwrap();
    assert!(log.contains("monthly reconcile done"), "{log}");
    // The status shows the reconcile the schedule ran.
    let status = s.run(&["status", "--json"]);
    let status = support::json_of(&status);
    let last = &status["administrations"][0]["last_reconcile"];
    assert!(last["at"].is_string(), "{status}");
}
