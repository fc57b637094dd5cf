//! A stand-in for the Lambda Runtime API, the local HTTP endpoint a function's
//! `lambda_runtime` loop polls for work (`AWS_LAMBDA_RUNTIME_API`): it hands out the
//! invocations it is given one at a time, each with its request id and, when set, its
//! X-Ray trace header, as the Lambda service does, and records what the function
//! answers. With it a test runs a handler through the real runtime: its invocation span,
//! its `service_fn` and `lambda_http` adapters, and its error reporting.

use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One event for the function, as the service would send it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    /// The `Lambda-Runtime-Trace-Id` header (X-Ray tracing on), if any.
    pub trace_id: Option<String>,
    pub event: Value,
}

/// What the function posted back for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub request_id: String,
    /// `false`: posted to `/error` (the handler failed or panicked).
    pub ok: bool,
    pub body: Value,
}

#[derive(Default)]
struct State {
    pending: VecDeque<Invocation>,
    answered: Vec<Answered>,
}

pub struct RuntimeApi {
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves `invocations` on `listener`, bound beforehand so that its address can be
    /// put in `AWS_LAMBDA_RUNTIME_API` before anything else runs. Once they are all handed
    /// out, the next poll waits forever, as an idle sandbox's does.
    pub fn start(listener: std::net::TcpListener, invocations: Vec<Invocation>) -> Self {
        listener.set_nonblocking(true).expect("non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        let state = Arc::new(Mutex::new(State {
            pending: invocations.into(),
            answered: Vec::new(),
        }));
        let changed = Arc::new(tokio::sync::Notify::new());
        let (serving, notify) = (state.clone(), changed.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, changed) = (serving.clone(), notify.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (state, changed) = (state.clone(), changed.clone());
                        async move { Ok::<_, std::convert::Infallible>(serve(req, &state, &changed).await) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Self { state, changed, task }
    }

    /// The answers, once `count` invocations have been answered (30 s at most).
    pub async fn answered(&self, count: usize) -> Vec<Answered> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let notified = self.changed.notified();
            {
                let state = self.state.lock().unwrap();
                if state.answered.len() >= count {
                    return state.answered.clone();
                }
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "the function answered {} of {count} invocations in 30 s",
                self.state.lock().unwrap().answered.len()
            );
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Response = hyper::Response<http_body_util::Full<hyper::body::Bytes>>;

async fn serve(
    req: hyper::Request<hyper::body::Incoming>,
    state: &Mutex<State>,
    changed: &tokio::sync::Notify,
) -> Response {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let next = state.lock().unwrap().pending.pop_front();
        let Some(invocation) = next else {
            return std::future::pending().await;
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
        let mut answer = hyper::Response::builder()
            .status(200)
            .header("lambda-runtime-aws-request-id", &invocation.request_id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:leadflow-test",
            );
        if let Some(trace) = &invocation.trace_id {
            answer = answer.header("lambda-runtime-trace-id", trace);
        }
        return answer
            .body(http_body_util::Full::from(invocation.event.to_string()))
            .expect("a response");
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["2018-06-01", "runtime", "invocation", request_id, outcome @ ("response" | "error")] = parts.as_slice() {
        let ok = *outcome == "response";
        let request_id = request_id.to_string();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        state.lock().unwrap().answered.push(Answered { request_id, ok, body });
        changed.notify_waiters();
        return hyper::Response::builder()
            .status(202)
            .body(http_body_util::Full::from("{}"))
            .expect("a response");
    }
    hyper::Response::builder()
        .status(404)
        .body(http_body_util::Full::from(format!("no such route: {path}")))
        .expect("a response")
}
