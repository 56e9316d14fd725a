//! `GET /api/v1/mcp/models`: the configured providers and models, with availability.

use lambda_http::{Body, Error, Request, Response};
use shared::models::ModelsView;

use crate::http;

/// Answers with the catalog view computed once at cold start.
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn handle(view: &ModelsView, _req: Request) -> Result<Response<Body>, Error> {
    Ok(http::json(200, view))
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
        let openai = body["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "openai")
            .unwrap();
        assert_eq!(openai["available"], false);
    }
}
