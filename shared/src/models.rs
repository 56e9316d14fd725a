//! The model catalog: which providers exist, which models they serve, and each model's fallback chain.
//!
//! The catalog is `shared/models.json`, compiled in; `MCPFLOW_MODELS_FILE` points at another file.
//! A provider is available when its credential is configured; `local` needs none and is always available.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

const BUILTIN: &str = include_str!("../models.json");

/// The kind of API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    OpenaiCompatible,
    Anthropic,
    Bedrock,
    Local,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    pub kind: ProviderKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding the credential; `None` for `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_env: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    pub provider: String,
    pub provider_model: String,
    #[serde(default)]
    pub fallback: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCatalog {
    pub default_model: String,
    pub providers: Vec<Provider>,
    pub models: Vec<Model>,
}

/// Why a catalog cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Inconsistent(String),
}

/// What `GET /api/v1/mcp/models` shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModelsView {
    pub default_model: String,
    pub providers: Vec<ProviderView>,
    pub models: Vec<ModelView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProviderView {
    pub id: String,
    pub kind: ProviderKind,
    pub description: String,
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModelView {
    pub id: String,
    pub provider: String,
    pub provider_model: String,
    pub fallback: Vec<String>,
    pub available: bool,
}

impl ModelCatalog {
    /// The catalog compiled into the binary.
    ///
    /// # Errors
    /// [`CatalogError`] if `shared/models.json` is invalid (a unit test keeps it valid).
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::parse(BUILTIN)
    }

    /// Reads a catalog file.
    ///
    /// # Errors
    /// [`CatalogError`] when the file cannot be read, is not JSON or is inconsistent.
    pub fn from_file(path: &str) -> Result<Self, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks a catalog: ids unique, every provider, fallback and default known.
    ///
    /// # Errors
    /// [`CatalogError`] naming the first problem found.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self = serde_json::from_str(text)?;
        let providers: BTreeSet<_> = catalog.providers.iter().map(|p| p.id.as_str()).collect();
        let models: BTreeSet<_> = catalog.models.iter().map(|m| m.id.as_str()).collect();
        let fail = |msg: String| Err(CatalogError::Inconsistent(msg));
        if providers.len() != catalog.providers.len() || models.len() != catalog.models.len() {
            return fail("provider and model ids must be unique".into());
        }
        for m in &catalog.models {
            if !providers.contains(m.provider.as_str()) {
                return fail(format!("model {} names unknown provider {}", m.id, m.provider));
            }
            if let Some(f) = m.fallback.iter().find(|f| !models.contains(f.as_str()) || *f == &m.id) {
                return fail(format!("model {} has invalid fallback {f}", m.id));
            }
        }
        if !models.contains(catalog.default_model.as_str()) {
            return fail(format!("default model {} is not in the catalog", catalog.default_model));
        }
        Ok(catalog)
    }

    /// The catalog with availability, given which providers have credentials.
    #[must_use]
    pub fn view(&self, credentials: &BTreeMap<String, Secret>) -> ModelsView {
        let providers: Vec<ProviderView> = self
            .providers
            .iter()
            .map(|p| {
                let missing = p.credential_env.as_ref().filter(|_| !credentials.contains_key(&p.id));
                ProviderView {
                    id: p.id.clone(),
                    kind: p.kind,
                    description: p.description.clone(),
                    available: missing.is_none(),
                    unavailable_reason: missing.map(|env| format!("{env} is not set")),
                }
            })
            .collect();
        let available = |provider: &str| providers.iter().any(|p| p.id == provider && p.available);
        let models = self
            .models
            .iter()
            .map(|m| ModelView {
                id: m.id.clone(),
                provider: m.provider.clone(),
                provider_model: m.provider_model.clone(),
                fallback: m.fallback.clone(),
                available: available(&m.provider),
            })
            .collect();
        ModelsView {
            default_model: self.default_model.clone(),
            providers,
            models,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_consistent_and_has_local() {
        let catalog = ModelCatalog::builtin().unwrap();
        assert!(catalog
            .providers
            .iter()
            .any(|p| p.id == "local" && p.kind == ProviderKind::Local));
    }

    #[test]
    fn without_credentials_only_local_is_available() {
        let view = ModelCatalog::builtin().unwrap().view(&BTreeMap::new());
        let available: Vec<_> = view
            .providers
            .iter()
            .filter(|p| p.available)
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(available, ["local"]);
        let openai = view.providers.iter().find(|p| p.id == "openai").unwrap();
        assert_eq!(openai.unavailable_reason.as_deref(), Some("OPENAI_API_KEY is not set"));
        assert!(view
            .models
            .iter()
            .filter(|m| m.available)
            .all(|m| m.provider == "local"));
    }

    #[test]
    fn a_configured_credential_makes_its_provider_and_models_available() {
        let creds = BTreeMap::from([("openai".to_owned(), Secret::new("sk".into()))]);
        let view = ModelCatalog::builtin().unwrap().view(&creds);
        assert!(view.models.iter().any(|m| m.id == "gpt-4o-mini" && m.available));
    }

    #[test]
    fn a_fallback_to_an_unknown_model_is_rejected() {
        let text = r#"{"default_model":"a","providers":[{"id":"local","kind":"local","description":"d"}],
            "models":[{"id":"a","provider":"local","provider_model":"echo","fallback":["b"]}]}"#;
        let err = ModelCatalog::parse(text).unwrap_err();
        assert_eq!(err.to_string(), "model a has invalid fallback b");
    }
}
