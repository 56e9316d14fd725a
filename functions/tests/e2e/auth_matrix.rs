//! The authorization matrix through the local gateway: every route of `template.yaml` × every role ×
//! own/other tenant, checked against the permission table (bad credentials: [`crate::bad_credentials`]).

use std::path::Path;

use gateway::authorizers::http_auth;
use gateway::template::Template;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use shared::auth::permissions::{allows, PERMISSIONS};
use shared::auth::Role;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::helpers::{fresh_tenant, gateway_url, http, send_json, tool_endpoint, Credential};

/// A route as the template declares it, with whether an authorizer guards it.
pub(crate) struct Route {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) key: String,
    pub(crate) guarded: bool,
}

/// A guarded route, for calling it directly (its permission key is not needed).
pub(crate) fn guarded_route(method: &str, path: &str) -> Route {
    Route {
        method: method.into(),
        path: path.into(),
        key: String::new(),
        guarded: true,
    }
}

/// Every route of `template.yaml`.
pub(crate) fn routes() -> Vec<Route> {
    let template = Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap();
    let functions = template.functions().unwrap();
    let auth = http_auth(&template, &functions).unwrap();
    let routes = functions.iter().flat_map(|f| f.http_routes.iter());
    routes
        .map(|r| Route {
            method: r.method.clone(),
            path: r.path.clone(),
            key: r.route_key(),
            guarded: r.authorizer.as_deref() != Some("NONE") && auth.default.is_some(),
        })
        .collect()
}

pub(crate) fn secret() -> String {
    std::env::var("MCPFLOW_TEST_JWT_SECRET").unwrap_or_else(|_| panic!("{}", crate::helpers::NEEDS_STACK))
}

pub(crate) fn issuer() -> String {
    std::env::var("MCPFLOW_TEST_JWT_ISSUER").unwrap_or_default()
}

/// A bearer token; `claims` overrides the valid defaults.
pub(crate) fn jwt(tenant: &str, role: &str, claims: &Value, secret: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut body = json!({"sub": format!("{role}@{tenant}"), "iss": issuer(), "aud": "mcpflow", "exp": now + 300,
                          "tenant": tenant, "role": role});
    for (k, v) in claims.as_object().unwrap() {
        body[k] = v.clone();
    }
    let token = encode(
        &Header::new(Algorithm::HS256),
        &body,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    crate::helpers::remember_secret(&token);
    token
}

pub(crate) fn bearer(token: &str) -> Credential {
    ("authorization", format!("Bearer {token}"))
}

/// Resources of one tenant that path parameters point at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    pub(crate) key_id: String,
    pub(crate) context_id: String,
    pub(crate) task_id: String,
    pub(crate) node_id: String,
    /// A registered tool, prompt and resource (URI) of the tenant.
    pub(crate) tool: String,
    pub(crate) prompt: String,
    pub(crate) resource: String,
    /// An agent of the tenant (registered on demand: its token counts among the tenant's keys).
    pub(crate) agent_id: String,
    /// A pipeline of the tenant (defined on demand).
    pub(crate) pipeline_id: String,
    /// An execution of that pipeline, cancelled (so any cancel of it is a 409).
    pub(crate) execution_id: String,
    /// An integration of the tenant.
    pub(crate) integration_id: String,
    /// A completion of the tenant (made on demand), unfinished for its first 20 s.
    pub(crate) completion_id: String,
}

impl Targets {
    /// Something of every kind of `tenant` to aim at: a key, a context, a task, an agent, a pipeline
    /// and a cancelled execution of it.
    pub(crate) async fn of_every_kind(tenant: &str) -> Self {
        Self::of(tenant)
            .await
            .with_agent(tenant)
            .await
            .with_pipeline(tenant)
            .await
    }

