//! A CSV file as Excel and other CRMs save it → text → header + rows of lead fields.
//!
//! Excel in China saves "CSV" in GBK (GB18030 is its superset), "CSV UTF-8" with a BOM,
//! and "Unicode text" as UTF-16 with tabs. European locales use `;`. All of them arrive
//! here as bytes; the encoding is detected, never guessed from the file name.

use super::mapping::Mapping;
use super::{ImportError, LineError};
use crate::lead::messages::Row;
use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE};
use serde::Serialize;
use std::collections::BTreeMap;

/// How the file was encoded, as reported back to the uploader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16le,
    Utf16be,
    /// GBK or GB18030 (GBK is a subset).
    Gb18030,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf8Bom => "utf-8 (BOM)",
            TextEncoding::Utf16le => "utf-16le",
            TextEncoding::Utf16be => "utf-16be",
            TextEncoding::Gb18030 => "gbk/gb18030",
        }
    }
}

/// The file as text, BOM removed.
pub fn decode_text(bytes: &[u8]) -> Result<(String, TextEncoding), ImportError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).map_err(|_| ImportError::Encoding)?;
        return Ok((text.to_string(), TextEncoding::Utf8Bom));
    }
    let utf16: Option<(&'static Encoding, TextEncoding)> = match bytes {
        [0xFF, 0xFE, ..] => Some((UTF_16LE, TextEncoding::Utf16le)),
        [0xFE, 0xFF, ..] => Some((UTF_16BE, TextEncoding::Utf16be)),
        _ => None,
    };
    if let Some((encoding, name)) = utf16 {
        let (text, malformed) = encoding.decode_with_bom_removal(bytes);
        return if malformed {
            Err(ImportError::Encoding)
        } else {
            Ok((text.into_owned(), name))
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), TextEncoding::Utf8));
    }
    // Not UTF-8: GB18030 decodes any GBK file; bytes it cannot decode mean neither.
    let (text, malformed) = GB18030.decode_without_bom_handling(bytes);
    if malformed {
        return Err(ImportError::Encoding);
    }
    Ok((text.into_owned(), TextEncoding::Gb18030))
}

/// The delimiter of the header line: the most frequent of `,` `;` tab outside quotes.
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in text.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(entry) = counts.iter_mut().find(|(d, _)| *d == c) {
                    entry.1 += 1;
                }
            }
            _ => {}
        }
    }
    // Ties go to the comma (first).
    counts
        .iter()
        .fold((b',', 0), |best, &(d, n)| if n > best.1 { (d, n) } else { best })
        .0
}

/// Line numbers as an editor shows them. The csv crate's own count is off by one after
/// a CRLF (a record "starts" at the `\n` of the previous line's terminator), so lines are
/// counted from byte offsets, which arrive in order.
struct LineCounter<'a> {
    text: &'a [u8],
    scanned: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            scanned: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        if self.text.get(start) == Some(&b'\n') {
            start += 1;
        }
        if start > self.scanned {
            let newlines = self.text[self.scanned..start].iter().filter(|b| **b == b'\n').count();
            self.line += newlines as u64;
            self.scanned = start;
        }
        self.line
    }
}

/// Excel's way to keep a leading zero or a long number as text: `="0138…"`.
fn unwrap_excel_text(value: &str) -> &str {
    value
        .strip_prefix("=\"")
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// The file read through a mapping: rows keyed by lead field, line numbers as in the file.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub encoding: TextEncoding,
    pub delimiter: char,
    pub headers: Vec<String>,
    /// The mapping applied (a preset, a saved one, or the automatic choice).
    pub mapping: Mapping,
    /// Header cells the mapping does not use: reported, not imported.
    pub ignored_columns: Vec<String>,
    pub rows: Vec<Row>,
    /// Lines that could not be read at all (not CSV); they are not in `rows`.
    pub errors: Vec<LineError>,
}

