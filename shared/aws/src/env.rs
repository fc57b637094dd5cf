//! Configuration from the environment the SAM template (or the local runner) sets.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {0}: {1}")]
    Invalid(&'static str, &'static str),
}

/// Form validation settings shared by intake and import (`DEFAULT_PHONE_REGION`).
pub fn submission_rules() -> Result<domain::submission::SubmissionRules, ConfigError> {
    let mut rules = domain::submission::SubmissionRules::default();
    if let Some(region) = optional("DEFAULT_PHONE_REGION") {
        rules.default_region = domain::normalize::region(&region).ok_or(ConfigError::Invalid(
            "DEFAULT_PHONE_REGION",
            "is not an ISO region code",
        ))?;
    }
    Ok(rules)
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Comma-separated list, blanks dropped.
pub fn list(name: &str) -> Vec<String> {
    optional(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The AWS SDK configuration. `AWS_ENDPOINT_URL` (set locally) points every client at
/// the emulator; in the cloud it is unset and the SDK uses the real endpoints.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
