//! Creates the template's tables and queues on a local endpoint (idempotently) and
//! computes what `!Ref`/`!GetAtt` mean there.

use crate::template::{Bindings, Function, Table, Template, TemplateError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::BTreeMap;
use thiserror::Error;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

#[derive(Debug, Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("DynamoDB: {0}")]
    Dynamo(String),
    #[error("SQS: {0}")]
    Sqs(String),
}

/// An SDK configuration for a local emulator: fixed region, dummy credentials.
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "local-stack"),
        ))
        .build()
}

/// What was created, by logical id.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub endpoint: String,
    pub tables: BTreeMap<String, String>,
    pub queue_urls: BTreeMap<String, String>,
    pub bindings: Bindings,
}

impl Provisioned {
    /// The environment a function runs with locally: its template env, resolved, plus
    /// what the SDK needs to reach the emulator.
    pub fn function_env(&self, function: &Function) -> Result<BTreeMap<String, String>, TemplateError> {
        let mut env = BTreeMap::new();
        for (k, v) in &function.env {
            env.insert(k.clone(), self.bindings.resolve(v)?);
        }
        env.extend(self.aws_env());
        Ok(env)
    }

    pub fn aws_env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ])
    }

    pub fn queue_url(&self, logical_id: &str) -> &str {
        self.queue_urls.get(logical_id).map(String::as_str).unwrap_or_default()
    }
}

pub async fn provision(template: &Template, endpoint: &str) -> Result<Provisioned, ProvisionError> {
    let config = sdk_config(endpoint);
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut out = Provisioned {
        endpoint: endpoint.to_string(),
        ..Provisioned::default()
    };
    for (name, default) in &template.parameters {
        if let Some(value) = default {
            out.bindings.refs.insert(name.clone(), value.clone());
        }
    }
    out.bindings.conditions = template.conditions.clone();
    out.bindings.refs.insert("AWS::Region".into(), REGION.into());
    out.bindings.refs.insert("AWS::AccountId".into(), ACCOUNT.into());
    out.bindings
        .refs
        .insert("AWS::URLSuffix".into(), "amazonaws.com".into());

    for table in &template.tables {
        create_table(&dynamo, table).await?;
        let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", table.logical_id);
        out.tables.insert(table.logical_id.clone(), table.logical_id.clone());
        out.bindings
            .refs
            .insert(table.logical_id.clone(), table.logical_id.clone());
        out.bindings.attrs.insert(format!("{}.Arn", table.logical_id), arn);
        if table.stream_view.is_some() {
            let stream = dynamo
                .describe_table()
                .table_name(&table.logical_id)
                .send()
                .await
                .map_err(|e| ProvisionError::Dynamo(format!("{}: {e:?}", table.logical_id)))?
                .table
                .and_then(|t| t.latest_stream_arn)
                .ok_or_else(|| ProvisionError::Dynamo(format!("{}: no stream", table.logical_id)))?;
            out.bindings
                .attrs
                .insert(format!("{}.StreamArn", table.logical_id), stream);
        }
    }

    // Dead-letter queues first, so a source queue's redrive policy can name them.
    let mut queues: Vec<_> = template.queues.iter().collect();
    queues.sort_by_key(|q| q.redrive.is_some());
    for queue in queues {
        let mut create = sqs.create_queue().queue_name(&queue.logical_id);
        if let Some(v) = queue.visibility_timeout {
            create = create.attributes(QueueAttributeName::VisibilityTimeout, v.to_string());
        }
        if let Some(v) = queue.retention_seconds {
            create = create.attributes(QueueAttributeName::MessageRetentionPeriod, v.to_string());
        }
        if let Some((dlq, max)) = &queue.redrive {
            let dlq_arn = out.bindings.attrs.get(&format!("{dlq}.Arn")).ok_or_else(|| {
                ProvisionError::Sqs(format!("{}: dead-letter queue {dlq} not declared", queue.logical_id))
            })?;
            let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max});
            create = create.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = create
            .send()
            .await
            .map_err(|e| ProvisionError::Sqs(format!("{}: {e:?}", queue.logical_id)))?
            .queue_url
            .unwrap_or_default();
        let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", queue.logical_id);
        out.queue_urls.insert(queue.logical_id.clone(), url.clone());
        out.bindings.refs.insert(queue.logical_id.clone(), url);
        out.bindings.attrs.insert(format!("{}.Arn", queue.logical_id), arn);
        out.bindings
            .attrs
            .insert(format!("{}.QueueName", queue.logical_id), queue.logical_id.clone());
    }
    // Resources that have no local counterpart (the HTTP API, the Cognito user pool)
    // still need a value for !Ref/!Sub.
    for id in &template.other_resources {
        out.bindings
            .refs
            .entry(id.clone())
            .or_insert_with(|| format!("local-{id}"));
    }
    Ok(out)
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| ProvisionError::Dynamo(e.to_string()))
}

fn keys(hash: &str, range: &Option<String>) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    let mut out = vec![key(hash, KeyType::Hash)?];
    if let Some(range) = range {
        out.push(key(range, KeyType::Range)?);
    }
    Ok(out)
}

async fn create_table(client: &aws_sdk_dynamodb::Client, table: &Table) -> Result<(), ProvisionError> {
    let dynamo_err = |e: String| ProvisionError::Dynamo(format!("{}: {e}", table.logical_id));
    let mut create = client
        .create_table()
        .table_name(&table.logical_id)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&table.hash, &table.range)?));
    for attr in &table.attributes {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attr.name)
                .attribute_type(ScalarAttributeType::from(attr.kind.as_str()))
                .build()
                .map_err(|e| dynamo_err(e.to_string()))?,
        );
    }
    if let Some(view) = &table.stream_view {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| dynamo_err(e.to_string()))?,
        );
    }
    for gsi in &table.gsis {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(gsi.projection.as_str()))
            .set_non_key_attributes((!gsi.non_key_attributes.is_empty()).then(|| gsi.non_key_attributes.clone()))
            .build();
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&gsi.name)
                .set_key_schema(Some(keys(&gsi.hash, &gsi.range)?))
                .projection(projection)
                .build()
                .map_err(|e| dynamo_err(e.to_string()))?,
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(dynamo_err(format!("{e:?}"))),
    }
    if let Some(attr) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(&table.logical_id)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()
                    .map_err(|e| dynamo_err(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| dynamo_err(format!("{e:?}")))?;
    }
    Ok(())
}
