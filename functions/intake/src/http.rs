//! HTTP plumbing shared by the routes: JSON responses, the error shape, CORS.

use domain::FieldError;
use lambda_http::http::{header, HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

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
}
