//! [`Notifier`] and [`WebhookPoster`] over HTTPS: posts the webhook's JSON with a short
//! timeout, so a slow chat service or CRM delays one message, never the assignment
//! (notices and hand-offs travel as their own queue messages).

use domain::assign::notify::Webhook;
use domain::handoff::ports::{PostError, WebhookPoster};
use domain::{assign::ports::Notifier, assign::ports::NotifyError};
use std::time::Duration;

#[derive(Clone)]
pub struct HttpNotifier {
    client: reqwest::Client,
}

impl HttpNotifier {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("a client with static settings builds");
        Self { client }
    }
}

impl Default for HttpNotifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Notifier for HttpNotifier {
    async fn send(&self, hook: &Webhook, body: &serde_json::Value) -> Result<(), NotifyError> {
        let response = self
            .client
            .post(hook.url_at(chrono::Utc::now()))
            .json(body)
            .send()
            .await
            .map_err(|e| NotifyError::Failed(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(NotifyError::Failed(format!("the webhook answered {status}")));
        }
        // WeCom and DingTalk answer 200 with {"errcode": n}; non-zero is a failure.
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        match answer.get("errcode").and_then(serde_json::Value::as_i64) {
            Some(code) if code != 0 => Err(NotifyError::Failed(format!(
                "the webhook refused the message: errcode {code}"
            ))),
            _ => Ok(()),
        }
    }
}

impl WebhookPoster for HttpNotifier {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: &[u8]) -> Result<(), PostError> {
        let request = headers.iter().fold(self.client.post(url), |request, (name, value)| {
            request.header(*name, value)
        });
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| PostError::Unreachable(e.without_url().to_string()))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(PostError::Status(status.as_u16())),
        }
    }
}
