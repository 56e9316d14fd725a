//! The configured providers, and a model's chain: the model itself, then its `fallback` models in
//! order (recursively, each once), each served by its provider.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::anthropic::Anthropic;
use super::bedrock::Bedrock;
use super::credentials::SecretKeys;
use super::local::LocalProvider;
use super::openai::OpenAiCompatible;
use super::retry::{with_fallback, AllFailed, RetryPolicy, Tried};
use super::{ChatProvider, ChatRequest, ChatResponse, Conversation, Piece, ProviderError, Sampling};
use crate::models::{ModelCatalog, ProviderKind};
use crate::secret::Secret;

/// One configured provider (an enum: the trait's async methods are not object-safe).
#[derive(Debug, Clone)]
pub enum AnyProvider {
    OpenAi(OpenAiCompatible),
    Anthropic(Anthropic),
    Bedrock(Bedrock),
    Local(LocalProvider),
}

impl AnyProvider {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        match self {
            Self::OpenAi(p) => p.complete(request).await,
            Self::Anthropic(p) => p.complete(request).await,
            Self::Bedrock(p) => p.complete(request).await,
            Self::Local(p) => p.complete(request).await,
        }
    }

    async fn stream(
        &self,
        request: &ChatRequest,
        on_chunk: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, ProviderError> {
        match self {
            Self::OpenAi(p) => p.stream(request, on_chunk).await,
            Self::Anthropic(p) => p.stream(request, on_chunk).await,
            Self::Bedrock(p) => p.stream(request, on_chunk).await,
            Self::Local(p) => p.stream(request, on_chunk).await,
        }
    }
}

/// Why a completion could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    #[error("unknown model {model}; available: {}", .available.join(", "))]
    ModelNotFound { model: String, available: Vec<String> },
    #[error(transparent)]
    AllFailed(#[from] AllFailed),
}

/// Every provider that has what it needs (a credential; `local` needs none).
#[derive(Debug, Clone)]
pub struct Providers {
    catalog: ModelCatalog,
    by_id: BTreeMap<String, AnyProvider>,
    /// Credentials by provider id, for a direct call made with another provider's credential.
    credentials: BTreeMap<String, Secret>,
    timeout: Duration,
    /// Keys kept in Secrets Manager, read when an integration's call needs one.
    secret_keys: Option<Arc<SecretKeys>>,
}

/// Where a streamed call's pieces go, numbered by attempt: the count is shared by every call made
/// with clones of one `Pieces`, so the attempts of a later call (a tool round's) number on from
/// the earlier ones and start the text again.
#[derive(Debug, Clone)]
pub struct Pieces {
    to: UnboundedSender<Piece>,
    attempts: Arc<AtomicU32>,
}

impl From<UnboundedSender<Piece>> for Pieces {
    fn from(to: UnboundedSender<Piece>) -> Self {
        Self {
            to,
            attempts: Arc::new(AtomicU32::new(0)),
        }
    }
}

/// A direct call: a provider of the catalog and its own model name (an integration's model
/// configuration), with the credential of the provider whose `credential_env` is `credential_env`
/// (`None`: the provider's own).
#[derive(Debug, Clone, Copy)]
pub struct Direct<'a> {
    pub provider: &'a str,
    pub provider_model: &'a str,
    pub credential_env: Option<&'a str>,
    /// The key itself, read from the integration's Secrets Manager secret (then `credential_env` is
    /// not used).
    pub credential_key: Option<&'a Secret>,
    /// The integration's sampling parameters.
    pub sampling: &'a Sampling,
}

impl Providers {
    /// Builds the clients of the providers whose credentials are configured. Bedrock's "credential"
    /// is its region; it signs with the function's AWS configuration `aws`.
    ///
    /// # Errors
    /// When an HTTP client cannot be built.
    pub fn new(
        catalog: &ModelCatalog,
        credentials: &BTreeMap<String, Secret>,
        timeout: Duration,
        aws: Option<&aws_config::SdkConfig>,
    ) -> Result<Self, reqwest::Error> {
        let mut by_id = BTreeMap::new();
        for p in &catalog.providers {
            let base = p.base_url.as_deref().unwrap_or_default();
            // An OpenAI-compatible server without `credential_env` takes no key.
            let keyless = (p.credential_env.is_none()).then(|| Secret::new(String::new()));
            let client = match (p.kind, credentials.get(&p.id).or(keyless.as_ref())) {
                (ProviderKind::Local, _) => AnyProvider::Local(LocalProvider),
                (ProviderKind::OpenaiCompatible, Some(key)) => {
                    AnyProvider::OpenAi(OpenAiCompatible::new(&p.id, base, key.clone(), timeout)?)
                }
                (ProviderKind::Anthropic, Some(key)) => {
                    AnyProvider::Anthropic(Anthropic::new(base, key.clone(), timeout)?)
                }
                (ProviderKind::Bedrock, Some(region)) => match aws {
                    Some(sdk) => {
                        AnyProvider::Bedrock(Bedrock::new(sdk, region.expose(), p.base_url.as_deref(), timeout))
                    }
                    None => continue,
                },
                _ => continue,
            };
            by_id.insert(p.id.clone(), client);
        }
        Ok(Self {
            catalog: catalog.clone(),
            by_id,
            credentials: credentials.clone(),
            timeout,
            secret_keys: None,
        })
    }

