//! Roster changes as jobs ([`domain::roster`]): `POST /v1/reps/{id}/transfer` starts one
//! on a rep's open leads (202, the job id and where to read it); `GET /v1/jobs/{id}` is
//! its progress; `POST /v1/jobs/{id}/resume` sends a failed or stalled job on from its
//! cursor. The `assign` function runs the chunks; this module reads bodies and answers.

use crate::routes::Call;
use crate::{invalid, not_found, Answer, Api, ApiStore};
use domain::roster::job::{Job, Work};
use domain::roster::request::TransferRequest;
use domain::roster::run::{check_target, resume, start, ResumeError, Started, TargetRefused};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use leadflow_http::{field_error, json, json_object};

/// 202 with the job, and where to read its progress.
fn accepted(job: &Job) -> Response<Body> {
    let mut response = json(StatusCode::ACCEPTED, &job.view());
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/jobs/{}", job.spec.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A job stored whose chunk could not be sent: 503, saying how to send it.
fn not_sent(job: &Job) -> Response<Body> {
    tracing::error!(job_id = %job.spec.id, "job stored; its chunk could not be queued");
    let mut response = field_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable, please retry",
        "body",
        &format!(
            "job {} is saved but not started: POST /v1/jobs/{}/resume starts it",
            job.spec.id, job.spec.id
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// `POST /v1/reps/{id}/transfer`: managers and admins.
    pub(crate) async fn post_transfer(&self, call: &Call<'_>) -> Answer {
        let from = call.param("id");
        let body = match json_object(call.req) {
            Ok(body) => body,
            Err(response) => return Ok(*response),
        };
        let request = match TransferRequest::parse(&body) {
            Ok(request) => request,
            Err(errors) => return Ok(invalid(errors.0)),
        };
        if self.store.rep(from).await?.is_none() {
            return Ok(not_found("id", "no rep has this id"));
        }
        match check_target(&self.store, from, &request).await? {
            None => {}
            Some(TargetRefused::Missing(e)) => return Ok(not_found(&e.field, &e.reason)),
            Some(TargetRefused::Conflict(e)) => {
                return Ok(field_error(StatusCode::CONFLICT, "conflict", &e.field, &e.reason))
            }
        }
        let work = Work::Transfer { request };
        let Started { job, queued } =
            start(&self.store, &self.bus, from, work, &call.actor.id, self.clock.now()).await?;
        tracing::info!(job_id = %job.spec.id, rep = from, by = %call.actor.id, "transfer started");
        Ok(if queued { accepted(&job) } else { not_sent(&job) })
    }

    /// `GET /v1/jobs/{id}`: managers and admins.
    pub(crate) async fn get_job(&self, call: &Call<'_>) -> Answer {
        Ok(match self.store.job(call.param("id")).await? {
            Some(job) => json(StatusCode::OK, &job.view()),
            None => not_found("id", "no job has this id"),
        })
    }

    /// `POST /v1/jobs/{id}/resume`: managers and admins.
    pub(crate) async fn resume_job(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        match resume(&self.store, &self.bus, id, self.clock.now()).await {
            Ok(job) => {
                tracing::info!(job_id = id, by = %call.actor.id, "job resumed");
                Ok(accepted(&job))
            }
            Err(ResumeError::NotFound) => Ok(not_found("id", "no job has this id")),
            Err(ResumeError::Conflict(reason)) => Ok(field_error(StatusCode::CONFLICT, "conflict", "id", &reason)),
            Err(ResumeError::Store(e)) => Err(e),
            Err(ResumeError::Bus(e)) => {
                tracing::error!(job_id = id, error = %e, "resume: the chunk could not be queued");
                Ok(field_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily unavailable, please retry",
                    "body",
                    "nothing was sent; resume again",
                ))
            }
        }
    }
}