    /// A fresh key and context of `tenant`, made by an admin of that tenant (through a bearer token)
    /// with a subject of its own, so that the matrix never meets the per-principal context quota.
    pub(crate) async fn of(tenant: &str) -> Self {
        let (key_id, _) = fresh_key(tenant).await;
        let subject = json!({"sub": fresh_tenant("admin")});
        let admin = bearer(&jwt(tenant, "admin", &subject, &secret()));
        let (status, body) = call(
            &guarded_route("POST", "/api/v1/mcp/contexts"),
            Some(&admin),
            &Self::default(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let text = |k: &str| body[k].as_str().unwrap().to_owned();
        let context_id = text("context_id");
        let mut registered = Vec::new();
        for (path, key) in [
            ("/api/v1/tools", "name"),
            ("/api/v1/prompts", "name"),
            ("/api/v1/resources", "uri"),
        ] {
            let (status, item) = call(&guarded_route("POST", path), Some(&admin), &Self::default()).await;
            assert_eq!(status, 201, "{item}");
            registered.push(item[key].as_str().unwrap().to_owned());
        }
        let (status, integration) = call(
            &guarded_route("POST", "/api/v1/integrations"),
            Some(&admin),
            &Self::default(),
        )
        .await;
        assert_eq!(status, 201, "{integration}");
        Self {
            key_id,
            node_id: format!("{context_id}-1"),
            task_id: text("task_id"),
            context_id,
            resource: registered.pop().unwrap(),
            prompt: registered.pop().unwrap(),
            tool: registered.pop().unwrap(),
            agent_id: "agt_0000000000000000000000000000".into(),
            pipeline_id: "pln_0000000000000000000000000000".into(),
            execution_id: "exe_0000000000000000000000000000".into(),
            integration_id: integration["integration_id"].as_str().unwrap().to_owned(),
            completion_id: "task_0000000000000000000000000000".into(),
        }
    }

    /// The same targets with a pipeline of `tenant` defined by its admin.
    pub(crate) async fn with_pipeline(mut self, tenant: &str) -> Self {
        let admin = bearer(&jwt(tenant, "admin", &json!({"sub": fresh_tenant("admin")}), &secret()));
        let (status, pipeline) = call(&guarded_route("POST", "/api/v1/pipelines"), Some(&admin), &self).await;
        assert_eq!(status, 201, "{pipeline}");
        self.pipeline_id = pipeline["pipeline_id"].as_str().unwrap().to_owned();
        let (status, run) = call(
            &guarded_route("POST", "/api/v1/pipelines/{pipelineID}/execute"),
            Some(&admin),
            &self,
        )
        .await;
        assert_eq!(status, 202, "{run}");
        self.execution_id = run["execution_id"].as_str().unwrap().to_owned();
        let cancel = guarded_route("POST", "/api/v1/pipelines/{pipelineID}/executions/{executionID}/cancel");
        let (status, cancelled) = call(&cancel, Some(&admin), &self).await;
        assert_eq!(status, 200, "{cancelled}");
        self
    }

    /// The same targets with a completion of `tenant`, asked by its admin, that runs for 20 s (so a
    /// cancel finds it unfinished).
    pub(crate) async fn with_completion(mut self, tenant: &str) -> Self {
        let admin = bearer(&jwt(tenant, "admin", &json!({"sub": fresh_tenant("admin")}), &secret()));
        let route = guarded_route("POST", "/api/v1/completions");
        let (status, completion) = call(&route, Some(&admin), &self).await;
        assert_eq!(status, 202, "{completion}");
        self.completion_id = completion["completion_id"].as_str().unwrap().to_owned();
        self
    }

    /// The same targets with an agent of `tenant` registered by its admin.
    pub(crate) async fn with_agent(mut self, tenant: &str) -> Self {
        let admin = bearer(&jwt(tenant, "admin", &json!({"sub": fresh_tenant("admin")}), &secret()));
        let route = guarded_route("POST", "/api/v1/agents/register");
        let (status, agent) = call(&route, Some(&admin), &self).await;
        assert_eq!(status, 201, "{agent}");
        crate::helpers::remember_secret(agent["token"].as_str().unwrap());
        self.agent_id = agent["agent_id"].as_str().unwrap().to_owned();
        self
    }

    /// A key id, and ids that name nothing for the other parameters.
    pub(crate) fn key(key_id: &str) -> Self {
        let none = |s: &str| s.to_owned();
        Self {
            key_id: key_id.to_owned(),
            context_id: none("ctx_none"),
            task_id: none("task_none"),
            node_id: none("ctx_none-1"),
            tool: none("no_tool"),
            prompt: none("no_prompt"),
            resource: none("none://nothing"),
            agent_id: none("agt_none"),
            pipeline_id: none("pln_none"),
            execution_id: none("exe_none"),
            integration_id: none("itg_none"),
            completion_id: none("task_none"),
        }
    }
}

/// A valid body for each POST and PUT route on `targets`.
pub(crate) fn body_for(path: &str, targets: &Targets) -> Value {
    match path {
        // A replacement of the target resource, which keeps its URI.
        "/api/v1/resources/{uri}" => {
            json!({"uri": targets.resource, "name": "Matrix", "content": "replaced by the matrix"})
        }
        // Short timeouts: the executions the matrix starts end within seconds.
        "/api/v1/pipelines" => {
            json!({"name": "matrix", "stages": [{"name": "in", "type": "data-ingestion", "timeout": 5},
            {"name": "out", "type": "output", "timeout": 5}], "dependencies": [{"from": "in", "to": "out"}]})
        }
        "/api/v1/pipelines/{pipelineID}/execute" => json!({"input_data": {"records": []}}),
        // Running for 20 s on the stand-in, so a cancel of a fresh target finds it unfinished.
        "/api/v1/completions" => json!({"model_id": "standin", "prompt": "from the matrix [sleep 20]"}),
        "/api/v1/integrations" | "/api/v1/integrations/{integrationID}" => {
            json!({"name": "matrix", "model": {"provider": "local", "provider_model": "echo"}})
        }
        // The target pipeline's first stage, run on its own for up to 5 s.
        "/api/v1/tasks" => json!({"pipeline_id": targets.pipeline_id, "stage": 0, "payload": {"records": []},
            "timeout": 5}),
        p if p.ends_with("/complete") => json!({"output": {"matrix": true}}),
        p if p.ends_with("/fail") => json!({"error": "failed by the matrix"}),
        "/api/v1/agents/register" => json!({"name": "matrix", "type": "worker", "capabilities": ["analysis"]}),
        p if p.ends_with("/heartbeat") => json!({"status": "idle", "current_load": 0.1}),
        // A connection that is not open: a permitted caller gets past its role to the lookup.
        p if p.ends_with("/subscribe") => json!({"connection_id": "notOpenAnyMore="}),
        "/api/v1/keys" => json!({"name": "matrix", "role": "viewer"}),
        // The quota is per principal: each route's callers have subjects of their own (see the matrix).
        "/api/v1/mcp/contexts" => {
            json!({"model_id": "local-echo", "nodes": [{"content": "seed"}], "user_id": fresh_tenant("matrix")})
        }
        p if p.ends_with("/nodes") => json!({"content": "added by the matrix"}),
        p if p.ends_with("/prompt") => json!({"prompt": "hello from the matrix"}),
        "/mcp" => json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        // Registered items with names of their own, so the matrix never registers one twice.
        "/api/v1/tools" => json!({"name": fresh_tenant("tool"), "description": "Echoes its arguments",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "endpoint": tool_endpoint()}),
        "/api/v1/prompts" => json!({"name": fresh_tenant("prompt"), "template": "Hello {{who}}",
            "arguments": [{"name": "who", "required": true}]}),
        "/api/v1/resources" => json!({"uri": format!("matrix://{}", fresh_tenant("r")), "name": "Matrix",
            "content": "registered by the matrix"}),
        p if p.ends_with("/execute") => json!({"arguments": {"city": "Paris"}}),
        p if p.ends_with("/generate") => json!({"arguments": {"who": "matrix"}}),
        _ => json!({}),
    }
}

/// The status a permitted call on the caller's own resources answers. The task of a target is its
/// (completed) create-context task, so cancelling it is a 409.
pub(crate) fn success_status(route: &Route) -> u16 {
    // HEAD answers as GET does.
    let method = if route.method == "HEAD" {
        "GET"
    } else {
        route.method.as_str()
    };
    match method {
        // A stateless MCP server answers GET and DELETE with 405, as the transport spec says.
        "GET" | "DELETE" if route.path == "/mcp" => 405,
        "POST" if route.path == "/mcp" => 200,
        "POST" if route.path.ends_with("/prompt") || route.path == "/api/v1/completions" => 202,
        "POST" if route.path.ends_with("/cancel") => 409,
        "POST" if route.path.ends_with("/execute") && route.path.starts_with("/api/v1/pipelines/") => 202,
        "POST" if route.path == "/api/v1/tasks" => 202,
        // The target task is a create-context task, not a stage task an agent could report on.
        "POST" if route.path.starts_with("/api/v1/tasks/") => 404,
        // An agent's JWT is not the target agent's own token.
        "GET" if route.path.ends_with("/tasks/next") => 403,
        // An agent's JWT is not the target agent's own token.
        "POST" if route.path.ends_with("/heartbeat") => 403,
        // The body names no open connection (see `body_for`).
        "POST" if route.path.ends_with("/subscribe") => 404,
        "POST" if route.path.ends_with("/execute") || route.path.ends_with("/generate") => 200,
        "POST" => 201,
        _ => 200,
    }
}

/// Sends `route` with `credential`, filling its path parameters from `targets`.
pub(crate) async fn call(route: &Route, credential: Option<&Credential>, targets: &Targets) -> (u16, Value) {
    let mut request = request_for(route, credential, targets);
    if route.method == "POST" || route.method == "PUT" {
        request = request.json(&body_for(&route.path, targets));
    }
    send_json(request).await
}

/// `route` on `targets` with `credential`, without a body: a valid one is [`body_for`] the route.
pub(crate) fn request_for(
    route: &Route,
    credential: Option<&Credential>,
    targets: &Targets,
) -> reqwest::RequestBuilder {
    let path = route
        .path
        .replace("{keyID}", &targets.key_id)
        .replace("{contextID}", &targets.context_id)
        .replace("{taskID}", &targets.task_id)
        .replace("{nodeID}", &targets.node_id)
        .replace("{agentID}", &targets.agent_id)
        .replace("{pipelineID}", &targets.pipeline_id)
        .replace("{executionID}", &targets.execution_id)
        .replace("{integrationID}", &targets.integration_id)
        .replace("{completionID}", &targets.completion_id)
        .replace(
            "{uri}",
            &utf8_percent_encode(&targets.resource, NON_ALPHANUMERIC).to_string(),
        );
    let path = if route.path.starts_with("/api/v1/prompts/") {
        path.replace("{name}", &targets.prompt)
    } else {
        path.replace("{name}", &targets.tool)
    };
    let mut request = http().request(route.method.parse().unwrap(), format!("{}{path}", gateway_url()));
    if route.path == "/mcp" {
        request = request
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25");
    }
    if route.method == "PUT" && route.path.starts_with("/api/v1/integrations/") {
        // Whichever version the matrix's earlier replaces left.
        request = request.header("if-match", "*");
    }
    if let Some((name, value)) = credential {
        request = request.header(*name, value);
    }
    request
}

/// A fresh key of `tenant`, made by that tenant's admin (through a bearer token).
pub(crate) async fn fresh_key(tenant: &str) -> (String, String) {
    let admin = bearer(&jwt(tenant, "admin", &json!({}), &secret()));
    let (status, body) = call(
        &guarded_route("POST", "/api/v1/keys"),
        Some(&admin),
        &Targets::default(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    crate::helpers::remember_secret(body["key"].as_str().unwrap());
    (
        body["key_id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn every_guarded_route_of_the_template_is_in_the_permission_table() {
    for route in routes().iter().filter(|r| r.guarded) {
        // A HEAD route is the twin of a GET route, allowed as it is.
        let key = route.key.replacen("HEAD ", "GET ", 1);
        assert!(
            PERMISSIONS.iter().any(|(k, _)| *k == key),
            "{} is missing from PERMISSIONS",
            route.key
        );
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn every_role_gets_what_the_permission_table_says_and_other_tenants_are_404() {
    let own = fresh_tenant("own");
    let other = fresh_tenant("other");
    // One set of targets per tenant, except for the routes that destroy theirs.
    let (own_targets, other_targets) = (
        Targets::of(&own)
            .await
            .with_agent(&own)
            .await
            .with_pipeline(&own)
            .await
            .with_completion(&own)
            .await,
        Targets::of(&other)
            .await
            .with_agent(&other)
            .await
            .with_pipeline(&other)
            .await
            .with_completion(&other)
            .await,
    );
    for (n, route) in routes().into_iter().filter(|r| r.guarded).enumerate() {
        for role in Role::ALL {
            // A subject per route keeps each caller far inside its role's rate limit.
            let subject = json!({"sub": format!("{role}-{n}@{own}")});
            let caller = bearer(&jwt(&own, role.as_str(), &subject, &secret()));
            for target in [&own, &other] {
                let targets = match (route.method.as_str(), target == &own) {
                    ("DELETE", _) if route.path.contains("{agentID}") => {
                        Targets::of(target).await.with_agent(target).await
                    }
                    ("DELETE", _) if route.path.contains("{completionID}") => {
                        Targets::of(target).await.with_completion(target).await
                    }
                    ("DELETE", _) => Targets::of(target).await,
                    (_, true) => own_targets.clone(),
                    (_, false) => other_targets.clone(),
                };
                let key_id = targets.key_id.clone();
                let (status, body) = call(&route, Some(&caller), &targets).await;
                // A submitted task names its pipeline in the body rather than the path.
                let names_target = route.path.contains('{') || route.key == "POST /api/v1/tasks";
                let expected = match (allows(&route.key, role), names_target, target == &own) {
                    (false, _, _) => 403,
                    (true, true, false) => 404,
                    (true, _, _) => success_status(&route),
                };
                assert_eq!(
                    status, expected,
                    "{role} of {own} on {} for a key of {target}: {body}",
                    route.key
                );
                if status == 200 && route.key == "GET /api/v1/keys" {
                    let ids: Vec<&str> = body["keys"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k["key_id"].as_str().unwrap())
                        .collect();
                    assert!(
                        target == &own || !ids.contains(&key_id.as_str()),
                        "another tenant's key was listed"
                    );
                }
            }
        }
    }
}
