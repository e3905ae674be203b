//! `snelsync match-report`: from two files without any configuration, and with SnelStart's
//! relations read through the configured client from snelstart-mock (one of them sent
//! malformed), with the documented lines, summary and exit code.

mod support;

use serde_json::{Value, json};
use support::Setup;

const CRM: &str = include_str!("../../mapping/tests/data/matching/crm.json");
const SNELSTART: &str = include_str!("../../mapping/tests/data/matching/snelstart.json");

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[test]
fn files_without_configuration() {
    let dir = tempfile::tempdir().unwrap();
    // The sample files, with one unreadable record on each side: a CRM relation whose KvK
    // number is not one (second in the file) and a SnelStart item whose relatiecode is text.
    let mut crm: Vec<Value> = serde_json::from_str(CRM).unwrap();
    crm.insert(
        1,
        json!({"id": "crm-bad", "kind": "customer", "legal_name": "Kapot B.V.", "kvk_number": "12-34"}),
    );
    let mut snelstart: Vec<Value> = serde_json::from_str(SNELSTART).unwrap();
    snelstart.push(
        json!({"id": "5e1f0000-0000-4000-8000-000000000001", "relatiecode": "tien", "naam": "X"}),
    );
    let crm_path = dir.path().join("crm.json");
    let ss_path = dir.path().join("snelstart.json");
    std::fs::write(&crm_path, serde_json::to_string(&crm).unwrap()).unwrap();
    std::fs::write(&ss_path, serde_json::to_string(&snelstart).unwrap()).unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args(["match-report"])
        .arg(&crm_path)
        .arg(&ss_path)
        .current_dir(dir.path())
        .env("SNELSYNC_CONFIG", dir.path().join("absent.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = lines(&out.stdout);
    assert_eq!(lines.len(), 11, "one SnelStart invalid line + 10 CRM lines");

    // Unreadable SnelStart records first, naming the field.
    assert_eq!(lines[0]["side"], "snelstart");
    assert_eq!(lines[0]["decision"], "invalid");
    assert_eq!(lines[0]["index"], 9);
    assert_eq!(
        lines[0]["snelstart_id"],
        "5e1f0000-0000-4000-8000-000000000001"
    );
    assert_eq!(lines[0]["problems"][0]["field"], "relatiecode");
    // Then the CRM in file order, the unreadable one in its place.
    assert_eq!(lines[1]["crm_id"], "crm-1");
    assert_eq!(lines[2]["decision"], "invalid");
    assert_eq!(lines[2]["side"], "crm");
    assert_eq!(lines[2]["index"], 1);
    assert_eq!(lines[2]["crm_id"], "crm-bad");
    assert_eq!(lines[2]["problems"][0]["field"], "kvk_number");
    assert_eq!(lines[3]["crm_id"], "crm-2");
    // The holding matches the holding, with its relatiecode.
    assert_eq!(lines[4]["crm_id"], "crm-3");
    assert_eq!(lines[4]["decision"], "match");
    assert_eq!(
        lines[4]["snelstart_id"],
        "2b7c1d10-5a3e-4f4b-9d55-0c1e2f3a4b02"
    );
    assert_eq!(lines[4]["relatiecode"], 20017);
    // Reviews carry their candidates; other decisions none.
    let review = lines
        .iter()
        .find(|l| l["decision"] == "review" && l["crm_id"] == "crm-1")
        .unwrap();
    assert!(!review["candidates"].as_array().unwrap().is_empty());
    assert_eq!(lines[4]["candidates"], json!([]));
    // The summary, duplicate groups and the thresholds used go to standard error.
    assert!(
        stderr.contains("10 CRM relations against 10 SnelStart relations")
            && stderr.contains("1 CRM and 1 SnelStart records could not be read"),
        "{stderr}"
    );
    assert!(stderr.contains("duplicate in snelstart:"), "{stderr}");
    assert!(stderr.contains("default matching thresholds"), "{stderr}");

    // --out: the lines go to the file, the summary to standard output (JSON with --json).
    let report = dir.path().join("report.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args(["match-report", "--json", "--out"])
        .arg(&report)
        .arg(&crm_path)
        .arg(&ss_path)
        .env("SNELSYNC_CONFIG", dir.path().join("absent.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["summary"]["crm_invalid"], 1);
    assert_eq!(summary["summary"]["snelstart_invalid"], 1);
    assert_eq!(
        summary["summary"]["matched"].as_u64().unwrap()
            + summary["summary"]["review"].as_u64().unwrap()
            + summary["summary"]["new"].as_u64().unwrap(),
        9
    );
    assert_eq!(
        std::fs::read_to_string(&report).unwrap().lines().count(),
        11
    );

    // A file that is not JSON at all: exit 1, naming the file and the position.
    std::fs::write(&crm_path, "[{\"id\": ").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args(["match-report"])
        .arg(&crm_path)
        .arg(&ss_path)
        .env("SNELSYNC_CONFIG", dir.path().join("absent.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("crm.json") && stderr.contains("line 1"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snelstart_relations_through_the_client() {
    let s = Setup::start().await;
    s.init();
    // A second relation, which SnelStart sends malformed on the next list read.
    let second = support::create_relation(
        &s,
        json!({"relatiesoort": ["Leverancier"], "relatiecode": 501, "naam": "Molen De Hoop"}),
    )
    .await;
    s.mock.script_faults([snelstart_mock::ScriptedFault::new(
        snelstart_mock::FaultKind::MalformedListItem { index: 1 },
    )
    .on("GET", "/v2/relaties")]);
    let existing = s.existing_id.clone();
    let s = tokio::task::spawn_blocking(move || {
        let export = s.export();
        let out = s.run(&["match-report", export.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0));
        let lines = lines(&out.stdout);
        assert_eq!(lines[0]["side"], "snelstart");
        assert_eq!(lines[0]["index"], 1);
        assert_eq!(lines[0]["snelstart_id"], second.as_str());
        assert_eq!(lines[0]["problems"][0]["field"], "uri");
        let by_id = |id: &str| {
            lines
                .iter()
                .find(|l| l["crm_id"] == id)
                .unwrap_or_else(|| panic!("no line for {id}: {lines:?}"))
                .clone()
        };
        assert_eq!(by_id("crm-1")["decision"], "new");
        assert_eq!(by_id("crm-2")["decision"], "invalid");
        assert_eq!(by_id("crm-2")["problems"][0]["field"], "kvk_number");
        // The namesake the bookkeeper typed in: a person decides, with the candidate shown.
        let korst = by_id("crm-3");
        assert_eq!(korst["decision"], "review");
        assert_eq!(korst["snelstart_id"], existing.as_str());
        assert_eq!(korst["relatiecode"], 500);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("read from administration `bakkerij`")
                && stderr.contains("thresholds of `bakkerij`'s mapping")
                && stderr.contains("1 CRM and 1 SnelStart records could not be read"),
            "{stderr}"
        );
        s
    })
    .await
    .unwrap();
    s.mock.shutdown().await;
}
