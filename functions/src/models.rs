//! `GET /api/v1/mcp/models`: the configured providers and models, with availability.

use lambda_http::{Body, Error, Request, Response};
use shared::models::ModelsView;

use crate::{auth, http};

/// Answers with the catalog view computed once at cold start.
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn handle(view: &ModelsView, req: Request) -> Result<Response<Body>, Error> {
    match auth::principal(&req) {
        Ok(_) => Ok(http::json(200, view)),
        Err(e) => Ok(http::error(&e, &http::request_id(&req))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::models::ModelCatalog;

    use super::*;
    use crate::http::test_support::{body_json, event};

    #[tokio::test]
    async fn models_lists_local_as_available_and_says_it_is_a_stand_in() {
        let view = ModelCatalog::builtin().unwrap().view(&BTreeMap::new());
        let response = handle(&view, event("models", "get")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = body_json(&response);
        let local = body["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "local")
            .unwrap();
        assert_eq!(local["available"], true);
        assert!(local["description"].as_str().unwrap().contains("stand-in"));
        let unauthenticated = handle(
            &view,
            crate::http::test_support::event_without_authorizer("models", "get"),
        );
        assert_eq!(unauthenticated.await.unwrap().status(), 401);
        let openai = body["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "openai")
            .unwrap();
        assert_eq!(openai["available"], false);
    }
}
