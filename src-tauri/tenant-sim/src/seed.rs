//! Seed data: the managed-object configuration of a fresh alpha/bravo tenant and a few objects.

use serde_json::{json, Map, Value};

const REALMS: [&str; 2] = ["alpha", "bravo"];

fn title_case(realm: &str) -> String {
    let mut c = realm.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn string(title: &str, searchable: bool) -> Value {
    json!({
        "title": title,
        "description": title,
        "type": "string",
        "viewable": true,
        "searchable": searchable,
        "userEditable": true,
    })
}

fn collection(target: &str, label: &str, fields: &[&str]) -> Value {
    json!([{
        "path": format!("managed/{target}"),
        "label": label,
        "notify": true,
        "query": {"queryFilter": "true", "fields": fields, "sortKeys": fields.first().map(|f| vec![*f]).unwrap_or_default()},
    }])
}

fn ref_properties() -> Value {
    json!({
        "_ref": {"description": "References a relationship from a managed object", "type": "string"},
        "_refProperties": {"description": "Supports metadata within the relationship", "type": "object",
            "title": "Relationship Properties", "properties": {"_id": {"type": "string", "propName": "_id", "required": false}}},
    })
}

/// A multi-valued relationship to `managed/{target}` whose reverse is `reverse`.
fn rel_many(title: &str, target: &str, reverse: &str, label: &str, fields: &[&str]) -> Value {
    json!({
        "title": title,
        "description": title,
        "type": "array",
        "viewable": true,
        "searchable": false,
        "userEditable": false,
        "returnByDefault": false,
        "relationshipGrantTemporalConstraintsEnforced": false,
        "items": {
            "type": "relationship",
            "title": format!("{title} Items"),
            "reverseRelationship": true,
            "reversePropertyName": reverse,
            "validate": true,
            "notifySelf": true,
            "properties": ref_properties(),
            "resourceCollection": collection(target, label, fields),
        },
    })
}

/// A single-valued relationship to `managed/{target}` whose reverse is `reverse`.
fn rel_one(title: &str, target: &str, reverse: &str, label: &str, fields: &[&str]) -> Value {
    json!({
        "title": title,
        "description": title,
        "type": "relationship",
        "viewable": true,
        "searchable": false,
        "userEditable": false,
        "returnByDefault": false,
        "reverseRelationship": true,
        "reversePropertyName": reverse,
        "validate": true,
        "properties": ref_properties(),
        "resourceCollection": collection(target, label, fields),
    })
}

fn schema(realm: &str, what: &str, required: &[&str], properties: Map<String, Value>) -> Value {
    let order: Vec<&String> = properties.keys().collect();
    json!({
        "$schema": "http://forgerock.org/json-schema#",
        "type": "object",
        "title": format!("{} realm - {what}", title_case(realm)),
        "description": what,
        "icon": "fa-database",
        "id": "urn:jsonschema:org:forgerock:openidm:managed:api:".to_string() + what,
        "mat-icon": "",
        "required": required,
        "order": order,
        "properties": properties,
    })
}

fn props(entries: Vec<(&str, Value)>) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn id_prop() -> Value {
    json!({
        "description": "User ID",
        "type": "string",
        "viewable": false,
        "searchable": false,
        "userEditable": false,
        "usageDescription": "",
        "isPersonal": false,
        "policies": [{"policyId": "cannot-contain-characters", "params": {"forbiddenChars": ["/"]}}],
    })
}

fn user(realm: &str) -> Value {
    let t = |s: &str| format!("{realm}_{s}");
    let user_fields = ["userName", "givenName", "sn"];
    let mut mail = string("Email Address", true);
    mail["policies"] = json!([{"policyId": "valid-email-address-format"}]);
    let mut user_name = string("Username", true);
    user_name["policies"] = json!([
        {"policyId": "valid-username"},
        {"policyId": "cannot-contain-characters", "params": {"forbiddenChars": ["/"]}},
        {"policyId": "minimum-length", "params": {"minLength": 1}},
        {"policyId": "maximum-length", "params": {"maxLength": 255}},
    ]);
    let mut status = string("Status", true);
    status["default"] = json!("active");
    let properties = props(vec![
        ("_id", id_prop()),
        ("userName", user_name),
        (
            "password",
            json!({
                "title": "Password", "description": "Password", "type": "string", "viewable": false,
                "searchable": false, "userEditable": true, "scope": "private", "isProtected": true,
                "encryption": {"purpose": "idm.password.encryption"},
                "policies": [{"policyId": "minimum-length", "params": {"minLength": 8}}],
            }),
        ),
        ("givenName", string("First Name", true)),
        ("sn", string("Last Name", true)),
        ("mail", mail),
        ("description", string("Description", true)),
        ("accountStatus", status),
        ("telephoneNumber", string("Telephone Number", true)),
        ("postalAddress", string("Address 1", true)),
        ("city", string("City", true)),
        ("postalCode", string("Postal Code", true)),
        ("country", string("Country", true)),
        ("stateProvince", string("State/Province", true)),
        (
            "roles",
            rel_many(
                "Provisioning Roles",
                &t("role"),
                "members",
                "Role",
                &["name"],
            ),
        ),
        (
            "manager",
            rel_one("Manager", &t("user"), "reports", "User", &user_fields),
        ),
        (
            "reports",
            rel_many(
                "Direct Reports",
                &t("user"),
                "manager",
                "User",
                &user_fields,
            ),
        ),
        (
            "groups",
            rel_many("Groups", &t("group"), "members", "Group", &["name"]),
        ),
        (
            "memberOfOrg",
            rel_many(
                "Organizations to which I Belong",
                &t("organization"),
                "members",
                "Organization",
                &["name"],
            ),
        ),
        (
            "ownerOfOrg",
            rel_many(
                "Organizations I Own",
                &t("organization"),
                "owners",
                "Organization",
                &["name"],
            ),
        ),
        (
            "adminOfOrg",
            rel_many(
                "Organizations I Administer",
                &t("organization"),
                "admins",
                "Organization",
                &["name"],
            ),
        ),
        (
            "applications",
            rel_many(
                "Applications",
                &t("application"),
                "members",
                "Application",
                &["name"],
            ),
        ),
        (
            "ownerOfApp",
            rel_many(
                "Applications I Own",
                &t("application"),
                "owners",
                "Application",
                &["name"],
            ),
        ),
    ]);
    json!({
        "name": t("user"),
        "schema": schema(realm, "User", &["userName", "givenName", "sn", "mail"], properties),
        "onCreate": {"type": "text/javascript", "globals": {}, "source": "require('onCreateUser').setDefaultFields(object);"},
        "onUpdate": {"type": "text/javascript", "globals": {}, "source": "require('onUpdateUser').preserveLastSync(object, oldObject, request);"},
        "notifications": {},
        "meta": {"property": "_meta", "resourceCollection": "managed/meta", "trackedProperties": ["createDate", "lastChanged"]},
    })
}

fn named(what: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("_id", id_prop()),
        ("name", string(&format!("{what} Name"), true)),
        ("description", string("Description", true)),
    ]
}

