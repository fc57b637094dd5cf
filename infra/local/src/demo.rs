//! The local front door on :8080, standing in for what is not the API in the cloud:
//! - the demo landing page (a plain HTML form) on its own origin, so posting a lead to
//!   the gateway is a real cross-origin form post, as from a customer's site;
//! - the web console (`web/dist`) under `/console/`, with `/v1/*` passed to the gateway
//!   in-process, as CloudFront passes it to the API in the cloud: one origin, no CORS;
//! - the console's dev sign-in: the demo users of seed.json and tokens for them, since
//!   locally there is no user pool;
//! - a chat robot: `POST /webhook` prints the notice it receives (the seeded reps'
//!   webhooks point here) and answers as WeCom does.

use crate::gateway::Gateway;
use domain::assign::actions::Role;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{header, Method, Request, Response, StatusCode};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

const INDEX: &str = include_str!("../demo/index.html");
const THANKS: &str = include_str!("../demo/thanks.html");
const CONSOLE: &str = "/console";

/// A user the dev sign-in page offers.
#[derive(Debug, Clone, Serialize)]
pub struct DevUser {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
}

/// Mints a local token for a user id and roles.
pub type Mint = Arc<dyn Fn(&str, &[Role]) -> String + Send + Sync>;

/// What the console needs locally: its built files and the dev sign-in.
#[derive(Clone)]
pub struct Console {
    pub dist: PathBuf,
    pub users: Vec<DevUser>,
    pub mint: Mint,
}

type Answer = Response<Full<Bytes>>;

pub async fn serve(addr: SocketAddr, gateway_url: String, gateway: Gateway, console: Console) -> std::io::Result<()> {
    let demo_url = format!("http://{addr}");
    let index: Arc<str> = INDEX
        .replace("{{GATEWAY}}", &gateway_url)
        .replace("{{DEMO}}", &demo_url)
        .into();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (stream, peer) = listener.accept().await?;
        let (index, gateway, console) = (index.clone(), gateway.clone(), console.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (index, gateway, console) = (index.clone(), gateway.clone(), console.clone());
                async move { Ok::<_, std::convert::Infallible>(route(req, peer, &index, &gateway, &console).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

async fn route(req: Request<Incoming>, peer: SocketAddr, index: &str, gateway: &Gateway, console: &Console) -> Answer {
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (_, p) if p.starts_with("/v1/") => gateway.handle(req, peer).await,
        (&Method::GET, "/" | "/index.html") => page(StatusCode::OK, "text/html; charset=utf-8", index.to_string()),
        (&Method::GET, "/thanks.html") => page(StatusCode::OK, "text/html; charset=utf-8", THANKS.to_string()),
        (&Method::POST, "/webhook") => webhook(req).await,
        (&Method::GET, "/console") => redirect("/console/"),
        (&Method::GET, "/console/config.json") => {
            json(StatusCode::OK, serde_json::json!({"api": "", "auth": {"mode": "dev"}}))
        }
        (&Method::GET, "/console/dev/users") => json(StatusCode::OK, serde_json::json!(console.users)),
        (&Method::POST, "/console/dev/token") => dev_token(req, console).await,
        (&Method::GET | &Method::HEAD, p) if p.starts_with("/console/") => files(req, console).await,
        _ => page(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found".into()),
    }
}

/// `{"user": ID}` → a token with that demo user's roles (12 hours, as `local-stack token`).
async fn dev_token(req: Request<Incoming>, console: &Console) -> Answer {
    let asked = json_body(req).await;
    let Some(user) = asked["user"]
        .as_str()
        .and_then(|id| console.users.iter().find(|u| u.id == id))
    else {
        return json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"error": "unknown demo user", "fields": [{"field": "user", "reason": "is not a user of infra/local/seed.json"}]}),
        );
    };
    json(
        StatusCode::OK,
        serde_json::json!({
            "access_token": (console.mint)(&user.id, &user.roles),
            "expires_in": 12 * 3600,
            "user": user,
        }),
    )
}

/// A file of `web/dist`, else its `index.html` (the console's routes live in the page).
async fn files(req: Request<Incoming>, console: &Console) -> Answer {
    let index = console.dist.join("index.html");
    if !index.exists() {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            format!(
                "the console is not built: {} is missing (make dev builds it; or `npm ci && npm run build` in web/)",
                index.display()
            ),
        );
    }
    let (mut parts, body) = req.into_parts();
    let inner = parts.uri.path().strip_prefix(CONSOLE).unwrap_or("/").to_string();
    let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    parts.uri = format!("{inner}{query}").parse().unwrap_or_default();
    let hashed = inner.starts_with("/assets/");
    let service = ServeDir::new(&console.dist).fallback(ServeFile::new(&index));
    match service.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            // As in the cloud: hashed assets forever, the page itself never.
            let cache = if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            parts
                .headers
                .insert(header::CACHE_CONTROL, header::HeaderValue::from_static(cache));
            Response::from_parts(parts, Full::new(bytes))
        }
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e.to_string()),
    }
}

async fn webhook(req: Request<Incoming>) -> Answer {
    let notice = json_body(req).await;
    let text = notice["text"]["content"]
        .as_str()
        .or_else(|| notice["text"].as_str())
        .unwrap_or("(unreadable notice)");
    println!("webhook notice: {text}");
    page(
        StatusCode::OK,
        "application/json",
        r#"{"errcode":0,"errmsg":"ok"}"#.to_string(),
    )
}

/// A request's JSON body; anything else (or nothing) is `null`.
async fn json_body(req: Request<Incoming>) -> serde_json::Value {
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    serde_json::from_slice(&body).unwrap_or_default()
}

fn page(status: StatusCode, content_type: &'static str, body: String) -> Answer {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response")
}

fn json(status: StatusCode, body: serde_json::Value) -> Answer {
    page(status, "application/json", body.to_string())
}

fn redirect(to: &'static str) -> Answer {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, to)
        .body(Full::new(Bytes::new()))
        .expect("static response")
}
