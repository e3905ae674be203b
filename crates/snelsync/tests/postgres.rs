//! `snelsync` on PostgreSQL: `sync --from` with the store named in `snelsync.toml`
//! (`[store] url`), then `status` and `review list` with `--store URL` on the command line,
//! against snelstart-mock and the PostgreSQL on 127.0.0.1 (user postgres, database `test`;
//! `SNELSYNC_TEST_DATABASE_URL` overrides), each run in a schema of its own.

mod support;

use support::{Setup, database_url, json_of};
use sync_core::store::{AdminKey, QueueStore};
use sync_store_postgres::{PostgresOptions, PostgresStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_status_and_review_on_postgres() {
    let schema = format!("t_cli_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}?schema={schema}", database_url());
    let s = Setup::start().await;
    let (s, url) = tokio::task::spawn_blocking(move || {
        s.init();
        let path = s.path("snelsync.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let with_url = text.replace(
            "# url = \"postgres://snelsync@127.0.0.1:5432/crm?schema=snelsync\"",
            &format!("url = \"{url}\""),
        );
        assert_ne!(with_url, text, "the template offers the url key");
        std::fs::write(&path, &with_url).unwrap();

        let export = s.export();
        let sync = s.run(&["sync", "--from", export.to_str().unwrap(), "--json"]);
        assert_eq!(sync.status.code(), Some(3), "a failure and a review");
        let sync = json_of(&sync);
        assert_eq!(sync["administrations"][0]["queue"]["failed"], 1);
        assert_eq!(sync["administrations"][0]["queue"]["needs_review"], 1);
        assert!(
            !s.path("snelsync.sqlite").exists(),
            "nothing went to SQLite"
        );

        // The same store named on the command line instead of in the file.
        std::fs::write(&path, &text).unwrap();
        let status = s.run(&["status", "--json", "--store", &url]);
        assert_eq!(status.status.code(), Some(3));
        let status = json_of(&status);
        let failures = status["administrations"][0]["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{status}");
        assert_eq!(failures[0]["crm_id"], "crm-2");
        let review = json_of(&s.run(&["review", "list", "--json", "--store", &url]));
        assert_eq!(review["administrations"][0]["review"][0]["crm_id"], "crm-3");
        (s, url)
    })
    .await
    .unwrap();

    // What the commands wrote is in the schema, read with the store itself.
    let schema = url.split("schema=").nth(1).unwrap().to_owned();
    let store = PostgresStore::connect(&database_url(), PostgresOptions::default().schema(schema))
        .await
        .unwrap();
    let counts = store.counts(&AdminKey::new("bakkerij")).await.unwrap();
    assert_eq!((counts.failed, counts.needs_review), (1, 1));
    assert!(counts.done >= 3, "{counts:?}");
    store.drop_schema().await.unwrap();
    s.mock.shutdown().await;
}

#[test]
fn an_unreachable_database_is_exit_1_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("snelsync.toml");
    std::fs::write(
        &config,
        "[[administration]]\nkey = \"a\"\nkoppelsleutel_env = \"K\"\n",
    )
    .unwrap();
    // Port 1 on loopback: nothing listens there.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snelsync"))
        .args([
            "status",
            "--store",
            "postgres://postgres:geheim-wachtwoord@127.0.0.1:1/test",
        ])
        .env("SNELSYNC_CONFIG", &config)
        .env("SNELSTART_SUBSCRIPTION_KEY", "s")
        .env("K", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PostgreSQL store"), "{stderr}");
    assert!(!stderr.contains("geheim-wachtwoord"), "{stderr}");
}
