//! The api function's route table (`api::routes`) is the one list of its routes in Rust;
//! this holds it equal to the two other places routes are declared:
//! - `openapi.yaml`: every authenticated operation (method, path) and its
//!   `x-leadflow-roles`;
//! - `infra/template.yaml`: the api function's `HttpApi` events.
//!
//! No emulator: the three are compared as data.

use api::Api;
use domain::assign::actions::Role;
use domain::lead::ports::FixedClock;
use domain::memory::{InMemoryBus, InMemoryStore};
use leadflow_tests::spec::{operation, operations, roles_of, spec};
use local_stack::template::Template;
use std::collections::{BTreeMap, BTreeSet};

type Table = Api<InMemoryStore, InMemoryBus, FixedClock>;

/// A role as `x-leadflow-roles` and the JWT claims name it.
fn role_name(role: Role) -> String {
    serde_json::to_value(role).unwrap().as_str().unwrap().to_string()
}

type Routes = BTreeMap<(String, String), BTreeSet<String>>;

/// (METHOD, path) → roles, from the route table.
fn table() -> Routes {
    let mut routes = Routes::new();
    for route in Table::ROUTES {
        let roles: BTreeSet<String> = route.roles.iter().copied().map(role_name).collect();
        let key = (route.method.to_string(), route.path.to_string());
        assert!(
            routes.insert(key, roles).is_none(),
            "{} {} is in the table twice",
            route.method,
            route.path
        );
    }
    routes
}

/// (METHOD, path) → roles, for openapi.yaml's authenticated operations (the public
/// ones, `security: []`, are intake's).
fn documented() -> Routes {
    let spec = spec();
    operations(&spec)
        .into_iter()
        .filter(|(method, path)| {
            method != "OPTIONS" && operation(&spec, method, path)["security"] != serde_json::json!([])
        })
        .map(|(method, path)| {
            let roles = roles_of(&spec, &method, &path).into_iter().collect();
            ((method, path), roles)
        })
        .collect()
}

/// (METHOD, path) of the api function's `HttpApi` events.
fn deployed() -> BTreeSet<(String, String)> {
    let template = Template::load(&Template::path()).expect("template parses");
    template
        .routes()
        .filter(|(f, _)| f.binary == "api")
        .map(|(_, r)| (r.method.to_uppercase(), r.path.clone()))
        .collect()
}

/// What one side has that the other lacks, both ways, for the failure message.
fn difference<T: Ord + Clone + std::fmt::Debug>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> String {
    format!(
        "only in the first: {:?}; only in the second: {:?}",
        a.difference(b).collect::<Vec<_>>(),
        b.difference(a).collect::<Vec<_>>()
    )
}

#[test]
fn the_route_table_is_the_templates_api_routes() {
    let table: BTreeSet<_> = table().into_keys().collect();
    let deployed = deployed();
    assert!(!table.is_empty());
    assert_eq!(
        table,
        deployed,
        "api::routes and infra/template.yaml's api events differ: {}",
        difference(&table, &deployed)
    );
}

#[test]
fn the_route_table_is_openapi_yamls_routes_and_roles() {
    let table = table();
    let documented = documented();
    let (ours, theirs): (BTreeSet<_>, BTreeSet<_>) =
        (table.keys().cloned().collect(), documented.keys().cloned().collect());
    assert_eq!(
        ours,
        theirs,
        "api::routes and openapi.yaml's authenticated operations differ: {}",
        difference(&ours, &theirs)
    );
    let mut disagree = Vec::new();
    for (route, roles) in &table {
        let documented = &documented[route];
        if roles != documented {
            disagree.push(format!(
                "{} {}: table {roles:?}, x-leadflow-roles {documented:?}",
                route.0, route.1
            ));
        }
    }
    assert!(disagree.is_empty(), "roles differ:\n{}", disagree.join("\n"));
}