fn role(realm: &str) -> Value {
    let mut p = named("Role");
    p.push((
        "members",
        rel_many(
            "Role Members",
            &format!("{realm}_user"),
            "roles",
            "User",
            &["userName", "givenName", "sn"],
        ),
    ));
    p.push(("condition", json!({"title": "Condition", "description": "A conditional filter for this role", "type": "string", "viewable": false, "searchable": false, "isConditional": true})));
    p.push(("temporalConstraints", json!({"title": "Temporal Constraints", "description": "An array of temporal constraints for a role", "type": "array", "viewable": false, "returnByDefault": true, "isTemporalConstraint": true,
        "items": {"type": "object", "title": "Temporal Constraints Items", "properties": {"duration": {"type": "string", "description": "Duration"}}, "required": ["duration"], "order": ["duration"]}})));
    json!({"name": format!("{realm}_role"), "schema": schema(realm, "Role", &["name"], props(p)), "notifications": {}})
}

fn group(realm: &str) -> Value {
    let mut p = named("Group");
    p.push((
        "members",
        rel_many(
            "Members",
            &format!("{realm}_user"),
            "groups",
            "User",
            &["userName", "givenName", "sn"],
        ),
    ));
    p.push(("condition", json!({"title": "Condition", "description": "A filter for conditionally assigned members", "type": "string", "viewable": false, "searchable": false, "isConditional": true})));
    json!({"name": format!("{realm}_group"), "schema": schema(realm, "Group", &["name"], props(p)), "notifications": {}})
}

