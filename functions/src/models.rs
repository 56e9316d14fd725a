//! `GET /api/v1/mcp/models` (bin `models`): the configured providers and models, with availability.

use shared::models::ModelsView;
use shared::ApiError;

use crate::api::requests::NoInput;
use crate::api::{Authorized, Reply};

/// Answers with the catalog view computed once at cold start.
///
/// # Errors
/// Never: any caller the authorizer let through may read the catalog.
pub async fn list(view: &ModelsView, _: Authorized<NoInput>) -> Result<Reply, ApiError> {
    Ok(Reply::ok(view))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::models::ModelCatalog;

    use super::*;
    use crate::api::{serve, test_support, App};
    use crate::http::test_support::{body_json, event, event_without_authorizer};

    #[tokio::test]
    async fn models_lists_local_as_available_and_says_it_is_a_stand_in() {
        let view = ModelCatalog::builtin().unwrap().view(&BTreeMap::new());
        let app = App::new(view, test_support::audit());
        let response = serve(&app, list, event("models", "get")).await;
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
        let unauthenticated = serve(&app, list, event_without_authorizer("models", "get"));
        assert_eq!(unauthenticated.await.status(), 401);
        let openai = body["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "openai")
            .unwrap();
        assert_eq!(openai["available"], false);
    }
}