    /// These providers, reading integrations' keys from Secrets Manager with `keys`.
    #[must_use]
    pub fn with_secret_keys(mut self, keys: SecretKeys) -> Self {
        self.secret_keys = Some(Arc::new(keys));
        self
    }

    /// The provider key kept in the Secrets Manager secret `arn`.
    ///
    /// # Errors
    /// Why it could not be read: no Secrets Manager here, or the read failed.
    pub async fn secret_key(&self, arn: &str) -> Result<Secret, String> {
        match &self.secret_keys {
            Some(keys) => keys.key(arn).await,
            None => Err("this function reads no Secrets Manager secrets".into()),
        }
    }

    /// Drops the key kept for the secret `arn` after a call with it failed: the next call reads it
    /// afresh (a revoked key is not used for the rest of its keep).
    pub fn forget_secret_key(&self, arn: &str) {
        if let Some(keys) = &self.secret_keys {
            keys.forget(arn);
        }
    }

    /// A client of `provider`'s kind holding `key`.
    fn client_with(&self, provider: &crate::models::Provider, key: &Secret) -> Result<AnyProvider, String> {
        let base = provider.base_url.as_deref().unwrap_or_default();
        let client = match provider.kind {
            ProviderKind::OpenaiCompatible => {
                OpenAiCompatible::new(&provider.id, base, key.clone(), self.timeout).map(AnyProvider::OpenAi)
            }
            ProviderKind::Anthropic => Anthropic::new(base, key.clone(), self.timeout).map(AnyProvider::Anthropic),
            ProviderKind::Bedrock | ProviderKind::Local => {
                return Err(format!("provider {} takes no credential", provider.id))
            }
        };
        client.map_err(|e| format!("provider {}: {e}", provider.id))
    }

    /// The client a direct call uses: the provider's own, or one of its kind holding the credential
    /// the stack keeps in `credential_env` (another provider's variable).
    ///
    /// # Errors
    /// Why there is none: an unknown provider, one not configured, a variable the stack does not set.
    pub fn direct_client(&self, direct: &Direct<'_>) -> Result<AnyProvider, String> {
        let provider = self
            .catalog
            .providers
            .iter()
            .find(|p| p.id == direct.provider)
            .ok_or_else(|| format!("provider {} is not in the model catalog", direct.provider))?;
        if let Some(key) = direct.credential_key {
            return self.client_with(provider, key);
        }
        let own = provider.credential_env.as_deref();
        match direct.credential_env.filter(|env| Some(*env) != own) {
            None => self.by_id.get(direct.provider).cloned().ok_or_else(|| {
                format!(
                    "provider {} is not configured on this stack (no credential)",
                    direct.provider
                )
            }),
            Some(env) => {
                let key = self
                    .catalog
                    .providers
                    .iter()
                    .find(|p| p.credential_env.as_deref() == Some(env))
                    .and_then(|p| self.credentials.get(&p.id))
                    .ok_or_else(|| format!("the stack does not set {env}"))?;
                self.client_with(provider, key)
            }
        }
    }

    /// Completes with one provider's model, retrying per `policy` (no fallback): an integration's
    /// call. Streams pieces to `pieces` when given, as [`Self::stream`] does.
    ///
    /// # Errors
    /// [`CompleteError::AllFailed`] when the provider failed every attempt (or has no client).
    pub async fn complete_direct(
        &self,
        direct: &Direct<'_>,
        conversation: impl Into<Conversation>,
        max_tokens: u32,
        policy: RetryPolicy,
        pieces: Option<Pieces>,
    ) -> Result<ChatResponse, CompleteError> {
        let pair = (direct.provider.to_owned(), direct.provider_model.to_owned());
        let client = self.direct_client(direct).ok();
        let lookup = |_: &str| client.clone();
        let limits = (max_tokens, direct.sampling);
        self.call_pairs(&[pair], Vec::new(), lookup, conversation.into(), limits, policy, pieces)
            .await
    }

    /// Whether the catalog has the model at all (usable or not).
    #[must_use]
    pub fn knows(&self, model_id: &str) -> bool {
        self.catalog.models.iter().any(|m| m.id == model_id)
    }

    /// The models that can be used now.
    #[must_use]
    pub fn available_models(&self) -> Vec<String> {
        self.catalog
            .models
            .iter()
            .filter(|m| self.by_id.contains_key(&m.provider))
            .map(|m| m.id.clone())
            .collect()
    }

