//! `/v2/documenten`: attachments of bookings and relations.

use super::{Ctx, St, deleted, ok, path_id, written};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, parse_body};
use crate::server::Shared;
use crate::state::Admin;
use crate::table::{Record, Table, s};
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use uuid::Uuid;

/// The parent types `documenttype` may name (matched case-insensitively, like the routes).
const TYPES: &[&str] = &["Verkoopboekingen", "Inkoopboekingen", "Relaties"];

fn parent_table<'a>(admin: &'a mut Admin, ty: &str) -> &'a mut Table {
    match ty {
        "Verkoopboekingen" => &mut admin.verkoopboekingen,
        "Inkoopboekingen" => &mut admin.inkoopboekingen,
        _ => &mut admin.relaties,
    }
}

fn doc_type(s: &str) -> Option<&'static str> {
    TYPES.iter().copied().find(|t| t.eq_ignore_ascii_case(s))
}

/// Validate file name and content; returns the decoded size check result.
fn check_file(
    sh: &Shared,
    o: &Obj<'_>,
    e: &mut Errors,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let name = o.text("fileName")?;
    match &name {
        None => e.push(BLG_0007),
        Some(n) if n.chars().count() > 255 => e.push(BLG_0017),
        Some(n)
            if n.chars()
                .any(|c| c.is_control() || r#"\/:*?"<>|"#.contains(c)) =>
        {
            e.push(BLG_0016)
        }
        Some(_) => {}
    }
    let content = o.text("content")?;
    match &content {
        None => e.push(BLG_0011),
        Some(c) => match base64::engine::general_purpose::STANDARD.decode(c.trim()) {
            Err(_) => {
                return Err(ApiError::model(
                    "model.Content",
                    "The field Content must be a base64 string.",
                ));
            }
            Ok(bytes) if bytes.is_empty() => e.push(BLG_0008),
            Ok(bytes) if bytes.len() > sh.config.validation.max_attachment_bytes => {
                e.push(BLG_0006)
            }
            Ok(_) => {}
        },
    }
    Ok((name, content))
}

fn summary(r: &Record) -> Value {
    json!({"parentIdentifier": r.get("parentIdentifier"), "fileName": r.get("fileName"), "readOnly": r.get("readOnly"), "id": r.get("id"), "uri": r.get("uri")})
}

fn content_model(r: &Record) -> Value {
    json!({"content": r.get("content"), "parentIdentifier": r.get("parentIdentifier"), "fileName": r.get("fileName"), "readOnly": r.get("readOnly"), "id": r.get("id"), "uri": r.get("uri")})
}

/// `POST /v2/documenten/{documenttype}` → 200 `{id, uri}`.
pub(crate) async fn upload(
    sh: St,
    ctx: Ctx,
    Path(x): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = doc_type(&x).ok_or(ApiError::NotFound)?;
    let m = parse_body(&body, None)?;
    let o = Obj::new(&m, "model");
    let mut e = Errors::default();
    let (name, content) = check_file(&sh, &o, &mut e)?;
    let parent = match o.get("parentIdentifier") {
        Some(Value::String(p)) => Uuid::parse_str(p).map_err(|_| ApiError::one(ALG_0103))?,
        _ => {
            return Err(ApiError::model(
                "model.ParentIdentifier",
                "The ParentIdentifier field is required.",
            ));
        }
    };
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    // The parent must exist: 404, as the API definition documents.
    if parent_table(admin, ty).get(&parent).is_none() {
        return Err(ApiError::NotFound);
    }
    e.into_result()?;
    let id = Uuid::new_v4();
    // Built by moving the content in (`json!` would copy it: attachments are large).
    let mut rec = Record::new();
    rec.insert("content".into(), Value::from(content));
    rec.insert("parentIdentifier".into(), Value::from(parent.to_string()));
    rec.insert("fileName".into(), Value::from(name));
    rec.insert(
        "readOnly".into(),
        Value::from(o.bool("readOnly")?.unwrap_or(false)),
    );
    rec.insert("id".into(), Value::from(id.to_string()));
    rec.insert("uri".into(), Value::from(format!("/documenten/{id}")));
    rec.insert("_parentType".into(), Value::from(ty));
    if let Some(p) = parent_table(admin, ty).get_mut(&parent)
        && let Some(Value::Array(docs)) = p.get_mut("documents")
    {
        docs.push(summary(&rec));
    }
    admin.documenten.insert(id, rec);
    drop(w);
    Ok(written(
        ok(json!({"id": id.to_string(), "uri": format!("/documenten/{id}")})),
        Some(id),
    ))
}

/// `GET /v2/documenten/{id}`: the full document with its content.
pub(crate) async fn get_one(sh: St, ctx: Ctx, Path(x): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&x)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .documenten
        .get(&id)
        .map(|r| ok(content_model(r)))
        .ok_or(ApiError::NotFound)
}