fn organization(realm: &str) -> Value {
    let t = |s: &str| format!("{realm}_{s}");
    let user_fields = ["userName", "givenName", "sn"];
    let mut p = named("Organization");
    p.push((
        "parent",
        rel_one(
            "Parent Organization",
            &t("organization"),
            "children",
            "Organization",
            &["name"],
        ),
    ));
    p.push((
        "children",
        rel_many(
            "Child Organizations",
            &t("organization"),
            "parent",
            "Organization",
            &["name"],
        ),
    ));
    p.push((
        "members",
        rel_many("Members", &t("user"), "memberOfOrg", "User", &user_fields),
    ));
    p.push((
        "owners",
        rel_many("Owners", &t("user"), "ownerOfOrg", "User", &user_fields),
    ));
    p.push((
        "admins",
        rel_many(
            "Administrators",
            &t("user"),
            "adminOfOrg",
            "User",
            &user_fields,
        ),
    ));
    json!({"name": t("organization"), "schema": schema(realm, "Organization", &["name"], props(p)), "notifications": {}})
}

fn application(realm: &str) -> Value {
    let t = |s: &str| format!("{realm}_{s}");
    let user_fields = ["userName", "givenName", "sn"];
    let mut p = named("Application");
    p.push(("icon", string("Icon", false)));
    p.push(("url", string("Url", true)));
    p.push(("templateName", string("Template Name", true)));
    p.push(("templateVersion", string("Template Version", true)));
    p.push(("authoritative", json!({"title": "Authoritative", "type": "boolean", "viewable": false, "searchable": true, "userEditable": false})));
    p.push(("ssoEntities", json!({"title": "SSO Entity Id", "description": "SSO Entity Id", "type": "object", "viewable": false, "searchable": false, "userEditable": true, "properties": {}, "order": []})));
    p.push((
        "members",
        rel_many("Members", &t("user"), "applications", "User", &user_fields),
    ));
    p.push((
        "owners",
        rel_many("Owners", &t("user"), "ownerOfApp", "User", &user_fields),
    ));
    json!({"name": t("application"), "schema": schema(realm, "Application", &["name"], props(p)), "notifications": {}})
}

/// The `/openidm/config/managed` document of a fresh tenant.
pub(crate) fn managed_config() -> Value {
    let mut objects = Vec::new();
    for realm in REALMS {
        objects.push(user(realm));
        objects.push(role(realm));
        objects.push(group(realm));
        objects.push(organization(realm));
        objects.push(application(realm));
    }
    json!({"_id": "managed", "objects": objects})
}

fn person(id: &str, user: &str, given: &str, sn: &str, status: &str, extra: Value) -> Value {
    let mut v = json!({
        "_id": id,
        "_rev": "1",
        "userName": user,
        "givenName": given,
        "sn": sn,
        "mail": format!("{user}@example.com"),
        "accountStatus": status,
    });
    if let (Value::Object(m), Value::Object(more)) = (&mut v, extra) {
        m.extend(more);
    }
    v
}

