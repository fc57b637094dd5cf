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
pub fn submission_rules() -> Result<domain::capture::submission::SubmissionRules, ConfigError> {
    let mut rules = domain::capture::submission::SubmissionRules::default();
    if let Some(region) = optional("DEFAULT_PHONE_REGION") {
        rules.default_region = domain::lead::normalize::region(&region).ok_or(ConfigError::Invalid(
            "DEFAULT_PHONE_REGION",
            "is not an ISO region code",
        ))?;
    }
    Ok(rules)
}

/// Intake's rate limits (`RATE_WINDOW_SECONDS`, `RATE_LIMIT_IP_LEADS`,
/// `RATE_LIMIT_IP_EVENTS`, `RATE_LIMIT_FORM`; 0 switches a limit off). Unset: the
/// defaults of [`domain::capture::ratelimit::RateLimits`].
pub fn rate_limits() -> Result<domain::capture::ratelimit::RateLimits, ConfigError> {
    let mut limits = domain::capture::ratelimit::RateLimits::default();
    let number = |name: &'static str, value: &mut u32| -> Result<(), ConfigError> {
        if let Some(text) = optional(name) {
            *value = text
                .trim()
                .parse()
                .map_err(|_| ConfigError::Invalid(name, "must be a whole number (0: no limit)"))?;
        }
        Ok(())
    };
    number("RATE_WINDOW_SECONDS", &mut limits.window_secs)?;
    if limits.window_secs == 0 {
        return Err(ConfigError::Invalid("RATE_WINDOW_SECONDS", "must be at least 1"));
    }
    number("RATE_LIMIT_IP_LEADS", &mut limits.ip_leads)?;
    number("RATE_LIMIT_IP_EVENTS", &mut limits.ip_events)?;
    number("RATE_LIMIT_FORM", &mut limits.form)?;
    Ok(limits)
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
