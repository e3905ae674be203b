//! `snelsync` end to end against snelstart-mock, as an operator runs it: init → check → plan
//! → sync --from → status → review → reconcile → backup export/import, with `--json` and the
//! documented exit codes; and `serve` answering and stopping on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{Setup, json_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_check_sync_status_reconcile_backup() {
    let s = Setup::start().await;
    let s = tokio::task::spawn_blocking(move || {
        s.init();
        assert!(s.path("snelsync.toml").exists() && s.path("mapping.toml").exists());
        let config = std::fs::read_to_string(s.path("snelsync.toml")).unwrap();
        assert!(
            !config.contains(s.mock.client_key()),
            "no secret in the file"
        );
        // A second init does not overwrite.
        assert_eq!(
            s.run(&["init", "--dir", s.dir.path().to_str().unwrap()])
                .status
                .code(),
            Some(1)
        );

        let check = s.run(&["check", "--json"]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "the mock chart fits: safe to sync"
        );
        let check = json_of(&check);
        assert_eq!(check["administrations"][0]["safe_to_sync"], true);
        assert_eq!(check["administrations"][0]["credentials"], "ok");

        // Wrong credentials: exit 1, and the key is not printed.
        let bad = Command::new(env!("CARGO_BIN_EXE_snelsync"))
            .args(["check"])
            .envs(s.env())
            .env("SNELSTART_KOPPELSLEUTEL", "not-the-key")
            .env("SNELSYNC_CONFIG", s.path("snelsync.toml"))
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(1));
        assert!(!String::from_utf8_lossy(&bad.stderr).contains("not-the-key"));

        let export = s.export();
        let export = export.to_str().unwrap();
        let plan = s.run(&["plan", "--from", export, "--json"]);
        assert_eq!(plan.status.code(), Some(0));
        let plan = json_of(&plan);
        assert!(
            plan["administrations"][0]["plan"].as_array().unwrap().len() >= 5,
            "{plan}"
        );
        assert_eq!(
            s.mock.stats().successful_writes(),
            1,
            "plan writes nothing (1 = the seeded relation)"
        );

        let sync = s.run(&["sync", "--from", export, "--json"]);
        assert_eq!(
            sync.status.code(),
            Some(3),
            "a failure and a review need a person"
        );
        let sync = json_of(&sync);
        let queue = &sync["administrations"][0]["queue"];
        assert_eq!(queue["failed"], 1, "{sync}");
        assert_eq!(queue["needs_review"], 1, "{sync}");
        assert_eq!(queue["done"], 4, "{sync}");

        let status = s.run(&["status", "--json"]);
        assert_eq!(status.status.code(), Some(3));
        let status = json_of(&status);
        let admin = &status["administrations"][0];
        assert_eq!(admin["failures"][0]["crm_id"], "crm-2");
        assert_eq!(admin["failures_fields"][0]["fields"][0], "kvk_number");
        assert_eq!(admin["review"][0]["crm_id"], "crm-3");

        let review = json_of(&s.run(&["review", "list", "--json"]));
        let candidates = &review["administrations"][0]["review"][0]["candidates"];
        assert_eq!(
            candidates[0]["snelstart_id"],
            s.existing_id.as_str(),
            "{review}"
        );

        let reconcile = s.run(&["reconcile", "--from", export, "--json"]);
        assert!(matches!(reconcile.status.code(), Some(0 | 3)));
        let reconcile = json_of(&reconcile);
        assert!(
            reconcile["administrations"][0]["checked"].is_object(),
            "{reconcile}"
        );
        let status = json_of(&s.run(&["status", "--json"]));
        assert!(
            status["administrations"][0]["last_reconcile"]["at"].is_string(),
            "{status}"
        );

        let digest = s.path("digest.md");
        let out = s.run(&["digest", "--out", digest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "the digest needs a person too");
        let md = std::fs::read_to_string(&digest).unwrap();
        assert!(md.contains("| relation | crm-2 | kvk_number |"), "{md}");
        assert!(md.contains("relation crm-3 since"), "{md}");

        let backup = s.path("backup.json");
        let out = s.run(&["backup", "export", "--out", backup.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
        assert!(doc["format"].is_string(), "{doc}");
        let text = std::fs::read_to_string(&backup).unwrap();
        assert!(!text.contains(s.mock.client_key()) && !text.contains(s.mock.subscription_key()));
        assert!(text.contains("crm-1"), "the links are in the backup");
        let out = s.run(&["backup", "import", backup.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(0));

        // Usage errors: exit 2.
        assert_eq!(s.run(&["frobnicate"]).status.code(), Some(2));
        s
    })
    .await
    .unwrap();
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_and_stops_on_sigterm() {
    let s = Setup::start().await;
    s.init();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args(["serve"])
        .current_dir(s.dir.path())
        .envs(s.env())
        .env("SNELSYNC_CONFIG", s.path("snelsync.toml"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("snelsync: listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = http.get(format!("{base}/api/admins")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{base}/api/admins"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Posts a signed change: accepted and written to SnelStart by the running loop.
    let body =
        serde_json::json!({"relations": [support::export()["relations"][0].clone()]}).to_string();
    let ts = chrono::Utc::now().timestamp();
    let sig = snelsync_http::sign(
        &snelsync_http::Secret::new(support::CRM_SECRET),
        ts,
        "ev-1",
        body.as_bytes(),
    );
    let r = http
        .post(format!("{base}/crm/crm/changes"))
        .header("x-snelsync-timestamp", ts.to_string())
        .header("x-snelsync-event-id", "ev-1")
        .header("x-snelsync-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut written = false;
    for _ in 0..100 {
        if s.mock
            .state_json()
            .to_string()
            .contains("Installatiebedrijf Jansen")
        {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(written, "the change reached SnelStart");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "snelsync: stopped"), "{rest:?}");
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_api_drift_by_property_without_values() {
    let s = Setup::start().await;
    s.init();
    // SnelStart adds a field to the chart of accounts after an update (a scripted fault
    // fires once: scripted again before each run).
    let added = || {
        snelstart_mock::ScriptedFault::new(snelstart_mock::FaultKind::NewProperty {
            name: "rapportageCategorie".to_owned(),
        })
        .on("GET", "/v2/grootboeken")
    };
    s.mock.script_faults([added()]);
    let s = tokio::task::spawn_blocking(move || {
        let check = s.run(&["check", "--json"]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "drift alone is no reason to stop"
        );
        let check = json_of(&check);
        let drift = check["administrations"][0]["api_drift"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(drift.len(), 1, "{drift:?}");
        assert_eq!(drift[0]["route"], "grootboeken");
        assert_eq!(drift[0]["kind"], "unknown_property");
        assert_eq!(drift[0]["path"], "rapportageCategorie");
        assert!(
            !check.to_string().contains("added by SnelStart"),
            "no values"
        );
        s.mock.script_faults([added()]);
        let text = s.run(&["check"]);
        let out = String::from_utf8_lossy(&text.stdout);
        assert!(
            out.contains("API drift") && out.contains("rapportageCategorie"),
            "{out}"
        );
        s
    })
    .await
    .unwrap();
    s.mock.shutdown().await;
}

/// `init` with the SnelStart keys in the environment reads the chart of accounts and the VAT
/// rates and proposes the ledgers, each commented with why; `check` finds it safe to sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_credentials_proposes_the_ledgers() {
    let s = Setup::start().await;
    let s = tokio::task::spawn_blocking(move || {
        let dir = s.dir.path().to_str().unwrap().to_owned();
        let base = s.mock.base_url();
        let auth = s.mock.auth_url();
        let init = s.run(&[
            "init", "--dir", &dir, "--admin-key", "bakkerij", "--base-url", &base,
            "--auth-url", &auth, "--budget", "unlimited", "--json",
        ]);
        assert_eq!(init.status.code(), Some(0));
        let init = json_of(&init);
        let proposal = &init["proposal"];
        assert_eq!(proposal["administration"], "bakkerij");
        assert_eq!(proposal["debtors"]["ledger"], 1300);
        assert_eq!(proposal["creditors"]["ledger"], 1600);
        assert_eq!(proposal["missing"], serde_json::json!([]));

        let text = std::fs::read_to_string(s.path("mapping.toml")).unwrap();
        // Each rule says why: number, name, rubriek, function.
        assert!(
            text.contains(
                "# omzet with VAT hoog → 8000 Omzet hoog (rubriek Netto-omzet, function VerkopenOmzetHoog, allows btw Hoog)"
            ),
            "{text}"
        );
        assert!(text.contains("# Debiteuren"), "{text}");
        assert!(text.contains("1300 Debiteuren"), "{text}");
        assert!(text.contains("hoog 21 % since 2012-10-01"), "{text}");
        let config = mapping::config::MappingConfig::from_toml_str(&text).unwrap();
        use crm_model::VatCategory as V;
        let revenue = |v| config.revenue_ledger(None, v);
        assert_eq!(
            [V::Hoog, V::Laag, V::Verlegd, V::Export, V::IntraEu, V::Nul, V::Vrijgesteld]
                .map(revenue),
            [8000, 8010, 8020, 8030, 8040, 8050, 8050].map(Some),
            "not 8100: it needs a kostenplaats on every line"
        );
        // One purchase ledger for every rate: the cost of sales, not the first cost ledger.
        assert_eq!(config.ledgers.cost.len(), 1);
        assert_eq!(config.ledgers.cost[0].ledger, 7000);
        assert!(text.contains("#   4300 Kantoorkosten"), "{text}");
        assert!(text.contains("#   8100 Omzet projecten hoog"), "{text}");

        let path = s.path("snelsync.toml");
        let conf = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, conf.replace("127.0.0.1:7878", "127.0.0.1:0")).unwrap();
        let check = s.run(&["check", "--json"]);
        assert_eq!(check.status.code(), Some(0), "the proposal is safe to sync");
        assert_eq!(json_of(&check)["administrations"][0]["safe_to_sync"], true);

        // Wrong credentials: nothing is written, exit 1.
        let other = tempfile::tempdir().unwrap();
        let bad = Command::new(env!("CARGO_BIN_EXE_snelsync"))
            .args(["init", "--dir", other.path().to_str().unwrap(), "--base-url", &base, "--auth-url", &auth])
            .envs(s.env())
            .env("SNELSTART_KOPPELSLEUTEL", "not-the-key")
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(1));
        assert!(!other.path().join("snelsync.toml").exists());
        assert!(!String::from_utf8_lossy(&bad.stderr).contains("not-the-key"));
        s
    })
    .await
    .unwrap();
    s.mock.shutdown().await;
}