    /// `(model id, provider id, provider model)` for the model and its fallbacks, each once.
    ///
    /// # Errors
    /// [`CompleteError::ModelNotFound`] naming the available models.
    pub fn chain(&self, model_id: &str) -> Result<Vec<(String, String, String)>, CompleteError> {
        let not_found = || CompleteError::ModelNotFound {
            model: model_id.to_owned(),
            available: self.available_models(),
        };
        let mut chain: Vec<(String, String, String)> = Vec::new();
        let mut queue = vec![model_id.to_owned()];
        while let Some(id) = queue.pop() {
            if chain.iter().any(|(m, _, _)| *m == id) {
                continue;
            }
            let model = self.catalog.models.iter().find(|m| m.id == id).ok_or_else(not_found)?;
            chain.push((model.id.clone(), model.provider.clone(), model.provider_model.clone()));
            queue.extend(model.fallback.iter().rev().cloned());
        }
        Ok(chain)
    }

    /// Completes with the model's chain, retrying per `policy`; providers without a credential are
    /// listed as tried, with that reason.
    ///
    /// # Errors
    /// [`CompleteError`] for an unknown model, or when every provider of the chain failed.
    pub async fn complete(
        &self,
        model_id: &str,
        conversation: impl Into<Conversation>,
        max_tokens: u32,
        policy: RetryPolicy,
    ) -> Result<ChatResponse, CompleteError> {
        self.run(model_id, conversation.into(), max_tokens, policy, None).await
    }

    /// As [`Self::complete`], streaming: each piece of text is sent to `pieces` as it arrives, with
    /// the number of the attempt that produced it. A retry or a fallback starts the text again (a
    /// later attempt's pieces replace an earlier one's); the answer is the last attempt's whole text.
    ///
    /// # Errors
    /// As [`Self::complete`].
    pub async fn stream(
        &self,
        model_id: &str,
        conversation: impl Into<Conversation>,
        max_tokens: u32,
        policy: RetryPolicy,
        pieces: impl Into<Pieces>,
    ) -> Result<ChatResponse, CompleteError> {
        self.run(model_id, conversation.into(), max_tokens, policy, Some(pieces.into()))
            .await
    }

    async fn run(
        &self,
        model_id: &str,
        conversation: Conversation,
        max_tokens: u32,
        policy: RetryPolicy,
        pieces: Option<Pieces>,
    ) -> Result<ChatResponse, CompleteError> {
        let chain = self.chain(model_id)?;
        let (usable, missing): (Vec<_>, Vec<_>) = chain.into_iter().partition(|(_, p, _)| self.by_id.contains_key(p));
        let pairs: Vec<(String, String)> = usable.into_iter().map(|(_, p, m)| (p, m)).collect();
        let lookup = |provider: &str| self.by_id.get(provider).cloned();
        let limits = (max_tokens, &Sampling::default());
        self.call_pairs(&pairs, missing, lookup, conversation, limits, policy, pieces)
            .await
    }

    /// Tries each `(provider, model)` of `pairs` in order with the client `lookup` gives, asking for
    /// at most `limits.0` tokens sampled as `limits.1` says; `missing` (providers without a client)
    /// are listed as tried when all fail.
    #[allow(clippy::too_many_arguments)]
    async fn call_pairs(
        &self,
        pairs: &[(String, String)],
        missing: Vec<(String, String, String)>,
        lookup: impl Fn(&str) -> Option<AnyProvider>,
        conversation: Conversation,
        (max_tokens, sampling): (u32, &Sampling),
        policy: RetryPolicy,
        pieces: Option<Pieces>,
    ) -> Result<ChatResponse, CompleteError> {
        let call = |provider: &str, model: &str| {
            let request = ChatRequest {
                model: model.to_owned(),
                messages: conversation.messages.clone(),
                max_tokens,
                sampling: sampling.clone(),
                tools: conversation.tools.clone(),
                turns: conversation.turns.clone(),
            };
            let client = lookup(provider);
            let pieces = pieces.clone();
            async move {
                match (client, pieces) {
                    (None, _) => Err(ProviderError::NotConfigured),
                    (Some(c), None) => c.complete(&request).await,
                    (Some(c), Some(Pieces { to, attempts })) => {
                        let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                        let mut send = |text: &str| {
                            // The receiver gone means no one watches any more; the answer still counts.
                            let _ = to.send(Piece {
                                attempt,
                                text: text.to_owned(),
                                at: Instant::now(),
                            });
                        };
                        c.stream(&request, &mut send).await
                    }
                }
            }
        };
        match with_fallback(pairs, policy, call, tokio::time::sleep).await {
            Ok(response) => Ok(response),
            Err(AllFailed(mut tried)) => {
                tried.extend(missing.into_iter().map(unconfigured));
                Err(CompleteError::AllFailed(AllFailed(tried)))
            }
        }
    }
}

/// A provider of the chain that has no credential: listed as tried, with that reason.
fn unconfigured((_, provider, model): (String, String, String)) -> Tried {
    Tried {
        provider,
        model,
        attempts: 0,
        error: ProviderError::NotConfigured,
    }
}

#[cfg(test)]
mod tests;
