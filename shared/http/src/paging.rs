//! The API's one paging convention, for every list that can grow (docs/src/api.md#paging):
//!
//! - in: `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and `cursor` (the
//!   `next_cursor` of the page before; absent or empty: the first page);
//! - out: the page's items and `next_cursor`, `null` on the last page.
//!
//! A cursor is opaque to clients: the base64url (no padding) of the store's key of the
//! page's last item ([`domain::lead::ports::Page::next`]). It names a position, not an
//! item, so any well-formed cursor is a valid start; what is not base64url, or is longer
//! than [`MAX_CURSOR_CHARS`], gets 422 naming `cursor` (exactly what `openapi.yaml`'s
//! `Cursor` parameter allows and refuses). A bad `limit` gets 422 naming `limit`.
//!
//! A handler: `let paging = Paging::of(call.req)?;` (or match on it), read
//! `store.something(paging.request())`, answer [`list_body`] (`{"items", "next_cursor"}`),
//! or put [`next_cursor`] beside the page's items in a larger answer.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use domain::lead::ports::{Page, PageRequest};
use domain::FieldError;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{json, Value};

/// Items a page holds when the request names no `limit`.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items a page may hold.
pub const MAX_LIMIT: usize = 200;
/// The longest cursor accepted, in characters: room for a key of 768 bytes, more than
/// any list's key (ids are at most 128 characters).
pub const MAX_CURSOR_CHARS: usize = 1024;
/// The longest position handed to a store: DynamoDB's limit for a sort key.
const MAX_KEY_BYTES: usize = 1024;

/// base64url without padding; decoding ignores the unused bits of the last character,
/// so every string of the alphabet whose length is not 1 more than a multiple of 4
/// decodes (what the spec's pattern says).
const CURSOR: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// A page's cursor for the store key `key`.
pub fn encode_cursor(key: &str) -> String {
    CURSOR.encode(key.as_bytes())
}

/// The store position a cursor names (`None`: the first page), or the field error.
pub fn decode_cursor(cursor: &str) -> Result<Option<String>, FieldError> {
    let refused = || {
        FieldError::new(
            "cursor",
            format!("must be the next_cursor of the page before (base64url, at most {MAX_CURSOR_CHARS} characters)"),
        )
    };
    if cursor.is_empty() {
        return Ok(None);
    }
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(refused());
    }
    let bytes = CURSOR.decode(cursor).map_err(|_| refused())?;
    // Cursors this API gave decode to their key; any other well-formed one is still a
    // position (where its text would sort), cut to what a store takes.
    let mut key = String::from_utf8_lossy(&bytes).into_owned();
    if key.len() > MAX_KEY_BYTES {
        let mut end = MAX_KEY_BYTES;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    Ok(Some(key))
}

/// The `limit` and `cursor` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    after: Option<String>,
    pub limit: usize,
}

impl Paging {
    /// Reads `limit` and `cursor` from the query string; the 422 naming each bad one.
    pub fn of(req: &Request) -> Result<Self, Box<Response<Body>>> {
        let params = req.query_string_parameters();
        Self::parse(params.first("limit"), params.first("cursor")).map_err(|errors| {
            Box::new(crate::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation failed",
                errors,
            ))
        })
    }

    /// [`Paging::of`] on the two parameters' raw values.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let limit = match limit.map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        };
        let after = cursor.map(decode_cursor).transpose().unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        if errors.is_empty() {
            Ok(Self {
                after: after.flatten(),
                limit,
            })
        } else {
            Err(errors)
        }
    }

    /// What to ask the store for.
    pub fn request(&self) -> PageRequest<'_> {
        PageRequest {
            after: self.after.as_deref(),
            limit: self.limit,
        }
    }
}

/// `next_cursor` for a page whose store gave `next` (`null` on the last page).
pub fn next_cursor(next: Option<&str>) -> Value {
    next.map_or(Value::Null, |key| Value::String(encode_cursor(key)))
}

/// A plain list's answer: `{"items": [...], "next_cursor": ...}`.
pub fn list_body<T: Serialize>(page: &Page<T>) -> Value {
    json!({"items": page.items, "next_cursor": next_cursor(page.next.as_deref())})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_to_its_key() {
        for key in [
            "bj-li",
            "2026-11-20T02:00:00.000Z#01M82P55JZ0A21HC6YSZ0PKEW7",
            "V#000012",
            "北京",
        ] {
            let cursor = encode_cursor(key);
            assert!(cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(decode_cursor(&cursor).unwrap().as_deref(), Some(key));
        }
        assert_eq!(decode_cursor("").unwrap(), None, "empty: the first page");
    }

    #[test]
    fn only_what_the_spec_refuses_is_refused() {
        // The spec's pattern: base64url characters, length not 1 more than a multiple of 4.
        for bad in [
            "A",
            "AAAAA",
            "not a cursor",
            "a+b/",
            "AA==",
            &"A".repeat(MAX_CURSOR_CHARS + 3),
        ] {
            assert_eq!(decode_cursor(bad).unwrap_err().field, "cursor", "{bad}");
        }
        // Well-formed but never given: a position all the same (trailing bits ignored,
        // bytes that are not UTF-8 replaced).
        for odd in ["AB", "_-_", "__8", &"A".repeat(MAX_CURSOR_CHARS)] {
            let key = decode_cursor(odd).unwrap().unwrap();
            assert!(key.len() <= MAX_KEY_BYTES, "{odd}");
        }
    }

    #[test]
    fn limits_outside_1_to_200_are_refused_by_name() {
        assert_eq!(Paging::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(Paging::parse(Some("200"), Some("")).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "ten", "1.5", ""] {
            let errors = Paging::parse(Some(bad), None).unwrap_err();
            assert_eq!(errors[0].field, "limit", "{bad}");
        }
        let both = Paging::parse(Some("0"), Some("A")).unwrap_err();
        let fields: Vec<&str> = both.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "cursor"]);
    }
}
