//! HTML for the status pages. Every value from the store or SnelStart goes through [`esc`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sync_core::Reachability;

use crate::status::{AdminStatus, CandidateView, FailureView, ReviewView, display_value};

const STYLE: &str = include_str!("style.css");

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment.
pub(crate) fn url_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn time(at: &DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        at.to_rfc3339(),
        at.format("%d-%m-%Y %H:%M UTC")
    )
}

fn layout(title: &str, csrf: Option<&str>, body: &str) -> String {
    let logout = csrf
        .map(|c| {
            format!(
                "<form class=\"inline\" method=\"post\" action=\"/logout\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button type=\"submit\">Uitloggen</button></form>",
                esc(c)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · snelsync</title><style>{STYLE}</style></head><body>\
         <header class=\"top\" id=\"top\"><a class=\"brand\" href=\"/\">snel<span>sync</span></a>\
         <nav><a href=\"/\">Overzicht</a></nav>{logout}</header><main>{body}</main></body></html>",
        esc(title)
    )
}

pub(crate) fn message_page(title: &str, message: &str) -> String {
    layout(
        title,
        None,
        &format!(
            "<section class=\"card\"><h1>{}</h1><p>{}</p><p><a href=\"/\">Terug naar het overzicht</a></p></section>",
            esc(title),
            esc(message)
        ),
    )
}

pub(crate) fn login(configured: bool, failed: bool) -> String {
    let body = if configured {
        format!(
            "<section class=\"card login\"><h1>Inloggen</h1>\
             <p class=\"lead\">Met het toegangstoken uit de configuratie van snelsync.</p>{}\
             <form method=\"post\" action=\"/login\">\
             <label for=\"token\">Toegangstoken</label>\
             <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
             <button class=\"primary\" type=\"submit\">Inloggen</button></form></section>",
            if failed {
                "<p class=\"notice\" role=\"alert\" style=\"background:var(--bad-bg);color:var(--bad)\">Dat token klopt niet.</p>"
            } else {
                ""
            }
        )
    } else {
        "<section class=\"card login\"><h1>Niet ingesteld</h1><p>Er is geen toegangstoken \
         geconfigureerd, dus de statuspagina is voor niemand open. Zet <code>[http] token</code> \
         in de configuratie.</p></section>"
            .to_owned()
    };
    layout("Inloggen", None, &body)
}

fn badge(status: &AdminStatus) -> String {
    let class = serde_json::to_value(status.health)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "<span class=\"badge {}\">{}</span>",
        esc(&class),
        esc(status.health.label())
    )
}

fn tiles(status: &AdminStatus) -> String {
    let q = &status.queue;
    let mut out = String::from("<div class=\"tiles\">");
    for (n, label) in [
        (q.pending, "in de wachtrij"),
        (q.in_flight, "bezig"),
        (q.done, "verwerkt"),
        (q.failed, "fouten"),
        (q.needs_review, "wacht op beoordeling"),
    ] {
        let _ = write!(
            out,
            "<div class=\"tile\"><b>{n}</b><span>{label}</span></div>"
        );
    }
    out.push_str("</div>");
    out
}

fn reachability(r: &Reachability) -> String {
    match r {
        Reachability::Reachable { at } => format!("bereikbaar (laatste antwoord {})", time(at)),
        Reachability::Unreachable {
            since,
            retry_at,
            last_error,
        } => format!(
            "<strong>onbereikbaar</strong> sinds {}, volgende poging {}: {}",
            time(since),
            time(retry_at),
            esc(last_error)
        ),
        _ => "nog niet benaderd".to_owned(),
    }
}

pub(crate) fn overview(all: &[AdminStatus], csrf: &str) -> String {
    let mut body = String::from(
        "<h1>Administraties</h1><p class=\"lead\">Controleer wekelijks of de koppeling loopt: \
         fouten, relaties die op een beslissing wachten en het gebruik van het SnelStart-budget.</p>",
    );
    if all.is_empty() {
        body.push_str(
            "<section class=\"card\"><p>Er zijn geen administraties geconfigureerd.</p></section>",
        );
    }
    body.push_str("<div class=\"grid\">");
    for s in all {
        let _ = write!(
            body,
            "<article class=\"admin-card\"><h2><a href=\"/admins/{}\">{}</a> {}</h2>{}\
             <p class=\"muted\">SnelStart: {}<br>{} calls in het afgelopen uur</p></article>",
            url_segment(&s.admin),
            esc(&s.admin),
            badge(s),
            tiles(s),
            reachability(&s.reachability),
            s.budget.last_hour,
        );
    }
    body.push_str("</div>");
    layout("Overzicht", Some(csrf), &body)
}

/// The user's word for an entity kind, with the debiteur/crediteur side where it is known.
fn kind_label(kind: &str, record: Option<&serde_json::Value>) -> &'static str {
    match kind {
        "relation" => match record.and_then(|r| r.get("kind")).and_then(|k| k.as_str()) {
            Some("customer") => "relatie (debiteur)",
            Some("supplier") => "relatie (crediteur)",
            Some("both") => "relatie (debiteur en crediteur)",
            _ => "relatie (debiteur/crediteur)",
        },
        "cost_centre" => "kostenplaats (project)",
        "sales_invoice" => "verkoopfactuur",
        "purchase_invoice" => "inkoopfactuur",
        "attachment" => "bijlage",
        "payment_status" => "betaalstatus",
        _ => "record",
    }
}

