//! The status pages: an overview of every administration and a page per administration, with
//! forms for the actions. Logged in with the access token at `/login` (a session cookie);
//! every form carries the session's CSRF token.

mod render;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sync_core::store::Store;
use sync_core::{CrmSink, CrmSource, ReviewResolution};

use crate::api::ActionError;
use crate::auth;
use crate::service::Service;

pub(crate) fn routes<S, Src, Snk>() -> Router<Service<S, Src, Snk>>
where
    S: Store + 'static,
    Src: CrmSource + 'static,
    Snk: CrmSink + 'static,
{
    Router::new()
        .route("/", get(overview::<S, Src, Snk>))
        .route(
            "/login",
            get(login_page::<S, Src, Snk>).post(login::<S, Src, Snk>),
        )
        .route("/logout", post(logout::<S, Src, Snk>))
        .route("/admins/{admin}", get(admin_page::<S, Src, Snk>))
        .route("/admins/{admin}/replay", post(replay::<S, Src, Snk>))
        .route("/admins/{admin}/resolve", post(resolve::<S, Src, Snk>))
        .route("/admins/{admin}/pause", post(pause::<S, Src, Snk>))
        .route("/admins/{admin}/resume", post(resume::<S, Src, Snk>))
}

fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

fn html(body: String) -> Response {
    let mut r = Html(body).into_response();
    // The pages show operational data: no caching, no framing by other sites.
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    r
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        html(render::message_page("Er ging iets mis", message)),
    )
        .into_response()
}

/// The query of a page after an action: which action was done (a fixed code, never echoed
/// text).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

async fn overview<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = auth::session(&service.inner, &headers) else {
        return to_login();
    };
    match service.all_status().await {
        Ok(all) => html(render::overview(&all, &auth::csrf_token(&session))),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

async fn admin_page<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = auth::session(&service.inner, &headers) else {
        return to_login();
    };
    match service.admin_status(&admin).await {
        Ok(Some(status)) => html(render::admin(
            &status,
            &auth::csrf_token(&session),
            done.done.as_deref(),
        )),
        Ok(None) => error_page(
            StatusCode::NOT_FOUND,
            &format!("Administratie `{admin}` bestaat niet."),
        ),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

async fn login_page<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
) -> Response {
    html(render::login(service.inner.config.token.is_some(), false))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

async fn login<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Form(form): Form<LoginForm>,
) -> Response {
    match auth::login(&service.inner, &form.token) {
        Some(id) => {
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&id)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => (
            StatusCode::UNAUTHORIZED,
            html(render::login(service.inner.config.token.is_some(), true)),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(session) = auth::session(&service.inner, &headers)
        && auth::csrf_ok(&session, &form.csrf)
    {
        auth::logout(&service.inner, &session);
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::cleared_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Checks the session and the form's CSRF token; `Err` is the answer to give.
fn authorised<S, Src, Snk>(
    service: &Service<S, Src, Snk>,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(), Box<Response>> {
    let Some(session) = auth::session(&service.inner, headers) else {
        return Err(Box::new(to_login()));
    };
    if !auth::csrf_ok(&session, csrf) {
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "Het formulier is verlopen of komt niet van deze pagina. Laad de pagina opnieuw.",
        )));
    }
    Ok(())
}

fn after_action(admin: &str, result: Result<&str, ActionError>, anchor: &str) -> Response {
    match result {
        Ok(done) => Redirect::to(&format!(
            "/admins/{}?done={done}#{anchor}",
            render::url_segment(admin)
        ))
        .into_response(),
        Err(ActionError::UnknownAdmin) => error_page(
            StatusCode::NOT_FOUND,
            &format!("Administratie `{admin}` bestaat niet."),
        ),
        Err(ActionError::BadRequest(m)) => error_page(StatusCode::BAD_REQUEST, &m),
        Err(ActionError::Engine(e)) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct ReplayForm {
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    crm_id: String,
}

async fn replay<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ReplayForm>,
) -> Response {
    if let Err(r) = authorised(&service, &headers, &form.csrf) {
        return *r;
    }
    let result = service
        .replay_action(&admin, Some(&form.kind), Some(&form.crm_id))
        .await
        .map(|_| "replayed");
    after_action(&admin, result, "fouten")
}

#[derive(Debug, Deserialize)]
struct ResolveForm {
    csrf: String,
    crm_id: String,
    /// `link:<uuid>` or `new`.
    decision: String,
}

async fn resolve<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ResolveForm>,
) -> Response {
    if let Err(r) = authorised(&service, &headers, &form.csrf) {
        return *r;
    }
    let (resolution, done) = if form.decision == "new" {
        (ReviewResolution::CreateNew, "created")
    } else if let Some(id) = form
        .decision
        .strip_prefix("link:")
        .and_then(|id| id.parse().ok())
    {
        (ReviewResolution::LinkTo(id), "linked")
    } else {
        return error_page(StatusCode::BAD_REQUEST, "Onbekende beslissing.");
    };
    let result = service
        .resolve_action(&admin, &form.crm_id, resolution)
        .await
        .map(|()| done);
    after_action(&admin, result, "beoordeling")
}

async fn pause<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = authorised(&service, &headers, &form.csrf) {
        return *r;
    }
    let result = service.pause_action(&admin, true).await.map(|()| "paused");
    after_action(&admin, result, "top")
}

async fn resume<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = authorised(&service, &headers, &form.csrf) {
        return *r;
    }
    let result = service
        .pause_action(&admin, false)
        .await
        .map(|()| "resumed");
    after_action(&admin, result, "top")
}
