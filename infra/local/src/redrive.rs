//! Moving dead-lettered messages back to their source queue after a fix: the local
//! counterpart of `aws sqs start-message-move-task`. Consumers are idempotent, so a
//! message that partly succeeded before is safe to deliver again.

use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_sdk_sqs::Client;

#[derive(Debug, thiserror::Error)]
#[error("redrive failed: {0}")]
pub struct RedriveError(String);

fn failed<E: std::fmt::Debug>(e: E) -> RedriveError {
    RedriveError(format!("{e:?}"))
}

/// Moves every message from `dead_letters` to `source` (body and attributes), each
/// deleted from the dead-letter queue only once it is sent. Returns how many moved.
pub async fn redrive(sqs: &Client, dead_letters: &str, source: &str) -> Result<usize, RedriveError> {
    let mut moved = 0;
    loop {
        let got = sqs
            .receive_message()
            .queue_url(dead_letters)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(failed)?;
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(moved);
        }
        for message in messages {
            sqs.send_message()
                .queue_url(source)
                .message_body(message.body().unwrap_or_default())
                .set_message_attributes(message.message_attributes().cloned())
                .send()
                .await
                .map_err(failed)?;
            sqs.delete_message()
                .queue_url(dead_letters)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .map_err(failed)?;
            moved += 1;
        }
    }
}
