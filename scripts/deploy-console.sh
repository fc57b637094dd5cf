#!/usr/bin/env bash
# Puts the web console (web/) on a deployed stack, after `sam deploy`:
#   1. reads the stack's outputs (aws cloudformation describe-stacks);
#   2. builds the console (npm ci && npm run build in web/, into web/dist);
#   3. writes web/dist/config.json from the outputs (the API on the same origin, sign-in
#      at the stack's Cognito hosted UI);
#   4. lets the Cognito console client send people back to the console's own address
#      (<ConsoleUrl>callback, <ConsoleUrl>): the template cannot list them itself (see
#      ConsoleClient in infra/template.yaml), and a deploy that changes the client
#      drops them again, so run this after every `sam deploy`;
#   5. uploads web/dist to s3://<ConsoleBucketName>/console/ (hashed files under assets/
#      cached for a year, index.html and config.json revalidated on every load) and
#      deletes what the build no longer has;
#   6. invalidates /console/index.html and /console/config.json in CloudFront.
#
#   scripts/deploy-console.sh [stack-name]        (default: leadflow-dev)
#   make deploy-console [STACK=leadflow-prod] [REGION=eu-central-1]
#
# Environment:
#   REGION          the stack's region (default: the AWS CLI's own: AWS_REGION,
#                   AWS_DEFAULT_REGION or the profile's)
#   CONSOLE_CONFIG  a config.json of your own to upload instead of the generated one;
#                   required when the stack trusts an issuer of your own (JwtIssuer),
#                   whose console client and sign-out address only you know
#   SKIP_BUILD=1    upload the web/dist there is, without building
set -euo pipefail

cd "$(dirname "$0")/.."
STACK="${1:-leadflow-dev}"
REGION="${REGION:-}"
export AWS_PAGER=""

die() {
    echo "deploy-console: $*" >&2
    exit 1
}

command -v aws >/dev/null 2>&1 ||
    die "the AWS CLI is not installed (or not on PATH). Install AWS CLI v2 and configure credentials (aws configure, or aws configure sso); check with: aws sts get-caller-identity"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read the stack's outputs"
if [ "${SKIP_BUILD:-}" != 1 ]; then
    command -v npm >/dev/null 2>&1 || die "npm (Node.js) is needed to build the console in web/"
    [ -f web/package.json ] || die "web/package.json not found: the console's source is not in this checkout"
fi
if [ -n "${CONSOLE_CONFIG:-}" ]; then
    [ -f "$CONSOLE_CONFIG" ] || die "CONSOLE_CONFIG=$CONSOLE_CONFIG: no such file"
    CONSOLE_CONFIG="$(cd "$(dirname "$CONSOLE_CONFIG")" && pwd)/$(basename "$CONSOLE_CONFIG")"
fi

region_args=()
[ -n "$REGION" ] && region_args=(--region "$REGION")
awsr() { aws ${region_args[@]+"${region_args[@]}"} "$@"; }
where="${REGION:-$(aws configure get region 2>/dev/null || true)}"

# ---------------------------------------------------------------- 1. the outputs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! awsr cloudformation describe-stacks --stack-name "$STACK" --output json >"$work/stack.json" 2>"$work/err"; then
    cat "$work/err" >&2
    die "cannot read the stack $STACK in region ${where:-(none configured)}. Check the stack name (scripts/deploy-console.sh <stack-name>, or make deploy-console STACK=...), the region (REGION=...) and your credentials (aws sts get-caller-identity)."
fi
out() {
    python3 - "$work/stack.json" "$1" <<'EOF'
import json, sys
stack = json.load(open(sys.argv[1]))["Stacks"][0]
for o in stack.get("Outputs", []):
    if o["OutputKey"] == sys.argv[2]:
        print(o["OutputValue"])
EOF
}
status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Stacks"][0]["StackStatus"])' "$work/stack.json")
case "$status" in
    CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE) ;;
    *) die "the stack $STACK is $status; deploy it (sam deploy) until it is CREATE_COMPLETE or UPDATE_COMPLETE" ;;
esac

BUCKET=$(out ConsoleBucketName)
CONSOLE_URL=$(out ConsoleUrl)
DISTRIBUTION=$(out ConsoleDistributionId)
ISSUER=$(out Issuer)
CLIENT_ID=$(out ConsoleClientId)
USER_POOL=$(out UserPoolId)
AUTH_DOMAIN=$(out AuthDomainUrl)
[ -n "$BUCKET" ] ||
    die "the stack $STACK has no ConsoleBucketName output: it was deployed from a template without the console's hosting; run sam build && sam deploy first"
echo "Stack $STACK: console $CONSOLE_URL, bucket $BUCKET${DISTRIBUTION:+, distribution $DISTRIBUTION}"

if [ -z "${CONSOLE_CONFIG:-}" ] && [ -z "$CLIENT_ID" ]; then
    cat >&2 <<EOF
deploy-console: the stack $STACK trusts an issuer of your own (JwtIssuer: $ISSUER), so
this script does not know the console's client id or your provider's sign-out address.
Write the console's config.json yourself and name it, e.g.:

