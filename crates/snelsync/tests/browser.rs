//! The status page in a real browser: `snelsync serve` against snelstart-mock with a failure and
//! a review, Debian's headless Chromium driven through chromedriver (WebDriver), checking what
//! a person sees, clicking "link" on the review and checking the store and the page. Screenshots
//! go to `target/tmp/snelsync-browser/`.
//!
//! Without chromium and chromedriver the test says so and passes, unless
//! `SNELSYNC_REQUIRE_BROWSER` is set (CI sets it: there a missing browser fails).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use support::{Killed, Setup};
use sync_core::store::{AdminKey, EntityKind, LinkPart, LinkStore};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A WebDriver session, spoken to over HTTP on loopback.
struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Killed,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Killed(
            Command::new(CHROMEDRIVER)
                .args([
                    format!("--port={port}"),
                    "--allowed-ips=127.0.0.1".to_owned(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on {base}");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1500",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Browser {
            http,
            session: format!("{base}/session/{id}"),
            _driver: driver,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let req = self.http.request(method.clone(), &url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let r: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = r["value"].get("error") {
            panic!("WebDriver {path}: {err} {}", r["value"]["message"]);
        }
        r["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_object()
            .and_then(|m| m.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{el}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            json!({}),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// The text of the first element matching `css` once the page shows one: a click that
    /// submits a form can return before the next page has loaded. Waits at most 10 s.
    async fn text_when_shown(&self, css: &str) -> String {
        let probe = format!(
            "const e = document.querySelector({}); return e ? e.innerText : null;",
            serde_json::to_string(css).unwrap()
        );
        for _ in 0..100 {
            if let Some(text) = self.script(&probe).await.as_str() {
                return text.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.script("return document.body.innerText").await;
        panic!("no element {css} within 10 s; the page says: {page}");
    }

    async fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    async fn screenshot(&self, path: &Path) {
        let b64 = self
            .cmd(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

fn browser_available() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("snelsync-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_failures_and_reviews_and_links_a_review() {
    if !browser_available() {
        if std::env::var_os("SNELSYNC_REQUIRE_BROWSER").is_some() {
            panic!("SNELSYNC_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing");
        }
        println!(
            "SKIPPED: {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium \
             chromium-driver); set SNELSYNC_REQUIRE_BROWSER to make this a failure"
        );
        return;
    }
    let s = Setup::start()
        .await
        .blocking(|s| {
            s.init();
            let export = s.export();
            let out = s.run(&["sync", "--from", export.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(3), "a failure and a review to show");
        })
        .await;
    let (serve, base) = s.serve(&[]);
    let shots = artefacts();

    let b = Browser::start().await;
    b.goto(&format!("{base}/admins/bakkerij")).await;
    assert!(
        b.text("h1").await.contains("Inloggen"),
        "not logged in: the login page"
    );
    b.type_into("#token", support::TOKEN).await;
    b.click("button[type=submit]").await;

    // The overview: the administration, its health and its counts.
    b.text_when_shown("a[href='/admins/bakkerij']").await;
    let overview = b.text("main").await;
    assert!(overview.contains("bakkerij"), "{overview}");
    assert!(
        overview.contains("fouten"),
        "the health says it fails: {overview}"
    );
    b.screenshot(&shots.join("overview.png")).await;

    b.click("a[href='/admins/bakkerij']").await;
    // The failure, with the field named.
    let failures = b.text_when_shown("#fouten").await;
    assert!(failures.contains("crm-2"), "{failures}");
    assert!(
        failures.contains("kvk_number"),
        "the field is named: {failures}"
    );
    assert!(
        failures.contains("12-34"),
        "the message quotes the value: {failures}"
    );
    // The review, with both records side by side.
    let review = b.text("#beoordeling").await;
    assert!(
        review.contains("Banketbakkerij De Korst"),
        "the CRM record: {review}"
    );
    assert!(
        review.contains("Bakkerij De Korst B.V."),
        "the SnelStart candidate: {review}"
    );
    assert!(
        review.contains("500"),
        "the candidate's relatiecode: {review}"
    );
    assert!(
        review.contains("Kerkstraat"),
        "addresses to compare: {review}"
    );
    // Usable without a mouse: Tab reaches the link button (a real button in a form).
    let mut reached = false;
    for _ in 0..60 {
        b.cmd(
            reqwest::Method::POST,
            "/actions",
            json!({"actions": [{"type": "key", "id": "kb", "actions": [
                {"type": "keyDown", "value": "\u{E004}"}, {"type": "keyUp", "value": "\u{E004}"}]}]}),
        )
        .await;
        let action = b
            .script("return document.activeElement.getAttribute('data-action')")
            .await;
        if action == "link" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the link button");
    let outline = b
        .script("return getComputedStyle(document.activeElement).outlineStyle")
        .await;
    assert_eq!(outline, "solid", "the focused button shows a focus ring");
    b.screenshot(&shots.join("administration.png")).await;

    b.click("button[data-action=link]").await;
    let notice = b.text_when_shown("p.notice").await;
    assert!(notice.contains("Gekoppeld"), "{notice}");

    // The store holds the link, made by the running service.
    let store = sync_store_sqlite::SqliteStore::open(s.path("snelsync.sqlite")).unwrap();
    let admin = AdminKey::new("bakkerij");
    let mut link = None;
    for _ in 0..100 {
        link = store
            .link_by_crm_id(&admin, EntityKind::Relation, "crm-3", &LinkPart::Whole)
            .await
            .unwrap();
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let link = link.expect("the review decision made a link");
    assert_eq!(link.snelstart_id.to_string(), s.existing_id);

    b.goto(&format!("{base}/admins/bakkerij")).await;
    let review = b.text("#beoordeling").await;
    assert!(
        review.contains("Niets te beoordelen"),
        "the page updates: {review}"
    );
    let failures = b.text("#fouten").await;
    assert!(
        failures.contains("kvk_number"),
        "the failure stays until fixed"
    );
    b.screenshot(&shots.join("after-link.png")).await;
    b.close().await;

    serve.stop().await;
    s.mock.shutdown().await;
}
