#!/usr/bin/env python3
"""Creates the first admin of a deployed stack and prints where to sign in.

`sam deploy` creates the Cognito user pool with self sign-up turned off, so after a
fresh deploy nobody can sign in and nobody can invite anyone: the first admin has to be
made from outside, with the operator's AWS credentials. This does it from the stack's
own outputs, and can be run again safely:

- the user is created (Cognito e-mails a temporary password) unless it exists, in which
  case nothing is sent again unless --resend is given;
- the user is added to the `admin` group (a no-op when it already is);
- the user's status, the console, sign-in and API URLs and the next step are printed.

A stack without a `UserPoolId` output signs staff in with an external OIDC provider
(the China-region path): the admin is created there, and this exits with status 2.

    make bootstrap-admin STACK=leadflow-prod USERNAME=wang-admin EMAIL=wang@example.com
    .venv/bin/python scripts/bootstrap-admin.py --stack leadflow-prod \\
        --username wang-admin --email wang@example.com [--region eu-west-1] [--resend]

Exit status: 0 done (also when nothing had to change), 1 bad input or an AWS error,
2 the stack uses an external identity provider.
"""
import argparse
import re
import sys

import boto3
import botocore.exceptions

GROUP = "admin"
# The API's id rule (`valid_id` in shared/domain/src/lead/error.rs): the username is
# the rep/staff id the API sees.
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
STATUS = {
    "FORCE_CHANGE_PASSWORD": "invited: the first sign-in on the hosted UI, with the "
    "temporary password from the e-mail, asks for a new password",
    "CONFIRMED": "active: the user has set a password and signs in with it",
    "RESET_REQUIRED": "the user must reset the password (\"Forgot your password?\" when "
    "signing in)",
}


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # Usage errors exit 1, like every other error; 2 means an external provider.
        self.print_usage(sys.stderr)
        sys.exit(f"{self.prog}: error: {message}")


def parse(argv):
    p = Parser(prog="bootstrap-admin", description=__doc__.splitlines()[0])
    p.add_argument("--stack", default="leadflow-dev", help="stack name (default: %(default)s)")
    p.add_argument("--username", required=True, help="staff id (letters, digits, - and _)")
    p.add_argument("--email", required=True, help="where Cognito sends the temporary password")
    p.add_argument("--region", help="the stack's region (default: the AWS SDK's settings)")
    p.add_argument("--resend", action="store_true", help="invite an existing user again")
    p.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # an emulator, for tests
    args = p.parse_args(argv)
    if not ID.fullmatch(args.username):
        p.error(
            f"--username {args.username!r} is not a valid staff id: "
            "use 1-64 letters, digits, '-' or '_'"
        )
    if not EMAIL.fullmatch(args.email):
        p.error(f"--email {args.email!r} is not an e-mail address")
    return args


def stack_outputs(cfn, stack):
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])}
    return outputs, params


def external_provider(stack, params):
    claim = params.get("JwtRolesClaim")
    claim = f'the claim "{claim}"' if claim else "the roles claim"
    print(f"Stack {stack} has no Cognito user pool (no UserPoolId output): staff sign in")
    print(f"with an external OIDC provider ({params.get('JwtIssuer') or 'parameter JwtIssuer'}).")
    print("Create the admin in that provider and give them the admin role: the tokens it")
    print(f'issues for them must carry {claim} (parameter JwtRolesClaim) containing "{GROUP}".')
    return 2


def lookup(idp, pool, username):
    return idp.admin_get_user(UserPoolId=pool, Username=username)


def invite(idp, pool, args):
    """Creates the user, or says it exists (re-sending the invitation with --resend)."""
    try:
        idp.admin_create_user(
            UserPoolId=pool,
            Username=args.username,
            UserAttributes=[
                {"Name": "email", "Value": args.email},
                {"Name": "email_verified", "Value": "true"},
            ],
            DesiredDeliveryMediums=["EMAIL"],
        )
        print(f"Created user {args.username}; a temporary password is e-mailed to {args.email}.")
        return
    except idp.exceptions.UsernameExistsException:
        pass
    attributes = lookup(idp, pool, args.username)["UserAttributes"]
    email = next((a["Value"] for a in attributes if a["Name"] == "email"), None)
    print(f"User {args.username} already exists (e-mail {email}); left as it is.")
    if email != args.email:
        print(f"  Note: that is not {args.email}; invitations go to {email}.")
    if not args.resend:
        print("  No invitation sent (--resend sends the temporary password again).")
        return
    try:
        idp.admin_create_user(
            UserPoolId=pool,
            Username=args.username,
            MessageAction="RESEND",
            DesiredDeliveryMediums=["EMAIL"],
        )
        print(f"  Invitation sent again to {email}.")
    except idp.exceptions.UnsupportedUserStateException:
        print("  No invitation sent: the user has already set a password.")


def run(args):
    session = boto3.session.Session(region_name=args.region)
    cfn = session.client("cloudformation", endpoint_url=args.endpoint_url)
    idp = session.client("cognito-idp", endpoint_url=args.endpoint_url)
    outputs, params = stack_outputs(cfn, args.stack)
    pool = outputs.get("UserPoolId")
    if not pool:
        return external_provider(args.stack, params)

    invite(idp, pool, args)
    idp.admin_add_user_to_group(UserPoolId=pool, Username=args.username, GroupName=GROUP)
    print(f"User {args.username} is in group {GROUP}.")
    status = lookup(idp, pool, args.username)["UserStatus"]
    print(f"Status: {status} ({STATUS.get(status, 'see the Cognito console')})")

    print()
    for label, key in [("Console", "ConsoleUrl"), ("Sign-in", "SignInUrl"), ("API", "ApiUrl")]:
        url = outputs.get(key, f"(stack {args.stack} has no {key} output)")
        print(f"{label + ' URL:':13}{url}")
    print()
    if status == "FORCE_CHANGE_PASSWORD":
        print(f"Next: open the sign-in URL, sign in as {args.username} with the temporary password")
        print("from the e-mail and choose a new one; then use the console URL. The temporary")
        print("password expires (7 days unless the pool says otherwise): run again with --resend.")
    else:
        print("Next: open the sign-in URL and sign in as", args.username + ".")
    return 0


def main(argv=None):
    args = parse(argv)
    try:
        return run(args)
    except botocore.exceptions.NoRegionError:
        sys.exit("bootstrap-admin: no AWS region: pass --region or set AWS_REGION")
    except botocore.exceptions.NoCredentialsError:
        sys.exit("bootstrap-admin: no AWS credentials: set AWS_PROFILE or configure the CLI")
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        if err.get("Code") == "ValidationError" and "does not exist" in err.get("Message", ""):
            sys.exit(f"bootstrap-admin: stack {args.stack} not found (wrong --stack or --region?)")
        sys.exit(f"bootstrap-admin: {e.operation_name}: {err.get('Code')}: {err.get('Message')}")
    except botocore.exceptions.BotoCoreError as e:
        # Unreachable endpoint, expired SSO session and the like: say it, without a trace.
        sys.exit(f"bootstrap-admin: {e}")


if __name__ == "__main__":
    sys.exit(main())
