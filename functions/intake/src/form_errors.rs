//! What a visitor sees when a plain HTML form post fails validation: never JSON. With an
//! `error_redirect` on the allow-list, a 303 back to that page carrying the failing
//! fields (`?lead_errors=phone,email`) for it to show in its own words; without one, a
//! small HTML page in the form's language (`lang`: Chinese by default, `en` for English)
//! that lists them and links back to the form. JSON and `text/plain` posts keep the JSON
//! 422: their callers are scripts, which read it.

use domain::capture::submission::RawSubmission;
use domain::FieldError;
use lambda_http::http::{header, HeaderMap, StatusCode};
use lambda_http::{Body, Response};
use leadflow_http::AllowedOrigins;

/// The query parameter of an error redirect: the failing fields, comma-separated.
pub const ERRORS_PARAM: &str = "lead_errors";

/// The answer to a form post that failed validation.
pub(crate) fn refusal(
    raw: &RawSubmission,
    headers: &HeaderMap,
    origins: &AllowedOrigins,
    errors: &[FieldError],
) -> Response<Body> {
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.dedup();
    if let Some(mut target) = raw
        .get("error_redirect")
        .filter(|t| origins.allows_redirect(t))
        .and_then(|t| url::Url::parse(t).ok())
    {
        target.query_pairs_mut().append_pair(ERRORS_PARAM, &fields.join(","));
        return Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, target.as_str())
            .body(Body::Empty)
            .expect("a parsed URL is a valid header");
    }
    let english = raw
        .get("lang")
        .is_some_and(|l| l.trim().to_ascii_lowercase().starts_with("en"));
    // Back to the form: the page that posted, when it is one of ours.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .filter(|r| origins.allows_redirect(r));
    Response::builder()
        .status(StatusCode::UNPROCESSABLE_ENTITY)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(page(errors, english, back)))
        .expect("static headers")
}

fn page(errors: &[FieldError], english: bool, back: Option<&str>) -> String {
    let (lang, title, intro, again) = if english {
        (
            "en",
            "Not sent yet",
            "Please check these and send the form again:",
            "Back to the form",
        )
    } else {
        ("zh-CN", "提交未成功", "请检查以下内容后重新提交：", "返回修改")
    };
    let items: String = errors
        .iter()
        .map(|e| {
            format!(
                "<li><b>{}</b>: {}</li>",
                escape(&label(&e.field, english)),
                escape(&e.reason)
            )
        })
        .collect();
    let link = match back {
        Some(url) => format!("<p><a href=\"{}\">{again}</a></p>", escape(url)),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem\">\
         <h1>{title}</h1><p>{intro}</p><ul>{items}</ul>{link}</body></html>"
    )
}

/// The visitor's name for a field: the form's own words, not the API's.
fn label(field: &str, english: bool) -> String {
    let known = [
        ("name", "姓名", "Name"),
        ("phone", "手机号", "Phone"),
        ("email", "邮箱", "E-mail"),
        ("wechat", "微信号", "WeChat"),
        ("contact", "联系方式", "Contact"),
        ("company", "公司", "Company"),
        ("title", "职务", "Job title"),
        ("message", "留言", "Message"),
        ("consent", "同意条款", "Consent"),
    ];
    match known.iter().find(|(f, _, _)| *f == field) {
        Some((_, zh, en)) => if english { en } else { zh }.to_string(),
        None => field.to_string(),
    }
}

/// Text and attribute values in HTML: a field name is the visitor's own input.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_the_visitor_typed() {
        let html = page(
            &[FieldError::new(
                "<script>x</script>",
                "custom field names must be at most 64 characters",
            )],
            false,
            Some("https://example.com/?a=1&b=\"2\""),
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(html.contains("href=\"https://example.com/?a=1&amp;b=&quot;2&quot;\""));
    }
}
