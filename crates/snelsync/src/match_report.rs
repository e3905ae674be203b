//! `snelsync match-report`: before a first sync, which CRM relations does SnelStart already
//! have? The reading, matching and lines are `mapping::matching::report`; this module finds the
//! inputs (files, or SnelStart's relations through the configured client) and prints.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mapping::config::MappingConfig;
use mapping::matching::report::{
    CrmRelations, FieldProblem, InvalidLine, MatchReport, SnelStartRelations, match_report,
};
use mapping::matching::{MatchConfig, Matcher};
use serde_json::json;
use snelstart_client::Client;
use snelstart_client::odata::Query;
use snelstart_client::ops;
use sync_core::store::DynStore;

use crate::commands::Context;
use crate::config::Loaded;
use crate::{CliError, Outcome};

/// Where the SnelStart side of the report came from.
enum Source<'a> {
    File(&'a Path),
    Client(String),
}

/// `snelsync match-report CRM.json [SNELSTART.json] [--out FILE]`.
///
/// The lines (JSON, one per record) go to `out` or standard output; the summary goes to
/// standard output when the lines went to a file, else to standard error. Exit 0 whenever a
/// report was written: reviews and unreadable records are its content, not a failure.
pub async fn run(
    ctx: &Context,
    crm_path: &Path,
    snelstart_path: Option<&Path>,
    out: Option<&Path>,
) -> Result<Outcome, CliError> {
    let crm_text = read(crm_path)?;
    let crm = CrmRelations::from_json(&crm_text)
        .map_err(|e| CliError::Failed(format!("{}: {e}", crm_path.display())))?;

    // With both files the configuration is optional (a team tries this before configuring
    // anything); when it is there, the administration's matching thresholds apply, so the
    // report says what the sync will decide.
    let loaded = match snelstart_path {
        Some(_) if !ctx.config.exists() => None,
        _ => Some(Loaded::read(&ctx.config)?),
    };
    let chosen = match &loaded {
        Some(loaded) => Some(choose(ctx, loaded).await?),
        None => None,
    };
    let config = chosen
        .as_ref()
        .map(|c| (c.key.clone(), c.mapping.match_config()));
    let (snelstart, source) = match (snelstart_path, chosen) {
        (Some(path), _) => {
            let text = read(path)?;
            let relations = SnelStartRelations::from_json(&text)
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            (relations, Source::File(path))
        }
        (None, Some(chosen)) => {
            let client = match chosen.client {
                Some(client) => client,
                None => match &loaded {
                    Some(loaded) => loaded.client(loaded.administration(Some(&chosen.key))?)?,
                    None => no_configuration()?,
                },
            };
            let relations = read_through_client(&client, &chosen.key, ctx.json).await?;
            (relations, Source::Client(chosen.key))
        }
        (None, None) => no_configuration()?,
    };

    let matcher = Matcher::new(
        config
            .as_ref()
            .map_or_else(MatchConfig::default, |(_, c)| c.clone()),
    );
    let report = match_report(&crm, &snelstart, &matcher)
        .map_err(|e| CliError::Failed(format!("matching: {e}")))?;

    let written = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            report
                .write_json_lines(BufWriter::new(file))
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            Some(path)
        }
        None => {
            report
                .write_json_lines(BufWriter::new(std::io::stdout().lock()))
                .map_err(|e| CliError::Failed(format!("standard output: {e}")))?;
            None
        }
    };
    let (value, text) = summary(&report, &source, config.as_ref().map(|(k, _)| k.as_str()));
    match written {
        Some(path) => {
            let mut value = value;
            value["lines"] = json!(path);
            ctx.print(
                &value,
                &format!("{text}report lines written to {}\n", path.display()),
            );
        }
        None => {
            let mut err = std::io::stderr().lock();
            let shown = if ctx.json {
                format!("{}\n", serde_json::to_string(&value).unwrap_or_default())
            } else {
                text
            };
            // A closed standard error is no reason to fail a report that was written.
            let _ = err.write_all(shown.as_bytes());
        }
    }
    Ok(Outcome::Clean)
}

fn no_configuration<T>() -> Result<T, CliError> {
    Err(CliError::Config(
        "without a SnelStart file the relations are read through the configuration".to_owned(),
    ))
}

/// The administration a report is for: whose mapping's thresholds apply and, without a
/// SnelStart file, whose client reads the relations.
struct Chosen {
    key: String,
    mapping: MappingConfig,
    /// Already made for an onboarded administration (from its sealed key); a configured one's
    /// is made from the environment when needed.
    client: Option<Client>,
}