/// "1 record kon" / "3 records konden" (the verb left out when empty).
fn records(n: usize, one: &str, many: &str) -> String {
    let (noun, verb) = if n == 1 {
        ("record", one)
    } else {
        ("records", many)
    };
    if verb.is_empty() {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun} {verb}")
    }
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        esc(name),
        esc(value)
    )
}

fn failures(status: &AdminStatus, csrf: &str) -> String {
    let mut out = String::from("<section class=\"card\" id=\"fouten\"><h2>Fouten</h2>");
    if status.failures.is_empty() {
        out.push_str("<p class=\"muted\">Geen fouten.</p></section>");
        return out;
    }
    let action = format!("/admins/{}/replay", url_segment(&status.admin));
    let _ = write!(
        out,
        "<p>{} niet naar SnelStart. Verbeter het record in het CRM (een nieuwe \
         versie wordt vanzelf opnieuw geprobeerd) of probeer het opnieuw na een aanpassing van \
         de koppeling. <form class=\"inline\" method=\"post\" action=\"{}\">{}\
         <button type=\"submit\">Alles opnieuw proberen</button></form></p>",
        records(status.failures.len(), "kon", "konden"),
        esc(&action),
        hidden("csrf", csrf)
    );
    // Grouped by cause, the largest group first: one fix often clears a whole group.
    let mut groups: BTreeMap<&str, Vec<&FailureView>> = BTreeMap::new();
    for f in &status.failures {
        groups.entry(f.cause.as_str()).or_default().push(f);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (cause, list) in groups {
        let _ = write!(
            out,
            "<h3>{} <span class=\"muted\">({})</span></h3><table><thead><tr>\
             <th scope=\"col\">Soort</th><th scope=\"col\">CRM-record</th><th scope=\"col\">Veld</th>\
             <th scope=\"col\">Melding</th><th scope=\"col\">Pogingen</th><th scope=\"col\">Sinds</th>\
             <th scope=\"col\"><span class=\"muted\">Actie</span></th></tr></thead><tbody>",
            esc(cause),
            records(list.len(), "", "")
        );
        for f in list {
            let fields = if f.fields.is_empty() {
                "<span class=\"muted\">–</span>".to_owned()
            } else {
                f.fields
                    .iter()
                    .map(|p| format!("<code class=\"field\">{}</code>", esc(p)))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let _ = write!(
                out,
                "<tr class=\"failure\" data-crm-id=\"{id}\"><td>{}</td><td><code>{id}</code></td><td>{fields}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td><form class=\"inline\" method=\"post\" action=\"{}\">{}{}{}\
                 <button type=\"submit\" data-action=\"replay\" aria-label=\"Opnieuw proberen: {id}\">Opnieuw proberen</button>\
                 </form></td></tr>",
                kind_label(&f.kind, None),
                esc(&f.message),
                f.attempts,
                time(&f.at),
                esc(&action),
                hidden("csrf", csrf),
                hidden("kind", &f.kind),
                hidden("crm_id", &f.crm_id),
                id = esc(&f.crm_id),
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    out
}

/// The fields of a CRM relation worth comparing, in the order a person reads them.
const CRM_FIELDS: &[(&str, &str)] = &[
    ("legal_name", "naam"),
    ("trade_name", "handelsnaam"),
    ("number", "nummer"),
    ("kind", "soort"),
    ("kvk_number", "KvK"),
    ("vat_number", "btw-nummer"),
    ("email", "e-mail"),
    ("phone", "telefoon"),
    ("iban", "IBAN"),
    ("visit_address", "adres"),
    ("postal_address", "postadres"),
];

/// The same for a SnelStart relatie.
const SNELSTART_FIELDS: &[(&str, &str)] = &[
    ("naam", "naam"),
    ("relatiecode", "relatiecode"),
    ("relatiesoort", "soort"),
    ("kvkNummer", "KvK"),
    ("btwNummer", "btw-nummer"),
    ("email", "e-mail"),
    ("telefoon", "telefoon"),
    ("iban", "IBAN"),
    ("vestigingsAdres", "adres"),
    ("nonactief", "non-actief"),
];

fn address_text(value: &serde_json::Value) -> String {
    let Some(map) = value.as_object() else {
        return display_value(value);
    };
    // CRM addresses (street, house_number, postcode, city) and SnelStart's (straat, postcode,
    // plaats) read as one line; other keys are left out.
    let parts: Vec<String> = [
        "street",
        "house_number",
        "house_number_addition",
        "straat",
        "postcode",
        "city",
        "plaats",
    ]
    .iter()
    .filter_map(|k| map.get(*k))
    .filter(|v| !v.is_null())
    .map(display_value)
    .filter(|s| !s.is_empty())
    .collect();
    parts.join(" ")
}

fn record_list(record: &serde_json::Value, fields: &[(&str, &str)]) -> String {
    let mut out = String::from("<dl>");
    for (key, label) in fields {
        let Some(value) = record.get(*key) else {
            continue;
        };
        if value.is_null() || value.as_str().is_some_and(str::is_empty) {
            continue;
        }
        let text = if key.ends_with("address") || key.ends_with("Adres") {
            address_text(value)
        } else if *key == "kind" {
            // The CRM's word for the side, in the bookkeeper's words.
            match value.as_str() {
                Some("customer") => "klant (debiteur)".to_owned(),
                Some("supplier") => "leverancier (crediteur)".to_owned(),
                Some("both") => "klant en leverancier (debiteur en crediteur)".to_owned(),
                _ => display_value(value),
            }
        } else {
            display_value(value)
        };
        if text.is_empty() {
            continue;
        }
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(label), esc(&text));
    }
    out.push_str("</dl>");
    out
}

fn candidate(c: &CandidateView, review: &ReviewView, action: &str, csrf: &str) -> String {
    let name = c
        .record
        .as_ref()
        .and_then(|r| r.get("naam"))
        .and_then(|n| n.as_str())
        .unwrap_or("(naam onbekend)");
    let mut out = format!(
        "<div class=\"side candidate\" data-snelstart-id=\"{}\"><h4>SnelStart-relatie{}{}</h4>",
        esc(&c.snelstart_id),
        c.relatiecode.map(|r| format!(" {r}")).unwrap_or_default(),
        c.score.map(|s| format!(" · score {s}")).unwrap_or_default(),
    );
    match &c.record {
        Some(record) => out.push_str(&record_list(record, SNELSTART_FIELDS)),
        None => {
            let _ = write!(
                out,
                "<p class=\"muted\">Niet te lezen uit SnelStart (id <code>{}</code>).</p>",
                esc(&c.snelstart_id)
            );
        }
    }
    if !c.evidence.is_empty() {
        out.push_str("<ul class=\"evidence\" aria-label=\"bewijs\">");
        for e in &c.evidence {
            let _ = write!(out, "<li>{}</li>", esc(e));
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}{}{}\
         <button class=\"primary\" type=\"submit\" data-action=\"link\" \
         aria-label=\"Koppel {} aan SnelStart-relatie {}\">Koppel (link)</button></form></div>",
        esc(action),
        hidden("csrf", csrf),
        hidden("crm_id", &review.crm_id),
        hidden("decision", &format!("link:{}", c.snelstart_id)),
        esc(&review.crm_id),
        esc(name),
    );
    out
}

fn reviews(status: &AdminStatus, csrf: &str) -> String {
    let mut out =
        String::from("<section class=\"card\" id=\"beoordeling\"><h2>Wacht op beoordeling</h2>");
    if status.review.is_empty() {
        out.push_str("<p class=\"muted\">Niets te beoordelen.</p></section>");
        return out;
    }
    out.push_str(
        "<p>Deze CRM-relaties lijken op relaties die SnelStart al heeft. Koppel ze aan de \
         juiste relatie, of maak een nieuwe aan als het een andere partij is.</p>",
    );
    let action = format!("/admins/{}/resolve", url_segment(&status.admin));
    for r in &status.review {
        let name = r
            .crm_record
            .as_ref()
            .and_then(|v| v.get("legal_name"))
            .and_then(|n| n.as_str())
            .unwrap_or(&r.crm_id);
        let _ = write!(
            out,
            "<article class=\"review\" data-crm-id=\"{}\"><h3>{} <span class=\"muted\">· {} · \
             sinds {}</span></h3>",
            esc(&r.crm_id),
            esc(name),
            kind_label(&r.kind, r.crm_record.as_ref()),
            time(&r.since)
        );
        if !r.reasons.is_empty() {
            let _ = write!(
                out,
                "<p class=\"muted\">Reden: {}</p>",
                esc(&r.reasons.join(", "))
            );
        }
        out.push_str("<div class=\"sides\"><div class=\"side crm\"><h4>CRM-record</h4>");
        match &r.crm_record {
            Some(record) => {
                let _ = write!(out, "<p><code>{}</code></p>", esc(&r.crm_id));
                out.push_str(&record_list(record, CRM_FIELDS));
            }
            None => out.push_str("<p class=\"muted\">Het record is niet meer in de wachtrij.</p>"),
        }
        let _ = write!(
            out,
            "<form class=\"inline\" method=\"post\" action=\"{}\">{}{}{}\
             <button type=\"submit\" data-action=\"create\">Nieuwe relatie aanmaken</button></form>\
             </div><div class=\"candidates\">",
            esc(&action),
            hidden("csrf", csrf),
            hidden("crm_id", &r.crm_id),
            hidden("decision", "new"),
        );
        if r.candidates.is_empty() {
            out.push_str("<p class=\"muted\">Geen kandidaten bewaard.</p>");
        }
        for c in &r.candidates {
            out.push_str(&candidate(c, r, &action, csrf));
        }
        out.push_str("</div></div></article>");
    }
    out.push_str("</section>");
    out
}

/// Calls per minute over the last hour as an inline SVG bar chart.
fn budget_chart(per_minute: &[u64]) -> String {
    let (w, h, pad) = (600u32, 120u32, 18u32);
    let max = per_minute.iter().copied().max().unwrap_or(0).max(1);
    let total: u64 = per_minute.iter().sum();
    let n = u32::try_from(per_minute.len().max(1)).unwrap_or(60);
    let bar_w = (w - 2) / n;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" width=\"100%\" role=\"img\" \
         aria-label=\"SnelStart-calls per minuut, afgelopen uur: {total} in totaal, hoogste {max} per minuut\">",
        h + pad
    );
    let _ = write!(
        out,
        "<line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#cbd5e1\"/>"
    );
    for (i, calls) in per_minute.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(0);
        let bar_h = u32::try_from(u64::from(h - 10) * calls / max).unwrap_or(0);
        let ago = n - 1 - i;
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bar_h}\"><title>{ago} min geleden: {calls} calls</title></rect>",
            1 + i * bar_w,
            h - bar_h,
            bar_w.saturating_sub(2).max(1),
        );
    }
    let _ = write!(
        out,
        "<text x=\"0\" y=\"{}\">−60 min</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">nu</text>\
         <text x=\"{}\" y=\"10\" text-anchor=\"end\">max {max}/min</text></svg>",
        h + 14,
        w,
        h + 14,
        w
    );
    out
}

