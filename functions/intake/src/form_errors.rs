//! What a visitor sees when a plain HTML form post fails validation: never JSON. With an
//! `error_redirect` on the allow-list, a 303 back to that page carrying the failing
//! fields (`?lead_errors=phone,email`) for it to show in its own words; without one, a
//! small HTML page in the form's language (`lang`: Chinese by default, `en` for English)
//! that lists them, each with what to do in the visitor's words (the Chinese page gives
//! its own hint per field; the English one the API's reason), and links back to the form. JSON and `text/plain` posts keep the JSON
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
            let (name, hint) = words(&e.field, english);
            let hint = hint.map_or_else(|| e.reason.clone(), str::to_string);
            format!("<li><b>{}</b>: {}</li>", escape(&name), escape(&hint))
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

/// The visitor's name for a field and, on the Chinese page, what to do about it: the
/// form's own words, not the API's (an unknown field keeps its name and gets a generic
/// hint; the English page gives the API's reason).
fn words(field: &str, english: bool) -> (String, Option<&'static str>) {
    let known = [
        ("name", "姓名", "Name", "请填写真实姓名"),
        ("phone", "手机号", "Phone", "请填写有效的手机号，如 138 0013 8000"),
        ("email", "邮箱", "E-mail", "请填写有效的邮箱地址"),
        ("wechat", "微信号", "WeChat", "请填写有效的微信号"),
        (
            "contact",
            "联系方式",
            "Contact",
            "请至少填写手机号、邮箱或微信号中的一项",
        ),
        ("company", "公司", "Company", "请检查公司名称"),
        ("title", "职务", "Job title", "请检查职务"),
        ("message", "留言", "Message", "请检查留言内容"),
        ("consent", "同意条款", "Consent", "请勾选同意条款后再提交"),
    ];
    match known.iter().find(|(f, ..)| *f == field) {
        Some((_, _, en, _)) if english => (en.to_string(), None),
        Some((_, zh, _, hint)) => (zh.to_string(), Some(*hint)),
        None if english => (field.to_string(), None),
        None => (field.to_string(), Some("请检查此项")),
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

    #[test]
    fn each_page_speaks_its_visitor_s_language() {
        let errors = [FieldError::new("phone", "is not a valid mobile number")];
        let zh = page(&errors, false, None);
        assert!(zh.contains("<b>手机号</b>: 请填写有效的手机号"), "{zh}");
        assert!(!zh.contains("is not a valid"), "no English on the Chinese page: {zh}");
        let en = page(&errors, true, None);
        assert!(en.contains("<b>Phone</b>: is not a valid mobile number"), "{en}");
    }
}
