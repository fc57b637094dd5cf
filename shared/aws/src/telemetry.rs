//! Structured JSON logs for CloudWatch. Handlers log ids and outcomes, never contact
//! data; use `domain::lead::mask` where a contact must be hinted at.

pub fn init() {
    init_with(std::io::stdout);
}

/// As [`init`], writing to `writer` (benchmarks count the bytes CloudWatch would ingest).
pub fn init_with<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    try_init_filtered(writer, filter);
}

/// The same format with a fixed filter (tests capture every crate's debug lines with
/// it); false if a subscriber was already installed.
pub fn try_init_filtered<W>(writer: W, filter: tracing_subscriber::EnvFilter) -> bool
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init()
        .is_ok()
}
