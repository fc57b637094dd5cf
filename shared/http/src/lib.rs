//! HTTP plumbing shared by the functions that answer HTTP (intake, api): JSON answers,
//! the one error shape, JSON body decoding and CORS.
//!
//! Why a crate of its own: both functions must answer byte-for-byte alike (same error
//! shape, same `nosniff` header), and a function crate depending on another function
//! crate for that drags the other's handlers, ports and dependencies into its binary
//! and its rebuilds. Here there is no business logic, only what an HTTP answer looks like.

pub mod paging;

use domain::FieldError;
use lambda_http::http::{header, HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;

/// The one error shape every 4xx/5xx uses: `{"error": "...", "fields": [{"field", "reason"}]}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    pub fields: Vec<FieldError>,
}

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).expect("response body serialises");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        // Fields hold whatever visitors typed (HTML included): never let a browser sniff
        // an answer into a page.
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::Text(text))
        .expect("static response parts are valid")
}

pub fn error(status: StatusCode, message: &str, fields: Vec<FieldError>) -> Response<Body> {
    json(status, &ErrorBody { error: message, fields })
}

pub fn field_error(status: StatusCode, message: &str, field: &str, reason: &str) -> Response<Body> {
    error(status, message, vec![FieldError::new(field, reason)])
}

/// 204 with no body (and no headers).
pub fn no_content() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("static response parts are valid")
}

/// The request body as a JSON object, or the 400 to answer.
pub fn json_object(req: &Request) -> Result<Value, Box<Response<Body>>> {
    let bad = |reason: &str| {
        Box::new(field_error(
            StatusCode::BAD_REQUEST,
            "invalid request body",
            "body",
            reason,
        ))
    };
    match serde_json::from_slice::<Value>(req.body().as_ref()) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err(bad("must be a JSON object")),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// Decodes a JSON object body into `T`; 422 naming the field for a shape error.
pub fn decode_body<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Box<Response<Body>>> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let text = e.inner().to_string();
        let field = field_at(&e.path().to_string(), &text, &value);
        Box::new(field_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation failed",
            &field,
            &text,
        ))
    })
}

/// The field a decoding error is about: where it happened (`working_hours.time_zone`,
/// `out_of_office[0].until`), and for an unknown or missing field inside an object, that
/// field under its object's path; at the top level, what [`offending_field`] reads.
fn field_at(path: &str, error: &str, body: &Value) -> String {
    if path.is_empty() || path == "." {
        return offending_field(error, body);
    }
    let named = error.starts_with("unknown field") || error.starts_with("missing field");
    match error.split('`').nth(1) {
        Some(field) if named && !path.ends_with(field) => format!("{path}.{field}"),
        _ => path.to_string(),
    }
}

/// The field a serde error is about: it names fields in backticks ("unknown field
/// `wieght`", "missing field `tier`"); for "unknown variant `bored`" the field is the
/// top-level key holding that value.
pub fn offending_field(error: &str, body: &Value) -> String {
    let quoted = error.split('`').nth(1).unwrap_or_default();
    if error.starts_with("unknown variant") {
        let holder = body
            .as_object()
            .and_then(|o| o.iter().find(|(_, v)| v.as_str() == Some(quoted)))
            .map(|(k, _)| k.clone());
        return holder.unwrap_or_else(|| "body".into());
    }
    if quoted.is_empty() {
        "body".into()
    } else {
        quoted.to_string()
    }
}

/// Origins allowed to call the public routes from a browser and to be redirected to.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new<I: IntoIterator<Item = String>>(origins: I) -> Self {
        Self(
            origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        )
    }

    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        self.0.contains(&origin)
    }

    /// A redirect target is allowed when its parsed origin is (so `https://good@evil.example/`
    /// is judged by `evil.example`, as the browser would).
    pub fn allows_redirect(&self, target: &str) -> bool {
        match url::Url::parse(target) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => self.allows(&url.origin().ascii_serialization()),
            _ => false,
        }
    }

    /// CORS headers for a request from `origin`, if it is allowed.
    pub fn cors_headers(&self, request: &HeaderMap) -> Option<Vec<(header::HeaderName, HeaderValue)>> {
        let origin = request.get(header::ORIGIN)?.to_str().ok()?;
        if !self.allows(origin) {
            return None;
        }
        Some(vec![
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_str(origin).ok()?),
            (header::VARY, HeaderValue::from_static("Origin")),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_judged_by_their_real_origin() {
        let allowed = AllowedOrigins::new(["https://www.example.com/".to_string()]);
        assert!(allowed.allows_redirect("https://www.example.com/thanks?x=1"));
        assert!(allowed.allows_redirect("https://WWW.example.com/thanks"));
        assert!(!allowed.allows_redirect("https://www.example.com@evil.example/"));
        assert!(!allowed.allows_redirect("https://www.example.com.evil.example/"));
        assert!(!allowed.allows_redirect("http://www.example.com/"));
        assert!(!allowed.allows_redirect("javascript:alert(1)"));
        assert!(!allowed.allows_redirect("//evil.example/"));
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(
            offending_field("unknown field `wieght`, expected one of", &Value::Null),
            "wieght"
        );
        let body = serde_json::json!({"tier": "bored"});
        assert_eq!(offending_field("unknown variant `bored`, expected `a`", &body), "tier");
        assert_eq!(offending_field("invalid type: null", &body), "body");
    }

    #[test]
    fn nested_decoding_errors_name_their_path() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Shift {
            #[allow(dead_code)]
            time_zone: chrono_tz::Tz,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Rep {
            #[allow(dead_code)]
            shifts: Vec<Shift>,
        }
        let field = |body: Value| {
            let response = decode_body::<Rep>(body).unwrap_err();
            let body: Value = match response.body() {
                Body::Text(text) => serde_json::from_str(text).unwrap(),
                other => panic!("{other:?}"),
            };
            body["fields"][0]["field"].as_str().unwrap().to_string()
        };
        assert_eq!(
            field(serde_json::json!({"shifts": [{"time_zone": "Mars/Olympus"}]})),
            "shifts[0].time_zone"
        );
        assert_eq!(field(serde_json::json!({"shifts": [{"tz": "UTC"}]})), "shifts[0].tz");
        assert_eq!(field(serde_json::json!({"shifts": [{}]})), "shifts[0].time_zone");
        assert_eq!(field(serde_json::json!({"shift": []})), "shift");
    }
}
