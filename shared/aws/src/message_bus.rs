//! SQS adapter for [`MessageBus`]: one queue per [`Topic`].

use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;
use domain::{lead::messages::Envelope, lead::messages::Topic};
use domain::{lead::ports::BusError, lead::ports::MessageBus};
use std::collections::HashMap;

#[derive(Clone)]
pub struct SqsBus {
    client: Client,
    queues: HashMap<Topic, String>,
}

impl SqsBus {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            queues: HashMap::new(),
        }
    }
    pub fn with_queue(mut self, topic: Topic, url: impl Into<String>) -> Self {
        self.queues.insert(topic, url.into());
        self
    }
}

impl MessageBus for SqsBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let topic = envelope.message.topic();
        let url = self
            .queues
            .get(&topic)
            .ok_or_else(|| BusError::Unavailable(format!("no queue configured for {topic:?}")))?;
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(envelope.message.type_name())
            .build()
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(envelope.to_json())
            .message_attributes("type", kind)
            .send()
            .await
            .map_err(|e| BusError::Unavailable(format!("{e:?}")))?;
        Ok(())
    }
}