/// `PUT /v2/documenten/{id}`: replace name, content and read-only flag.
pub(crate) async fn update(
    sh: St,
    ctx: Ctx,
    Path(x): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&x)?;
    let m = parse_body(&body, None)?;
    let o = Obj::new(&m, "model");
    if o.id()?.is_some_and(|b| b != id) {
        return Err(ApiError::one(ALG_0101));
    }
    let mut e = Errors::default();
    let (name, content) = check_file(&sh, &o, &mut e)?;
    e.into_result()?;
    let read_only = o.bool("readOnly")?.unwrap_or(false);
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let rec = admin.documenten.get_mut(&id).ok_or(ApiError::NotFound)?;
    rec.insert("fileName".into(), Value::from(name));
    rec.insert("content".into(), Value::from(content));
    rec.insert("readOnly".into(), json!(read_only));
    let out = content_model(rec);
    let (ty, parent) = (
        s(rec, "_parentType").unwrap_or("").to_owned(),
        s(rec, "parentIdentifier").and_then(|p| Uuid::parse_str(p).ok()),
    );
    let sum = summary(rec);
    if let Some(p) = parent.and_then(|p| parent_table(admin, &ty).get_mut(&p))
        && let Some(Value::Array(docs)) = p.get_mut("documents")
    {
        for d in docs.iter_mut() {
            if d.get("id") == sum.get("id") {
                *d = sum.clone();
            }
        }
    }
    drop(w);
    let written_id = out
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok());
    Ok(written(ok(out), written_id))
}

/// `DELETE /v2/documenten/{id}`.
pub(crate) async fn delete(sh: St, ctx: Ctx, Path(x): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&x)?;
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let rec = admin
        .documenten
        .remove(&id)
        .ok_or_else(|| ApiError::one(BLG_0001))?;
    let ty = s(&rec, "_parentType").unwrap_or("").to_owned();
    if let Some(p) = s(&rec, "parentIdentifier").and_then(|p| Uuid::parse_str(p).ok())
        && let Some(parent) = parent_table(admin, &ty).get_mut(&p)
        && let Some(Value::Array(docs)) = parent.get_mut("documents")
    {
        let idv = Value::String(id.to_string());
        docs.retain(|d| d.get("id") != Some(&idv));
    }
    Ok(deleted())
}

/// `GET /v2/documenten/{documenttype}/{parentId}`: the attachments of one parent.
pub(crate) async fn list_for_parent(
    sh: St,
    ctx: Ctx,
    Path((ty, parent)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = doc_type(&ty).ok_or(ApiError::NotFound)?;
    let parent = path_id(&parent)?;
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    if parent_table(admin, ty).get(&parent).is_none() {
        return Err(ApiError::NotFound);
    }
    let p = parent.to_string();
    let items: Vec<Value> = admin
        .documenten
        .iter()
        .filter(|d| s(d, "parentIdentifier") == Some(p.as_str()))
        // The API definition reuses the sales model (`verkoopBoekingId`) for every parent type.
        .map(|d| json!({"verkoopBoekingId": p, "fileName": d.get("fileName"), "readOnly": d.get("readOnly"), "id": d.get("id"), "uri": d.get("uri")}))
        .collect();
    Ok(ok(Value::Array(items)))
}
