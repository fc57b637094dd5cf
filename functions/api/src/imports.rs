//! Bulk imports: `POST /v1/imports?channel=…&campaign_id=…&mapping=…&timezone=…&file_name=…&dry_run=true`
//! takes a CSV body for a dry run (200, line-level report) or a real run (202, import
//! id); recent imports and one import's progress and error lines; the column mapping
//! presets and saved custom mappings.

use crate::routes::Call;
use crate::versioned::stale_version;
use crate::{invalid, not_found, Answer, Api, ApiStore};
use chrono::{DateTime, Utc};
use domain::capture::submission::SubmissionRules;
use domain::import::mapping::{Mapping, PRESETS};
use domain::import::run::{chunk_messages, dry_run};
use domain::import::sheet::read_sheet;
use domain::import::{Batch, ImportJob, Progress, CHUNK_ROWS, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS};
use domain::lead::versioned::{ConfigId, ConfigKind, Versioned};
use domain::FieldError;
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Request, RequestExt};
use leadflow_http::paging::{list_body, next_cursor, Paging};
use leadflow_http::{decode_body, field_error, json, json_object};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// `PUT /v1/config/import-mappings/{name}`: the columns, and optionally the version read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingBody {
    /// Ignored: the path names the mapping.
    #[serde(default, rename = "name")]
    _name: Option<serde::de::IgnoredAny>,
    columns: BTreeMap<String, String>,
    #[serde(default)]
    version: Option<u64>,
}

