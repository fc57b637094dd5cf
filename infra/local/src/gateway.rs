//! Serves the template's HTTP API routes as API Gateway (HTTP API, payload 2.0) would:
//! same paths, requests turned into v2 events, the function's answer turned back.

use crate::invoke::Invoker;
use crate::template::Template;
use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway's own limit on request payloads.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct RouteTarget {
    pub method: String,
    pub path: String,
    pub function: String,
}

#[derive(Clone)]
pub struct Gateway {
    routes: Arc<Vec<RouteTarget>>,
    invoker: Invoker,
}

/// `/v1/leads/{id}` against `/v1/leads/01J…` → `{"id": "01J…"}`; `{proxy+}` takes the rest.
pub fn match_path(template: &str, path: &str) -> Option<Map<String, Value>> {
    let mut params = Map::new();
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            params.insert(name.to_string(), json!(p.get(i..)?.join("/")));
            return Some(params);
        }
        let actual = p.get(i)?;
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if actual.is_empty() {
                return None;
            }
            params.insert(name.to_string(), json!(actual));
        } else if seg != actual {
            return None;
        }
    }
    (t.len() == p.len()).then_some(params)
}

impl Gateway {
    pub fn new(template: &Template, invoker: Invoker) -> Self {
        let routes = template
            .routes()
            .map(|(f, r)| RouteTarget {
                method: r.method.clone(),
                path: r.path.clone(),
                function: f.binary.clone(),
            })
            .collect();
        Self {
            routes: Arc::new(routes),
            invoker,
        }
    }

    pub fn routes(&self) -> &[RouteTarget] {
        &self.routes
    }

    fn find(&self, method: &str, path: &str) -> Option<(&RouteTarget, Map<String, Value>)> {
        // Preflight goes to whichever function owns the path (the cloud API answers it
        // from its CORS configuration; our functions answer it the same way).
        self.routes.iter().find_map(|r| {
            let method_ok = r.method == method || r.method == "ANY" || method == "OPTIONS";
            method_ok.then(|| match_path(&r.path, path).map(|p| (r, p))).flatten()
        })
    }

    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        loop {
            let (stream, peer) = listener.accept().await?;
            let gateway = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, std::convert::Infallible>(gateway.handle(req, peer).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    }

    /// One request as API Gateway would pass it to the route's function.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        let Some((route, params)) = self.find(&method, &path).map(|(r, p)| (r.clone(), p)) else {
            return plain(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
        };
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_PAYLOAD).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"message": "Request Entity Too Large"}),
                )
            }
        };
        let event = http_event(&parts, &body, &route, params, peer);
        match self.invoker.invoke(&route.function, &event).await {
            Ok(answer) => from_lambda(&answer),
            Err(e) => {
                tracing::error!(function = %route.function, error = %e, "invocation failed");
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"message": "Internal Server Error"}),
                )
            }
        }
    }
}

fn plain(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response")
}

fn http_event(
    parts: &hyper::http::request::Parts,
    body: &Bytes,
    route: &RouteTarget,
    params: Map<String, Value>,
    peer: SocketAddr,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        if name == "cookie" {
            cookies.extend(value.split("; ").map(str::to_string));
            continue;
        }
        // API Gateway joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), json!(value));
            }
        }
    }
    let query = parts.uri.query().unwrap_or_default();
    let mut query_params = Map::new();
    for (k, v) in url_pairs(query) {
        match query_params.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query_params.insert(k, json!(v));
            }
        }
    }
    let content_type = headers.get("content-type").and_then(Value::as_str).unwrap_or_default();
    let textual = content_type.starts_with("application/json") || content_type.starts_with("text/");
    let (body, is_base64) = match (textual, std::str::from_utf8(body)) {
        (true, Ok(text)) => (json!(text), false),
        _ if body.is_empty() => (Value::Null, false),
        _ => (json!(base64::engine::general_purpose::STANDARD.encode(body)), true),
    };
    let route_key = format!("{} {}", route.method, route.path);
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": crate::provision::ACCOUNT,
            "apiId": "local",
            "domainName": parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or_default(),
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": is_base64,
    });
    if !body.is_null() {
        event["body"] = body;
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query_params.is_empty() {
        event["queryStringParameters"] = Value::Object(query_params);
    }
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    event
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A payload-2.0 function answer (or a bare JSON value) → HTTP response.
fn from_lambda(answer: &Value) -> Response<Full<Bytes>> {
    let Some(status) = answer.get("statusCode").and_then(Value::as_u64) else {
        // API Gateway's rule for answers without a status: 200 with the value as JSON.
        return plain(StatusCode::OK, answer.clone());
    };
    let mut builder = Response::builder().status(u16::try_from(status).unwrap_or(500));
    for (k, v) in answer.get("headers").and_then(Value::as_object).into_iter().flatten() {
        if let Some(v) = v.as_str() {
            builder = builder.header(k, v);
        }
    }
    for (k, values) in answer
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for v in values.as_array().into_iter().flatten().filter_map(Value::as_str) {
            builder = builder.header(k, v);
        }
    }
    for cookie in answer
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        builder = builder.header("set-cookie", cookie);
    }
    let body = answer.get("body").and_then(Value::as_str).unwrap_or_default();
    let bytes = if answer.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    builder
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, json!({"message": "Bad function response"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates() {
        assert_eq!(match_path("/v1/leads", "/v1/leads"), Some(Map::new()));
        assert_eq!(match_path("/v1/leads", "/v1/leads/"), Some(Map::new()));
        assert_eq!(match_path("/v1/leads/{id}", "/v1/leads/abc").unwrap()["id"], "abc");
        assert_eq!(match_path("/v1/leads/{id}", "/v1/leads"), None);
        assert_eq!(match_path("/v1/leads/{id}", "/v1/leads/a/b"), None);
        assert_eq!(match_path("/v1/{proxy+}", "/v1/a/b").unwrap()["proxy"], "a/b");
        assert_eq!(match_path("/v1/leads", "/v1/other"), None);
    }

    #[test]
    fn function_answers_become_http() {
        let r = from_lambda(&json!({"statusCode": 303, "headers": {"location": "/x"}, "body": ""}));
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/x");
        let r = from_lambda(&json!({"ok": true}));
        assert_eq!(r.status(), 200);
    }
}
