//! What a production deploy depends on, read from samconfig.toml and the template as an
//! operator's `sam build && sam deploy --guided` would use them, under the parameters'
//! defaults. Each test names the defect it keeps from coming back: deploy packaging the
//! source tree, nobody able to sign in, a stack a new account cannot create, alarms
//! pointing at runbooks that do not exist, schedules in UTC, an API throttled below a
//! campaign spike, a console bucket readable from the internet.

use local_stack::template::{Bindings, Template};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn raw_template() -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(Template::path()).unwrap()).unwrap()
}

fn defaults() -> Bindings {
    Bindings::defaults(&Template::load(&Template::path()).unwrap(), "us-east-1", "123456789012")
}

fn resources(raw: &Value) -> impl Iterator<Item = (&str, &Value)> {
    raw["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(id, r)| (id.as_str().unwrap(), r))
}

fn of_type<'a>(raw: &'a Value, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
    resources(raw).filter(move |(_, r)| r["Type"].as_str() == Some(kind))
}

/// A property under the default parameters; `None` when absent or `!Ref AWS::NoValue`.
fn resolved(bindings: &Bindings, v: &Value) -> Option<String> {
    if v.is_null() {
        return None;
    }
    let mut b = bindings.clone();
    b.refs.insert("AWS::NoValue".into(), "\u{0}".into());
    let value = b.resolve(v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
    (value != "\u{0}").then_some(value)
}

// ---------------------------------------------------------------- build and deploy

/// `sam deploy` reads the template `sam build` wrote only when nothing names a template
/// for it: a `template_file` under `global` (or `deploy`) made it package the source
/// template, whose CodeUri is the repository root. It also decides where `--guided`
/// saves its answers (next to the named template).
#[test]
fn deploy_reads_the_built_template_and_build_reads_the_source() {
    let config: toml::Table = std::fs::read_to_string(repo().join("samconfig.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let envs: Vec<&String> = config.keys().filter(|k| *k != "version").collect();
    assert!(
        envs.iter().any(|e| *e == "default") && envs.iter().any(|e| *e == "prod"),
        "{envs:?}"
    );
    for env in envs {
        let section = |command: &str| config[env.as_str()].get(command).and_then(|c| c.get("parameters"));
        for command in ["global", "deploy"] {
            if let Some(params) = section(command) {
                for key in ["template_file", "template", "t"] {
                    assert!(
                        params.get(key).is_none(),
                        "[{env}.{command}.parameters] sets {key}: sam deploy would package the source template"
                    );
                }
            }
        }
        for command in ["build", "validate"] {
            let file = section(command)
                .and_then(|p| p.get("template_file"))
                .and_then(|f| f.as_str())
                .unwrap_or_else(|| panic!("[{env}.{command}.parameters] names no template_file"));
            assert_eq!(file, "infra/template.yaml", "[{env}.{command}]");
        }
        // sam's build cache hashes each function's CodeUri (here the whole checkout,
        // target/ included) and races a parallel build rewriting target/.
        if let Some(build) = section("build") {
            for key in ["cached", "parallel"] {
                assert_ne!(
                    build.get(key).and_then(|v| v.as_bool()),
                    Some(true),
                    "[{env}.build.parameters] sets {key}"
                );
            }
        }
    }
    let ignored = std::fs::read_to_string(repo().join(".gitignore")).unwrap();
    assert!(
        ignored.lines().any(|l| l.trim() == "/.aws-sam"),
        ".aws-sam/ is not ignored"
    );
}

/// Every function is built from this workspace by cargo-lambda, from one of its binaries,
/// on arm64 unless overridden.
#[test]
fn every_function_builds_a_workspace_binary_for_arm64_by_default() {
    let raw = raw_template();
    let bindings = defaults();
    let globals = &raw["Globals"]["Function"];
    assert_eq!(resolved(&bindings, &globals["Architectures"]).as_deref(), Some("arm64"));
    // The functions' binaries: each package's main, and its src/bin/*.rs.
    let mut binaries = BTreeSet::new();
    for package in std::fs::read_dir(repo().join("functions")).unwrap().flatten() {
        let manifest: toml::Table = std::fs::read_to_string(package.path().join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        binaries.insert(manifest["package"]["name"].as_str().unwrap().to_string());
        for bin in std::fs::read_dir(package.path().join("src/bin"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = bin.file_name().to_string_lossy().into_owned();
            binaries.insert(name.trim_end_matches(".rs").to_string());
        }
    }
    for (id, function) in of_type(&raw, "AWS::Serverless::Function") {
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert!(binaries.contains(binary), "{id}: no binary {binary} in functions/");
        assert_eq!(function["Properties"]["CodeUri"].as_str(), Some(".."), "{id}");
    }
}

// ---------------------------------------------------------------- sign-in

/// Staff sign in on the hosted UI: a domain, a public client with the authorization-code
/// flow only (PKCE is the browser's part; no secret, no implicit flow), callback and
/// logout URLs from parameters, groups for every role, scopes for machines.
#[test]
fn the_hosted_ui_signs_staff_in_with_the_authorization_code_flow() {
    let raw = raw_template();
    let bindings = defaults();
    assert!(bindings.holds("UseCognito").unwrap(), "Cognito is the default");

    let pool = &raw["Resources"]["UserPool"]["Properties"];
    assert_eq!(
        resolved(&bindings, &pool["MfaConfiguration"]).as_deref(),
        Some("OPTIONAL")
    );
    assert_eq!(
        pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"].as_bool(),
        Some(true),
        "nobody signs themselves up"
    );

    let domains: Vec<_> = of_type(&raw, "AWS::Cognito::UserPoolDomain").collect();
    assert_eq!(domains.len(), 1, "one user-pool domain (the hosted UI)");
    let domain = resolved(&bindings, &domains[0].1["Properties"]["Domain"]).unwrap();
    assert_eq!(domain, "leadflow-dev-123456789012");

    let console = &raw["Resources"]["ConsoleClient"]["Properties"];
    assert_eq!(
        console["GenerateSecret"].as_bool(),
        Some(false),
        "a browser cannot keep a secret"
    );
    assert_eq!(console["AllowedOAuthFlowsUserPoolClient"].as_bool(), Some(true));
    let flows: Vec<&str> = console["AllowedOAuthFlows"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(flows, ["code"], "authorization code only, no implicit flow");
    let scopes = resolved(&bindings, &console["AllowedOAuthScopes"]).unwrap();
    assert!(scopes.split(',').any(|s| s == "openid"), "{scopes}");
    assert_eq!(
        resolved(&bindings, &console["CallbackURLs"]).as_deref(),
        Some("http://localhost:8080/console/callback")
    );
    assert!(resolved(&bindings, &console["LogoutURLs"]).is_some());
    for (param, _) in [("ConsoleCallbackUrls", ()), ("ConsoleLogoutUrls", ())] {
        assert_eq!(raw["Parameters"][param]["Type"].as_str(), Some("CommaDelimitedList"));
    }

    let groups: BTreeSet<String> = of_type(&raw, "AWS::Cognito::UserPoolGroup")
        .map(|(_, g)| g["Properties"]["GroupName"].as_str().unwrap().to_string())
        .collect();
    let roles: BTreeSet<String> = ["admin", "manager", "rep", "marketing", "finance"]
        .map(String::from)
        .into();
    assert_eq!(groups, roles);

    let machine = &raw["Resources"]["MachineClient"]["Properties"];
    let flows = resolved(&bindings, &machine["AllowedOAuthFlows"]).unwrap();
    assert_eq!(flows, "client_credentials");
    let scopes = resolved(&bindings, &machine["AllowedOAuthScopes"]).unwrap();
    assert_eq!(scopes, "leadflow/conversions,leadflow/exports");

    // The rep id comes from a claim access tokens carry.
    let api_env = &raw["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        resolved(&bindings, &api_env["JWT_REP_ID_CLAIM"]).as_deref(),
        Some("username")
    );
    assert_eq!(
        resolved(&bindings, &api_env["JWT_ROLES_CLAIM"]).as_deref(),
        Some("cognito:groups")
    );
}

/// Regions without Cognito (AWS China) bring their own issuer: then no Cognito resource
/// is created and the API trusts that issuer and its clients.
#[test]
fn with_an_issuer_of_your_own_no_cognito_resource_is_created() {
    let raw = raw_template();
    let mut bindings = defaults();
    bindings
        .refs
        .insert("JwtIssuer".into(), "https://sso.example.cn/realms/leadflow".into());
    bindings.refs.insert("JwtAudience".into(), "console,crm".into());
    assert!(!bindings.holds("UseCognito").unwrap());
    for (id, resource) in resources(&raw) {
        let cognito = resource["Type"].as_str().unwrap().starts_with("AWS::Cognito::");
        if cognito {
            assert_eq!(
                resource["Condition"].as_str(),
                Some("UseCognito"),
                "{id} is not conditional"
            );
        }
    }
    for (id, output) in raw["Outputs"].as_mapping().unwrap() {
        let text = serde_yaml_ng::to_string(&output["Value"]).unwrap();
        let names_cognito = ["UserPool", "ConsoleClient", "MachineClient"]
            .iter()
            .any(|r| text.contains(&format!("${{{r}}}")) || text.contains(&format!("!Ref {r}")));
        if names_cognito && output["Condition"].is_null() {
            // Allowed only behind an !If on the same condition.
            assert!(
                text.contains("UseCognito"),
                "{id:?} names a Cognito resource unconditionally"
            );
        }
    }
    let api_env = &raw["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        resolved(&bindings, &api_env["JWT_ISSUER"]).as_deref(),
        Some("https://sso.example.cn/realms/leadflow")
    );
    assert_eq!(
        resolved(&bindings, &api_env["JWT_AUDIENCE"]).as_deref(),
        Some("console,crm")
    );
    let authorizer = &raw["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["StaffJwt"];
    assert_eq!(
        resolved(&bindings, &authorizer["JwtConfiguration"]["audience"]).as_deref(),
        Some("console,crm")
    );
}

// ---------------------------------------------------------------- the web console

/// The branch of an `!If` the bindings choose (`None` for `!Ref AWS::NoValue`); any other
/// value as it is.
fn chosen<'a>(bindings: &Bindings, v: &'a Value) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == "If" => {
            let parts = t.value.as_sequence().unwrap();
            let holds = bindings.holds(parts[0].as_str().unwrap()).unwrap();
            chosen(bindings, &parts[if holds { 1 } else { 2 }])
        }
        Value::Tagged(t) if t.tag == "Ref" && t.value.as_str() == Some("AWS::NoValue") => None,
        other => Some(other),
    }
}

/// The console's files are in a private bucket that its CloudFront distribution alone
/// reads (origin access control, the policy pinned to that distribution's ARN), and the
/// same distribution passes /v1/* to the HTTP API uncached with the caller's headers,
/// so the browser calls the API on its own origin. A public bucket, a website endpoint
/// or an allow for anyone else would serve the bucket past CloudFront.
#[test]
fn the_console_bucket_is_private_and_read_only_through_its_distribution() {
    let raw = raw_template();
    let mut bindings = defaults();
    bindings.refs.insert("AWS::Partition".into(), "aws".into());
    bindings.refs.insert("AWS::URLSuffix".into(), "amazonaws.com".into());
    bindings.refs.insert("HttpApi".into(), "a1b2c3d4e5".into());
    bindings.attrs.insert(
        "ConsoleDistribution.DomainName".into(),
        "d111111abcdef8.cloudfront.net".into(),
    );
    assert!(bindings.holds("HostConsoleOnCloudFront").unwrap());

    let bucket = &raw["Resources"]["ConsoleBucket"];
    assert_eq!(bucket["Type"].as_str(), Some("AWS::S3::Bucket"));
    assert!(
        bucket["Condition"].is_null(),
        "the bucket exists everywhere, AWS China too"
    );
    let bucket = &bucket["Properties"];
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    assert!(bucket["WebsiteConfiguration"].is_null(), "no website endpoint");
    assert!(
        !bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"].is_null(),
        "encrypted at rest"
    );

    // Every allow is for CloudFront, on behalf of this stack's distribution only.
    let (_, policy) = of_type(&raw, "AWS::S3::BucketPolicy")
        .find(|(_, p)| {
            serde_yaml_ng::to_string(&p["Properties"]["Bucket"])
                .unwrap()
                .contains("ConsoleBucket")
        })
        .expect("a policy on the console bucket");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let allows: Vec<&Value> = statements
        .iter()
        .filter_map(|s| chosen(&bindings, s))
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .collect();
    assert_eq!(allows.len(), 1, "{allows:?}");
    let allow = allows[0];
    assert_eq!(allow["Principal"]["Service"].as_str(), Some("cloudfront.amazonaws.com"));
    assert_eq!(allow["Action"].as_str(), Some("s3:GetObject"));
    let source = serde_yaml_ng::to_string(&allow["Condition"]["StringEquals"]["aws:SourceArn"]).unwrap();
    assert!(
        source.contains(":distribution/${ConsoleDistribution}"),
        "the allow names no distribution: {source}"
    );

    let distribution = &raw["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"];
    let origins = distribution["Origins"].as_sequence().unwrap();
    let origin = |id: &str| {
        origins
            .iter()
            .find(|o| o["Id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no origin {id}"))
    };
    let files = origin("console");
    assert_eq!(
        serde_yaml_ng::to_string(&files["DomainName"]).unwrap().trim(),
        "!GetAtt ConsoleBucket.RegionalDomainName",
        "the bucket's REST endpoint, not a website endpoint"
    );
    assert!(
        serde_yaml_ng::to_string(&files["OriginAccessControlId"])
            .unwrap()
            .contains("ConsoleOriginAccessControl"),
        "the bucket is read through origin access control"
    );
    assert_eq!(
        files["S3OriginConfig"]["OriginAccessIdentity"].as_str(),
        Some(""),
        "no legacy origin access identity"
    );
    let oac = &raw["Resources"]["ConsoleOriginAccessControl"]["Properties"]["OriginAccessControlConfig"];
    assert_eq!(oac["OriginAccessControlOriginType"].as_str(), Some("s3"));
    assert_eq!(oac["SigningBehavior"].as_str(), Some("always"));

    // /v1/* goes to the HTTP API, uncached, with every viewer header but Host (the
    // managed policies CachingDisabled and AllViewerExceptHostHeader).
    let api = origin("api");
    assert_eq!(
        resolved(&bindings, &api["DomainName"]).as_deref(),
        resolved(&bindings, &raw["Outputs"]["ApiUrl"]["Value"])
            .as_deref()
            .and_then(|u| u.strip_prefix("https://"))
    );
    let behaviours = distribution["CacheBehaviors"].as_sequence().unwrap();
    let to_api = behaviours
        .iter()
        .find(|b| b["PathPattern"].as_str() == Some("/v1/*"))
        .expect("a /v1/* behaviour");
    assert_eq!(to_api["TargetOriginId"].as_str(), Some("api"));
    assert_eq!(
        to_api["CachePolicyId"].as_str(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    );
    assert_eq!(
        to_api["OriginRequestPolicyId"].as_str(),
        Some("b689b0a8-53d0-40ab-baf2-68738e2966ac")
    );
    let methods = resolved(&bindings, &to_api["AllowedMethods"]).unwrap();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        assert!(
            methods.split(',').any(|m| m == method),
            "{method} not allowed: {methods}"
        );
    }
    // Intake limits posts per client address, which through CloudFront would be an edge
    // server's: the public intake routes are refused on the console's origin.
    let guard = serde_yaml_ng::to_string(&to_api["FunctionAssociations"]).unwrap();
    assert!(guard.contains("ConsoleApiGuardFunction"), "{guard}");
    let code = raw["Resources"]["ConsoleApiGuardFunction"]["Properties"]["FunctionCode"]
        .as_str()
        .unwrap();
    let intake = &raw["Resources"]["IntakeFunction"]["Properties"]["Events"];
    for (name, event) in intake.as_mapping().unwrap() {
        let path = event["Properties"]["Path"].as_str().unwrap();
        let fixed = path.split('{').next().unwrap();
        assert!(code.contains(&format!("'{fixed}")), "{name:?}: {path} passes the guard");
    }
    let default = &distribution["DefaultCacheBehavior"];
    assert_eq!(default["TargetOriginId"].as_str(), Some("console"));
    assert_eq!(default["ViewerProtocolPolicy"].as_str(), Some("redirect-to-https"));

    // The console's address, and the sign-in page sending people back to it.
    assert_eq!(
        resolved(&bindings, &raw["Outputs"]["ConsoleUrl"]["Value"]).as_deref(),
        Some("https://d111111abcdef8.cloudfront.net/console/")
    );
    let mut china = bindings.clone();
    china.refs.insert("AWS::Partition".into(), "aws-cn".into());
    assert!(!china.holds("HostConsoleOnCloudFront").unwrap());
    let in_china = chosen(&china, &raw["Outputs"]["ConsoleUrl"]["Value"]).unwrap();
    assert_eq!(
        serde_yaml_ng::to_string(in_china).unwrap().trim(),
        "!Select\n- 0\n- !Ref ConsoleLogoutUrls",
        "in AWS China the console is where ConsoleLogoutUrls says"
    );
}

// ---------------------------------------------------------------- a new account

/// New accounts can start with a concurrency quota of 10, and Lambda refuses reserved
/// concurrency that leaves fewer than 10 unreserved: no function reserves any by default.
/// (Overlapping sweeps are safe without it: tests/deadlines.rs,
/// two_sweeps_at_once_record_one_violation.)
#[test]
fn no_function_reserves_concurrency_by_default() {
    let raw = raw_template();
    let bindings = defaults();
    for (id, function) in of_type(&raw, "AWS::Serverless::Function") {
        let reserved = resolved(&bindings, &function["Properties"]["ReservedConcurrentExecutions"]);
        assert_eq!(reserved, None, "{id} reserves concurrency by default");
    }
    let mut reserving = bindings.clone();
    reserving.refs.insert("ScheduledReservedConcurrency".into(), "1".into());
    let sweep = &raw["Resources"]["SlaSweepFunction"]["Properties"]["ReservedConcurrentExecutions"];
    assert_eq!(
        resolved(&reserving, sweep).as_deref(),
        Some("1"),
        "the parameter still works"
    );
}

/// Every consumer's concurrency cap is a parameter.
#[test]
fn consumer_concurrency_is_a_parameter() {
    let raw = raw_template();
    for (id, function) in of_type(&raw, "AWS::Serverless::Function") {
        for (name, event) in function["Properties"]["Events"].as_mapping().unwrap() {
            if event["Type"].as_str() != Some("SQS") || id == "TrainFunction" {
                continue;
            }
            let cap = &event["Properties"]["ScalingConfig"]["MaximumConcurrency"];
            let Value::Tagged(tagged) = cap else {
                panic!("{id}.{name:?}: MaximumConcurrency is not a !Ref to a parameter: {cap:?}")
            };
            let param = tagged.value.as_str().unwrap();
            assert!(
                tagged.tag == "Ref" && !raw["Parameters"][param].is_null(),
                "{id}.{name:?}"
            );
        }
    }
}

/// A campaign spike is at least 1,000 leads a second: the public intake routes admit
/// that by default, each with its own route settings.
#[test]
fn the_intake_routes_admit_a_campaign_spike_by_default() {
    let raw = raw_template();
    let bindings = defaults();
    let api = &raw["Resources"]["HttpApi"]["Properties"];
    let settings = api["RouteSettings"].as_mapping().expect("per-route settings");
    let intake = &raw["Resources"]["IntakeFunction"]["Properties"]["Events"];
    let mut public = 0;
    for (_, event) in intake.as_mapping().unwrap() {
        let props = &event["Properties"];
        let key = format!(
            "{} {}",
            props["Method"].as_str().unwrap(),
            props["Path"].as_str().unwrap()
        );
        let route = settings
            .get(Value::String(key.clone()))
            .unwrap_or_else(|| panic!("{key} has no route settings"));
        let rate: f64 = resolved(&bindings, &route["ThrottlingRateLimit"])
            .unwrap()
            .parse()
            .unwrap();
        let burst: f64 = resolved(&bindings, &route["ThrottlingBurstLimit"])
            .unwrap()
            .parse()
            .unwrap();
        assert!(rate >= 1000.0 && burst >= rate, "{key}: {rate} req/s, burst {burst}");
        public += 1;
    }
    assert_eq!(public, 3, "POST /v1/leads, /v1/events, /v1/hooks/{{source}}");
    let default_rate = resolved(&bindings, &api["DefaultRouteSettings"]["ThrottlingRateLimit"]).unwrap();
    assert!(default_rate.parse::<f64>().unwrap() > 0.0);
}

// ---------------------------------------------------------------- on call

/// `docs/src/<page>.md#<anchor>` → whether the page has a heading with that id.
fn heading_exists(link: &str) -> bool {
    let (page, anchor) = link.split_once('#').unwrap();
    let Ok(text) = std::fs::read_to_string(repo().join(page)) else {
        return false;
    };
    text.lines()
        .any(|l| l.starts_with('#') && l.trim_end().ends_with(&format!("{{#{anchor}}}")))
}

/// Every alarm says where its runbook is, and that section exists; so does every docs
/// link an output gives.
#[test]
fn every_alarm_links_a_runbook_section_that_exists() {
    let raw = raw_template();
    let link = regex::Regex::new(r"docs/src/[a-z/-]+\.md#[a-z0-9-]+").unwrap();
    let mut alarms = 0;
    for (id, alarm) in of_type(&raw, "AWS::CloudWatch::Alarm") {
        let description = serde_yaml_ng::to_string(&alarm["Properties"]["AlarmDescription"]).unwrap();
        let found: Vec<&str> = link.find_iter(&description).map(|m| m.as_str()).collect();
        assert!(!found.is_empty(), "{id}: no runbook link in {description}");
        for l in found {
            assert!(heading_exists(l), "{id}: {l} is not a heading in the docs");
        }
        alarms += 1;
    }
    assert!(alarms >= 20, "{alarms} alarms");
    let outputs = serde_yaml_ng::to_string(&raw["Outputs"]).unwrap();
    for l in link.find_iter(&outputs) {
        assert!(heading_exists(l.as_str()), "output links {}", l.as_str());
    }
    // A page without the anchor fails (the check can fail).
    assert!(!heading_exists("docs/src/on-call.md#no-such-section"));
}

/// Every dead-letter queue has an alarm, its ARN in the outputs, and the redrive command
/// ready to paste.
#[test]
fn every_dead_letter_queue_is_alarmed_and_redrivable_from_the_outputs() {
    let raw = raw_template();
    let bindings = {
        let mut b = defaults();
        for (id, _) in of_type(&raw, "AWS::SQS::Queue") {
            b.attrs
                .insert(format!("{id}.Arn"), format!("arn:aws:sqs:us-east-1:123456789012:{id}"));
        }
        b
    };
    let dlqs: Vec<&str> = of_type(&raw, "AWS::SQS::Queue")
        .filter(|(_, q)| q["Properties"]["RedrivePolicy"].is_null())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(dlqs.len(), 6, "{dlqs:?}");
    let alarms = serde_yaml_ng::to_string(&raw["Resources"]).unwrap();
    for dlq in dlqs {
        assert!(alarms.contains(&format!("{dlq}.QueueName")), "{dlq} has no alarm");
        if dlq == "RollupDLQ" {
            // A stream's on-failure destination: it holds descriptions of batches whose
            // records expired, not messages to move back (docs/src/on-call.md#rollup-dlq).
            continue;
        }
        let stem = dlq.trim_end_matches("DLQ");
        let outputs = &raw["Outputs"];
        let arn = resolved(&bindings, &outputs[format!("{stem}DlqArn").as_str()]["Value"]);
        assert_eq!(
            arn.as_deref(),
            Some(format!("arn:aws:sqs:us-east-1:123456789012:{dlq}").as_str())
        );
        let command = resolved(&bindings, &outputs[format!("{stem}DlqRedrive").as_str()]["Value"]).unwrap();
        assert_eq!(
            command,
            format!("aws sqs start-message-move-task --source-arn arn:aws:sqs:us-east-1:123456789012:{dlq} --region us-east-1")
        );
    }
}

/// Schedules run in the business's time zone (Beijing by default), not UTC: EventBridge
/// Scheduler schedules with a time zone parameter.
#[test]
fn schedules_have_a_time_zone() {
    let raw = raw_template();
    let bindings = defaults();
    assert_eq!(
        resolved(&bindings, &raw["Parameters"]["ScheduleTimezone"]["Default"]).as_deref(),
        Some("Asia/Shanghai")
    );
    let mut schedules = 0;
    for (id, function) in of_type(&raw, "AWS::Serverless::Function") {
        for (name, event) in function["Properties"]["Events"].as_mapping().unwrap() {
            let kind = event["Type"].as_str().unwrap();
            assert_ne!(kind, "Schedule", "{id}.{name:?}: an EventBridge rule runs in UTC");
            if kind == "ScheduleV2" {
                let zone = resolved(&bindings, &event["Properties"]["ScheduleExpressionTimezone"]);
                assert_eq!(zone.as_deref(), Some("Asia/Shanghai"), "{id}.{name:?}");
                schedules += 1;
            }
        }
    }
    assert_eq!(schedules, 3);
}

/// The API writes access logs, and the functions publish business metrics to the
/// namespace the dashboard reads.
#[test]
fn access_logs_metrics_and_dashboard_are_wired() {
    let raw = raw_template();
    let bindings = defaults();
    let access = &raw["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let format = access["Format"].as_str().unwrap();
    let line: serde_json::Value = serde_json::from_str(format).expect("one JSON object per request");
    for field in ["requestId", "routeKey", "status"] {
        assert!(line.get(field).is_some(), "access log lacks {field}");
    }
    let env = &raw["Globals"]["Function"]["Environment"]["Variables"];
    let namespace = resolved(&bindings, &env["METRICS_NAMESPACE"]).unwrap();
    assert_eq!(namespace, "leadflow/dev");
    let dashboard = serde_yaml_ng::to_string(&raw["Resources"]["Dashboard"]).unwrap();
    for metric in [
        "LeadsCaptured",
        "LeadsInvalid",
        "LeadsAssigned",
        "LeadsPooled",
        "SlaReminders",
        "SlaBreaches",
        "CalendarDaysCovered",
        "MessagesDeadLettered",
        "ColdStarts",
    ] {
        assert!(dashboard.contains(metric), "the dashboard does not show {metric}");
    }
}

/// The indexes a function's policies name (`!Sub "${LeadsTable.Arn}/index/<name>"`).
fn indexes_allowed(raw: &Value, binary: &str) -> std::collections::BTreeSet<String> {
    let mut allowed = std::collections::BTreeSet::new();
    for statement in statements(raw, binary) {
        for resource in statement_resources(statement) {
            let text = serde_yaml_ng::to_string(&resource).unwrap_or_default();
            if let Some((_, index)) = text.trim().split_once("/index/") {
                allowed.insert(index.trim_end_matches(['"', '\'']).to_string());
            }
        }
    }
    allowed
}

/// The policy statements of the function that builds `binary`.
fn statements<'a>(raw: &'a Value, binary: &str) -> impl Iterator<Item = &'a Value> {
    let (_, function) = of_type(raw, "AWS::Serverless::Function")
        .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("a function builds {binary}"));
    function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|policy| policy["Statement"].as_sequence().into_iter().flatten())
}

/// A statement's resources, one or a list.
fn statement_resources(statement: &Value) -> Vec<Value> {
    match &statement["Resource"] {
        Value::Sequence(list) => list.clone(),
        one => vec![one.clone()],
    }
}

/// A list page reads the list indexes (docs/src/developers/lead-lists.md), a roster job
/// walks a rep's place: without the grant, the call fails in AWS alone (the emulator
/// checks no policy).
#[test]
fn the_functions_may_read_the_indexes_they_query() {
    let raw = raw_template();
    let api = indexes_allowed(&raw, "api");
    for index in ["gsi1", "gsi3", "gsi4", "gsi5", "gsi6", "gsi7"] {
        assert!(api.contains(index), "api may not query {index}: {api:?}");
    }
    let assign = indexes_allowed(&raw, "assign");
    assert!(
        assign.contains("gsi4"),
        "assign walks a rep's place in gsi4: {assign:?}"
    );
}

/// The queues a function may send to: the resources of its `sqs:SendMessage` statements.
fn queues_allowed(raw: &Value, binary: &str) -> std::collections::BTreeSet<String> {
    let mut allowed = std::collections::BTreeSet::new();
    for statement in statements(raw, binary) {
        let actions = serde_yaml_ng::to_string(&statement["Action"]).unwrap_or_default();
        if !actions.contains("sqs:SendMessage") {
            continue;
        }
        for resource in statement_resources(statement) {
            let text = serde_yaml_ng::to_string(&resource).unwrap_or_default();
            if let Some(queue) = text
                .trim()
                .strip_prefix("!GetAtt ")
                .and_then(|t| t.strip_suffix(".Arn"))
            {
                allowed.insert(queue.to_string());
            }
        }
    }
    allowed
}

/// The api and dedup-score send to the queues their `main`s wire (`api::QUEUES`,
/// `dedup_score::QUEUES`): each variable is set to that queue's URL, and the function
/// may send to it. Without both, a send fails in AWS alone (the emulator checks no
/// policy), as a restore's lead.captured once did.
#[test]
fn the_functions_may_send_to_every_queue_they_wire() {
    let raw = raw_template();
    let variables = &raw["Globals"]["Function"]["Environment"]["Variables"];
    let wired: [(&str, &[(domain::lead::messages::Topic, &str)]); 2] =
        [("api", &api::QUEUES), ("dedup-score", &dedup_score::QUEUES)];
    for (binary, queues) in wired {
        let allowed = queues_allowed(&raw, binary);
        for (topic, var) in queues {
            let target = serde_yaml_ng::to_string(&variables[*var]).unwrap_or_default();
            let queue = target
                .trim()
                .strip_prefix("!Ref ")
                .unwrap_or_else(|| panic!("{var} is not set to a queue: {target}"));
            assert!(
                allowed.contains(queue),
                "{binary} may not send {topic:?} to {queue}: {allowed:?}"
            );
        }
    }
}
