//! Invoking a function the way the Lambda service does, through `cargo lambda watch`'s
//! emulation of the Invoke API.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InvokeError {
    #[error("cannot reach the function runner: {0}")]
    Unreachable(String),
    /// The function returned an error (or panicked): the whole event failed.
    #[error("function {function} failed: {detail}")]
    FunctionError { function: String, detail: String },
}

/// Hands events to `cargo lambda watch`, one at a time per function. Its single local
/// sandbox per function serialises invocations anyway, and under a burst of concurrent
/// ones (a load test through the gateway) it stopped dispatching altogether; queueing here
/// keeps it to what it handles, like a function with a reserved concurrency of one.
#[derive(Clone)]
pub struct Invoker {
    base_url: String,
    client: reqwest::Client,
    lanes: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Invoker {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            client: reqwest::Client::new(),
            lanes: Arc::default(),
        }
    }

    fn lane(&self, function: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut lanes = self.lanes.lock().expect("lanes lock");
        lanes.entry(function.to_string()).or_default().clone()
    }

    pub async fn invoke(&self, function: &str, event: &Value) -> Result<Value, InvokeError> {
        let lane = self.lane(function);
        let _turn = lane.lock().await;
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base_url);
        let response = self
            .client
            .post(url)
            .json(event)
            .send()
            .await
            .map_err(|e| InvokeError::Unreachable(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| InvokeError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            return Err(InvokeError::FunctionError {
                function: function.to_string(),
                detail: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}