fn budget(status: &AdminStatus) -> String {
    format!(
        "<section class=\"card\" id=\"budget\"><h2>SnelStart-budget</h2>\
         <p>{} calls in de huidige minuut, {} in het huidige uur, {} sinds de start.</p>{}</section>",
        status.budget.last_minute,
        status.budget.last_hour,
        status.budget.total,
        budget_chart(&status.budget.per_minute)
    )
}

fn read_back_and_reconcile(status: &AdminStatus) -> String {
    let mut out =
        String::from("<section class=\"card\" id=\"controle\"><h2>Terugmelding en afstemming</h2>");
    match &status.last_read_back {
        Some(r) => {
            let _ = write!(
                out,
                "<h3>Laatste terugmelding van betalingen</h3><p>{}: {} facturen gelezen, {} \
                 betalingen gevonden, {} meldingen aan het CRM.</p>",
                time(&r.at),
                r.invoices_seen,
                r.payments_found,
                r.events_delivered
            );
        }
        None => out.push_str(
            "<h3>Laatste terugmelding van betalingen</h3><p class=\"muted\">Nog niet gedraaid.</p>",
        ),
    }
    out.push_str(
        "<h3>Laatste afstemming (CRM tegen SnelStart, grootboek en openstaande posten)</h3>",
    );
    match &status.last_reconcile {
        Some(r) if r.clean => {
            let _ = write!(out, "<p>{}: beide kanten komen overeen.</p>", time(&r.at));
        }
        Some(r) => {
            let _ = write!(
                out,
                "<p>{}: <strong>{} verschillen</strong>.</p><table><thead><tr><th scope=\"col\">Soort</th>\
                 <th scope=\"col\">Record</th><th scope=\"col\">Verschil</th></tr></thead><tbody>",
                time(&r.at),
                r.difference_count
            );
            for (label, record, detail) in &r.differences {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(label),
                    esc(record),
                    esc(detail)
                );
            }
            out.push_str("</tbody></table>");
        }
        None => out.push_str(
            "<p class=\"muted\">Nog niet gedraaid (<code>snelsync reconcile</code>).</p>",
        ),
    }
    if !status.skipped_items.is_empty() {
        out.push_str(
            "<h3>Wat SnelStart stuurde en de koppeling niet kent</h3><p>Deze records uit \
             SnelStart konden niet gelezen worden en zijn overgeslagen; test de koppeling na een \
             update van SnelStart.</p><ul>",
        );
        for item in &status.skipped_items {
            let _ = write!(out, "<li><code>{}</code></li>", esc(item));
        }
        out.push_str("</ul>");
    }
    if !status.api_drift.is_empty() {
        out.push_str(
            "<h3>Nieuw in de API van SnelStart</h3><p>SnelStart stuurde velden of waarden die              deze versie van de koppeling niet kent. Er is niets misgegaan, maar test de              koppeling en werk hem bij.</p><table><thead><tr><th>route</th><th>wat</th>\
             <th>aantal</th><th>sinds</th></tr></thead><tbody>",
        );
        for d in &status.api_drift {
            let _ = write!(
                out,
                "<tr><td><code>{} {}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(d.method),
                esc(d.route),
                esc(&d.kind.to_string()),
                d.count,
                esc(&d.first_seen.format("%Y-%m-%d %H:%M UTC").to_string())
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    out
}

/// An administration coupled through onboarding: its ReferenceKey and what the fleet does.
fn onboarded(runner: &crate::status::RunnerView) -> String {
    let activity = match runner.activity.as_deref() {
        _ if !runner.held => {
            "niet in behandeling bij dit proces (gepauzeerd, of bij een ander proces)"
        }
        Some("starting") => "wordt gestart",
        Some("working") => "bezig",
        Some("idle") => "bij",
        Some("outage") => "SnelStart onbereikbaar, wacht",
        Some("failing") => "mislukt, probeert het later opnieuw",
        _ => "onbekend",
    };
    let mut out = format!(
        "<section class=\"card\"><h2>Gekoppeld via SnelStart</h2><p>ReferenceKey <code>{}</code> \
         · verwerking: {activity} · {} batches, {} records, {} aanroepen naar SnelStart</p>",
        esc(&runner.reference_key),
        runner.slices,
        runner.items,
        runner.api_calls,
    );
    if let Some(error) = &runner.last_error {
        let _ = write!(out, "<p>Laatste fout: {}</p>", esc(error));
    }
    out.push_str("</section>");
    out
}

pub(crate) fn admin(status: &AdminStatus, csrf: &str, done: Option<&str>) -> String {
    let mut body = String::new();
    let (action, label) = if status.paused {
        ("resume", "Hervatten")
    } else {
        ("pause", "Pauzeren")
    };
    let _ = write!(
        body,
        "<h1>{} {}<form class=\"inline\" method=\"post\" action=\"/admins/{}/{action}\">{}\
         <button type=\"submit\" data-action=\"{action}\">{label}</button></form></h1>\
         <p class=\"lead\">SnelStart: {}{}</p>",
        esc(&status.admin),
        badge(status),
        url_segment(&status.admin),
        hidden("csrf", csrf),
        reachability(&status.reachability),
        status
            .config_version
            .map(|v| format!(" · grootboekkoppeling (mapping) versie {v}"))
            .unwrap_or_default(),
    );
    let notice = match done {
        Some("replayed") => Some("De records staan weer in de wachtrij."),
        Some("linked") => Some("Gekoppeld: de relatie wordt nu bijgewerkt in SnelStart."),
        Some("created") => Some("De relatie wordt als nieuwe relatie aangemaakt."),
        Some("paused") => Some("Gepauzeerd: wijzigingen worden bewaard maar niet verstuurd."),
        Some("resumed") => Some("Hervat: de wachtrij wordt weer verwerkt."),
        _ => None,
    };
    if let Some(n) = notice {
        let _ = write!(body, "<p class=\"notice\" role=\"status\">{n}</p>");
    }
    if let Some(runner) = &status.onboarded {
        body.push_str(&onboarded(runner));
    }
    let _ = write!(
        body,
        "<section class=\"card\"><h2>Wachtrij</h2>{}</section>",
        tiles(status)
    );
    body.push_str(&failures(status, csrf));
    body.push_str(&reviews(status, csrf));
    body.push_str(&budget(status));
    body.push_str(&read_back_and_reconcile(status));
    layout(&status.admin, Some(csrf), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_segment("a b/ç"), "a%20b%2F%C3%A7");
    }

    #[test]
    fn the_chart_has_a_bar_per_minute_scaled_to_the_busiest() {
        let mut per = vec![0u64; 60];
        per[59] = 10;
        per[0] = 5;
        let svg = budget_chart(&per);
        assert_eq!(svg.matches("<rect").count(), 60);
        assert!(
            svg.contains("height=\"110\""),
            "the busiest minute fills the chart"
        );
        assert!(svg.contains("height=\"55\""));
        assert!(svg.contains("15 in totaal"));
    }
}