/// `--admin`, or the only administration there is. The candidates are the configured
/// administrations and, with `[onboarding]`, the ones coupled through it (in the store's
/// registry; `--admin` takes an onboarded one's key or ReferenceKey). With more than one and
/// no `--admin` the choice is the operator's: the error lists them.
async fn choose(ctx: &Context, loaded: &Loaded) -> Result<Chosen, CliError> {
    let configured = &loaded.file.administrations;
    let store = match &loaded.file.onboarding {
        Some(_) => Some(loaded.open_store(ctx.store.as_ref()).await?),
        None => None,
    };
    if let Some(name) = ctx.admin.as_deref() {
        if let Some(admin) = configured.iter().find(|a| a.key == name) {
            return Ok(Chosen {
                key: admin.key.clone(),
                mapping: loaded.mapping(admin)?,
                client: None,
            });
        }
        if let Some(store) = &store
            && let Some((key, client, mapping)) =
                crate::onboarding::registered_client(loaded, store, name).await?
        {
            return Ok(Chosen {
                key: key.as_str().to_owned(),
                mapping,
                client: Some(client),
            });
        }
        return Err(CliError::Config(format!(
            "--admin {name}: no such administration; {}",
            choices(loaded, store.as_ref()).await?
        )));
    }
    let registered = match &store {
        Some(store) => crate::onboarding::registered(loaded, store).await?,
        None => Vec::new(),
    };
    match (configured.as_slice(), registered.is_empty()) {
        ([admin], true) => Ok(Chosen {
            key: admin.key.clone(),
            mapping: loaded.mapping(admin)?,
            client: None,
        }),
        _ => Err(CliError::Config(format!(
            "match-report works on one administration and {} are known: name one with --admin; {}",
            configured.len() + registered.len(),
            choices(loaded, store.as_ref()).await?
        ))),
    }
}

/// `configured: a, b; onboarded: KEY (ReferenceKey klant-42)`.
async fn choices(loaded: &Loaded, store: Option<&DynStore>) -> Result<String, CliError> {
    let configured: Vec<&str> = loaded
        .file
        .administrations
        .iter()
        .map(|a| a.key.as_str())
        .collect();
    let mut text = format!("configured: {}", configured.join(", "));
    if let Some(store) = store {
        let registered = crate::onboarding::registered(loaded, store).await?;
        let listed: Vec<String> = registered
            .iter()
            .map(|(key, reference)| format!("{key} (ReferenceKey {reference})"))
            .collect();
        text.push_str(&format!(
            "; onboarded: {}",
            if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            }
        ));
    }
    Ok(text)
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
}

/// All of `GET /relaties` through the administration's client. The client skips items that do
/// not decode and records them (position, JSON path, id): each becomes an invalid line.
async fn read_through_client(
    client: &Client,
    admin: &str,
    json: bool,
) -> Result<SnelStartRelations, CliError> {
    let request = ops::relaties::list(Query::new());
    let route = request.route();
    let spinner = (!json).then(|| {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(format!("reading the relations of `{admin}` from SnelStart"));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let already = client.decode_problems().len();
    let relaties = client.list_all(request).await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let relaties = relaties
        .map_err(|e| CliError::Failed(format!("reading the relations of `{admin}`: {e}")))?;
    let invalid: Vec<InvalidLine> = client
        .decode_problems()
        .into_iter()
        .skip(already)
        .filter(|p| p.route == route)
        .map(|p| {
            let index = usize::try_from(p.index).unwrap_or(usize::MAX);
            InvalidLine::snelstart(
                index,
                p.id,
                vec![FieldProblem::new(field_in_item(&p.path), p.message)],
            )
        })
        .collect();
    // The decoded items fill the positions the skipped ones leave free.
    let mut taken: Vec<usize> = invalid.iter().map(|l| l.index).collect();
    taken.sort_unstable();
    let positions = (0..).filter(|i| taken.binary_search(i).is_err());
    Ok(SnelStartRelations::from_read(
        positions.zip(relaties).collect(),
        invalid,
    ))
}

/// `[3].vestigingsAdres.land.id` (a path within the page) → `vestigingsAdres.land.id`.
fn field_in_item(path: &str) -> String {
    match path.strip_prefix('[').and_then(|p| p.split_once(']')) {
        Some((_, rest)) => rest.trim_start_matches('.').to_owned(),
        None => path.to_owned(),
    }
}

fn summary(
    report: &MatchReport,
    source: &Source<'_>,
    admin: Option<&str>,
) -> (serde_json::Value, String) {
    let s = report.summary();
    let notes = report.duplicate_notes();
    let source_text = match source {
        Source::File(path) => format!("SnelStart relations from {}", path.display()),
        Source::Client(key) => format!("SnelStart relations read from administration `{key}`"),
    };
    let thresholds = match admin {
        Some(key) => format!("matching thresholds of `{key}`'s mapping"),
        None => "default matching thresholds (no configuration)".to_owned(),
    };
    let mut text = format!("{s}\n{source_text}; {thresholds}\n");
    for note in &notes {
        text.push_str(note);
        text.push('\n');
    }
    if s.review > 0 {
        text.push_str(
            "the `review` lines will wait for a person after the sync (`snelsync review list`)\n",
        );
    }
    let value = json!({
        "summary": s,
        "snelstart_source": match source {
            Source::File(path) => json!({"file": path}),
            Source::Client(key) => json!({"administration": key}),
        },
        "snelstart_groups": report.snelstart_groups,
        "crm_duplicates": report.crm_duplicates,
        "notes": notes,
    });
    (value, text)
}

#[cfg(test)]
mod tests {
    use super::field_in_item;

    #[test]
    fn field_paths_lose_the_page_index() {
        assert_eq!(
            field_in_item("[3].vestigingsAdres.land.id"),
            "vestigingsAdres.land.id"
        );
        assert_eq!(field_in_item("[12]"), "");
        assert_eq!(field_in_item("naam"), "naam");
    }
}