{
  "api": "",
  "auth": {
    "mode": "oidc",
    "authority": "$ISSUER",
    "client_id": "<the console's client id at your provider>",
    "scope": "openid email profile",
    "redirect_uri": "${CONSOLE_URL}callback",
    "post_logout_redirect_uri": "$CONSOLE_URL",
    "logout_endpoint": "<end_session_endpoint of $ISSUER/.well-known/openid-configuration>"
  }
}

  CONSOLE_CONFIG=console-config.json scripts/deploy-console.sh $STACK
  make deploy-console STACK=$STACK CONSOLE_CONFIG=console-config.json

and allow ${CONSOLE_URL}callback and $CONSOLE_URL as redirect addresses of that
client at your provider (docs/src/deploy.md#console-own-issuer).
EOF
    exit 1
fi

# ---------------------------------------------------------------- 2. build
if [ "${SKIP_BUILD:-}" != 1 ]; then
    (cd web && npm ci && npm run build)
fi
[ -f web/dist/index.html ] || die "web/dist/index.html not found: the build wrote no console"

# ---------------------------------------------------------------- 3. config.json
if [ -n "${CONSOLE_CONFIG:-}" ]; then
    python3 - "$CONSOLE_CONFIG" 2>/dev/null <<'EOF' || die "CONSOLE_CONFIG=$CONSOLE_CONFIG is not a config.json with an auth section"
import json, sys
config = json.load(open(sys.argv[1]))
assert isinstance(config.get("auth"), dict)
EOF
    cp "$CONSOLE_CONFIG" web/dist/config.json
else
    python3 - web/dist/config.json "$ISSUER" "$CLIENT_ID" "$CONSOLE_URL" "$AUTH_DOMAIN" <<'EOF'
import json, sys
path, issuer, client_id, console_url, auth_domain = sys.argv[1:]
config = {
    # "": the API is on the console's own origin (CloudFront passes /v1/* to it).
    "api": "",
    "auth": {
        "mode": "oidc",
        "authority": issuer,
        "client_id": client_id,
        "scope": "openid email profile",
        "redirect_uri": console_url + "callback",
        "post_logout_redirect_uri": console_url,
        "logout_endpoint": auth_domain + "/logout",
    },
}
with open(path, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
EOF
fi
echo "Wrote web/dist/config.json"

# ---------------------------------------------------------------- 4. the client's addresses
if [ -n "$USER_POOL" ] && [ -n "$CLIENT_ID" ]; then
    awsr cognito-idp describe-user-pool-client --user-pool-id "$USER_POOL" --client-id "$CLIENT_ID" \
        --output json >"$work/client.json"
    # Update replaces every setting it is not given, so it is given all of them back
    # (what describe returns, less what only describe knows), with the two addresses added.
    if python3 - "$work/client.json" "$work/update.json" "${CONSOLE_URL}callback" "$CONSOLE_URL" <<'EOF'; then
import json, sys
source, target, callback, home = sys.argv[1:]
client = json.load(open(source))["UserPoolClient"]
missing = False
for key, url in [("CallbackURLs", callback), ("LogoutURLs", home)]:
    urls = client.get(key, [])
    if url not in urls:
        client[key] = urls + [url]
        missing = True
if not missing:
    sys.exit(1)
for read_only in ["ClientSecret", "CreationDate", "LastModifiedDate"]:
    client.pop(read_only, None)
json.dump(client, open(target, "w"))
EOF
        awsr cognito-idp update-user-pool-client --cli-input-json "file://$work/update.json" >/dev/null
        echo "The console client now allows ${CONSOLE_URL}callback and $CONSOLE_URL"
    else
        echo "The console client already allows ${CONSOLE_URL}callback and $CONSOLE_URL"
    fi
fi

# ---------------------------------------------------------------- 5. upload
target="s3://$BUCKET/console"
# The hashed files first, so the new index.html never names a file not there yet.
if [ -d web/dist/assets ]; then
    awsr s3 sync web/dist/assets "$target/assets" --cache-control "public, max-age=31536000, immutable"
fi
awsr s3 sync web/dist "$target" --exclude "assets/*" --exclude index.html --exclude config.json \
    --cache-control "public, max-age=3600"
awsr s3 cp web/dist/config.json "$target/config.json" --cache-control no-cache --content-type application/json
awsr s3 cp web/dist/index.html "$target/index.html" --cache-control no-cache --content-type "text/html; charset=utf-8"
# Then what the build no longer has (everything else matches in size: nothing re-uploads).
awsr s3 sync web/dist "$target" --delete --size-only

# ---------------------------------------------------------------- 6. invalidate
if [ -n "$DISTRIBUTION" ]; then
    id=$(awsr cloudfront create-invalidation --distribution-id "$DISTRIBUTION" \
        --paths /console/index.html /console/config.json --query Invalidation.Id --output text)
    echo "CloudFront invalidation $id: index.html and config.json (usually done within a minute or two)"
else
    echo "No CloudFront distribution in this stack (AWS China): serve s3://$BUCKET/console/ through your own (docs/src/deploy.md#console-china)"
fi
echo "The console: $CONSOLE_URL"
