//! The `snelstart-mock` binary: flags, start-up lines, serving until killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_urls_and_serves_with_its_flags() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snelstart-mock"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--subscription-key",
            "SUB",
            "--client-key",
            "KEY",
            "--seed-relations",
            "4",
        ])
        .args(["--rate-limit-per-minute", "1000", "--max-concurrent", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    let token_line = lines.next().unwrap().unwrap();
    let base = base.rsplit(' ').next().unwrap().to_owned();
    let token_url = token_line.rsplit(' ').next().unwrap().to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v2"),
        "{base}"
    );
    assert!(token_url.ends_with("/b2b/token"), "{token_url}");

    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(&token_url)
        .form(&[("grant_type", "clientkey"), ("clientkey", "KEY")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let relaties: serde_json::Value = http
        .get(format!("{base}/relaties"))
        .header("Ocp-Apim-Subscription-Key", "SUB")
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(relaties.as_array().unwrap().len(), 4);
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn binary_rejects_a_bad_fault_rate() {
    let out = Command::new(env!("CARGO_BIN_EXE_snelstart-mock"))
        .args(["--fault-rate", "1.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fault-rate"));
}

#[tokio::test]
async fn binary_reads_a_toml_config_with_several_administrations() {
    let path =
        std::env::temp_dir().join(format!("snelstart-mock-test-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "subscription_key = \"S\"\n[[administrations]]\nclient_key = \"A\"\nseed_relations = 2\n[[administrations]]\nclient_key = \"B\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snelstart-mock"))
        .args(["--addr", "127.0.0.1:0", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _base = lines.next().unwrap().unwrap();
    let token_url = lines
        .next()
        .unwrap()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    for (key, ok) in [("A", true), ("B", true), ("C", false)] {
        let r = http
            .post(&token_url)
            .form(&[("grant_type", "clientkey"), ("clientkey", key)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().is_success(), ok, "{key}");
    }
    child.kill().unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_file(&path);
}