/// Reads the file. `mapping: None` picks the preset that recognises most headers.
pub fn read_sheet(bytes: &[u8], mapping: Option<Mapping>, max_rows: usize) -> Result<Sheet, ImportError> {
    let (text, encoding) = decode_text(bytes)?;
    let delimiter = sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers: Vec<String> = loop {
        match records.next() {
            None => return Err(ImportError::NoHeader),
            Some(Err(e)) => return Err(ImportError::Csv(e.to_string())),
            Some(Ok(record)) if record.iter().all(|c| c.trim().is_empty()) => continue,
            Some(Ok(record)) => break record.iter().map(|h| h.trim().to_string()).collect(),
        }
    };
    let mapping = match mapping {
        Some(m) => m,
        None => Mapping::automatic(&headers),
    };
    let columns = mapping.resolve(&headers)?;
    let ignored_columns = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| !h.is_empty() && !columns.iter().any(|(c, _)| c == i))
        .map(|(_, h)| h.clone())
        .collect();

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut lines = LineCounter::new(&text);
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                errors.push(LineError::new(line, "line", format!("is not valid CSV: {e}")));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == max_rows {
            return Err(ImportError::TooManyRows(max_rows));
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let mut fields = BTreeMap::new();
        for (index, field) in &columns {
            let value = unwrap_excel_text(record.get(*index).unwrap_or("")).trim();
            if !value.is_empty() {
                // Two columns on one field (Phone and Mobile both on phone): first non-empty wins.
                fields.entry(field.clone()).or_insert_with(|| value.to_string());
            }
        }
        rows.push(Row { line, fields });
    }
    Ok(Sheet {
        encoding,
        delimiter: char::from(delimiter),
        headers,
        mapping,
        ignored_columns,
        rows,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = GB18030.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn encodings_are_detected() {
        let text = "姓名,手机\r\n张三,13800138000\r\n";
        assert_eq!(decode_text(text.as_bytes()).unwrap(), (text.into(), TextEncoding::Utf8));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode_text(&bom).unwrap(), (text.into(), TextEncoding::Utf8Bom));
        assert_eq!(decode_text(&gbk(text)).unwrap(), (text.into(), TextEncoding::Gb18030));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&utf16).unwrap(), (text.into(), TextEncoding::Utf16le));
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_gbk_are_refused() {
        assert!(matches!(decode_text(b"\x81\x20\xff"), Err(ImportError::Encoding)));
        assert!(matches!(decode_text(b"  \n"), Err(ImportError::Empty)));
        assert!(matches!(decode_text(b"\xEF\xBB\xBF\xff"), Err(ImportError::Encoding)));
    }

    #[test]
    fn delimiters_as_excel_writes_them() {
        assert_eq!(sniff_delimiter("a,b;c\n1;2;3"), b',');
        assert_eq!(sniff_delimiter("name;phone;email\n"), b';');
        assert_eq!(sniff_delimiter("name\tphone\n"), b'\t');
        assert_eq!(sniff_delimiter("\"a;b;c\",d\n"), b',');
        assert_eq!(sniff_delimiter("name\n"), b',');
    }

    #[test]
    fn quoted_newlines_excel_text_cells_and_blank_lines() {
        let file = "\u{feff}name,phone,message\r\n\
                    张三,=\"013800138000\",\"line one\r\nline two, with comma\"\r\n\
                    ,,\r\n\
                    李四,13900139000,\"say \"\"hi\"\"\"\r\n";
        let sheet = read_sheet(file.as_bytes(), None, 10).unwrap();
        assert_eq!(sheet.encoding, TextEncoding::Utf8Bom);
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].line, 2);
        assert_eq!(sheet.rows[0].fields["phone"], "013800138000");
        assert_eq!(sheet.rows[0].fields["message"], "line one\r\nline two, with comma");
        // The quoted newline moved the next record down a line; the blank line is skipped.
        assert_eq!(sheet.rows[1].line, 5);
        assert_eq!(sheet.rows[1].fields["message"], "say \"hi\"");
    }

    #[test]
    fn ragged_rows_and_unknown_columns() {
        let file = "Name,Phone,Favourite colour\nA,13800138000\nB,13900139000,blue,extra\n";
        let sheet = read_sheet(file.as_bytes(), None, 10).unwrap();
        assert_eq!(sheet.ignored_columns, ["Favourite colour"]);
        assert_eq!(sheet.rows.len(), 2);
        assert!(!sheet.rows[1].fields.values().any(|v| v == "blue" || v == "extra"));
    }

    #[test]
    fn a_gbk_file_with_chinese_headers() {
        let sheet = read_sheet(
            &gbk("姓名,手机,公司\n王五,13700137000,北京纷扬科技有限公司\n"),
            None,
            10,
        )
        .unwrap();
        assert_eq!(sheet.encoding, TextEncoding::Gb18030);
        assert_eq!(sheet.rows[0].fields["name"], "王五");
        assert_eq!(sheet.rows[0].fields["company"], "北京纷扬科技有限公司");
    }

    #[test]
    fn too_many_rows_is_refused_before_anything_is_read_further() {
        let file = "email\na@x.com\nb@x.com\nc@x.com\n";
        assert!(matches!(
            read_sheet(file.as_bytes(), None, 2),
            Err(ImportError::TooManyRows(2))
        ));
    }
}
