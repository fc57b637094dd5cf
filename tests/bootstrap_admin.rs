//! `make bootstrap-admin` (scripts/bootstrap-admin.py) against the emulator: a user pool
//! with the template's `admin` group and a stack whose outputs name it, as `sam deploy`
//! leaves them.
//! - run twice: the first admin is created once, is in `admin`, the second run says it
//!   already existed, and both print the console, sign-in and API URLs;
//! - a stack without a `UserPoolId` output (an external OIDC provider) exits 2;
//! - a username the API would refuse as an id, or an address that is not one, exits 1
//!   naming the option, before any AWS call.

use local_stack::moto::{repo_root, MotoServer};
use serde_json::{json, Value};
use std::process::{Command, Output};

const REGION: &str = "us-east-1";
const API_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
const CONSOLE_URL: &str = "https://d111111abcdef8.cloudfront.net";
const AUTH_DOMAIN_URL: &str = "https://leadflow-test.auth.us-east-1.amazoncognito.com";
const SIGN_IN_URL: &str = "https://leadflow-test.auth.us-east-1.amazoncognito.com/login?client_id=console";

/// A request as the SDK sends it; moto routes on the service in the credential scope and
/// does not check the signature.
fn signed(client: &reqwest::Client, endpoint: &str, service: &str) -> reqwest::RequestBuilder {
    let scope = format!("testing/20260101/{REGION}/{service}/aws4_request");
    client.post(format!("{endpoint}/")).header(
        "authorization",
        format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"),
    )
}

/// One Cognito user-pool call (JSON protocol).
async fn cognito(endpoint: &str, action: &str, body: Value) -> Value {
    let answer = signed(&reqwest::Client::new(), endpoint, "cognito-idp")
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert!(status.is_success(), "{action}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// Creates a stack of one queue with `outputs` (query protocol).
async fn create_stack(endpoint: &str, name: &str, outputs: &[(&str, &str)]) {
    let outputs: serde_json::Map<String, Value> = outputs
        .iter()
        .map(|(key, value)| (key.to_string(), json!({ "Value": value })))
        .collect();
    let template = json!({
        "Resources": { "Queue": { "Type": "AWS::SQS::Queue" } },
        "Outputs": outputs,
    });
    let answer = signed(&reqwest::Client::new(), endpoint, "cloudformation")
        .form(&[
            ("Action", "CreateStack"),
            ("Version", "2010-05-15"),
            ("StackName", name),
            ("TemplateBody", &template.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert!(status.is_success(), "CreateStack: {status} {text}");
}

/// A user pool with the template's role groups; its id.
async fn user_pool(endpoint: &str) -> String {
    let pool = cognito(endpoint, "CreateUserPool", json!({ "PoolName": "leadflow-test" })).await;
    let id = pool["UserPool"]["Id"].as_str().unwrap().to_string();
    for group in ["rep", "manager", "admin", "finance"] {
        cognito(endpoint, "CreateGroup", json!({ "UserPoolId": id, "GroupName": group })).await;
    }
    id
}

/// The script, as `make bootstrap-admin` runs it, with fake credentials and nothing from
/// this machine's AWS configuration.
fn bootstrap_admin(endpoint: &str, args: &[&str]) -> Output {
    let python = std::env::var("LEADFLOW_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv/bin/python"));
    let output = Command::new(python)
        .arg(repo_root().join("scripts/bootstrap-admin.py"))
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the project's Python runs (run `make setup` first)");
    eprintln!(
        "bootstrap-admin {args:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The arguments for admin `wang-admin` in `stack`.
fn admin_in(stack: &str) -> [&str; 6] {
    [
        "--stack",
        stack,
        "--username",
        "wang-admin",
        "--email",
        "wang@example.com",
    ]
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_first_admin_is_created_once_and_a_second_run_changes_nothing() {
    let moto = MotoServer::start(None, true).expect("moto starts (run `make setup` first)");
    let endpoint = moto.endpoint();
    let pool = user_pool(&endpoint).await;
    create_stack(
        &endpoint,
        "leadflow-test",
        &[
            ("UserPoolId", &pool),
            ("ApiUrl", API_URL),
            ("ConsoleUrl", CONSOLE_URL),
            ("SignInUrl", SIGN_IN_URL),
            ("ConsoleClientId", "console"),
            ("AuthDomainUrl", AUTH_DOMAIN_URL),
        ],
    )
    .await;

    let first = bootstrap_admin(&endpoint, &admin_in("leadflow-test"));
    let second = bootstrap_admin(&endpoint, &admin_in("leadflow-test"));

    for run in [&first, &second] {
        assert_eq!(run.status.code(), Some(0), "{}", stderr(run));
        let out = stdout(run);
        for url in [API_URL, CONSOLE_URL, SIGN_IN_URL] {
            assert!(out.contains(url), "{url} missing from:\n{out}");
        }
        assert!(out.contains("FORCE_CHANGE_PASSWORD"), "{out}");
    }
    let (first, second) = (stdout(&first), stdout(&second));
    assert!(first.contains("Created user wang-admin"), "{first}");
    assert!(!first.contains("already exists"), "{first}");
    assert!(second.contains("wang-admin already exists"), "{second}");
    assert!(!second.contains("Created user"), "{second}");
    assert!(second.contains("No invitation sent"), "{second}");

    let users = cognito(&endpoint, "ListUsers", json!({ "UserPoolId": pool })).await;
    let users = users["Users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["Username"], "wang-admin");
    assert_eq!(users[0]["UserStatus"], "FORCE_CHANGE_PASSWORD");
    let attributes: Vec<(&str, &str)> = users[0]["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["Name"].as_str().unwrap(), a["Value"].as_str().unwrap()))
        .collect();
    assert!(attributes.contains(&("email", "wang@example.com")), "{attributes:?}");
    assert!(attributes.contains(&("email_verified", "true")), "{attributes:?}");

    let groups = cognito(
        &endpoint,
        "AdminListGroupsForUser",
        json!({ "UserPoolId": pool, "Username": "wang-admin" }),
    )
    .await;
    let groups: Vec<&str> = groups["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["admin"]);
}

#[tokio::test]
async fn a_stack_signing_in_with_an_external_provider_exits_2() {
    let moto = MotoServer::start(None, true).expect("moto starts (run `make setup` first)");
    let endpoint = moto.endpoint();
    create_stack(&endpoint, "leadflow-cn", &[("ApiUrl", API_URL)]).await;

    let run = bootstrap_admin(&endpoint, &admin_in("leadflow-cn"));

    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(out.contains("external OIDC provider"), "{out}");
    assert!(out.contains("JwtRolesClaim") && out.contains("\"admin\""), "{out}");
}

#[test]
fn a_bad_username_or_address_is_refused_naming_the_option() {
    // Nothing listens here: a refusal must come before any AWS call.
    let endpoint = format!("http://127.0.0.1:{}", local_stack::moto::free_port());
    for (username, email, named) in [
        ("wang.admin", "wang@example.com", "--username"),
        ("", "wang@example.com", "--username"),
        (&"a".repeat(65), "wang@example.com", "--username"),
        ("wang-admin", "wang", "--email"),
        ("wang-admin", "wang@example", "--email"),
    ] {
        let run = bootstrap_admin(&endpoint, &["--username", username, "--email", email]);
        assert_eq!(run.status.code(), Some(1), "{username:?} {email:?}: {}", stderr(&run));
        let err = stderr(&run);
        assert!(err.contains(named), "{username:?} {email:?}: {err}");
        assert!(!err.contains("Traceback"), "{err}");
    }
}
