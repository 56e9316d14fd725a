//! The audit log through the gateway: mutations of a tenant's admin, listed newest first with a cursor.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, call, guarded_route, jwt, secret, Targets};
use crate::helpers::{fresh_tenant, gateway_url, http, send_json, Credential};

/// An audit entry as (action, outcome, status, target).
type Seen = (String, String, u64, String);

async fn audit_page(caller: &Credential, query: &str) -> (u16, Value) {
    let url = format!("{}/api/v1/audit{query}", gateway_url());
    send_json(http().get(url).header(caller.0, &caller.1)).await
}

/// The entries of an audit page, in the order listed.
fn seen(page: &Value) -> Vec<Seen> {
    let entries = page["entries"].as_array().unwrap().iter();
    entries
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
                e["target"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The audit entries of `subject` in `page`, as (action, target, outcome, status).
pub(crate) fn entries_of(page: &Value, subject: &str) -> Vec<(String, String, String, u64)> {
    let text = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
    let entries = page["entries"].as_array().unwrap().iter();
    let mine = entries.filter(|e| e["subject"] == subject);
    mine.map(|e| {
        (
            text(e, "action"),
            text(e, "target"),
            text(e, "outcome"),
            e["status"].as_u64().unwrap(),
        )
    })
    .collect()
}

/// As `admin`: creates a key, revokes it, and tries to revoke a key that does not exist; the created key's id.
async fn create_revoke_and_fail_to_revoke(admin: &Credential) -> String {
    let revoke = guarded_route("DELETE", "/api/v1/keys/{keyID}");
    let (status, created) = call(&guarded_route("POST", "/api/v1/keys"), Some(admin), &Targets::default()).await;
    assert_eq!(status, 201, "{created}");
    let key_id = created["key_id"].as_str().unwrap();
    assert_eq!(call(&revoke, Some(admin), &Targets::key(key_id)).await.0, 200);
    assert_eq!(
        call(&revoke, Some(admin), &Targets::key("ffffffffffffffff")).await.0,
        404
    );
    key_id.to_owned()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_create_a_revoke_and_a_failed_revoke_are_audited_newest_first() {
    // GIVEN the admin of a fresh tenant
    let tenant = fresh_tenant("audit");
    let admin = bearer(&jwt(&tenant, "admin", &json!({}), &secret()));
    // WHEN it creates a key, revokes it, and tries to revoke a key that does not exist
    let key_id = create_revoke_and_fail_to_revoke(&admin).await;
    // THEN the audit log holds the three, newest first, two to a page
    let (status, first) = audit_page(&admin, "?limit=2").await;
    assert_eq!(status, 200, "{first}");
    let revoke = "DELETE /api/v1/keys/{keyID}".to_owned();
    assert_eq!(
        seen(&first),
        [
            (revoke.clone(), "failed".into(), 404, "ffffffffffffffff".into()),
            (revoke, "succeeded".into(), 200, key_id.clone()),
        ]
    );
    assert!(first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["subject"] == format!("admin@{tenant}")));
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = audit_page(&admin, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(
        seen(&second),
        [("POST /api/v1/keys".into(), "succeeded".into(), 201, key_id.clone())]
    );
    // AND a cursor it did not issue is a 400
    let (status, body) = audit_page(&admin, "?cursor=not-a-cursor").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_CURSOR")));
}