fn thing(id: &str, name: &str, description: &str) -> Value {
    json!({"_id": id, "_rev": "1", "name": name, "description": description})
}

/// Seed objects per managed type.
pub(crate) fn objects() -> Vec<(&'static str, Vec<Value>)> {
    let mut objects = vec![
        (
            "alpha_user",
            vec![
                person(
                    "a1000000-0000-4000-8000-000000000001",
                    "bjensen",
                    "Barbara",
                    "Jensen",
                    "active",
                    json!({"telephoneNumber": "+1 408 555 1862", "city": "San Jose", "country": "US", "description": "Product manager"}),
                ),
                person(
                    "a1000000-0000-4000-8000-000000000002",
                    "scarter",
                    "Sam",
                    "Carter",
                    "active",
                    json!({"telephoneNumber": "+1 408 555 4798", "city": "Austin", "country": "US"}),
                ),
                person(
                    "a1000000-0000-4000-8000-000000000003",
                    "jdoe",
                    "John",
                    "Doe",
                    "inactive",
                    json!({"city": "London", "country": "GB", "description": "Left in 2024"}),
                ),
                person(
                    "a1000000-0000-4000-8000-000000000004",
                    "agarcia",
                    "Ana",
                    "García",
                    "active",
                    json!({"city": "Madrid", "country": "ES"}),
                ),
                person(
                    "a1000000-0000-4000-8000-000000000005",
                    "kwong",
                    "Kim",
                    "Wong",
                    "active",
                    json!({"city": "Vancouver", "country": "CA", "stateProvince": "BC"}),
                ),
            ],
        ),
        (
            "bravo_user",
            vec![
                person(
                    "b1000000-0000-4000-8000-000000000001",
                    "mlee",
                    "Morgan",
                    "Lee",
                    "active",
                    json!({"city": "Denver", "country": "US"}),
                ),
                person(
                    "b1000000-0000-4000-8000-000000000002",
                    "pnguyen",
                    "Priya",
                    "Nguyen",
                    "active",
                    json!({"city": "Sydney", "country": "AU"}),
                ),
                person(
                    "b1000000-0000-4000-8000-000000000003",
                    "tbrown",
                    "Taylor",
                    "Brown",
                    "inactive",
                    json!({}),
                ),
            ],
        ),
        (
            "alpha_role",
            vec![
                thing(
                    "a2000000-0000-4000-8000-000000000001",
                    "Employee",
                    "All employees",
                ),
                thing(
                    "a2000000-0000-4000-8000-000000000002",
                    "Contractor",
                    "External contractors",
                ),
                thing(
                    "a2000000-0000-4000-8000-000000000003",
                    "Help Desk",
                    "First-line support staff",
                ),
            ],
        ),
        (
            "bravo_role",
            vec![
                thing(
                    "b2000000-0000-4000-8000-000000000001",
                    "Partner",
                    "Partner organisation users",
                ),
                thing(
                    "b2000000-0000-4000-8000-000000000002",
                    "Auditor",
                    "Read-only auditors",
                ),
            ],
        ),
        (
            "alpha_group",
            vec![
                thing(
                    "a3000000-0000-4000-8000-000000000001",
                    "Engineering",
                    "Engineering department",
                ),
                thing(
                    "a3000000-0000-4000-8000-000000000002",
                    "Sales",
                    "Sales department",
                ),
            ],
        ),
        (
            "bravo_group",
            vec![thing(
                "b3000000-0000-4000-8000-000000000001",
                "Partners",
                "All partner users",
            )],
        ),
        (
            "alpha_organization",
            vec![thing(
                "a4000000-0000-4000-8000-000000000001",
                "Example Corp",
                "The top-level organisation",
            )],
        ),
        (
            "bravo_organization",
            vec![thing(
                "b4000000-0000-4000-8000-000000000001",
                "Partner Co",
                "A partner organisation",
            )],
        ),
    ];
    objects.extend(crate::oidc::seed_applications());
    objects
}