/// The batch settings from the query string, or the 422 naming the parameter.
fn batch_of(req: &Request) -> Result<(Batch, Option<String>, bool), Vec<FieldError>> {
    let params = req.query_string_parameters();
    let mut errors = Vec::new();
    let channel = params.first("channel").unwrap_or("import").to_lowercase();
    if channel.is_empty()
        || channel.len() > 64
        || !channel
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        errors.push(FieldError::new(
            "channel",
            "may contain only letters, digits, '_' and '.'",
        ));
    }
    let campaign_id = params.first("campaign_id").map(str::to_string);
    if campaign_id.as_ref().is_some_and(|c| c.is_empty() || c.len() > 128) {
        errors.push(FieldError::new("campaign_id", "must be 1 to 128 characters"));
    }
    let timezone = match params.first("timezone").unwrap_or("Asia/Shanghai").parse() {
        Ok(zone) => zone,
        Err(_) => {
            errors.push(FieldError::new(
                "timezone",
                "is not an IANA time zone (e.g. Asia/Shanghai)",
            ));
            chrono_tz::Asia::Shanghai
        }
    };
    let dry_run = crate::dry_run(req).unwrap_or_else(|e| {
        errors.push(e);
        false
    });
    let file_name = params.first("file_name").map(|n| n.chars().take(200).collect());
    if errors.is_empty() {
        Ok((
            Batch {
                channel,
                campaign_id,
                timezone,
            },
            file_name,
            dry_run,
        ))
    } else {
        Err(errors)
    }
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// Imports a page at a time, the most recent first.
    pub(crate) async fn list_imports(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let page = self.store.imports(paging.request()).await?.map(|j| {
            json!({"import_id": j.id, "file_name": j.file_name, "channel": j.batch.channel, "campaign_id": j.batch.campaign_id, "rows_total": j.rows_total, "created_by": j.created_by, "created_at": j.created_at})
        });
        Ok(json(StatusCode::OK, &list_body(&page)))
    }

    /// The presets (a fixed few, on every page) and a page of the saved mappings, by name.
    pub(crate) async fn list_mappings(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let saved = self.store.mappings(paging.request()).await?;
        let presets: Vec<Mapping> = PRESETS.iter().filter_map(|p| Mapping::preset(p)).collect();
        Ok(json(
            StatusCode::OK,
            &json!({"presets": presets, "saved": saved.items, "next_cursor": next_cursor(saved.next.as_deref())}),
        ))
    }

    /// Saves a custom mapping as its next version (kept: [`crate::history`]); a body
    /// naming the `version` it read gets 409 if it is stale.
    pub(crate) async fn put_mapping(&self, call: &Call<'_>) -> Answer {
        let name = call.param("name");
        let body = match json_object(call.req).and_then(decode_body::<MappingBody>) {
            Ok(m) => m,
            Err(response) => return Ok(*response),
        };
        if Mapping::preset(name).is_some() {
            return Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "name",
                "is the name of a preset: choose another name",
            ));
        }
        let mut mapping = Mapping {
            name: name.to_string(),
            columns: body.columns,
            version: 0,
            updated_at: None,
        };
        let errors = mapping.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        let route = format!("/v1/config/import-mappings/{name}");
        let stored = self.store.mapping(name).await?.map_or(0, |m| m.version);
        if body.version.is_some_and(|read| read != stored) {
            return Ok(stale_version(body.version.unwrap_or_default(), &route));
        }
        mapping.version = stored;
        let now = self.clock.now();
        let based_on = mapping.next_version(now);
        let config = ConfigId::named(ConfigKind::ImportMappings, name);
        match domain::lead::versioned::save(&self.store, &config, &mapping, &call.actor.id, now).await? {
            Saved::Saved => Ok(json(StatusCode::OK, &mapping)),
            Saved::Conflict => Ok(stale_version(based_on, &route)),
        }
    }

    async fn mapping_named(&self, name: &str) -> Result<Option<Mapping>, domain::lead::ports::StoreError> {
        if let Some(preset) = Mapping::preset(name) {
            return Ok(Some(preset));
        }
        self.store.mapping(name).await
    }

    pub(crate) async fn post_import(&self, call: &Call<'_>) -> Answer {
        let (req, actor) = (call.req, call.actor);
        let (batch, file_name, dry) = match batch_of(req) {
            Ok(b) => b,
            Err(errors) => return Ok(invalid(errors)),
        };
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_IMPORT_BYTES {
            return Ok(field_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file too large",
                "body",
                &format!("must be at most {MAX_IMPORT_BYTES} bytes; split the file"),
            ));
        }
        let mapping = match req.query_string_parameters().first("mapping") {
            None | Some("auto") => None,
            // Not a name the store can look up (an empty or oversized key is refused).
            Some(name) if name.is_empty() || name.len() > 64 => {
                return Ok(invalid(vec![FieldError::new(
                    "mapping",
                    "must be auto, a preset or a saved mapping's name (at most 64 characters)",
                )]))
            }
            Some(name) => match self.mapping_named(name).await? {
                Some(m) => Some(m),
                None => return Ok(not_found("mapping", "no preset or saved mapping has this name")),
            },
        };
        let sheet = match read_sheet(body, mapping, MAX_IMPORT_ROWS) {
            Ok(sheet) => sheet,
            Err(e) => {
                return Ok(field_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the file cannot be imported",
                    e.field(),
                    &e.to_string(),
                ))
            }
        };
        let now = self.clock.now();
        let about = json!({
            "encoding": sheet.encoding.as_str(),
            "delimiter": sheet.delimiter.to_string(),
            "mapping": sheet.mapping.name,
            "ignored_columns": sheet.ignored_columns,
        });
        if dry {
            let reps: Vec<_> = self.store.all_reps().await?.into_iter().map(|(r, _)| r).collect();
            let report = dry_run(&sheet, &batch, &reps, &SubmissionRules::default(), now);
            return Ok(json(
                StatusCode::OK,
                &json!({"dry_run": true, "file": about, "report": report}),
            ));
        }
        let job = ImportJob {
            id: domain::lead::ulid_at(now),
            file_name,
            batch,
            mapping: sheet.mapping.name.clone(),
            encoding: sheet.encoding.as_str().to_string(),
            rows_total: sheet.rows.len() as u64,
            chunks: sheet.rows.len().div_ceil(CHUNK_ROWS) as u64,
            unreadable: sheet.errors.clone(),
            created_by: actor.id.clone(),
            created_at: now,
        };
        self.store.create_import(&job).await?;
        if let Err(e) = self.queue_chunks(&job, sheet.rows, now).await {
            tracing::error!(import_id = %job.id, error = %e, "import accepted but not every chunk was queued");
            let mut response = field_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable, please retry",
                "body",
                "upload the same file again: rows already imported are skipped",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return Ok(response);
        }
        tracing::info!(import_id = %job.id, rows = job.rows_total, chunks = job.chunks, by = %actor.id, "import accepted");
        let mut response = json(
            StatusCode::ACCEPTED,
            &json!({"import_id": job.id, "status": "queued", "rows_total": job.rows_total, "chunks": job.chunks, "file": about}),
        );
        let location = format!("/v1/imports/{}", job.id);
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Ok(response)
    }

    /// Sends every chunk, each tried a few times; a chunk that will not go fails the upload.
    async fn queue_chunks(
        &self,
        job: &ImportJob,
        rows: Vec<domain::lead::messages::Row>,
        now: DateTime<Utc>,
    ) -> Result<(), domain::lead::ports::BusError> {
        for envelope in chunk_messages(&job.id, rows, CHUNK_ROWS, now) {
            let mut attempt = 0;
            loop {
                match self.bus.publish(&envelope).await {
                    Ok(()) => break,
                    Err(_) if attempt < 2 => attempt += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn import_progress(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        let Some(job) = self.store.import_job(id).await? else {
            return Ok(not_found("id", "no import has this id"));
        };
        let (chunks, tally) = self.store.import_results(id).await?;
        let progress = Progress::of(&job, &chunks, tally);
        Ok(json(
            StatusCode::OK,
            &json!({
                "import": {"import_id": job.id, "file_name": job.file_name, "channel": job.batch.channel,
                           "campaign_id": job.batch.campaign_id, "mapping": job.mapping, "encoding": job.encoding,
                           "created_by": job.created_by, "created_at": job.created_at},
                "progress": progress,
            }),
        ))
    }
}
